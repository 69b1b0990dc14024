#!/usr/bin/env bash
# Deploys the gateway to its Flex Consumption app: publishes src/Functions, uploads the zip to the deployment container
# as packages/<time>-<git sha>.zip, copies it to released-package.zip, restarts the app through Azure Resource Manager,
# and keeps the last 5 packages. Arguments: tools/deploy.sh --help, docs/deploy.md.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run --project "$repo_root/tools/Deploy" -c Release -v quiet -- deploy "$@"
