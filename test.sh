#!/usr/bin/env bash
# The whole test suite, as CI runs it:  ./test.sh
#
# 1. installs Azurite (pinned in package.json) into node_modules if it is not there, and redis-server, chromium and
#    poppler-utils (Debian's packages, through apt-get when running as root) if they are not on the PATH — chromium is the
#    browser the dashboard's end-to-end tests drive (GATEWAY_TEST_CHROMIUM, exported here, names it), pdftoppm renders
#    the summary PDFs' pages in the report tests;
# 2. starts Azurite on free loopback ports with in-memory storage and exports GATEWAY_TEST_STORAGE so the
#    Table/Queue/Blob tests use it (without the variable each test run starts its own Azurite);
# 3. starts redis-server on a free loopback port with persistence off and exports GATEWAY_TEST_REDIS (host:port) for
#    the Redis cache tests (without it they start their own redis-server; a GATEWAY_TEST_REDIS already set is used as is);
# 4. builds Serverless.sln (Release) and runs the unit and integration test projects (Serverless.UnitTests.slnf) with
#    coverlet's collector (coverage.runsettings; GATEWAY_TEST_COVERAGE=0 runs them without it);
# 5. runs the end-to-end tests (tests/Gateway.EndToEnd.Tests) alongside step 4 (GATEWAY_TEST_SERIAL=1: after it): the
#    built app on the real Functions host — `func` when it is on the PATH, else shared/tools/functions-host next to the
#    repository (or GATEWAY_FUNCTIONS_HOST) — with its own Azurite and a loopback upstream; where no host is found it
#    says so on one line and the tests count as skipped;
# 6. validates the Bicep templates (infra/validate.sh: build, build-params, lint with zero warnings), also alongside 4;
# 7. prints the coverage of the unit and integration tests, line and branch per assembly, merged over the test projects
#    by tools/coverage/summary.py (its own tests run first and count with the rest); the per-project coverage files and
#    the table, with a row per source file, are kept in TestResults/coverage/. Coverage is reported, never enforced: no
#    figure fails the run. The end-to-end tests' Functions host is a separate process and is not measured;
# 8. prints "N passed, M failed, K skipped" and exits non-zero if anything failed or no test ran.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is required: https://dot.net" >&2; exit 1; }
command -v node >/dev/null || { echo "test.sh: Node.js 18+ and npm are required for Azurite: https://nodejs.org" >&2; exit 1; }

if [[ ! -x node_modules/.bin/azurite ]]; then
  echo "test.sh: installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# apt-get, waiting for another installer on the machine to finish rather than failing on its lock
apt_install() {
  for attempt in 1 2 3 4 5; do
    if apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null; then return 0; fi
    echo "test.sh: apt-get install $* failed (attempt $attempt); retrying" >&2
    sleep 10
  done
  return 1
}

# a command from a Debian package: installed through apt-get when running as root, else a clear message and exit
need_package() {
  local command="$1" package="$2" why="$3" otherwise="${4:-}"
  command -v "$command" >/dev/null && return 0
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "test.sh: installing $package (apt-get) — $why"
    apt_install "$package" || { echo "test.sh: installing $package failed" >&2; exit 1; }
  else
    echo "test.sh: $command is required — $why: install it (apt-get install $package)${otherwise:+, or $otherwise}" >&2
    exit 1
  fi
}

[[ -n "${GATEWAY_TEST_REDIS:-}" ]] || need_package redis-server redis-server "for the Redis cache tests" "set GATEWAY_TEST_REDIS=host:port"
if [[ -z "${GATEWAY_TEST_CHROMIUM:-}" ]]; then
  need_package chromium chromium "the browser the dashboard's tests drive" "set GATEWAY_TEST_CHROMIUM to a Chromium executable"
  GATEWAY_TEST_CHROMIUM="$(command -v chromium)"
  export GATEWAY_TEST_CHROMIUM
fi
need_package pdftoppm poppler-utils "pdftoppm renders the summary PDFs' pages in the report tests"

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'; }

work_dir="$(mktemp -d)"
azurite_pid=""
redis_pid=""
cleanup() {
  if [[ -n "$azurite_pid" ]]; then kill "$azurite_pid" 2>/dev/null || true; wait "$azurite_pid" 2>/dev/null || true; fi
  if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work_dir"
}
trap cleanup EXIT

blob_port="$(free_port)"; queue_port="$(free_port)"; table_port="$(free_port)"
node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --disableProductStyleUrl --disableTelemetry \
  --blobHost 127.0.0.1 --blobPort "$blob_port" \
  --queueHost 127.0.0.1 --queuePort "$queue_port" \
  --tableHost 127.0.0.1 --tablePort "$table_port" >"$work_dir/azurite.log" 2>&1 &
azurite_pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$table_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$queue_port") 2>/dev/null &&
    (exec 3<>"/dev/tcp/127.0.0.1/$blob_port") 2>/dev/null; then break; fi
  if ! kill -0 "$azurite_pid" 2>/dev/null; then cat "$work_dir/azurite.log" >&2; echo "test.sh: Azurite exited" >&2; exit 1; fi
  sleep 0.1
done
account="devstoreaccount1"
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export GATEWAY_TEST_STORAGE="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/$account;QueueEndpoint=http://127.0.0.1:$queue_port/$account;TableEndpoint=http://127.0.0.1:$table_port/$account;"
echo "test.sh: Azurite on 127.0.0.1 (blob $blob_port, queue $queue_port, table $table_port)"

if [[ -z "${GATEWAY_TEST_REDIS:-}" ]]; then
  redis_port="$(free_port)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work_dir/redis.log" 2>&1 &
  redis_pid=$!
  redis_up=""
  for _ in $(seq 1 100); do
    if ! kill -0 "$redis_pid" 2>/dev/null; then cat "$work_dir/redis.log" >&2; echo "test.sh: redis-server exited" >&2; exit 1; fi
    reply="$( (exec 3<>"/dev/tcp/127.0.0.1/$redis_port" && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 && printf '%s' "$line") 2>/dev/null || true)"
    if [[ "$reply" == +PONG* ]]; then redis_up=1; break; fi
    sleep 0.1
  done
  if [[ -z "$redis_up" ]]; then cat "$work_dir/redis.log" >&2; echo "test.sh: redis-server did not answer PING" >&2; exit 1; fi
  export GATEWAY_TEST_REDIS="127.0.0.1:$redis_port"
  echo "test.sh: redis-server on $GATEWAY_TEST_REDIS"
fi

results="$work_dir/results"
status=0
dotnet build Serverless.sln -c Release -v quiet -nologo || { echo "test.sh: the build failed" >&2; exit 1; }
coverage_args=(--collect "XPlat Code Coverage" --settings coverage.runsettings)
if [[ "${GATEWAY_TEST_COVERAGE:-1}" == "0" ]]; then coverage_args=(); fi

# The end-to-end tests on the real Functions host run alongside the unit and integration tests: they spend most of their
# time waiting on the host (timers, queues, restarts), so the two together take little more than the longer of them. Their
# console output is kept apart and printed once they finish. One host at a time: the suite shares one host between its
# tests (its own Azurite, a loopback upstream), and GATEWAY_TEST_SERIAL=1 runs the two one after the other.
host_line="test.sh: end-to-end tests on the Functions host: "
if command -v func >/dev/null; then host_line+="func ($(command -v func))"
elif [[ -n "${GATEWAY_FUNCTIONS_HOST:-}" && -f "$GATEWAY_FUNCTIONS_HOST" ]]; then host_line+="$GATEWAY_FUNCTIONS_HOST"
else
  found=""
  dir="$repo_root"
  while [[ "$dir" != "/" ]]; do
    if [[ -f "$dir/shared/tools/functions-host/start" ]]; then found="$dir/shared/tools/functions-host/start"; break; fi
    dir="$(dirname "$dir")"
  done
  if [[ -n "$found" ]]; then host_line+="$found"; else host_line="test.sh: NO FUNCTIONS HOST (no func on the PATH, no shared/tools/functions-host): the end-to-end tests are skipped"; fi
fi
e2e_log="$work_dir/e2e.log"
e2e_status_file="$work_dir/e2e.status"
run_e2e() {
  local started=$SECONDS rc=0
  dotnet test tests/Gateway.EndToEnd.Tests -c Release --no-build --logger "trx;LogFilePrefix=e2e" --results-directory "$results" \
    --logger "console;verbosity=normal" >"$e2e_log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - started))" >"$e2e_status_file"
}
e2e_pid=""
if [[ "${GATEWAY_TEST_SERIAL:-0}" != "1" ]]; then
  echo "$host_line (running alongside the unit tests; their output follows them)"
  run_e2e &
  e2e_pid=$!
fi

bicep_log="$work_dir/bicep.log"
bash infra/validate.sh >"$bicep_log" 2>&1 &
bicep_pid=$!

unit_started=$SECONDS
dotnet test Serverless.UnitTests.slnf -c Release --no-build --logger "trx" --results-directory "$results" "${coverage_args[@]}" "$@" || status=$?
echo "test.sh: unit and integration tests: $((SECONDS - unit_started)) s$([[ ${#coverage_args[@]} -gt 0 ]] && echo ", with coverage" || echo ", without coverage (GATEWAY_TEST_COVERAGE=0)")"
if ! kill -0 "$azurite_pid" 2>/dev/null; then
  # the storage tests that ran after this fail with "Connection refused" on its ports: say why
  echo "test.sh: Azurite exited during the unit and integration tests; the end of its log:" >&2
  tail -n 40 "$work_dir/azurite.log" >&2
fi

if [[ -z "$e2e_pid" ]]; then
  echo "$host_line"
  run_e2e
else
  wait "$e2e_pid" || true
fi
cat "$e2e_log"
read -r e2e_rc e2e_seconds <"$e2e_status_file" || { e2e_rc=1; e2e_seconds="?"; }
echo "test.sh: end-to-end tests: $e2e_seconds s"
if [[ "$e2e_rc" -ne 0 ]]; then status=$e2e_rc; fi

passed=0; failed=0; skipped=0; total=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total=$((total + $(get total))); passed=$((passed + $(get passed))); failed=$((failed + $(get failed)))
  # xunit's skipped tests are in the total but not executed (the trx's notExecuted counter stays 0 for them)
  skipped=$((skipped + $(get total) - $(get executed)))
done

bicep_status=0
wait "$bicep_pid" || bicep_status=$?
cat "$bicep_log"

# Coverage of the unit and integration tests (reported, not enforced). summary.py's own tests count with the rest.
if [[ ${#coverage_args[@]} -gt 0 ]]; then
  if command -v python3 >/dev/null; then
    script_tests="$(python3 tools/coverage/test_summary.py -q)" || true
    script_counts="$(grep -o '[0-9]* passed, [0-9]* failed' <<<"$script_tests" | tail -1 || true)"
    if [[ -n "$script_counts" ]]; then
      script_passed="${script_counts%% passed*}"; script_failed="${script_counts#*passed, }"; script_failed="${script_failed%% failed*}"
    else
      script_passed=0; script_failed=1  # it did not get as far as its closing line
    fi
    echo "test.sh: $script_tests"
    passed=$((passed + script_passed)); failed=$((failed + script_failed)); total=$((total + script_passed + script_failed))
    coverage_dir="$repo_root/TestResults/coverage"
    rm -rf "$coverage_dir"; mkdir -p "$coverage_dir"
    for run in "$results"/*/; do
      if [[ -f "$run/coverage.json" ]]; then mkdir -p "$coverage_dir/$(basename "$run")" && cp "$run"/coverage.* "$coverage_dir/$(basename "$run")/"; fi
    done
    echo "test.sh: coverage of the unit and integration tests (coverlet; the end-to-end tests' Functions host process is not measured):"
    if python3 tools/coverage/summary.py "$coverage_dir" | tee "$coverage_dir/summary.txt"; then
      python3 tools/coverage/summary.py "$coverage_dir" --files >"$coverage_dir/files.txt" || true
      echo "test.sh: coverage files and the table by source file: $coverage_dir/"
    else
      echo "test.sh: no coverage table (see above)"
    fi
  else
    echo "test.sh: no coverage table: python3 is not on the PATH"
  fi
fi

if [[ -d TestResults/dashboard ]]; then echo "test.sh: screenshots of the dashboard tests: $repo_root/TestResults/dashboard/"; fi
echo "test.sh: $passed passed, $failed failed, $skipped skipped ($total total) in $SECONDS s"
if [[ $status -ne 0 || $failed -ne 0 || $total -eq 0 || $bicep_status -ne 0 ]]; then
  echo "test.sh: FAILED" >&2
  exit 1
fi
echo "test.sh: OK"
