#!/usr/bin/env bash
# What serving /metrics costs: the harness's work per request in the throughput case
# (scripts/bench/rps.yaml against a separate simulator), without and with --metrics-listen while
# a scraper reads /metrics every SCRAPE seconds (Prometheus' default is 15 s; 1 s is harsher).
# Rounds alternate the two modes; medians are printed with every sample and the ratio.
#   MODE=cpu (default): CPU time (user + system) per request of SECS-long runs. Rounds swing by
#     10-20% on shared cores, more than the effect measured.
#   MODE=callgrind: instructions per request under valgrind's callgrind, which are repeatable on
#     shared machines. Each mode runs twice per round, for CG_SHORT and CG_LONG seconds, and the
#     difference (instructions / requests of the longer run beyond the shorter) leaves out what
#     a run costs once (start-up, suite, reports). Under callgrind the harness runs ~50x slower,
#     so a scrape every SCRAPE seconds is ~50x more scrapes per request than natively.
# Prints figures, asserts nothing. All traffic goes to 127.0.0.1; every phase is bounded in time.
#   SECS=10 USERS=50 ROUNDS=5 SCRAPE=1 scripts/bench-metrics.sh
#   MODE=callgrind ROUNDS=3 CG_SHORT=15 CG_LONG=45 scripts/bench-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
USERS=${USERS:-50}
ROUNDS=${ROUNDS:-5}
SCRAPE=${SCRAPE:-1}
MODE=${MODE:-cpu}
CG_SHORT=${CG_SHORT:-15}
CG_LONG=${CG_LONG:-45}
case "$MODE" in cpu | callgrind) ;; *) echo "MODE=$MODE: cpu or callgrind" >&2; exit 2 ;; esac
if [ "$MODE" = callgrind ] && ! command -v valgrind >/dev/null; then
  echo "MODE=callgrind needs valgrind (Debian package)" >&2
  exit 2
fi
MPORT=${MPORT:-19464}

cargo build --release --quiet --bin aeapi-harness
. scripts/bench/common.sh
url=$BENCH_URL
start_sim

# One harness run of $3 seconds in mode $1 (plain|metrics), named $2, scraped every SCRAPE s
# with --metrics-listen; under callgrind with MODE=callgrind. Prints "requests work scrapes",
# work being CPU seconds (user + system) or instructions.
run_once() {
  local mode=$1 name=$2 secs=$3 extra=() wrap=() scrapes=0
  [ "$mode" = metrics ] && extra=(--metrics-listen "127.0.0.1:$MPORT")
  if [ "$MODE" = callgrind ]; then
    wrap=(valgrind --tool=callgrind --callgrind-out-file="$out/$name.cg" --dump-line=no)
  fi
  /usr/bin/time -f '%U %S' -o "$out/$name.time" timeout $((secs * 3 + 120)) "${wrap[@]}" \
    $bin -q run scripts/bench/rps.yaml --target "$url" --agents "$USERS" --duration "${secs}s" \
    "${extra[@]}" --out "$out/$name" >/dev/null 2>"$out/$name.log" &
  local pid=$!
  if [ "$mode" = metrics ]; then
    local deadline=$((SECONDS + secs * 3 + 120))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      curl -fs -o /dev/null "http://127.0.0.1:$MPORT/metrics" && scrapes=$((scrapes + 1))
      sleep "$SCRAPE"
    done
  fi
  wait "$pid" || true
  python3 - "$out/$name/summary.json" "$out/$name.time" "$out/$name.cg" "$MODE" "$scrapes" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
n = sum(op["count"] for op in s["operations"].values())
if sys.argv[4] == "callgrind":
    text = open(sys.argv[3]).read()
    work = int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))
else:
    user, system = map(float, open(sys.argv[2]).read().split()[-2:])
    work = user + system
print(n, work, sys.argv[5])
PY
}

# One sample of mode $1 in round $2: appends "mode per-request requests scrapes" to rows.
one() {
  local mode=$1 round=$2 n w s n0 w0 _
  if [ "$MODE" = callgrind ]; then
    read -r n0 w0 _ < <(run_once "$mode" "$mode${round}s" "$CG_SHORT")
    read -r n w s < <(run_once "$mode" "$mode${round}l" "$CG_LONG")
    echo "$mode $(python3 -c "print(($w - $w0) / ($n - $n0))") $n $s" >>"$out/rows"
  else
    read -r n w s < <(run_once "$mode" "$mode$round" "$SECS")
    echo "$mode $(python3 -c "print($w / $n * 1e6)") $n $s" >>"$out/rows"
  fi
  echo "round $round $mode: $(tail -n 1 "$out/rows")" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then one plain "$round"; one metrics "$round"; else one metrics "$round"; one plain "$round"; fi
done

if [ "$MODE" = callgrind ]; then
  unit="instructions per request (callgrind; the requests of a ${CG_LONG} s run beyond a ${CG_SHORT} s one)"
else
  unit="CPU per request (user + system µs, ${SECS} s runs)"
fi
python3 - "$out/rows" "$USERS" "$SCRAPE" "$unit" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(mode, i): return [float(r[i]) for r in rows if r[0] == mode]
plain, metrics = col("plain", 1), col("metrics", 1)
print(f"{sys.argv[4]}, {sys.argv[2]} agents, median of {len(plain)} rounds")
print(f"    without /metrics   {statistics.median(plain):9.2f}   {[round(x, 2) for x in plain]}  requests {[int(x) for x in col('plain', 2)]}")
print(f"    with /metrics      {statistics.median(metrics):9.2f}   {[round(x, 2) for x in metrics]}  scraped every {sys.argv[3]} s: {[int(x) for x in col('metrics', 3)]} scrapes")
print(f"    with / without     {statistics.median(metrics) / statistics.median(plain):9.1%}   (target <= 105%)")
PY
