#!/usr/bin/env bash
# What serving /metrics costs: the harness's work per request in the throughput case
# (scripts/bench/rps.yaml against a separate simulator) with --metrics-listen while a scraper
# reads /metrics every SCRAPE seconds (Prometheus' default is 15 s; 1 s is harsher), against
# the same run without it. Medians of ROUNDS rounds are printed with every sample.
#   MODE=cpu (default): CPU time (user + system) per request of SECS-long runs, rounds
#     alternating the two modes. Rounds swing by 10-20% on shared cores, more than the effect.
#   MODE=callgrind: the run with --metrics-listen under valgrind's callgrind, which counts
#     instructions, and the share of them spent in the monitor's code (all of it inclusive: the
#     recorder's hooks into it on every request, the timeline's ticks, serving /metrics) over the
#     rest. Differences between whole runs are no steadier under callgrind than CPU time (the
#     corrected histograms' work grows with latency, idle workers spin); attribution is. Under
#     callgrind the harness runs ~10x slower, so ticks and scrapes (once per SCRAPE s) weigh ~10x
#     more per request than natively: the share is an upper bound.
# Prints figures, asserts nothing. All traffic goes to 127.0.0.1; every phase is bounded in time.
#   SECS=10 USERS=50 ROUNDS=5 SCRAPE=1 scripts/bench-metrics.sh
#   MODE=callgrind ROUNDS=3 SECS=30 scripts/bench-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
USERS=${USERS:-50}
ROUNDS=${ROUNDS:-5}
SCRAPE=${SCRAPE:-1}
MODE=${MODE:-cpu}
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
# with --metrics-listen; under callgrind with MODE=callgrind. Prints "requests cpu scrapes",
# cpu being CPU seconds (user + system).
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
  python3 - "$out/$name/summary.json" "$out/$name.time" "$scrapes" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n = sum(op["count"] for op in s["operations"].values())
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
print(n, user + system, sys.argv[3])
PY
}

# Callgrind: the monitor's share of the instructions of run $1 (its callgrind file), as
# "requests total hooks ticks serving" (instructions, inclusive). The roots do not call each
# other: the recorder calls the Observer hooks, the server's timer task calls tick, hyper's
# connection task serves /metrics (the only HTTP server in a run against a separate simulator).
attribute() {
  callgrind_annotate --inclusive=yes --threshold=100 "$out/$1.cg" >"$out/$1.annotated" 2>/dev/null
  python3 - "$out/$1.annotated" "$out/$1/summary.json" <<'PY'
import json, re, sys
roots = {
    "hooks": r"<aeapi_harness::live::Monitor as aeapi_harness::metrics::observer::Observer>::\w+ \[",
    "ticks": r"aeapi_harness::live::timeline::<impl aeapi_harness::live::Monitor>::tick \[",
    "serving": r"<hyper_util::server::conn::auto::UpgradeableConnection<I,S,E> as core::future::future::Future>::poll \[",
}
sums, total = dict.fromkeys(roots, 0), 0
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)", line)
    if not m or "=>" in line:
        continue
    n = int(m.group(1).replace(",", ""))
    if m.group(2).startswith("PROGRAM TOTALS"):
        total = n
    for k, pat in roots.items():
        if re.search(pat, m.group(2)):
            sums[k] += n
if not sums["hooks"]:
    sys.exit("no Observer hooks in the profile: were the function names changed?")
s = json.load(open(sys.argv[2]))
n = sum(op["count"] for op in s["operations"].values())
print(n, total, sums["hooks"], sums["ticks"], sums["serving"])
PY
}

# One sample of mode $1 in round $2: appends "mode per-request requests scrapes" to rows.
one() {
  local mode=$1 round=$2 n w s
  read -r n w s < <(run_once "$mode" "$mode$round" "$SECS")
  echo "$mode $(python3 -c "print($w / $n * 1e6)") $n $s" >>"$out/rows"
  echo "round $round $mode: $(tail -n 1 "$out/rows")" >&2
}

if [ "$MODE" = callgrind ]; then
  for round in $(seq 1 "$ROUNDS"); do
    read -r _ _ s < <(run_once metrics "metrics$round" "$SECS")
    echo "$(attribute "metrics$round") $s" >>"$out/rows"
    echo "round $round: $(tail -n 1 "$out/rows")" >&2
  done
  python3 - "$out/rows" "$USERS" "$SCRAPE" "$SECS" <<'PY'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
def per(i): return [r[i] / r[0] for r in rows]
mon = [(r[2] + r[3] + r[4]) / (r[1] - r[2] - r[3] - r[4]) for r in rows]
print(f"instructions per request under callgrind, {sys.argv[2]} agents, {sys.argv[4]} s runs with --metrics-listen, scraped every {sys.argv[3]} s, median of {len(rows)} rounds")
print(f"    the whole harness     {statistics.median(per(1)):9.0f}   {[round(x) for x in per(1)]}  requests {[r[0] for r in rows]}")
print(f"    Observer hooks        {statistics.median(per(2)):9.0f}   {[round(x) for x in per(2)]}")
print(f"    timeline ticks        {statistics.median(per(3)):9.0f}   {[round(x) for x in per(3)]}")
print(f"    serving /metrics      {statistics.median(per(4)):9.0f}   {[round(x) for x in per(4)]}  {[r[5] for r in rows]} scrapes")
print(f"    with / without        {1 + statistics.median(mon):9.1%}   {[f'{1 + x:.1%}' for x in mon]}  (target <= 105%)")
PY
  exit 0
fi

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then one plain "$round"; one metrics "$round"; else one metrics "$round"; one plain "$round"; fi
done

python3 - "$out/rows" "$USERS" "$SCRAPE" "CPU per request (user + system µs, ${SECS} s runs)" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(mode, i): return [float(r[i]) for r in rows if r[0] == mode]
plain, metrics = col("plain", 1), col("metrics", 1)
print(f"{sys.argv[4]}, {sys.argv[2]} agents, median of {len(plain)} rounds")
print(f"    without /metrics   {statistics.median(plain):9.2f}   {[round(x, 2) for x in plain]}  requests {[int(x) for x in col('plain', 2)]}")
print(f"    with /metrics      {statistics.median(metrics):9.2f}   {[round(x, 2) for x in metrics]}  scraped every {sys.argv[3]} s: {[int(x) for x in col('metrics', 3)]} scrapes")
print(f"    with / without     {statistics.median(metrics) / statistics.median(plain):9.1%}   (target <= 105%)")
PY
