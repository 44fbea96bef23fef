#!/usr/bin/env bash
# Collector benchmark: realistic logger.js pushes against a release build of `lookout serve`,
# and in the same run against nginx answering 204 on the same machine (the ceiling), plus a
# paced run at a fixed rate for tail latency and the collector's RSS under load.
#
#   bench/collector/run.sh   (env: DURATION=15 CONNECTIONS=32 THREADS=1 PACED_RATE=1000 PACED_SECONDS=20,
#                             LOOKOUT_BIN=path to skip the release build)
#
# Needs: swift, wrk, nginx, node, curl. Everything listens on 127.0.0.1 on free ports; every
# process started here is stopped on exit. Loki is played by a second nginx server block that
# answers 204 at once, so the forwarder's real work (batching, JSON, HTTP) is included.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PACED_RATE=${PACED_RATE:-1000}
PACED_SECONDS=${PACED_SECONDS:-20}
SCRATCH=${SCRATCH:-.build-release}
HERE=bench/collector

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() {
  for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "bench: $1 did not come up" >&2; return 1
}

if [[ -n ${LOOKOUT_BIN:-} ]]; then
  bin=$LOOKOUT_BIN   # an already built binary (e.g. to check this script quickly with a debug build)
else
  # --static-swift-stdlib: the binary the Dockerfile ships. Against the shared Swift runtime it
  # also pays a dynamic TLS lookup (__tls_get_addr) and PLT calls on every runtime call.
  echo "== building (release, static Swift runtime as in the Dockerfile, scratch path $SCRATCH)"
  swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product lookout 2>&1 | tail -1
  bin="$SCRATCH/release/lookout"
fi

nginx_port=$(free_port); loki_port=$(free_port); collector_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  # The baseline: the cheapest possible answer to the same request.
  server { listen 127.0.0.1:$nginx_port; location / { return 204; } }
  # The fake Loki the collector forwards to.
  server {
    listen 127.0.0.1:$loki_port;
    location = /ready { return 200 "ready\n"; }
    location / { return 204; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work/nginx" &
pids+=($!)

logger_js=frontend/logger/logger.min.js
[[ -f $logger_js ]] || { echo 'var e="http://monitoring-host:3100/loki/api/v1/push";' > "$work/logger.js"; logger_js=$work/logger.js; }
# Rate limits are raised so that every push is accepted; the bucket lookups still happen.
LOOKOUT_LISTEN=127.0.0.1:$collector_port \
LOOKOUT_LOKI_URL=http://127.0.0.1:$loki_port \
LOOKOUT_ALLOWED_ORIGINS=http://app.example \
LOOKOUT_LOGGER_JS=$logger_js \
LOOKOUT_RATE_PER_SECOND=1000000 LOOKOUT_RATE_BURST=1000000 \
LOG_LEVEL=warning \
  "$bin" serve &
collector_pid=$!
pids+=($collector_pid)

wait_http "http://127.0.0.1:$nginx_port/"  || true
wait_http "http://127.0.0.1:$loki_port/ready"
wait_http "http://127.0.0.1:$collector_port/health"

now_ns="$(date +%s)000000000"
body='{"streams":[{"stream":{"app":"frontend","kind":"pageload","env":"production","release":"2026.11.3"},"values":[["'$now_ns'","{\"kind\":\"pageload\",\"page\":\"/products/42\",\"ttfb\":184,\"dcl\":912,\"load\":1630,\"dns\":12,\"tcp\":18,\"tls\":25,\"transfer_size\":48211,\"nav_type\":\"navigate\"}"]]}]}'
printf '%s' "$body" > "$work/body.json"
for port in "$nginx_port" "$collector_port"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain;charset=UTF-8' \
    -H 'Origin: http://app.example' --data-binary @"$work/body.json" "http://127.0.0.1:$port/loki/api/v1/push")
  [[ $status == 204 ]] || { echo "bench: sanity push to port $port answered $status" >&2; exit 1; }
done

run_wrk() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$HERE/push.lua" "http://127.0.0.1:$1/loki/api/v1/push"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }

echo "== wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s: nginx return 204"
run_wrk "$nginx_port" | tee "$work/wrk-nginx.txt"

echo "== wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s: collector (RSS sampled every 0.5 s)"
( while kill -0 "$collector_pid" 2>/dev/null; do
    awk '/^VmRSS:/ {print $2}' "/proc/$collector_pid/status"; sleep 0.5
  done ) > "$work/rss.txt" &
sampler=$!
pids+=($sampler)
run_wrk "$collector_port" | tee "$work/wrk-collector.txt"
kill "$sampler" 2>/dev/null || true

# The framework's floor on this machine, for reading the ratio: the same server answering a GET
# with a constant (/health), and refusing a POST before its body is read (415).
echo "== wrk: collector GET /health and a POST refused with 415 (framework floor)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$collector_port/health" | tee "$work/wrk-health.txt"
cat > "$work/refused.lua" <<'LUA'
wrk.method = "POST"
wrk.body = string.rep("x", 600)
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/refused.lua" "http://127.0.0.1:$collector_port/loki/api/v1/push" | tee "$work/wrk-refused.txt"

echo "== paced: $PACED_RATE req/s for ${PACED_SECONDS}s"
paced_collector=$(node "$HERE/paced.js" "http://127.0.0.1:$collector_port/loki/api/v1/push" "$PACED_RATE" "$PACED_SECONDS" "$work/body.json")
paced_nginx=$(node "$HERE/paced.js" "http://127.0.0.1:$nginx_port/loki/api/v1/push" "$PACED_RATE" "$PACED_SECONDS" "$work/body.json")
echo "collector: $paced_collector"
echo "nginx:     $paced_nginx"

sleep 2  # let the forwarder drain its last batch
metrics=$(curl -fs "http://127.0.0.1:$collector_port/metrics")
metric() { awk -v name="$1" '$1 == name {print $2}' <<<"$metrics"; }
rss_after=$(awk '/^VmRSS:/ {print $2}' "/proc/$collector_pid/status")
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$collector_pid/status")

nginx_rps=$(rps "$work/wrk-nginx.txt"); collector_rps=$(rps "$work/wrk-collector.txt")
# Steady state: the median of the samples taken in the second half of the wrk run.
samples=$(grep -c . "$work/rss.txt")
rss_steady=$(tail -n "$(( (samples + 1) / 2 ))" "$work/rss.txt" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')

cat <<REPORT

== results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))
| measurement | nginx (return 204) | collector |
|---|---|---|
| wrk -t$THREADS -c$CONNECTIONS, requests/s | $nginx_rps | $collector_rps |
| wrk p99 latency (saturated) | $(p99 "$work/wrk-nginx.txt") | $(p99 "$work/wrk-collector.txt") |
| paced $PACED_RATE req/s: p50 / p99 / max ms | $(jq -r '"\(.p50_ms) / \(.p99_ms) / \(.max_ms)"' <<<"$paced_nginx" 2>/dev/null || echo "$paced_nginx") | $(jq -r '"\(.p50_ms) / \(.p99_ms) / \(.max_ms)"' <<<"$paced_collector" 2>/dev/null || echo "$paced_collector") |
ratio collector/nginx: $(awk -v a="$collector_rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a/b}')
framework floor, same server: GET /health $(rps "$work/wrk-health.txt") req/s ($(awk -v a="$(rps "$work/wrk-health.txt")" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a/b}') x nginx); POST refused with 415 $(rps "$work/wrk-refused.txt") req/s ($(awk -v a="$(rps "$work/wrk-refused.txt")" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a/b}') x nginx)
collector RSS under load (median of 2nd half of wrk run): $((rss_steady / 1024)) MiB; after runs: $((rss_after / 1024)) MiB; peak (VmHWM): $((hwm / 1024)) MiB
collector counters: accepted $(metric lookout_collector_events_accepted_total), forwarded $(metric lookout_collector_events_forwarded_total), dropped $(metric lookout_collector_events_dropped_total), rate limited $(metric lookout_collector_rate_limited_total), queue depth $(metric lookout_collector_queue_depth)
REPORT
