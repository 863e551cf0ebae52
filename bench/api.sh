#!/usr/bin/env bash
# make bench-api: wrk on loopback against clipmill serve. It measures GET of
# a finished job and POSTs that fail validation, printing requests per
# second and the 99th percentile latency of each.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=bin/clipmill
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
base=http://127.0.0.1:$port
key=bench-key-$RANDOM$RANDOM
duration=${BENCH_SECONDS:-10}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-16}

echo "making a 40 s sample talk and clipping it once ..."
$bin sample "$dir/talk.mp4" --seconds 40 --size 320x180 >/dev/null
# The rate limit is lifted: this measures the server, not the limiter.
CLIPMILL_API_KEYS=$key $bin serve --addr 127.0.0.1:$port --data "$dir/data" --rate-limit 0 \
  --x264-preset ultrafast >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done

asset=$(curl -fsS -H "x-api-key: $key" -H "Content-Type: video/mp4" --data-binary @"$dir/talk.mp4" "$base/v1/asset" |
  sed -n 's/.*"asset_id":"\([^"]*\)".*/\1/p')
id=$(curl -fsS -H "x-api-key: $key" -H "Content-Type: application/json" \
  -d "{\"video\":{\"type\":\"asset_id\",\"asset_id\":\"$asset\"},\"output_settings\":{\"duration_types\":[\"30\"]}}" \
  "$base/v3/ai-clipping" | sed -n 's/.*"ai_clipping_id":"\([^"]*\)".*/\1/p')
for _ in $(seq 300); do
  status=$(curl -fsS -H "x-api-key: $key" "$base/v3/ai-clipping/$id" | sed -n 's/.*"status":"\([a-z]*\)","title.*/\1/p')
  [ "$status" = completed ] && break
  [ "$status" = failed ] && { echo "bench-api: the job failed"; cat "$dir/serve.log"; exit 1; }
  sleep 0.5
done
[ "$status" = completed ] || { echo "bench-api: the job did not finish"; exit 1; }

cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"video":{"type":"url","url":"ftp://example.com/a.mp4"},"output_settings":{"duration_types":["45"]}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "$key"
LUA

report() { # name, wrk output
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$2")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$2")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$2")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$2")
  printf '%-34s %10s req/s   p50 %-8s p99 %-8s%s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:+  (non-2xx: $non2xx)}"
}
echo "wrk: $threads threads, $conns connections, ${duration}s each, on $(nproc) cores shared with the server"
out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -H "x-api-key: $key" "$base/v3/ai-clipping/$id")
report "GET finished job (200)" "$out"
out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$dir/post.lua" "$base/v3/ai-clipping")
report "POST failing validation (400)" "$out"
echo "aim: at least 10000 GET/s with p99 under 5 ms"
