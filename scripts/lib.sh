# Shared by the scripts that run the example server against HTTP clients (schemathesis.sh,
# soak.sh). Source it; it defines functions only.

# start_example_server BUILD DATABASE: starts ${CARGO_TARGET_DIR:-target}/BUILD/examples/server
# (BUILD is debug or release; build it first) on a free loopback port, with the SQLite database
# DATABASE and a thumbnail directory inside a fresh temporary directory, rate limits off, its log
# in that directory's server.log; waits until /healthz answers and fails when it never does.
# Sets `work` (the temporary directory), `port`, `base` (http://127.0.0.1:PORT) and `server` (its
# pid). On exit the server is stopped and the directory removed.
start_example_server() {
  local build="$1" database="$2"
  work="$(mktemp -d)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  RUST_LOG="${RUST_LOG:-warn}" "${CARGO_TARGET_DIR:-target}/$build/examples/server" \
    --bind "127.0.0.1:$port" \
    --database-url "sqlite:$work/$database?mode=rwc" \
    --thumbnail-dir "$work/thumbnails" \
    --no-rate-limits >"$work/server.log" 2>&1 &
  server=$!
  trap stop_example_server EXIT
  for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "$base/healthz" >/dev/null
}

# Stops the server start_example_server started and removes its directory.
stop_example_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
