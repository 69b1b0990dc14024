#!/usr/bin/env bash
# Mutation testing of src/Core with Stryker.NET (not part of ./test.sh: a whole run takes hours).
#
#   tools/mutation/run.sh                      all of src/Core in one Stryker run
#   tools/mutation/run.sh Pricing Budgets ...  those folders of src/Core, in one Stryker run, figures per folder
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
# 3. writes <output>/<name>/reports/mutation-report.{html,json} (name: Core, or the folders joined by "-") and
#    Stryker's trace log (logs/: every mutant, the tests each one is tested against, each test run), prints the
#    figures per folder and in total (mutants, killed, survived, no coverage, timeouts, score, run time) through
#    tools/mutation/summary.py, appends them to <output>/summary.tsv, and lists the surviving and uncovered mutants in
#    <output>/<name>/survivors.txt for the review.
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

# Stryker matches the globs against paths relative to Gateway.Core's folder (src/Core), so a folder is
# "**/<folder>/**/*.cs" ("src/Core/<folder>/**" matches nothing and Stryker then tests no mutant at all). Stryker
# compiles and instruments the whole project and runs the whole test suite twice (once plain, once capturing coverage
# per test) before it tests any mutant, 15-20 minutes on a busy 2-core machine, so a list of folders is one run, not
# one run per folder; the figures come out per folder.
name="Core"
mutate=()
if [[ $# -eq 0 ]]; then
  mutate+=(--mutate "**/*.cs")
else
  names=()
  for folder in "$@"; do
    folder="${folder#src/Core/}"; folder="${folder%/}"
    [[ -n "$folder" && -d "src/Core/$folder" ]] || { echo "mutation: no folder src/Core/$folder" >&2; exit 2; }
    mutate+=(--mutate "**/$folder/**/*.cs")
    names+=("$folder")
  done
  name="$(IFS=-; echo "${names[*]}")"
fi

dir="$output/$name"
rm -rf "$dir"; mkdir -p "$dir"
echo "mutation: ${name//-/, } (concurrency $concurrency), reports in $dir"
started=$SECONDS
status=0
(cd "$tests_dir" && dotnet stryker --config-file "$config" "${mutate[@]}" --concurrency "$concurrency" \
    --output "$dir" --log-to-file --skip-version-check) 2>&1 | tee "$dir/stryker.log" || status=$?
seconds=$((SECONDS - started))
report="$dir/reports/mutation-report.json"
if grep -q "Stryker was unable to calculate a mutation score" "$dir/stryker.log"; then
  echo "mutation: Stryker tested no mutant (see $dir/stryker.log: a glob that matches nothing?)" >&2
  status=1
elif [[ -f "$report" ]]; then
  {
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $name, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), concurrency $concurrency"
    python3 "$repo_root/tools/mutation/summary.py" "$report" --by-folder --name "$name" --seconds "$seconds" --header
  } | tee -a "$output/summary.tsv"
  python3 "$repo_root/tools/mutation/summary.py" "$report" --survivors >"$dir/survivors.txt"
  echo "mutation: the surviving and uncovered mutants, one a line: $dir/survivors.txt"
else
  echo "mutation: no report (Stryker exited with $status; see $dir/stryker.log)" >&2
  [[ $status -ne 0 ]] || status=1
fi
exit $status
