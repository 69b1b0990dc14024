#!/usr/bin/env bash
# The gateway on the real Functions host, against the platform floor, driven by hey at 8 concurrent clients:
#
#   bench/host/run.sh [requests per run, default 5000] [runs per scenario, default 3]
#
#   BENCH_SCENARIOS="gateway limits" runs only those scenarios; BENCH_SKIP_MEMORY=1 skips the 30,000-request memory run.
#   BENCH_SCENARIOS=bodies measures memory under 50 concurrent slow 8 MB uploads (BENCH_BODY_CLIENTS, BENCH_BODY_RATE).
#   BENCH_SCENARIOS="stream-floor stream-gateway" measures streams: time to first byte through each (the upstream sends
#   its first chunk at once, then one every 5 ms), reported with the gateway's added p50. BENCH_STREAM_MAX_TOKENS (64)
#   of 1,000 or more makes each stream max_tokens / 5 one-word chunks sent as fast as taken (5000: 1,000 chunks, ~150 KB),
#   which fills the worker's output buffer (Gateway__StreamBufferBytes in the environment reaches the worker).
#   BENCH_SCENARIOS=slow-streams: 100 clients (BENCH_SLOW_CLIENTS; a list such as "50 100 150" runs each on a fresh host
#   and fits the growth per stream as a slope) read long streams (BENCH_SLOW_CHUNKS, 20,000 chunks of one word of the
#   README each, in order, ~3 MB each, produced
#   as fast as taken) at 1 KB/s (BENCH_SLOW_RATE) for BENCH_SLOW_SECONDS (60), after a warm-up with slow readers
#   (BENCH_SLOW_WARMUP_SECONDS, 20); the worker's RSS growth per stream. The write timeout is BENCH_SLOW_WRITE_TIMEOUT
#   (600 s) for the run, so no reader is dropped as too slow; the streams still open are counted at the snapshot.
#   TCP socket buffers are clamped to BENCH_SOCKET_BUFFER (64 KiB; "off" leaves them) for that run (see clamp_socket_buffers).
#   BENCH_GCDUMP=<folder> takes a heap snapshot of the worker (dotnet-gcdump) before and while the slow readers read, and
#   lists its live objects by type and holder (bench/HeapWalk, <label>.tsv: subtract two to see what the streams hold).
#   BENCH_GATEWAY_APP=<folder> runs another build output of the gateway (to compare builds or runtime settings); the
#   pass-through's (bench/PassThrough/bin/Release/net10.0) with Gateway__StreamBufferBytes set gives slow-streams' floor:
#   the same output bound, the upstream read in 1 KiB pieces, no parsing — what a slow stream costs the platform itself.
#
#   (a) floor:    bench/PassThrough — a function app that forwards the body to the upstream and returns its answer
#   (b) gateway:  the gateway, no limits configured
#   (c) limits:   the gateway with key, team and global budgets, key rate limits (requests and tokens per minute) and a
#                 provider quota on the deployment — all far from their limits, so every request is admitted
#
# Each scenario runs on a fresh host (Functions host + its worker), with its own Azurite and the same loopback upstream
# (bench/Upstream), warmed up by BENCH_WARMUP_SECONDS (120) of load — the JIT's tiering and the Durable task hub's start-up
# take ~20,000 requests to settle, and a measurement before that compares start-up, not serving — then measured in
# consecutive runs. Per run it prints requests/s, p50/p99/max latency, and CPU milliseconds per request for the host,
# the worker and Azurite (from /proc, utime + stime). Scenario (c) first measures the worker's memory (RSS) after
# 10,000 and 30,000 requests from its start. Needs: the .NET 10 SDK, Node.js (Azurite, npm ci), hey (apt-get install hey), and the Functions
# host (func on the PATH, or shared/tools/functions-host next to the repository, or GATEWAY_FUNCTIONS_HOST).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
requests="${1:-5000}"
runs="${2:-3}"
warmup="${BENCH_WARMUP_SECONDS:-120}"
concurrency=8
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v hey >/dev/null || { echo "bench: hey is required (apt-get install hey)" >&2; exit 1; }
[[ -x node_modules/.bin/azurite ]] || npm ci --no-audit --no-fund --loglevel=error

start_script=""
if command -v func >/dev/null; then start_script="func"
elif [[ -n "${GATEWAY_FUNCTIONS_HOST:-}" ]]; then start_script="$GATEWAY_FUNCTIONS_HOST"
else
  dir="$repo"
  while [[ "$dir" != "/" ]]; do
    [[ -f "$dir/shared/tools/functions-host/start" ]] && { start_script="$dir/shared/tools/functions-host/start"; break; }
    dir="$(dirname "$dir")"
  done
fi
[[ -n "$start_script" ]] || { echo "bench: no Functions host (func, or shared/tools/functions-host/start)" >&2; exit 1; }

echo "bench: building (Release)"
dotnet build src/Functions -c Release -v quiet -nologo >/dev/null
dotnet build bench/PassThrough -c Release -v quiet -nologo >/dev/null
dotnet build bench/Upstream -c Release -v quiet -nologo >/dev/null
[[ -z "${BENCH_GCDUMP:-}" ]] || dotnet build bench/HeapWalk -c Release -v quiet -nologo >/dev/null
gateway_app="${BENCH_GATEWAY_APP:-$repo/src/Functions/bin/Release/net10.0}"   # BENCH_GATEWAY_APP: another build of the app, to compare
floor_app="$repo/bench/PassThrough/bin/Release/net10.0"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}" ${worker_pid:-}; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}" ${worker_pid:-}; do kill -9 "$pid" 2>/dev/null || true; done
  restore_socket_buffers
  rm -rf "$work"
}
trap cleanup EXIT

# Loopback TCP grows a socket's buffers to megabytes (tcp_rmem's max is 32 MiB here): a reader at 1 KB/s then takes a
# whole 3 MB stream into the kernel's queues within seconds, and the worker sees a fast reader. For the slow-reader run
# the buffers are clamped (BENCH_SOCKET_BUFFER bytes, 64 KiB; "off" leaves them), restored on exit.
saved_tcp_rmem="" saved_tcp_wmem=""
clamp_socket_buffers() {
  local bytes="${BENCH_SOCKET_BUFFER:-65536}"
  [[ "$bytes" == off ]] && return 0
  if saved_tcp_rmem="$(sysctl -n net.ipv4.tcp_rmem 2>/dev/null)" && saved_tcp_wmem="$(sysctl -n net.ipv4.tcp_wmem 2>/dev/null)" &&
    sysctl -qw net.ipv4.tcp_rmem="4096 16384 $bytes" net.ipv4.tcp_wmem="4096 16384 $bytes" 2>/dev/null; then
    echo "  slow-streams: TCP socket buffers clamped to $bytes bytes for this run (was rmem $saved_tcp_rmem, wmem $saved_tcp_wmem)"
  else
    saved_tcp_rmem=""
    echo "  slow-streams: could not clamp TCP socket buffers (not root?): the kernel may take whole streams into its queues"
  fi
}
restore_socket_buffers() {
  [[ -n "$saved_tcp_rmem" ]] || return 0
  sysctl -qw net.ipv4.tcp_rmem="$saved_tcp_rmem" net.ipv4.tcp_wmem="$saved_tcp_wmem" 2>/dev/null || true
  saved_tcp_rmem=""
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
wait_http() { for _ in $(seq 1 600); do curl -s -o /dev/null -w '%{http_code}' "$@" 2>/dev/null | grep -q '^200$' && return 0; sleep 0.2; done; return 1; }
cpu_ms() { # utime + stime of a process, in milliseconds
  [[ -r "/proc/$1/stat" ]] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# BENCH_GCDUMP=<folder>: a heap snapshot of the worker (dotnet-gcdump, live objects only) and its thread count, labelled
probe_rss="" probe_live="" probe_committed=""
heap_probe() {
  probe_rss="" probe_live="" probe_committed=""
  [[ -n "${BENCH_GCDUMP:-}" ]] && command -v dotnet-gcdump >/dev/null || return 0
  mkdir -p "$BENCH_GCDUMP"
  local dump="$BENCH_GCDUMP/$1-$2.gcdump" committed="" allocated=""
  if command -v dotnet-counters >/dev/null; then
    # what the GC has committed (free space and gen0 budget included) as of its last collection, before the snapshot forces one
    dotnet-counters collect -p "$worker_pid" --duration 00:00:00:03 --format csv -o "$BENCH_GCDUMP/$1-$2.csv" \
      --counters 'System.Runtime[dotnet.gc.last_collection.memory.committed_size,dotnet.gc.heap.total_allocated]' >/dev/null 2>&1 &&
      committed="$(awk -F, '/committed_size/ { v = $NF } END { printf "%.1f", v / 1048576 }' "$BENCH_GCDUMP/$1-$2.csv")" &&
      allocated="$(awk -F, '/total_allocated/ { s += $NF; n++ } END { printf "%.1f", n ? s / n / 1048576 : 0 }' "$BENCH_GCDUMP/$1-$2.csv")"
  fi
  dotnet-gcdump collect -p "$worker_pid" -o "$dump" >/dev/null 2>&1 || { echo "  $1 $2: dotnet-gcdump failed"; return 0; }
  probe_rss="$(rss_mb "$worker_pid")" probe_committed="$committed"
  probe_live="$(dotnet-gcdump report "$dump" | awk '/GC Heap bytes/ { print $1 }' | tr -d ,)"
  # and what the live objects are, by type and holder (bench/HeapWalk: two snapshots' .tsv subtract to what was added)
  dotnet bench/HeapWalk/bin/Release/net10.0/Gateway.Bench.HeapWalk.dll "$worker_pid" "$BENCH_GCDUMP/$1-$2.tsv" >/dev/null ||
    echo "  $1 $2: heap walk failed"
  echo "  $1 $2: $(awk '/Threads/ { print $2 }' "/proc/$worker_pid/status") threads, $probe_live live GC heap bytes, ${committed:-?} MB committed by the GC, allocating ${allocated:-?} MB/s, RSS $probe_rss MB ($dump)"
}

upstream_port="$(free_port)"
# long streams are the README's words, in order (prose, as an answer is: what a stream keeps of its text depends on it)
dotnet bench/Upstream/bin/Release/net10.0/Gateway.Bench.Upstream.dll "$upstream_port" "$repo/README.md" >"$work/upstream.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$upstream_port/health" || { cat "$work/upstream.log"; exit 1; }

cat > "$work/catalog.json" <<EOF
{ "Gateway": { "Catalog": {
  "Deployments": [ { "Name": "upstream", "Provider": "openai", "Model": "gpt-4o-mini", "Endpoint": "http://127.0.0.1:$upstream_port/v1", "ApiKeySetting": "BENCH_UPSTREAM_KEY" } ],
  "Models": [ { "Name": "gpt-4o-mini", "Deployments": [ "upstream" ] } ] } } }
EOF
cat > "$work/catalog-quota.json" <<EOF
{ "Gateway": { "Catalog": {
  "Deployments": [ { "Name": "upstream", "Provider": "openai", "Model": "gpt-4o-mini", "Endpoint": "http://127.0.0.1:$upstream_port/v1", "ApiKeySetting": "BENCH_UPSTREAM_KEY",
                     "RequestsPerMinute": 1000000, "TokensPerMinute": 10000000000 } ],
  "Models": [ { "Name": "gpt-4o-mini", "Deployments": [ "upstream" ] } ] } } }
EOF
echo '{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Summarise the quarterly ledger for the payments team in two sentences."}]}' > "$work/body.json"
echo '{"model":"gpt-4o-mini","max_tokens":'"${BENCH_STREAM_MAX_TOKENS:-64}"',"stream":true,"messages":[{"role":"user","content":"Summarise the quarterly ledger for the payments team in two sentences."}]}' > "$work/stream.json"
body_file="body.json"

host_pid=""; worker_pid=""; azurite_pid=""; port=""
stop_host() {
  kill "$host_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$host_pid" "$worker_pid" 2>/dev/null || true
  kill "$azurite_pid" 2>/dev/null || true
  wait "$azurite_pid" 2>/dev/null || true
}

settings() { # $1 out file, $2 catalog, then extra "Name=Value" pairs
  local out="$1" catalog="$2"; shift 2
  python3 - "$out" "$catalog" "$@" <<'PY'
import json, os, sys
out, catalog, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
values = {
  "AzureWebJobsStorage": os.environ["AzureWebJobsStorage"], "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
  "BENCH_UPSTREAM_URL": os.environ["BENCH_UPSTREAM_URL"], "BENCH_UPSTREAM_KEY": "sk-bench",
  "Gateway__AdminKey": "sk-gw-admin-bench", "Gateway__DevKey": "sk-gw-bench-key", "Gateway__CatalogPath": catalog,
  "GATEWAY_ROLLUP_SCHEDULE": "0 */5 * * * *", "GATEWAY_RETENTION_SCHEDULE": "0 17 3 * * *",
  "GATEWAY_AUDIT_SEAL_SCHEDULE": "0 */5 * * * *", "GATEWAY_AUDIT_RETENTION_SCHEDULE": "0 41 3 * * *",
  "GATEWAY_ANALYTICS_SCHEDULE": "0 30 0 * * *",
  "AzureFunctionsJobHost__logging__logLevel__default": "Warning",
}
for pair in extra:
    name, value = pair.split("=", 1)
    values[name] = value
json.dump({"IsEncrypted": False, "Values": values}, open(out, "w"))
PY
}
export BENCH_UPSTREAM_URL="http://127.0.0.1:$upstream_port/"

results="$work/results.tsv"
: > "$results"
# one hey run; records: scenario run rps p50 p99 max non200 host_ms worker_ms azurite_ms ttfb_p50 ttfb_p95
measure() { # $1 scenario, $2 run, $3 requests
  local before_h before_w before_a after_h after_w after_a
  before_h="$(cpu_ms "$host_pid")"; before_w="$(cpu_ms "$worker_pid")"; before_a="$(cpu_ms "$azurite_pid")"
  hey -n "$3" -c "$concurrency" -m POST -T application/json -H "Authorization: Bearer sk-gw-bench-key" -D "$work/$body_file" -o csv \
    "http://127.0.0.1:$port/v1/chat/completions" > "$work/run.csv"
  after_h="$(cpu_ms "$host_pid")"; after_w="$(cpu_ms "$worker_pid")"; after_a="$(cpu_ms "$azurite_pid")"
  python3 - "$work/run.csv" "$1" "$2" "$3" "$before_h" "$after_h" "$before_w" "$after_w" "$before_a" "$after_a" >> "$results" <<'PY'
import csv, sys
path, scenario, run, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
bh, ah, bw, aw, ba, aa = map(float, sys.argv[5:11])
rows = list(csv.DictReader(open(path)))
lat = sorted(float(r["response-time"]) * 1000 for r in rows)
codes = [r["status-code"] for r in rows]
offsets = [float(r["offset"]) + float(r["response-time"]) for r in rows]
wall = max(offsets)
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
# time to first byte: connecting, writing the request, and waiting for the response's first byte
ttfb = sorted((float(r["DNS+dialup"]) + float(r["Request-write"]) + float(r["Response-delay"])) * 1000 for r in rows)
t = lambda p: ttfb[min(len(ttfb) - 1, int(p * len(ttfb)))]
print("\t".join(map(str, [scenario, run, round(len(rows) / wall, 1), round(q(0.5), 1), round(q(0.99), 1), round(lat[-1], 1),
    sum(1 for c in codes if c != "200"), round((ah - bh) / n, 2), round((aw - bw) / n, 2), round((aa - ba) / n, 2), round(t(0.5), 2), round(t(0.95), 2)])))
PY
  tail -1 "$results" | awk -F'\t' '{ printf "  %-8s run %s: %8s req/s  p50 %6s ms  p99 %6s ms  max %7s ms  non-200 %s  CPU/request: host %s ms, worker %s ms, Azurite %s ms  first byte p50 %s ms p95 %s ms\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
}


load_n() { hey -n "$1" -c "$concurrency" -m POST -T application/json -H "Authorization: Bearer sk-gw-bench-key" -D "$work/body.json" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null; }

run_scenario() { # $1 name, $2 app, $3 catalog, $4 setup function, then settings
  local name="$1" app="$2" catalog="$3" setup="$4"; shift 4
  start_storage
  settings "$work/settings.json" "$catalog" "$@"
  start_functions "$app" "$work/settings.json"
  "$setup"
  if [[ "$name" == "limits" && -z "${BENCH_SKIP_MEMORY:-}" ]]; then
    # memory: the worker's RSS after 10,000 and after 30,000 requests from the start
    load_n 10000
    local rss10; rss10="$(rss_mb "$worker_pid")"
    load_n 20000
    local rss30; rss30="$(rss_mb "$worker_pid")"
    echo "  limits   worker memory (RSS): ${rss10} MB after 10,000 requests, ${rss30} MB after 30,000"
    echo -e "memory\t$rss10\t$rss30" >> "$work/memory.tsv"
  fi
  # steady state: the JIT's tiering and the Durable task hub's start-up settle under load first
  hey -z "${warmup}s" -c "$concurrency" -m POST -T application/json -H "Authorization: Bearer sk-gw-bench-key" -D "$work/$body_file" \
    "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
  for run in $(seq 1 "$runs"); do measure "$name" "$run" "$requests"; done
  if [[ -f "$work/memory.tsv" && "$name" == "limits" ]]; then
    local rss_end; rss_end="$(rss_mb "$worker_pid")"
    echo "  limits   worker memory (RSS) after the warm-up and the runs: ${rss_end} MB"
    sed -i "\$s/\$/\t$rss_end/" "$work/memory.tsv"
  fi
  stop_host
}

start_storage() {
  local blob queue table key
  blob="$(free_port)"; queue="$(free_port)"; table="$(free_port)"
  node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --disableProductStyleUrl --disableTelemetry \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" --tableHost 127.0.0.1 --tablePort "$table" >"$work/azurite.log" 2>&1 &
  azurite_pid=$!; pids+=("$azurite_pid")
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$table") 2>/dev/null && break; sleep 0.1; done
  key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
}

start_functions() { # $1 app dir, $2 settings file
  port="$(free_port)"
  if [[ "$start_script" == "func" ]]; then
    (cd "$1" && cp "$2" local.settings.json && exec func host start --port "$port") >"$work/host.log" 2>&1 &
  else
    LOCAL_SETTINGS="$2" bash "$start_script" "$1" "$port" >"$work/host.log" 2>&1 &
  fi
  host_pid=$!; pids+=("$host_pid")
  wait_http -X POST "http://127.0.0.1:$port/admin/host/ping" || { tail -50 "$work/host.log"; exit 1; }
  worker_pid=""
  for _ in $(seq 1 300); do
    worker_pid="$(pgrep -f "Gateway\\.(Functions|Bench\\.PassThrough)\\.dll" | while read -r p; do
      [[ "$(tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -c "^AzureWebJobsStorage=$AzureWebJobsStorage\$")" -gt 0 ]] && echo "$p"; done | head -1 || true)"
    [[ -n "$worker_pid" ]] && break
    sleep 0.2
  done
  [[ -n "$worker_pid" ]] || { echo "bench: the worker process was not found" >&2; tail -50 "$work/host.log"; exit 1; }
  # the app answers once the worker is up
  for _ in $(seq 1 300); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer sk-gw-bench-key" -d @"$work/body.json" "http://127.0.0.1:$port/v1/chat/completions" || true)"
    [[ "$code" == "200" ]] && break
    sleep 0.2
  done
}

# bodies: 50 clients each upload an 8 MB body at 1 MB/s at once; the worker's and the host's RSS are sampled every 100 ms.
# What the worker holds for a request should grow with what has arrived, never be taken at the Content-Length up front.
bodies_scenario() {
  local clients="${BENCH_BODY_CLIENTS:-50}" rate="${BENCH_BODY_RATE:-1M}"
  start_storage
  settings "$work/settings.json" "$work/catalog.json"
  start_functions "$gateway_app" "$work/settings.json"
  python3 - "$work/big.json" <<'PY'
import json, random, sys
random.seed(7)
words = ["ledger", "payments", "quarter", "summary", "the", "of", "and", "team", "invoice", "total", "2026", "rate"]
text, size = [], 0
while size < 7_990_000:
    w = random.choice(words); text.append(w); size += len(w) + 1
json.dump({"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": " ".join(text)}]}, open(sys.argv[1], "w"))
PY
  local bytes; bytes="$(stat -c %s "$work/big.json")"
  # warm the path once with a big body, then take the baseline
  curl -s -o /dev/null -X POST -H "Authorization: Bearer sk-gw-bench-key" -H "Content-Type: application/json" --data-binary @"$work/big.json" "http://127.0.0.1:$port/v1/chat/completions"
  load_n 200
  sleep 2
  local base_w base_h; base_w="$(rss_mb "$worker_pid")"; base_h="$(rss_mb "$host_pid")"
  : > "$work/rss.tsv"
  ( while kill -0 "$worker_pid" 2>/dev/null; do echo -e "$(rss_mb "$worker_pid")\t$(rss_mb "$host_pid")" >> "$work/rss.tsv"; sleep 0.1; done ) &
  local sampler=$!
  local started; started="$(date +%s.%N)"
  local uploads=()
  for i in $(seq 1 "$clients"); do
    curl -s -o /dev/null -w '%{http_code}\n' --limit-rate "$rate" -X POST -H "Authorization: Bearer sk-gw-bench-key" -H "Content-Type: application/json" \
      --data-binary @"$work/big.json" "http://127.0.0.1:$port/v1/chat/completions" >> "$work/codes.txt" &
    uploads+=($!)
  done
  wait "${uploads[@]}" || true
  sleep 2
  local took; took="$(python3 -c "import time; print(round(time.time() - $started, 1))")"
  kill "$sampler" 2>/dev/null || true
  python3 - "$work/rss.tsv" "$base_w" "$base_h" "$clients" "$bytes" "$took" "$work/codes.txt" "$rate" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
base_w, base_h, clients, size, took = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
codes = [l.strip() for l in open(sys.argv[7]) if l.strip()]
peak_w = max(r[0] for r in rows); peak_h = max(r[1] for r in rows)
mb = size / 1048576
print(f"  bodies   {clients} clients × {mb:.1f} MiB at {sys.argv[8]}B/s each, {took} s; answers: " + ", ".join(f"{c}×{codes.count(c)}" for c in sorted(set(codes))))
print(f"  bodies   worker RSS: {base_w:.1f} MB before, peak {peak_w:.1f} MB (+{peak_w - base_w:.1f} MB = {(peak_w - base_w) / clients:.1f} MB per body of {mb:.1f} MiB)")
print(f"  bodies   host RSS:   {base_h:.1f} MB before, peak {peak_h:.1f} MB (+{peak_h - base_h:.1f} MB)")
PY
  stop_host
}

# slow-streams: many clients read long streams slowly; the gateway must hold a bounded amount per stream, not the stream.
# BENCH_SLOW_CLIENTS may list several counts ("50 100 150"): each runs on a fresh host, and the growth per stream is
# then fitted as the slope over them (least squares), so the fixed base is not counted per stream.
slow_streams_scenario() {
  local rate="${BENCH_SLOW_RATE:-1K}" seconds="${BENCH_SLOW_SECONDS:-60}" chunks="${BENCH_SLOW_CHUNKS:-20000}"
  : > "$work/slow.tsv"
  clamp_socket_buffers
  # the upstream streams max_tokens / 5 chunks of one word each ("max_tokens": 100000 = 20,000 chunks, ~3 MB)
  echo '{"model":"gpt-4o-mini","max_tokens":'"$((chunks * 5))"',"stream":true,"messages":[{"role":"user","content":"Write at length."}]}' > "$work/long.json"
  for clients in ${BENCH_SLOW_CLIENTS:-100}; do slow_streams_run "$clients" "$rate" "$seconds" "$chunks"; done
  restore_socket_buffers
  python3 - "$work/slow.tsv" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
if len(rows) < 2: sys.exit(0)
def fit(i):
    xs = [r[0] for r in rows]; ys = [r[i] for r in rows if r[i] == r[i]]
    if len(ys) != len(xs): return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope * 1024, my - slope * mx  # KiB per stream, MB at 0 streams
names = {1: "worker peak RSS growth", 2: "worker RSS growth after a full GC", 3: "live managed heap growth", 4: "GC committed growth"}
print(f"  slow-streams fitted over {', '.join(str(int(r[0])) for r in rows)} streams (slope, least squares):")
for i, name in names.items():
    f = fit(i)
    if f: print(f"    {name}: {f[0]:.0f} KiB per stream + {f[1]:.1f} MB")
PY
}

slow_reader() { # $1 rate: one client reading a long stream at that rate until killed (the subshell becomes curl, so killing it ends the reader)
  exec curl -s -N -o /dev/null --limit-rate "$1" -X POST -H "Authorization: Bearer sk-gw-bench-key" -d @"$work/long.json" \
    "http://127.0.0.1:$port/v1/chat/completions"
}

slow_streams_run() { # $1 clients, $2 rate, $3 seconds, $4 chunks per answer
  local clients="$1" rate="$2" seconds="$3" chunks="$4"
  start_storage
  # Loopback's MSS is 64 KiB, so a receiver with a 64 KiB buffer opens its window only once half of it is read: at 1 KB/s
  # the worker's writes stall for ~30 s at a time and it would drop readers as too slow (StreamWriteTimeoutSeconds, 30).
  # The run is about what a stream holds while it is read, so the timeout is long (BENCH_SLOW_WRITE_TIMEOUT, 600 s).
  settings "$work/settings.json" "$work/catalog.json" "Gateway__StreamWriteTimeoutSeconds=${BENCH_SLOW_WRITE_TIMEOUT:-600}"
  start_functions "$gateway_app" "$work/settings.json"
  # warm the stream path, slow readers included, so the JIT's one-off tier-1 work on it is in the base, not the growth:
  # a whole long stream, then a few slow readers for a while, then ordinary requests
  curl -s -o /dev/null -X POST -H "Authorization: Bearer sk-gw-bench-key" -d @"$work/long.json" "http://127.0.0.1:$port/v1/chat/completions"
  local warmers=()
  for i in $(seq 1 10); do slow_reader "$rate" & warmers+=($!); done
  sleep "${BENCH_SLOW_WARMUP_SECONDS:-20}"
  kill "${warmers[@]}" 2>/dev/null || true
  wait "${warmers[@]}" 2>/dev/null || true
  for i in 1 2 3; do curl -s -o /dev/null -X POST -H "Authorization: Bearer sk-gw-bench-key" -d @"$work/long.json" "http://127.0.0.1:$port/v1/chat/completions"; done
  load_n 200
  sleep 3
  local base_w base_h; base_w="$(rss_mb "$worker_pid")"; base_h="$(rss_mb "$host_pid")"
  heap_probe "slow-streams-$clients" before
  local gc_base_rss="$probe_rss" live_base="$probe_live" committed_base="$probe_committed"
  : > "$work/rss.tsv"
  ( while kill -0 "$worker_pid" 2>/dev/null; do echo -e "$(rss_mb "$worker_pid")\t$(rss_mb "$host_pid")" >> "$work/rss.tsv"; sleep 0.2; done ) &
  local sampler=$!
  local readers=()
  for i in $(seq 1 "$clients"); do slow_reader "$rate" & readers+=($!); done
  sleep "$seconds"
  # the streams still in flight: the worker's connections to the upstream (a stream that ended early would not count)
  local open; open="$(ss -Htn state established "( sport = :$upstream_port )" 2>/dev/null | wc -l)"
  echo "  slow-streams $clients readers: $open streams open to the upstream after $seconds s"
  heap_probe "slow-streams-$clients" reading
  local gc_rss="$probe_rss" live="$probe_live" committed="$probe_committed"
  if [[ -n "${BENCH_GCDUMP:-}" && -f "$BENCH_GCDUMP/slow-streams-$clients-reading.tsv" && "$open" -gt 0 ]]; then
    dotnet bench/HeapWalk/bin/Release/net10.0/Gateway.Bench.HeapWalk.dll diff "$BENCH_GCDUMP/slow-streams-$clients-before.tsv" \
      "$BENCH_GCDUMP/slow-streams-$clients-reading.tsv" "$open" 25 | sed 's/^/  slow-streams /' || true
  fi
  kill "${readers[@]}" 2>/dev/null || true
  wait "${readers[@]}" 2>/dev/null || true
  kill "$sampler" 2>/dev/null || true
  python3 - "$work/rss.tsv" "$base_w" "$clients" "$rate" "$seconds" "$base_h" "$chunks" "$gc_base_rss" "$gc_rss" "$live_base" "$live" "$committed_base" "$committed" >> "$work/slow.tsv" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
base, clients, base_h, chunks = float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[6]), int(sys.argv[7])
num = lambda s: float(s) if s else float("nan")
gc_base, gc_rss, live_base, live, c_base, c = map(num, sys.argv[8:14])
peak = max(r[0] for r in rows); peak_h = max(r[1] for r in rows); end = rows[-1][0]
out = sys.stderr
print(f"  slow-streams {clients} streams of {chunks} chunks (~{chunks * 150 / 1e6:.1f} MB) read at {sys.argv[4]}B/s for {sys.argv[5]} s: worker RSS {base:.1f} MB before, peak {peak:.1f} MB "
      f"(+{peak - base:.1f} MB = {(peak - base) * 1024 / clients:.0f} KiB per stream; target ≤ 64 KiB per stream plus a fixed base), {end:.1f} MB at the end", file=out)
print(f"  slow-streams host RSS {base_h:.1f} MB before, peak {peak_h:.1f} MB (+{peak_h - base_h:.1f} MB)", file=out)
if live == live:
    print(f"  slow-streams after a full GC: worker RSS +{gc_rss - gc_base:.1f} MB, live managed heap +{(live - live_base) / 1048576:.1f} MB "
          f"({(live - live_base) / 1024 / clients:.0f} KiB per stream), GC committed +{c - c_base:.1f} MB", file=out)
print(f"{clients}\t{peak - base}\t{gc_rss - gc_base}\t{(live - live_base) / 1048576}\t{c - c_base}")
PY
  stop_host
}

no_setup() { :; }
limits_setup() {
  local admin="x-admin-key: sk-gw-admin-bench"
  for scope in key:key_dev team:dev global; do
    curl -s -o /dev/null -X PUT -H "$admin" -d '{"limit_usd":1000000,"period":"monthly"}' "http://127.0.0.1:$port/gateway/budgets/$scope"
  done
  # a budget is seen by the instance at its next directory refresh
  sleep 6
}

echo "bench: $runs runs of $requests requests per scenario, $concurrency concurrent clients, host: $start_script"
echo "bench: machine: $(nproc) CPUs, $(awk '/model name/ { $1=$2=$3=""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo)"
for scenario in ${BENCH_SCENARIOS:-floor gateway limits}; do
  case "$scenario" in
    floor) run_scenario floor "$floor_app" "$work/catalog.json" no_setup ;;
    gateway) run_scenario gateway "$gateway_app" "$work/catalog.json" no_setup ;;
    limits) run_scenario limits "$gateway_app" "$work/catalog-quota.json" limits_setup \
      "Gateway__RateLimits__KeyRequestsPerMinute=10000000" "Gateway__RateLimits__KeyTokensPerMinute=100000000000" ;;
    bodies) bodies_scenario ;;
    slow-streams) slow_streams_scenario ;;
    stream-floor) body_file="stream.json"; run_scenario stream-floor "$floor_app" "$work/catalog.json" no_setup; body_file="body.json" ;;
    stream-gateway) body_file="stream.json"; run_scenario stream-gateway "$gateway_app" "$work/catalog.json" no_setup; body_file="body.json" ;;
    *) echo "bench: unknown scenario $scenario (floor, gateway, limits, bodies, stream-floor, stream-gateway)" >&2; exit 1 ;;
  esac
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows: by.setdefault(r[0], []).append(r)
def col(name, i): return [float(r[i]) for r in by[name]]
floor = statistics.median(col("floor", 2)) if "floor" in by else None
print("\nsummary (median of runs, min–max in brackets):")
for name in [n for n in ("floor", "gateway", "limits", "stream-floor", "stream-gateway") if n in by]:
    rps = col(name, 2)
    fmt = lambda i: f"{statistics.median(col(name, i)):g} [{min(col(name, i)):g}–{max(col(name, i)):g}]"
    ratio = f"{statistics.median(rps) / floor:.2f}" if floor else "?"
    print(f"  {name:8s} {fmt(2)} req/s = {ratio} × floor; p50 {fmt(3)} ms; p99 {fmt(4)} ms; max {fmt(5)} ms; "
          f"non-200 {int(sum(col(name, 6)))}; CPU ms/request host {fmt(7)}, worker {fmt(8)}, Azurite {fmt(9)}; first byte p50 {fmt(10)} ms, p95 {fmt(11)} ms")
if "stream-floor" in by and "stream-gateway" in by:
    added = statistics.median(col("stream-gateway", 10)) - statistics.median(col("stream-floor", 10))
    print(f"  streams: the gateway adds {added:.2f} ms to the time to first byte at p50 (target ≤ 5 ms)")
PY
[[ ! -f "$work/memory.tsv" ]] || awk -F'\t' '{ printf "  worker memory (RSS): %s MB after 10,000 requests, %s MB after 30,000 (%+.1f %%), %s MB after the warm-up and the runs\n", $2, $3, ($3 - $2) * 100 / $2, $4 }' "$work/memory.tsv"
