#!/usr/bin/env bash
# Runs the gateway locally:  ./run.sh
#
# Starts Azurite (Blob 10000, Queue 10001, Table 10002; data in .azurite/) and the Azure Functions host on
# http://localhost:7071 with the offline mock provider, so this works with no API keys:
#   curl -H "Authorization: Bearer sk-gw-dev-local" localhost:7071/v1/chat/completions \
#        -d '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}'
# Installs Azurite (npm) when missing. The host is `func` (Core Tools) when on the PATH; else the Functions host build in
# shared/tools/functions-host next to the repository (or GATEWAY_FUNCTIONS_HOST); else it installs Core Tools v4 (npm, into .tools/).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

need() { command -v "$1" >/dev/null || { echo "run.sh: $1 is required. $2" >&2; exit 1; }; }
need dotnet "Install the .NET 10 SDK: https://dot.net"
need node "Install Node.js 18 or later (with npm): https://nodejs.org"

[[ -x node_modules/.bin/azurite ]] || npm ci --no-audit --no-fund --loglevel=error

# The Functions host: `func` (Core Tools) when on the PATH or installable; else the host build in
# shared/tools/functions-host next to the repository (or GATEWAY_FUNCTIONS_HOST, the path of its start script), which is
# what `func start` runs underneath — the same order the end-to-end tests use.
func_bin="$(command -v func || true)"
if [[ -z "$func_bin" && -x .tools/node_modules/.bin/func ]]; then func_bin="$repo_root/.tools/node_modules/.bin/func"; fi
host_start=""
if [[ -z "$func_bin" ]]; then
  if [[ -n "${GATEWAY_FUNCTIONS_HOST:-}" && -f "$GATEWAY_FUNCTIONS_HOST" ]]; then host_start="$GATEWAY_FUNCTIONS_HOST"
  else
    dir="$repo_root"
    while [[ "$dir" != "/" ]]; do
      if [[ -f "$dir/shared/tools/functions-host/start" ]]; then host_start="$dir/shared/tools/functions-host/start"; break; fi
      dir="$(dirname "$dir")"
    done
  fi
fi
if [[ -z "$func_bin" && -z "$host_start" ]]; then
  echo "run.sh: installing Azure Functions Core Tools v4 into .tools/ (npm azure-functions-core-tools@4)"
  mkdir -p .tools
  if timeout 300 npm install --prefix .tools --no-audit --no-fund --loglevel=error azure-functions-core-tools@4 \
     && .tools/node_modules/.bin/func --version >/dev/null 2>&1; then
    func_bin="$repo_root/.tools/node_modules/.bin/func"
  else
    cat >&2 <<'MSG'
run.sh: could not install Azure Functions Core Tools (its installer downloads from Microsoft's CDN, which this
machine cannot reach). Install it yourself, then run ./run.sh again:
  npm install -g azure-functions-core-tools@4            (any OS with Node.js)
  brew tap azure/functions && brew install azure-functions-core-tools@4      (macOS)
  https://learn.microsoft.com/azure/azure-functions/functions-run-local#install-the-azure-functions-core-tools
MSG
    exit 1
  fi
fi

if [[ -f local.settings.json ]]; then
  # settings added since the copy was made (new timers' schedules, say) are added to it; nothing already there changes
  node -e '
    const fs = require("fs");
    const sample = JSON.parse(fs.readFileSync("local.settings.sample.json", "utf8"));
    const local = JSON.parse(fs.readFileSync("local.settings.json", "utf8"));
    local.Values = local.Values || {};
    const added = Object.keys(sample.Values || {}).filter(k => !(k in local.Values));
    for (const k of added) local.Values[k] = sample.Values[k];
    if (added.length) {
      fs.writeFileSync("local.settings.json", JSON.stringify(local, null, 2) + "\n");
      console.log("run.sh: added to local.settings.json: " + added.join(", "));
    }'
else
  cp local.settings.sample.json local.settings.json
fi

mkdir -p .azurite
azurite_pid=""
if (exec 3<>/dev/tcp/127.0.0.1/10002) 2>/dev/null; then
  echo "run.sh: something already listens on 10002; using it as Azurite"
else
  node_modules/.bin/azurite --silent --skipApiVersionCheck --location .azurite --debug .azurite/debug.log \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 &
  azurite_pid=$!
  trap '[[ -n "$azurite_pid" ]] && kill "$azurite_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/10002) 2>/dev/null && break; sleep 0.1; done
fi

echo "run.sh: gateway on http://localhost:7071 (dev key sk-gw-dev-local, admin key sk-gw-admin-local)"
if [[ -n "$func_bin" ]]; then
  cd src/Functions
  "$func_bin" start --csharp "$@"
else
  echo "run.sh: no func; running the Functions host build at $host_start"
  dotnet build src/Functions -c Release --nologo -v quiet
  LOCAL_SETTINGS="$repo_root/local.settings.json" "$host_start" "$repo_root/src/Functions/bin/Release/net10.0" 7071
fi
