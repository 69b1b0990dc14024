#!/usr/bin/env bash
# The feature-flag matrix:  tests/feature-matrix.sh [Flag ...]
#
# Runs the pipeline tests — Gateway.Core.Tests with Category=Pipeline: every test class that builds the gateway's
# runtime — once per feature flag switched off: GATEWAY_TEST_FEATURE_OFF=<Flag>, which the test gateways honour
# (tests/Gateway.Testing/TestFeatures.cs). A capability that is off must leave every other test passing; a test that
# needs it ([FeatureFact(GatewayFeature.X)] / [FeatureTheory(…)]) is skipped in that run, saying why. With flags given,
# only those runs. ./test.sh runs every test with every flag on and does not run this matrix (about a minute per
# flag on 2 vCPUs): run it yourself. Prints one line per flag (passed, failed, skipped) and the names of failed tests;
# the TRX files are kept in TestResults/feature-matrix/. Exits non-zero if any run failed or ran no test.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

flags=("$@")
if [[ ${#flags[@]} -eq 0 ]]; then flags=(Cache Coalescing Budgets RateLimits ProviderQuotas Safety Audit Analytics); fi

results="$repo_root/TestResults/feature-matrix"
rm -rf "$results"; mkdir -p "$results"
dotnet build tests/Gateway.Core.Tests -c Release -v quiet -nologo >"$results/build.log" 2>&1 || { cat "$results/build.log" >&2; echo "feature-matrix: the build failed" >&2; exit 1; }
status=0
started_all=$SECONDS
for flag in "${flags[@]}"; do
  started=$SECONDS
  run_status=0
  GATEWAY_TEST_FEATURE_OFF="$flag" dotnet test tests/Gateway.Core.Tests -c Release --no-build --filter "Category=Pipeline" \
    --logger "trx;LogFileName=$flag-off.trx" --results-directory "$results" >"$results/$flag-off.log" 2>&1 || run_status=$?
  trx="$results/$flag-off.trx"
  counters="$(grep -o '<Counters [^>]*>' "$trx" 2>/dev/null | head -1 || true)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total="$(get total)"; executed="$(get executed)"; passed="$(get passed)"; failed="$(get failed)"
  skipped=$(( ${total:-0} - ${executed:-0} ))  # xunit's skipped tests are in the TRX as not executed, outside the notExecuted counter
  echo "feature-matrix: $flag off: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped (${total:-0} total) in $((SECONDS - started)) s"
  if [[ $run_status -ne 0 || "${failed:-0}" -ne 0 || "${total:-0}" -eq 0 ]]; then
    status=1
    if [[ -f "$trx" ]]; then
      grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*/  failed: \1/p' >&2 || true
    else
      tail -n 40 "$results/$flag-off.log" >&2
    fi
  fi
done
echo "feature-matrix: ${#flags[@]} runs in $((SECONDS - started_all)) s; TRX files and logs in $results/"
if [[ $status -ne 0 ]]; then echo "feature-matrix: FAILED" >&2; exit 1; fi
echo "feature-matrix: OK"
