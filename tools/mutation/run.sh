#!/usr/bin/env bash
# Mutation testing of src/Core with Stryker.NET (not part of ./test.sh: a whole run takes hours).
#
#   tools/mutation/run.sh                      all of src/Core in one Stryker run
#   tools/mutation/run.sh Pricing Budgets ...  one Stryker run per folder of src/Core, one after the other
#
# Options through the environment:
#   MUTATION_CONCURRENCY  parallel test sessions (default 1: the machine is shared; 2 on a machine of its own)
#   MUTATION_OUTPUT       where the reports go (default TestResults/mutation)
#
# What it does:
# 1. restores dotnet-stryker from the repository's tool manifest (.config/dotnet-tools.json; pinned version);
# 2. runs Stryker from tests/Gateway.Core.Tests with tools/mutation/stryker-config.json (Gateway.Core against that one
#    test project; thresholds high 90 / low 80 / break 80; html + json reports; coverage analysis per test). The tests
#    of Gateway.Core.Tests use no Azurite and no Redis (no fixture of either is in that project), so nothing is started;
#    GATEWAY_TEST_STORAGE / GATEWAY_TEST_REDIS are not needed;
# 3. for every run, writes <output>/<name>/reports/mutation-report.{html,json} and prints one line of figures
#    (mutants, killed, survived, no coverage, timeouts, score, run time) through tools/mutation/summary.py; the lines of
#    all the runs are appended to <output>/summary.tsv.
# The exit code is non-zero when a run scored under the break threshold (80 %) or Stryker failed.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

command -v dotnet >/dev/null || { echo "mutation: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "mutation: python3 is required for the summary" >&2; exit 1; }
dotnet tool restore >/dev/null || { echo "mutation: dotnet tool restore failed (dotnet-stryker, .config/dotnet-tools.json)" >&2; exit 1; }

concurrency="${MUTATION_CONCURRENCY:-1}"
output="${MUTATION_OUTPUT:-$repo_root/TestResults/mutation}"
mkdir -p "$output"
config="$repo_root/tools/mutation/stryker-config.json"
tests_dir="$repo_root/tests/Gateway.Core.Tests"

# name|glob: the whole of Core, or one folder of it. Globs are matched against the paths of Gateway.Core's files.
runs=()
if [[ $# -eq 0 ]]; then
  runs+=("Core|src/Core/**/*.cs")
else
  for folder in "$@"; do
    folder="${folder#src/Core/}"; folder="${folder%/}"
    [[ -d "src/Core/$folder" ]] || { echo "mutation: no folder src/Core/$folder" >&2; exit 2; }
    runs+=("$folder|src/Core/$folder/**/*.cs")
  done
fi

status=0
for run in "${runs[@]}"; do
  name="${run%%|*}"; glob="${run#*|}"
  dir="$output/$name"
  rm -rf "$dir"; mkdir -p "$dir"
  echo "mutation: $name ($glob), concurrency $concurrency, reports in $dir"
  started=$SECONDS
  run_status=0
  (cd "$tests_dir" && dotnet stryker --config-file "$config" --mutate "$glob" --concurrency "$concurrency" \
      --output "$dir" --skip-version-check) 2>&1 | tee "$dir/stryker.log" || run_status=$?
  seconds=$((SECONDS - started))
  report="$dir/reports/mutation-report.json"
  if [[ -f "$report" ]]; then
    python3 "$repo_root/tools/mutation/summary.py" "$report" --name "$name" --seconds "$seconds" | tee -a "$output/summary.tsv"
  else
    echo "mutation: $name: no report (Stryker exited with $run_status; see $dir/stryker.log)" >&2
  fi
  [[ $run_status -eq 0 ]] || status=$run_status
done
exit $status
