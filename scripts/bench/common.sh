# Sourced by scripts/bench-*.sh from the repository root, after their own settings: the
# simulator's PORT and URL (BENCH_URL), the credentials the harness and Locust read, the release
# binary, a scratch directory $out removed on exit (every background job is killed first), and
# start_sim/stop_sim for a separate simulator with scripts/bench/sim.yaml (sim_pid while it runs).
PORT=${PORT:-18080}
export BENCH_URL="http://127.0.0.1:$PORT"
export AEAPI_CLIENT_ID=ceapiClientId AEAPI_CLIENT_SECRET=ceapiClientSecret AGENT_PASSWORD=agent-password
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
