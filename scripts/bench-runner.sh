#!/usr/bin/env bash
# Runner benchmarks: prints figures, asserts nothing (targets are judged by the reader).
#   (a) req/s on a trivial simulator endpoint: the harness with every check on, plain goose, wrk;
#   (b) the number of long-polling agents the harness holds against a separate simulator, and
#       its RSS per agent.
# All traffic goes to 127.0.0.1; every phase is bounded in time.
#   SECS=10 USERS=50 ROUNDS=3 AGENTS=15000 scripts/bench-runner.sh [rps|longpoll|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
SECS=${SECS:-10}
USERS=${USERS:-50}
AGENTS=${AGENTS:-15000}
PORT=${PORT:-18080}
export BENCH_URL="http://127.0.0.1:$PORT"
export AEAPI_CLIENT_ID=ceapiClientId AEAPI_CLIENT_SECRET=ceapiClientSecret AGENT_PASSWORD=agent-password

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1 || echo "wrk unavailable: skipping its column" >&2
fi
cargo build --release --quiet --bin aeapi-harness --example goose_plain
bin=target/release/aeapi-harness
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

start_sim() {
  $bin simulate --listen "127.0.0.1:$PORT" --config scripts/bench/sim.yaml >"$out/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 100); do
    curl -fs "$BENCH_URL/engagementAPI/v2/agent/preLoginStatus?username=agent1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "simulator did not start: $(cat "$out/sim.log")" >&2
  exit 3
}
stop_sim() { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
jq_num() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

if [ "$what" = rps ] || [ "$what" = all ]; then
  # The three clients take turns, ROUNDS times, against one simulator; medians are reported, so
  # a burst of other work on the machine skews one sample, not the result.
  start_sim
  url="$BENCH_URL/engagementAPI/v2/agent/preLoginStatus?username=agent1&output=json"
  : >"$out/rps.txt"
  for round in $(seq 1 "${ROUNDS:-3}"); do
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
    echo "round $round: $(tail -n 3 "$out/rps.txt" | tr '\n' ' ')" >&2
  done
  stop_sim
  python3 - "$out/rps.txt" "$USERS" "$SECS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(tool):
    xs = [float(r[1]) for r in rows if r[0] == tool and len(r) > 1 and r[1]]
    return (statistics.median(xs), xs) if xs else (0.0, [])
wrk, goose, harness = med("wrk"), med("goose"), med("harness")
failed = sum(int(float(r[2])) for r in rows if r[0] == "harness" and len(r) > 2)
print(f"(a) GET preLoginStatus, {sys.argv[2]} connections/users, {sys.argv[3]} s per run, median req/s of {len(goose[1])} rounds")
print(f"    wrk            {wrk[0]:10.0f}   {[round(x) for x in wrk[1]]}")
print(f"    plain goose    {goose[0]:10.0f}   {[round(x) for x in goose[1]]}")
print(f"    harness        {harness[0]:10.0f}   {[round(x) for x in harness[1]]}  (status, schema, within on every response; {failed} failed)")
if wrk[0]: print(f"    harness / wrk   {harness[0] / wrk[0]:9.1%}   (target >= 40%)")
if goose[0]: print(f"    harness / goose {harness[0] / goose[0]:9.1%}   (target >= 90%)")
PY
fi

if [ "$what" = longpoll ] || [ "$what" = all ]; then
  # Two fleet sizes: total RSS / agents, and the slope between the sizes (what one more agent
  # costs, without the fixed cost of the process, its histograms and goose).
  small=$((AGENTS / 3))
  for n in "$small" "$AGENTS"; do
    start_sim
    /usr/bin/time -v timeout 300 $bin -q run scripts/bench/longpoll.yaml --target "$BENCH_URL" \
      --agents "$n" --out "$out/lp$n" >/dev/null 2>"$out/time$n.txt" || true
    awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$out/time$n.txt" >"$out/rss$n"
    awk '/VmHWM/ {print $2}' "/proc/$sim_pid/status" 2>/dev/null >"$out/simrss$n" || echo 0 >"$out/simrss$n"
    stop_sim
  done
  python3 - "$out" "$small" "$AGENTS" <<'PY'
import json, sys
out, small, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rss = {n: int(open(f"{out}/rss{n}").read().strip() or 0) for n in (small, big)}
sim = {n: int(open(f"{out}/simrss{n}").read().strip() or 0) for n in (small, big)}
s = json.load(open(f"{out}/lp{big}/summary.json"))
ops = s.get("operations", {})
lp = [c for c in s.get("checks", []) if c["check"] == "polled_within_window"]
print(f"(b) long-polling agents: {big} (and {small} for the slope)")
print(f"    logins          {ops.get('login', {}).get('count', 0)}")
print(f"    polls           {ops.get('messages.get', {}).get('count', 0)}")
print(f"    errors          {s['totals']['errors']}")
print(f"    poll windows    {sum(c['passed'] for c in lp)} within, {sum(c['failed'] for c in lp)} late")
print(f"    harness max RSS {rss[big]/1024:.0f} MiB = {rss[big]/big:.1f} KB per agent (target < 50 KB)")
print(f"    harness slope   {(rss[big]-rss[small])/(big-small):.1f} KB per additional agent ({small} -> {big})")
print(f"    sim peak RSS    {sim[big]/1024:.0f} MiB = {sim[big]/big:.1f} KB per agent")
PY
fi
