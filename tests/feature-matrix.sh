#!/usr/bin/env bash
# The feature-flag matrix:  tests/feature-matrix.sh [Flag ...]
#
# Runs the pipeline tests (Gateway.Core.Tests, Category=Pipeline: every test class that builds the gateway's runtime)
# once per feature flag switched off — GATEWAY_TEST_FEATURE_OFF=<Flag>, which the test gateways honour (TestFeatures) —
# so a capability that is off must leave every other test passing; a test that needs the capability is skipped in that
# run ([FeatureFact]/[FeatureTheory]) and says why. With flags given, only those runs. ./test.sh runs every test with
# every flag on and does not run this matrix (it takes about a minute per flag on 2 vCPUs); run it yourself.
# Prints one line per flag (passed, failed, skipped) and exits non-zero if any run failed or ran no test.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

flags=("$@")
if [[ ${#flags[@]} -eq 0 ]]; then flags=(Cache Coalescing Budgets RateLimits ProviderQuotas Safety Audit Analytics); fi

dotnet build tests/Gateway.Core.Tests -c Release -v quiet -nologo >/dev/null || { echo "feature-matrix: the build failed" >&2; exit 1; }
work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
status=0
summary=()
for flag in "${flags[@]}"; do
  started=$SECONDS
  run_status=0
  GATEWAY_TEST_FEATURE_OFF="$flag" dotnet test tests/Gateway.Core.Tests -c Release --no-build --filter "Category=Pipeline" \
    --logger "trx;LogFileName=$flag.trx" --results-directory "$work_dir" >"$work_dir/$flag.log" 2>&1 || run_status=$?
  counters="$(grep -o '<Counters [^>]*>' "$work_dir/$flag.trx" 2>/dev/null | head -1 || true)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total="$(get total)"; passed="$(get passed)"; failed="$(get failed)"; skipped="$(get notExecuted)"
  line="$flag off: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped (${total:-0} total) in $((SECONDS - started)) s"
  echo "feature-matrix: $line"
  summary+=("$line")
  if [[ $run_status -ne 0 || "${failed:-0}" -ne 0 || "${total:-0}" -eq 0 ]]; then
    status=1
    grep -E "^\s+Failed |Error Message" -A3 "$work_dir/$flag.log" | head -60 >&2 || tail -n 40 "$work_dir/$flag.log" >&2
  fi
done
printf 'feature-matrix: %s\n' "${summary[@]}" >/dev/null
if [[ $status -ne 0 ]]; then echo "feature-matrix: FAILED" >&2; exit 1; fi
echo "feature-matrix: OK"
