#!/usr/bin/env bash
# A PostgreSQL cluster of its own for tests/reliability_fault.rs, which stops and restarts the
# cluster behind its URL: with this one, the outage never touches the PostgreSQL that other
# tests (or other people) use.
#
#   scripts/fault-cluster.sh start   # creates the cluster if missing (idempotent), starts it,
#                                    # waits until it accepts connections, prints its URL
#   scripts/fault-cluster.sh stop    # stops it (the data stays for the next run)
#   scripts/fault-cluster.sh drop    # stops and deletes it
#   scripts/fault-cluster.sh url     # prints its URL
#
# Needs Debian's postgresql-common (pg_createcluster, pg_ctlcluster, pg_lsclusters) and root
# (or the postgres user). The cluster is <newest installed version>/$FAULT_CLUSTER_NAME
# (default livesessions_fault) on port $FAULT_CLUSTER_PORT (default 5433), with trust
# authentication on local and loopback connections only: it is a scratch cluster for tests.
# Use the URL as LIVESESSIONS_TEST_FAULT_POSTGRES_URL.
set -euo pipefail

NAME="${FAULT_CLUSTER_NAME:-livesessions_fault}"
PORT="${FAULT_CLUSTER_PORT:-5433}"

need() {
  command -v "$1" >/dev/null || {
    echo "$1 is missing: install postgresql (Debian's postgresql-common provides it)" >&2
    exit 1
  }
}

# The cluster's "version port status" when it exists.
existing() {
  pg_lsclusters -h | awk -v name="$NAME" '$2 == name { print $1, $3, $4; exit }'
}

version() {
  ls /usr/lib/postgresql | sort -V | tail -n1
}

url() {
  local port
  port="$(existing | awk '{ print $2 }')"
  [ -n "$port" ] || { echo "no cluster named $NAME: run $0 start" >&2; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

start() {
  need pg_lsclusters
  need pg_createcluster
  local found version port
  found="$(existing)"
  if [ -z "$found" ]; then
    version="$(version)"
    if pg_lsclusters -h | awk -v port="$PORT" '$3 == port { found = 1 } END { exit !found }'; then
      echo "port $PORT belongs to another cluster; set FAULT_CLUSTER_PORT" >&2
      exit 1
    fi
    echo "creating PostgreSQL cluster $version/$NAME on port $PORT" >&2
    pg_createcluster "$version" "$NAME" --port "$PORT" -- --auth=trust >&2
    found="$(existing)"
  fi
  read -r version port status <<<"$found"
  if [ "$status" != online ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" "$NAME" start >&2
  fi
  for _ in $(seq 1 60); do
    if pg_isready -h 127.0.0.1 -p "$port" -q; then
      url
      return
    fi
    sleep 0.5
  done
  echo "cluster $version/$NAME did not accept connections on port $port within 30 s" >&2
  exit 1
}

stop() {
  local found
  found="$(existing)"
  [ -n "$found" ] || return 0
  read -r version _ status <<<"$found"
  if [ "$status" = online ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" "$NAME" stop -m fast
  fi
}

drop() {
  local found
  found="$(existing)"
  [ -n "$found" ] || return 0
  read -r version _ _ <<<"$found"
  pg_dropcluster --stop "$version" "$NAME"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  drop) drop ;;
  url) url ;;
  *) echo "usage: $0 start|stop|drop|url" >&2; exit 2 ;;
esac
