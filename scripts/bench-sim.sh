#!/usr/bin/env bash
# Benchmark of the AEAPI simulator (prints figures; asserts nothing).
#
#   scripts/bench-sim.sh            # 15,000 agents, then messages POST vs a minimal axum handler
#   AGENTS=5000 scripts/bench-sim.sh
#
# 1. Builds the three examples in release (sim_server, bench_agents, hello_server).
# 2. Starts the simulator on 127.0.0.1 (ephemeral port), logs AGENTS agents in from a separate
#    load process (one shared reqwest client) and keeps one long-poll per agent open; prints the
#    simulator's RSS (VmRSS) and CPU in steady state, and RSS per agent.
# 3. Measures the messages POST rate with wrk against the simulator, and the rate of a minimal
#    axum hello handler with the same wrk settings; prints the ratio.
#
# File descriptors: `ulimit -n` is 20,000 per process and cannot be raised. The load process holds
# one socket per long-polling agent and the simulator one per connection, so AGENTS is capped at
# roughly 19,900 per run (the simulator's listener, logs and wrk's connections need the rest).
# Ephemeral ports (32768-60999) allow ~28k connections to one address, which is not the limit.
set -euo pipefail

AGENTS=${AGENTS:-15000}
HOLD_SECS=${HOLD_SECS:-50}     # how long the load process keeps its agents polling
STEADY_SECS=${STEADY_SECS:-25} # CPU sampling window (covers one 20 s long-poll cycle)
WRK_SECS=${WRK_SECS:-10}
WRK_CONNS=${WRK_CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}

cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if (( AGENTS > 19900 )); then
    echo "AGENTS=$AGENTS exceeds the 20,000 open-file limit per process" >&2
    exit 1
fi

cargo build --release --example sim_server --example bench_agents --example hello_server
BIN=target/release/examples
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# Waits (bounded) for a line matching $2 in file $1; prints the line.
wait_for() {
    local file=$1 pattern=$2 tries=$3
    for ((i = 0; i < tries; i++)); do
        if grep -q "$pattern" "$file" 2>/dev/null; then
            grep -m1 "$pattern" "$file"
            return 0
        fi
        sleep 0.1
    done
    echo "timed out waiting for '$pattern' in $file:" >&2
    cat "$file" >&2
    return 1
}
# Starts server binary $1 on a free port with its output in file $2; sets SERVER_PID and
# SERVER_URL.
start_server() {
    "$BIN/$1" --listen 127.0.0.1:0 >"$2" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    SERVER_URL=$(wait_for "$2" "listening on" 100 | awk '{print $3}')
}
# Runs wrk with the benchmark's settings and wrk's arguments $2..., its output copied to file $1;
# prints the requests per second.
wrk_rps() {
    local out=$1
    shift
    wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECS}s" "$@" | tee "$out" >&2
    awk '/^Requests\/sec/ {print $2}' "$out"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

echo "== simulator with $AGENTS long-polling agents"
start_server sim_server "$TMP/sim.out"
SIM_PID=$SERVER_PID SIM_URL=$SERVER_URL
IDLE_KB=$(rss_kb "$SIM_PID")
echo "simulator $SIM_URL (pid $SIM_PID), idle RSS ${IDLE_KB} KB"

"$BIN/bench_agents" agents --base "$SIM_URL" --agents "$AGENTS" --duration "$HOLD_SECS" \
    >"$TMP/agents.out" 2>&1 &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
wait_for "$TMP/agents.out" "^READY" $((HOLD_SECS * 10))
C0=$(cpu_ticks "$SIM_PID")
sleep "$STEADY_SECS"
C1=$(cpu_ticks "$SIM_PID")
LOADED_KB=$(rss_kb "$SIM_PID")
LOAD_KB=$(rss_kb "$LOAD_PID")
FDS=$(ls "/proc/$SIM_PID/fd" | wc -l)
awk -v n="$AGENTS" -v idle="$IDLE_KB" -v loaded="$LOADED_KB" -v load="$LOAD_KB" \
    -v c0="$C0" -v c1="$C1" -v tck="$TCK" -v secs="$STEADY_SECS" -v fds="$FDS" 'BEGIN {
    printf "simulator RSS with %d agents: %.1f MB (idle %.1f MB), open fds %d\n", n, loaded/1024, idle/1024, fds
    printf "RSS per agent: %.1f KB total/agents, %.1f KB (loaded-idle)/agents   [target < 25 KB]\n", loaded/n, (loaded-idle)/n
    printf "simulator CPU in steady state: %.1f%% of one core over %d s\n", 100*(c1-c0)/tck/secs, secs
    printf "load process RSS: %.1f MB (%.1f KB per agent)\n", load/1024, load/n
}'
wait "$LOAD_PID" || true
grep -E "^(DONE|first login error)" "$TMP/agents.out" || true

kill "$SIM_PID" 2>/dev/null || true

echo "== messages POST rate on a fresh simulator (wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECS}s)"
start_server sim_server "$TMP/sim2.out"
SIM_PID=$SERVER_PID SIM_URL=$SERVER_URL
"$BIN/bench_agents" post-setup --base "$SIM_URL" --lua "$TMP/post.lua"
SIM_RPS=$(wrk_rps "$TMP/wrk-sim.out" -s "$TMP/post.lua" "$SIM_URL")
NON2XX=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk-sim.out")
kill "$SIM_PID" 2>/dev/null || true

echo "== minimal axum hello handler, same wrk settings"
start_server hello_server "$TMP/hello.out"
HELLO_RPS=$(wrk_rps "$TMP/wrk-hello.out" "$SERVER_URL/")

awk -v s="$SIM_RPS" -v h="$HELLO_RPS" -v bad="${NON2XX:-0}" 'BEGIN {
    printf "messages POST: %.0f req/s (non-2xx: %s); minimal handler: %.0f req/s; ratio %.2f   [target >= 0.5]\n", s, bad, h, s/h
}'
