#!/usr/bin/env bash
# What serving /metrics costs: the harness's CPU time per request in the throughput case
# (scripts/bench/rps.yaml against a separate simulator), without and with --metrics-listen while
# a scraper reads /metrics every SCRAPE seconds (Prometheus' default is 15 s; 1 s is harsher).
# Rounds alternate the two modes; medians are printed with every sample and the ratio.
# Prints figures, asserts nothing. All traffic goes to 127.0.0.1; every phase is bounded in time.
#   SECS=10 USERS=50 ROUNDS=5 SCRAPE=1 scripts/bench-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
USERS=${USERS:-50}
ROUNDS=${ROUNDS:-5}
SCRAPE=${SCRAPE:-1}
MPORT=${MPORT:-19464}

cargo build --release --quiet --bin aeapi-harness
. scripts/bench/common.sh
url=$BENCH_URL
start_sim

# One run: CPU seconds (user + system) of the harness process, requests it made, scrapes served.
one() {
  local mode=$1 round=$2 extra=() scrapes=0
  [ "$mode" = metrics ] && extra=(--metrics-listen "127.0.0.1:$MPORT")
  /usr/bin/time -f '%U %S' -o "$out/time" timeout $((SECS + 90)) \
    $bin -q run scripts/bench/rps.yaml --target "$url" --agents "$USERS" --duration "${SECS}s" \
    "${extra[@]}" --out "$out/$mode$round" >/dev/null 2>&1 &
  local pid=$!
  if [ "$mode" = metrics ]; then
    local deadline=$((SECONDS + SECS + 60))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      curl -fs -o /dev/null "http://127.0.0.1:$MPORT/metrics" && scrapes=$((scrapes + 1))
      sleep "$SCRAPE"
    done
  fi
  wait "$pid" || true
  python3 - "$out/$mode$round/summary.json" "$out/time" "$mode" "$scrapes" >>"$out/rows" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
n = sum(op["count"] for op in s["operations"].values())
print(sys.argv[3], (user + system) / n * 1e6, n, sys.argv[4])
PY
  echo "round $round $mode: $(tail -n 1 "$out/rows")" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then one plain "$round"; one metrics "$round"; else one metrics "$round"; one plain "$round"; fi
done

python3 - "$out/rows" "$USERS" "$SECS" "$SCRAPE" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(mode, i): return [float(r[i]) for r in rows if r[0] == mode]
plain, metrics = col("plain", 1), col("metrics", 1)
print(f"CPU per request (user + system µs), {sys.argv[2]} agents, {sys.argv[3]} s runs, median of {len(plain)} rounds")
print(f"    without /metrics   {statistics.median(plain):7.2f}   {[round(x, 2) for x in plain]}  requests {[int(x) for x in col('plain', 2)]}")
print(f"    with /metrics      {statistics.median(metrics):7.2f}   {[round(x, 2) for x in metrics]}  scraped every {sys.argv[4]} s: {[int(x) for x in col('metrics', 3)]} scrapes")
print(f"    with / without     {statistics.median(metrics) / statistics.median(plain):7.1%}   (target <= 105%)")
PY
