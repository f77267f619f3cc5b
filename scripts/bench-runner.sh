#!/usr/bin/env bash
# Runner benchmarks: prints figures, asserts nothing (targets are judged by the reader).
#   (a) req/s, GET preLoginStatus on the simulator, USERS connections/users, SECS per run: wrk,
#       plain goose (examples/goose_plain), the harness with status + schema + within checked on
#       every response (scripts/bench/rps.yaml), Locust FastHttpUser in one process
#       (scripts/bench/locustfile.py RpsUser). The four take turns, ROUNDS times, against one
#       simulator; medians and every ratio are printed.
#   (b) long-polling agents against a separate simulator: the harness (scripts/bench/longpoll.yaml)
#       and Locust (LongPollUser: token, login, agentStatus available, held GET messages), peak
#       RSS per agent at AGENTS, medians of ROUNDS rounds; in round 1 also at AGENTS/3 for the
#       slope (what one more agent costs). The simulator's peak RSS per agent is printed too.
# Locust (locust==2.47.0) is installed from PyPI into a throw-away venv in the run's temp dir.
# All traffic goes to 127.0.0.1; every phase is bounded in time.
#   SECS=10 USERS=50 ROUNDS=3 AGENTS=15000 scripts/bench-runner.sh [rps|longpoll|all]
# `ROUNDS=3 scripts/bench-runner.sh all` takes about 13 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
SECS=${SECS:-10}
USERS=${USERS:-50}
AGENTS=${AGENTS:-15000}
ROUNDS=${ROUNDS:-3}
LOCUST_VERSION=${LOCUST_VERSION:-2.47.0}
case "$what" in rps | longpoll | all) ;; *) echo "usage: $0 [rps|longpoll|all]" >&2; exit 2 ;; esac
if (( AGENTS > 19000 )); then
  echo "AGENTS=$AGENTS: one socket per agent, and 20,000 open files per process at most" >&2
  exit 2
fi

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1 || echo "wrk unavailable: skipping its column" >&2
fi
# NO_BUILD=1: use the release binaries already in target/ as they are.
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin aeapi-harness --example goose_plain
. scripts/bench/common.sh

echo "installing locust==$LOCUST_VERSION into a throw-away venv" >&2
locust=""
if python3 -m venv "$out/venv" >/dev/null 2>&1 &&
  "$out/venv/bin/pip" install -q --disable-pip-version-check "locust==$LOCUST_VERSION" >"$out/pip.log" 2>&1; then
  locust="$out/venv/bin/locust"
else
  echo "locust unavailable (see pip's output below): skipping its column" >&2
  tail -n 5 "$out/pip.log" >&2 || true
fi

sim_hwm() { awk '/VmHWM/ {print $2}' "/proc/$sim_pid/status" 2>/dev/null || echo 0; }
jq_num() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
max_rss() { awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$1"; }
# Locust's request count and failures for request name $2 (Aggregated: all) from stats CSV $1.
locust_count() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["Name"] == sys.argv[2]]
print(f"{rows[0]['Request Count']} {rows[0]['Failure Count']}" if rows else "0 0")
PY
}

if [ "$what" = rps ] || [ "$what" = all ]; then
  start_sim
  url="$BENCH_URL/engagementAPI/v2/agent/preLoginStatus?username=agent1&output=json"
  : >"$out/rps.txt"
  for round in $(seq 1 "$ROUNDS"); do
    if command -v wrk >/dev/null; then
      r=$(timeout $((SECS + 30)) wrk -t1 -c"$USERS" -d"${SECS}s" "$url" | awk '/Requests\/sec/ {print $2}')
      echo "wrk $r" >>"$out/rps.txt"
    fi
    r=$(timeout $((SECS + 60)) target/release/examples/goose_plain "$url" "$USERS" "$SECS" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
    echo "goose $r" >>"$out/rps.txt"
    timeout $((SECS + 90)) $bin -q run scripts/bench/rps.yaml --target "$BENCH_URL" --agents "$USERS" --duration "${SECS}s" --out "$out/rps$round" >/dev/null || true
    r=$(jq_num "$out/rps$round/summary.json" "d['operations']['preLoginStatus']['count']/$SECS")
    f=$(jq_num "$out/rps$round/summary.json" "sum(c['failed'] for c in d['checks'])")
    echo "harness $r $f" >>"$out/rps.txt"
    if [ -n "$locust" ]; then
      # One process, all users spawned in the first second, SECS in all.
      timeout $((SECS + 60)) "$locust" -f scripts/bench/locustfile.py --headless --only-summary \
        -u "$USERS" -r "$USERS" -t "${SECS}s" --host "$BENCH_URL" --csv "$out/lrps$round" \
        RpsUser >/dev/null 2>"$out/lrps$round.log" || true
      read -r n f < <(locust_count "$out/lrps${round}_stats.csv" preLoginStatus)
      echo "locust $(python3 -c "print($n/$SECS)") $f" >>"$out/rps.txt"
    fi
    echo "round $round: $(tail -n 4 "$out/rps.txt" | tr '\n' ' ')" >&2
  done
  stop_sim
  python3 - "$out/rps.txt" "$USERS" "$SECS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(tool):
    xs = [float(r[1]) for r in rows if r[0] == tool and len(r) > 1 and r[1]]
    return (statistics.median(xs), xs) if xs else (0.0, [])
def failed(tool):
    return sum(int(float(r[2])) for r in rows if r[0] == tool and len(r) > 2)
m = {t: med(t) for t in ("wrk", "goose", "harness", "locust")}
print(f"(a) GET preLoginStatus, {sys.argv[2]} connections/users, {sys.argv[3]} s per run, median req/s of {len(m['goose'][1])} rounds")
names = {"wrk": "wrk", "goose": "plain goose", "harness": "harness", "locust": "Locust (Fast)"}
notes = {"harness": f"  (status, schema, within on every response; {failed('harness')} failed checks)",
         "locust": f"  (FastHttpUser, one process; {failed('locust')} failures)"}
for t in ("wrk", "goose", "harness", "locust"):
    share = f"{m[t][0] / m['wrk'][0]:6.1%} of wrk" if m["wrk"][0] else ""
    print(f"    {names[t]:14} {m[t][0]:10.0f}  {share}   rounds {[round(x) for x in m[t][1]]}{notes.get(t, '')}")
def ratio(a, b, target=""):
    if m[a][0] and m[b][0]:
        print(f"    {names[a]} / {names[b]}: {m[a][0] / m[b][0]:7.1%}{target}")
ratio("harness", "wrk", "   (target >= 45%)")
ratio("harness", "goose", "   (target >= 130%)")
ratio("harness", "locust")
ratio("goose", "wrk")
ratio("locust", "wrk")
ratio("locust", "goose")
PY
fi

if [ "$what" = longpoll ] || [ "$what" = all ]; then
  # The harness's ramp and duration come from scripts/bench/longpoll.yaml; Locust spawns as fast
  # and runs as long.
  read -r ramp hold < <(python3 -c "
import re
t = open('scripts/bench/longpoll.yaml').read()
g = lambda k: int(re.search(k + r': *([0-9]+)s', t).group(1))
print(g('ramp'), g('duration'))")
  small=$((AGENTS / 3))
  : >"$out/lp.txt"
  for round in $(seq 1 "$ROUNDS"); do
    sizes="$AGENTS"
    [ "$round" = 1 ] && sizes="$small $AGENTS"
    for n in $sizes; do
      start_sim
      /usr/bin/time -v timeout $((ramp + hold + 120)) $bin -q run scripts/bench/longpoll.yaml \
        --target "$BENCH_URL" --agents "$n" --out "$out/lp$round-$n" >/dev/null 2>"$out/time$round-$n.txt" || true
      s="$out/lp$round-$n/summary.json"
      echo "harness $n $(max_rss "$out/time$round-$n.txt") $(sim_hwm) $(jq_num "$s" "d['totals']['errors']") $(jq_num "$s" "d['operations'].get('messages.get', {}).get('count', 0)") $(jq_num "$s" "sum(c['passed'] for c in d['checks'] if c['check'] == 'polled_within_window')") $(jq_num "$s" "sum(c['failed'] for c in d['checks'] if c['check'] == 'polled_within_window')")" >>"$out/lp.txt"
      stop_sim
      if [ -n "$locust" ]; then
        start_sim
        rate=$(( (n + ramp - 1) / (ramp > 0 ? ramp : 1) ))
        /usr/bin/time -v timeout $((ramp + hold + 60)) "$locust" -f scripts/bench/locustfile.py --headless \
          --only-summary -u "$n" -r "$rate" -t "$((ramp + hold))s" --host "$BENCH_URL" \
          --csv "$out/llp$round-$n" LongPollUser >/dev/null 2>"$out/ltime$round-$n.txt" || true
        read -r polls pf < <(locust_count "$out/llp$round-${n}_stats.csv" messages.get)
        read -r _ af < <(locust_count "$out/llp$round-${n}_stats.csv" Aggregated)
        echo "locust $n $(max_rss "$out/ltime$round-$n.txt") $(sim_hwm) $af $polls - -" >>"$out/lp.txt"
        stop_sim
      fi
      echo "round $round, $n agents: $(grep " $n " "$out/lp.txt" | tail -n 2 | tr '\n' ' ')" >&2
    done
  done
  python3 - "$out/lp.txt" "$small" "$AGENTS" "$ramp" "$hold" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
small, big, ramp, hold = (int(x) for x in sys.argv[2:6])
def runs(tool, n):
    return [r for r in rows if r[0] == tool and int(r[1]) == n and r[2].isdigit()]
def med(tool, n, col):
    xs = [float(r[col]) for r in runs(tool, n)]
    return statistics.median(xs) if xs else 0.0
print(f"(b) long-polling agents: {big} (ramp {ramp} s, then {hold} s), median of {len(runs('harness', big))} rounds; slope from round 1 ({small} -> {big})")
print(f"    {'':16} {'peak RSS':>9} {'per agent':>10} {'slope':>10} {'sim/agent':>10} {'errors':>7} {'polls':>7}")
per = {}
for tool, name in (("harness", "harness"), ("locust", "Locust (Fast)")):
    if not runs(tool, big):
        continue
    rss, sim = med(tool, big, 2), med(tool, big, 3)
    per[tool] = rss / big
    first = [r for r in rows if r[0] == tool]
    s_small = [float(r[2]) for r in first if int(r[1]) == small][:1]
    s_big = [float(r[2]) for r in first if int(r[1]) == big][:1]
    slope = f"{(s_big[0] - s_small[0]) / (big - small):6.1f} KB" if s_small and s_big and big > small else "-"
    errors = max(int(r[4]) for r in runs(tool, big))
    polls = statistics.median(int(r[5]) for r in runs(tool, big))
    print(f"    {name:16} {rss / 1024:6.0f} MiB {rss / big:7.1f} KB {slope:>10} {sim / big:7.1f} KB {errors:7} {polls:7.0f}")
hw = [(int(r[6]), int(r[7])) for r in runs("harness", big) if r[6] != "-"]
if hw:
    print(f"    harness poll windows: {min(w for w, _ in hw)} within, {max(l for _, l in hw)} late (worst round)")
print("    targets: harness <= 25 KB per agent, simulator <= 25 KB per agent, 0 errors, 0 late")
if "harness" in per and "locust" in per:
    print(f"    harness / Locust memory per agent: {per['harness'] / per['locust']:.1%}")
PY
fi
