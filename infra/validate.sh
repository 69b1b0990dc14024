#!/usr/bin/env bash
# Validates the Bicep templates offline: bicep build, bicep build-params and bicep lint must all succeed with
# zero warnings. The Bicep CLI comes from the NuGet package Azure.Bicep.CommandLine.linux-x64, downloaded by
# restoring tools/bicep/bicep-tool.csproj into the NuGet global packages folder. Writes nothing inside the
# repository except tools/bicep/obj (gitignored); build outputs go to a temporary directory.
set -euo pipefail

BICEP_VERSION="0.49.2"
PACKAGE_ID="azure.bicep.commandline.linux-x64"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# main.bicepparam reads the admin key and the dashboard session key from these variables; keep real keys out of the
# build-params output.
unset GATEWAY_ADMIN_KEY GATEWAY_DASHBOARD_SESSION_KEY

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
params="infra/bicep/main.bicepparam"
failed=0

# The three checks run in parallel (each is mostly CLI start-up). Each one fails on a non-zero exit or on any
# warning or error in its output.
start_bicep() {
  local label="$1"; shift
  ( rc=0; "$bicep" "$@" >"$out_dir/$label.log" 2>&1 || rc=$?; echo "$rc" >"$out_dir/$label.rc" ) &
}

start_bicep build build "$template" --outdir "$out_dir/build"
start_bicep build-params build-params "$params" --outdir "$out_dir/build-params"
start_bicep lint lint "$template"
wait

for label in build build-params lint; do
  log="$out_dir/$label.log"
  rc="$(cat "$out_dir/$label.rc" 2>/dev/null || echo 1)"
  if [[ "$rc" != 0 ]] || grep -qE 'Warning|Error' "$log"; then
    echo "bicep $label: FAILED (exit $rc)" >&2
    cat "$log" >&2
    failed=1
  fi
done
# build and build-params repeat the linter's diagnostics; count them once, from lint.
warnings="$(grep -c 'Warning' "$out_dir/lint.log" || true)"

if [[ $failed -ne 0 ]]; then
  echo "bicep $BICEP_VERSION: FAILED ($warnings warnings from lint)" >&2
  exit 1
fi
echo "bicep $BICEP_VERSION: build ok, build-params ok, lint ok (0 warnings)"
