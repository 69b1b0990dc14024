#!/usr/bin/env bash
# Validates the Bicep templates offline: bicep build of main.bicep, bicep lint of every .bicep file, and bicep
# build-params of every .bicepparam file must all succeed with zero warnings. Then checks what the compiled files say:
# the function app is deployed after the identity's role assignments, every secret app setting is a Key Vault
# reference, and the prod parameters turn on what production needs (node reads the JSON). The Bicep CLI comes from the NuGet package Azure.Bicep.CommandLine.linux-x64, downloaded by
# restoring tools/bicep/bicep-tool.csproj into the NuGet global packages folder. Writes nothing inside the
# repository except tools/bicep/obj (gitignored); build outputs go to a temporary directory.
set -euo pipefail

BICEP_VERSION="0.49.2"
PACKAGE_ID="azure.bicep.commandline.linux-x64"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The parameters files read secrets and the alert e-mails from these variables; keep real values out of the
# build-params output.
unset GATEWAY_ADMIN_KEY GATEWAY_DASHBOARD_SESSION_KEY GATEWAY_PRIVACY_PEPPER GATEWAY_BUDGET_WEBHOOK_SECRET GATEWAY_ALERT_EMAILS AZURE_ENV_NAME

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "validate.sh: the Bicep CLI package used here is for linux-x64; this is $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

if ! restore_log="$(dotnet restore tools/bicep/bicep-tool.csproj --verbosity quiet 2>&1)"; then
  printf '%s\n' "$restore_log" >&2
  echo "validate.sh: dotnet restore of tools/bicep/bicep-tool.csproj failed" >&2
  exit 1
fi

packages_root="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
bicep="${packages_root%/}/$PACKAGE_ID/$BICEP_VERSION/tools/bicep"
if [[ ! -f "$bicep" ]]; then
  # A NuGet.config may move the global packages folder: ask the restore result where it put packages.
  assets="tools/bicep/obj/project.assets.json"
  if [[ -f "$assets" ]]; then
    while IFS= read -r folder; do
      if [[ -f "${folder%/}/$PACKAGE_ID/$BICEP_VERSION/tools/bicep" ]]; then
        bicep="${folder%/}/$PACKAGE_ID/$BICEP_VERSION/tools/bicep"
        break
      fi
    done < <(sed -n '/"packageFolders"/,/}/p' "$assets" | grep -o '"[^"]*/": {}' | sed 's/"\(.*\)": {}/\1/')
  fi
fi
if [[ ! -f "$bicep" ]]; then
  echo "validate.sh: Bicep CLI not found at $bicep after restore" >&2
  exit 1
fi
[[ -x "$bicep" ]] || chmod +x "$bicep"

out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

template="infra/bicep/main.bicep"
failed=0
labels=()

# The checks run two at a time (each is mostly CLI start-up); lint and build-params take every file (--pattern). Each one fails on a non-zero exit or on any warning or
# error in its output.
start_bicep() {
  local label="$1"; shift
  labels+=("$label")
  ( rc=0; "$bicep" "$@" >"$out_dir/$label.log" 2>&1 || rc=$?; echo "$rc" >"$out_dir/$label.rc" ) &
  while [[ $(jobs -rp | wc -l) -ge 2 ]]; do wait -n || true; done
}

start_bicep build build "$template" --outdir "$out_dir/build"
start_bicep lint lint --pattern 'infra/bicep/**/*.bicep'
start_bicep build-params build-params --pattern 'infra/bicep/*.bicepparam' --outdir "$out_dir/params"
# the prod parameters with the documented variables set (docs/deploy.md): two alert receivers, secrets passed through
mkdir -p "$out_dir/prod-env"
GATEWAY_ALERT_EMAILS="ops@example.com,oncall@example.com" GATEWAY_PRIVACY_PEPPER="validate-pepper-not-a-secret-0123456789" \
  start_bicep build-params-prod-env build-params infra/bicep/main.prod.bicepparam --outdir "$out_dir/prod-env"
wait

for label in "${labels[@]}"; do
  log="$out_dir/$label.log"
  rc="$(cat "$out_dir/$label.rc" 2>/dev/null || echo 1)"
  if [[ "$rc" != 0 ]] || grep -qE 'Warning|Error' "$log"; then
    echo "bicep $label: FAILED (exit $rc)" >&2
    cat "$log" >&2
    failed=1
  fi
done
warnings="$(grep -c 'Warning' "$out_dir/lint.log" || true)"

if [[ $failed -ne 0 ]]; then
  echo "bicep $BICEP_VERSION: FAILED ($warnings warnings from lint)" >&2
  exit 1
fi

# What the compiled template and parameters must say.
if ! node infra/check-compiled.js "$out_dir/build/main.json" "$out_dir/params" "$out_dir/prod-env/main.prod.json"; then
  echo "bicep $BICEP_VERSION: the compiled template or parameters are not what the deployment needs (above)" >&2
  exit 1
fi
files="$(ls infra/bicep/*.bicep infra/bicep/modules/*.bicep | wc -l)"; params="$(ls infra/bicep/*.bicepparam | wc -l)"
echo "bicep $BICEP_VERSION: build ok, lint ok for $files files (0 warnings), build-params ok for $params parameters files, compiled checks ok"
