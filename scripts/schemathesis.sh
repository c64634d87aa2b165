#!/usr/bin/env bash
# Schema-driven fuzzing of the HTTP API with schemathesis (from PyPI).
#
# Starts the example server (debug build) on a free loopback port with a temporary SQLite
# database and thumbnail directory and rate limits off, signs in as an admin and as a user
# through POST /api/dev/token, and runs `st run` against /api/openapi.json once per identity
# (the never-ending event stream excluded). Checks: no 5xx, responses match the documented
# schema and content type. Prints the number of requests each run sent.
#
#   scripts/schemathesis.sh           # the long run: ~60 cases per operation and identity
#   scripts/schemathesis.sh --short   # the CI pass: a few cases per operation, fixed seed
#
# Env: ST_MAX_EXAMPLES (cases per operation), ST_SEED, ST_WORKERS (default 1: several workers
# trip a CPython 3.11 ast.parse race inside hypothesis), ST_REPORT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

short=false
[ "${1:-}" = "--short" ] && short=true

venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  echo "== installing schemathesis into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian keeps venv (ensurepip) in a package of its own.
    rm -rf "$venv"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi

if $short; then
  max_examples="${ST_MAX_EXAMPLES:-4}"
  seed_args=(--seed "${ST_SEED:-20260127}")
  phases=examples,coverage,fuzzing
else
  max_examples="${ST_MAX_EXAMPLES:-60}"
  seed_args=()
  [ -n "${ST_SEED:-}" ] && seed_args=(--seed "$ST_SEED")
  phases=examples,coverage,fuzzing,stateful
fi

cargo build -q --example server
report_dir="${ST_REPORT_DIR:-target/schemathesis-report}"
mkdir -p "$report_dir"
start_example_server debug schemathesis.db

token() { # name email admin
  curl -fsS -X POST "$base/api/dev/token" -H 'content-type: application/json' \
    -d "{\"name\":\"$1\",\"email\":\"$2\",\"admin\":$3}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
admin_token="$(token 'Fuzz Admin' admin@fuzz.example true)"
user_token="$(token 'Fuzz User' user@fuzz.example false)"

# A few sessions so that generated requests also meet existing data (lists, reports, joins).
for i in 1 2 3; do
  curl -fsS -X POST "$base/api/admin/live-sessions" -H "authorization: Bearer $admin_token" \
    -H 'content-type: application/json' \
    -d "{\"title\":\"Seeded $i\",\"instructor\":\"Ferris\",\"videoUrl\":\"https://youtu.be/dQw4w9WgXcQ\",\"startTime\":\"2025-01-15T10:00:00Z\",\"isLive\":$([ $i = 1 ] && echo true || echo false)}" >/dev/null
done

status=0
total=0
for identity in admin user; do
  if [ "$identity" = admin ]; then tok="$admin_token"; else tok="$user_token"; fi
  har="$report_dir/$identity.har"
  rm -f "$har"
  echo "== schemathesis as $identity ($max_examples cases per operation, phases $phases)"
  set +e
  "$venv/bin/st" run "$base/api/openapi.json" \
    --header "Authorization: Bearer $tok" \
    --exclude-path /api/live-sessions/events \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --phases "$phases" \
    --max-examples "$max_examples" \
    --workers "${ST_WORKERS:-1}" \
    --request-timeout 30 \
    --suppress-health-check all \
    --report har --report-har-path "$har" \
    "${seed_args[@]}"
  rc=$?
  set -e
  requests="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$har" 2>/dev/null || echo 0)"
  echo "== schemathesis as $identity: exit $rc, $requests requests"
  total=$((total + requests))
  [ "$rc" -eq 0 ] || status=$rc
done
echo "== schemathesis: $total requests in all, exit $status"
exit "$status"
