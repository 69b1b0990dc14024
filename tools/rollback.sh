#!/usr/bin/env bash
# Rolls the gateway back: copies the package deployed before the released one (or --to <package>) to
# released-package.zip and restarts the app. Arguments: tools/rollback.sh --help, docs/deploy.md.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run --project "$repo_root/tools/Deploy" -c Release -v quiet -- rollback "$@"
