#!/usr/bin/env bash
# A local MongoDB-compatible server for the MongoDB tests: SecantusDB (PyPI), a MongoDB
# wire-protocol server on WiredTiger that answers as a replica-set primary.
#
#   scripts/secantus.sh install        # into .venv-secantus/ (project-local, git-ignored)
#   scripts/secantus.sh start [PORT]   # installs if needed, starts on PORT (default: a free one),
#                                      # waits until it answers, prints the test URI on stdout
#   scripts/secantus.sh stop           # stops the server started by `start`
#   scripts/secantus.sh uri            # prints the URI of the running server
#
# State (pid, port, log) lives in target/secantus/. The data is kept in memory (`:memory:`)
# unless SECANTUS_STORAGE names a directory (the fault tests restart the server on its data).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SECANTUS_VENV:-.venv-secantus}"
STATE=target/secantus
VERSION="${SECANTUS_VERSION:-0.7.0b3}"

install() {
  if [ -x "$VENV/bin/secantusd-py" ]; then return; fi
  echo "installing secantusdb $VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "secantusdb==$VERSION" >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

uri() {
  echo "mongodb://127.0.0.1:$(cat "$STATE/port")/lstest?directConnection=true"
}

start() {
  install
  mkdir -p "$STATE"
  if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
    uri
    return
  fi
  local port="${1:-$(free_port)}"
  echo "$port" > "$STATE/port"
  nohup "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$port" \
    --storage-path "${SECANTUS_STORAGE:-:memory:}" --log-level WARNING \
    > "$STATE/server.log" 2>&1 < /dev/null &
  echo $! > "$STATE/pid"
  for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      echo "secantusd-py exited; its log:" >&2
      cat "$STATE/server.log" >&2
      exit 1
    fi
    if python3 - "$port" <<'PY' 2>/dev/null
import socket, struct, sys
# An OP_MSG {hello: 1, $db: "admin"}: the server is ready once it answers it.
def bson_doc(items):
    body = b""
    for key, value in items:
        if isinstance(value, int):
            body += b"\x10" + key.encode() + b"\x00" + struct.pack("<i", value)
        else:
            raw = value.encode() + b"\x00"
            body += b"\x02" + key.encode() + b"\x00" + struct.pack("<i", len(raw)) + raw
    return struct.pack("<i", len(body) + 5) + body + b"\x00"
doc = bson_doc([("hello", 1), ("$db", "admin")])
msg = struct.pack("<I", 0) + b"\x00" + doc
header = struct.pack("<iiii", 16 + len(msg), 1, 0, 2013)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(header + msg)
reply = s.recv(16)
sys.exit(0 if len(reply) == 16 else 1)
PY
    then
      uri
      return
    fi
    sleep 0.5
  done
  echo "secantusd-py did not answer on port $port within 60 s; its log:" >&2
  cat "$STATE/server.log" >&2
  exit 1
}

stop() {
  if [ -f "$STATE/pid" ]; then
    local pid
    pid="$(cat "$STATE/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/pid"
  fi
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  uri) uri ;;
  *) echo "usage: $0 install|start [PORT]|stop|uri" >&2; exit 2 ;;
esac
