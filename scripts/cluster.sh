#!/usr/bin/env bash
# Several instances of the example server on one database behind nginx, as a deployment runs
# them: every instance tails the store's event log, so an event-stream client on any instance
# hears every change, and a client that reconnects elsewhere resumes with Last-Event-ID.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1/test JWT_SECRET=... scripts/cluster.sh start
#       builds the example server (release), starts INSTANCES (default 3) of it on free loopback
#       ports and nginx in front of them on PORT (default 8080), waits until all answer, and
#       prints the address to open
#   scripts/cluster.sh stop     stops nginx and the instances
#   scripts/cluster.sh status   lists what runs
#   scripts/cluster.sh urls     prints each instance's own address (http://127.0.0.1:PORT), one
#                               a line, for clients that bypass nginx (the benchmarks)
#
# SERVER_ARGS adds options to every instance (e.g. "--no-rate-limits"); CLUSTER_BUILD=0 skips
# the build (the caller built the release examples already); CLUSTER_STATE moves the state and
# logs elsewhere (a second cluster beside the first: start and stop act on that directory only);
# SERVER_BINARY runs another build of the example server (e.g. an older one, to compare).
#
# DATABASE_URL must be shared by all instances: PostgreSQL, or a MongoDB replica set (SQLite and
# the memory store are one process only). JWT_SECRET (or FIREBASE_PROJECT) must be the same for
# all of them, so that a token is accepted by every instance: dev sign-in cannot be used, its
# secret is made up by each process. Thumbnails are stored in the database, so any instance
# serves any upload. Needs nginx (Debian: apt-get install nginx) and curl. State and logs go to
# target/cluster/ (or CLUSTER_STATE).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE="${CLUSTER_STATE:-${CARGO_TARGET_DIR:-target}/cluster}"
INSTANCES="${INSTANCES:-3}"
PORT="${PORT:-8080}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop() {
  if [ -f "$STATE/nginx.pid" ]; then
    kill "$(cat "$STATE/nginx.pid")" 2>/dev/null || true
    rm -f "$STATE/nginx.pid"
  fi
  for pid_file in "$STATE"/instance-*.pid; do
    [ -f "$pid_file" ] || continue
    kill "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file" "${pid_file%.pid}.url"
  done
}

start() {
  : "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL URL or a MongoDB replica set URI}"
  if [ -z "${JWT_SECRET:-}" ] && [ -z "${FIREBASE_PROJECT:-}" ]; then
    echo "set JWT_SECRET (or FIREBASE_PROJECT): every instance must accept the same tokens" >&2
    exit 1
  fi
  local nginx
  nginx="$(command -v nginx || echo /usr/sbin/nginx)"
  [ -x "$nginx" ] || { echo "nginx is missing (Debian: apt-get install nginx)" >&2; exit 1; }
  stop
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  [ "${CLUSTER_BUILD:-1}" = 0 ] || cargo build --release --example server
  local binary="${SERVER_BINARY:-${CARGO_TARGET_DIR:-target}/release/examples/server}"
  local auth=(--jwt-secret "${JWT_SECRET:-}")
  [ -n "${FIREBASE_PROJECT:-}" ] && auth=(--firebase-project "$FIREBASE_PROJECT")
  local extra=()
  # shellcheck disable=SC2206 # SERVER_ARGS is a list of options, split on spaces
  [ -n "${SERVER_ARGS:-}" ] && extra=($SERVER_ARGS)
  local upstreams=""
  for i in $(seq 1 "$INSTANCES"); do
    local port
    port="$(free_port)"
    RUST_LOG="${RUST_LOG:-info}" "$binary" --bind "127.0.0.1:$port" \
      --database-url "$DATABASE_URL" "${auth[@]}" "${extra[@]}" >"$STATE/instance-$i.log" 2>&1 &
    echo $! >"$STATE/instance-$i.pid"
    echo "http://127.0.0.1:$port" >"$STATE/instance-$i.url"
    upstreams="$upstreams    server 127.0.0.1:$port max_fails=0;"$'\n'
    # The first instance migrates the database; the others then find it up to date.
    for _ in $(seq 1 150); do
      curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
      sleep 0.2
    done
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || {
      echo "instance $i did not start; see $STATE/instance-$i.log" >&2
      exit 1
    }
  done
  local state
  state="$(cd "$STATE" && pwd)"
  cat >"$STATE/nginx.conf" <<EOF
worker_processes 1;
pid $state/nginx.pid;
error_log $state/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $state/nginx-body;
  proxy_temp_path $state/nginx-proxy;
  fastcgi_temp_path $state/nginx-fastcgi;
  uwsgi_temp_path $state/nginx-uwsgi;
  scgi_temp_path $state/nginx-scgi;
  upstream livesessions {
$upstreams    keepalive 64;
  }
  server {
    listen 127.0.0.1:$PORT;
    client_max_body_size 8m;
    location / {
      proxy_pass http://livesessions;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
      # Event streams pass through as they are written.
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
EOF
  "$nginx" -c "$state/nginx.conf" -p "$state"
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null
  echo "http://127.0.0.1:$PORT/live-sessions"
}

status() {
  for pid_file in "$STATE"/instance-*.pid "$STATE"/nginx.pid; do
    [ -f "$pid_file" ] || continue
    local pid
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then state=running; else state=stopped; fi
    echo "$(basename "$pid_file" .pid) $pid $state"
  done
}

urls() {
  local i=1
  while [ -f "$STATE/instance-$i.url" ]; do
    cat "$STATE/instance-$i.url"
    i=$((i + 1))
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  urls) urls ;;
  *) echo "usage: $0 start|stop|status|urls" >&2; exit 2 ;;
esac
