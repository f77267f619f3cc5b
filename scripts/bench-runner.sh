#!/usr/bin/env bash
# Runner benchmarks: prints figures, asserts nothing (targets are judged by the reader).
#   (a) req/s on a trivial simulator endpoint: the harness with every check on, plain goose, wrk;
#   (b) the number of long-polling agents the harness holds against a separate simulator, and
#       its RSS per agent.
# All traffic goes to 127.0.0.1; every phase is bounded in time.
#   SECS=10 USERS=50 AGENTS=15000 scripts/bench-runner.sh [rps|longpoll|all]
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
  start_sim
  url="$BENCH_URL/engagementAPI/v2/agent/preLoginStatus?username=agent1&output=json"
  wrk_rps=0
  if command -v wrk >/dev/null; then
    wrk_rps=$(timeout $((SECS + 30)) wrk -t1 -c"$USERS" -d"${SECS}s" "$url" | awk '/Requests\/sec/ {print $2}')
  fi
  goose_rps=$(timeout $((SECS + 60)) target/release/examples/goose_plain "$url" "$USERS" "$SECS" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
  timeout $((SECS + 90)) $bin -q run scripts/bench/rps.yaml --target "$BENCH_URL" --agents "$USERS" --duration "${SECS}s" --out "$out/rps" || true
  harness_rps=$(jq_num "$out/rps/summary.json" "d['operations']['preLoginStatus']['count']/$SECS")
  harness_fail=$(jq_num "$out/rps/summary.json" "sum(c['failed'] for c in d['checks'])")
  stop_sim
  python3 - "$wrk_rps" "$goose_rps" "$harness_rps" "$harness_fail" "$USERS" "$SECS" <<'PY'
import sys
wrk, goose, harness = (float(x or 0) for x in sys.argv[1:4])
print(f"(a) GET preLoginStatus, {sys.argv[5]} connections/users, {sys.argv[6]} s each, req/s")
print(f"    wrk            {wrk:10.0f}")
print(f"    plain goose    {goose:10.0f}")
print(f"    harness        {harness:10.0f}   (status, schema, within checked on every response; {sys.argv[4]} failed)")
if wrk: print(f"    harness / wrk   {harness / wrk:9.1%}   (target >= 40%)")
if goose: print(f"    harness / goose {harness / goose:9.1%}   (target >= 90%)")
PY
fi

if [ "$what" = longpoll ] || [ "$what" = all ]; then
  start_sim
  /usr/bin/time -v timeout 300 $bin -q run scripts/bench/longpoll.yaml --target "$BENCH_URL" --agents "$AGENTS" --out "$out/lp" \
    2>"$out/time.txt" || true
  rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$out/time.txt")
  sim_rss=$(awk '/VmHWM/ {print $2}' "/proc/$sim_pid/status" 2>/dev/null || echo 0)
  stop_sim
  python3 - "$out/lp/summary.json" "$AGENTS" "$rss_kb" "$sim_rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); agents = int(sys.argv[2]); rss = int(sys.argv[3] or 0); sim = int(sys.argv[4] or 0)
ops = s.get("operations", {})
errors = s["totals"]["errors"]
lp = [c for c in s.get("checks", []) if c["check"] == "polled_within_window"]
lp = {"passed": sum(c["passed"] for c in lp), "failed": sum(c["failed"] for c in lp)}
print(f"(b) long-polling agents: {agents}")
print(f"    logins          {ops.get('login', {}).get('count', 0)}")
print(f"    polls           {ops.get('messages.get', {}).get('count', 0)}")
print(f"    errors          {errors}")
print(f"    poll windows    {json.dumps(lp)}")
print(f"    harness max RSS {rss/1024:.0f} MiB = {rss/agents:.1f} KB per agent (target < 50 KB)")
print(f"    sim peak RSS    {sim/1024:.0f} MiB = {sim/agents:.1f} KB per agent")
PY
fi
