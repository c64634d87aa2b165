#!/usr/bin/env bash
# Soak run: the example server (release build) on SQLite under mixed load from
# examples/soak_client.rs for N minutes, sampling the server's resident memory (VmRSS from
# /proc) every 10 s. Reports the first sample after a one-minute warm-up, the last and the
# largest, the growth from warm-up to the end, and the client's errors. Fails when the client
# saw any error or memory grew by more than 10 % after warm-up.
#
#   scripts/soak.sh            # 10 minutes
#   scripts/soak.sh 3          # 3 minutes
# Env: SOAK_CONCURRENCY (default 8), SOAK_USERS (default 200), SOAK_SAMPLES (CSV path).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

minutes="${1:-10}"
seconds=$((minutes * 60))
warmup=60
[ "$seconds" -le 120 ] && warmup=$((seconds / 4))

cargo build -q --release --example server --example soak_client
samples="${SOAK_SAMPLES:-target/soak-rss.csv}"
start_example_server release soak.db

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }

echo "== soak: $minutes min of mixed load on $base (server pid $server)"
"${CARGO_TARGET_DIR:-target}/release/examples/soak_client" --base "$base" --seconds "$seconds" \
  --concurrency "${SOAK_CONCURRENCY:-8}" --users "${SOAK_USERS:-200}" >"$work/client.log" 2>&1 &
client=$!

echo "elapsed_s,rss_kib" >"$samples"
start=$(date +%s)
while kill -0 "$client" 2>/dev/null; do
  now=$(($(date +%s) - start))
  echo "$now,$(rss_kib)" >>"$samples"
  sleep 10
done
set +e
wait "$client"
client_rc=$?
set -e
echo "$(($(date +%s) - start)),$(rss_kib)" >>"$samples"
cat "$work/client.log"

python3 - "$samples" "$warmup" "$client_rc" <<'PY'
import csv, sys
path, warmup, client_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [(int(r["elapsed_s"]), int(r["rss_kib"])) for r in csv.DictReader(open(path))]
after = [r for r in rows if r[0] >= warmup] or rows
first, last = after[0][1], after[-1][1]
peak = max(r[1] for r in rows)
growth = (last - first) / first * 100
print(f"== soak: {len(rows)} samples; RSS at start {rows[0][1]} KiB, after warm-up ({after[0][0]} s) "
      f"{first} KiB, last {last} KiB, max {peak} KiB; growth after warm-up {growth:+.1f} %")
ok = client_rc == 0 and growth <= 10.0
print("== soak:", "PASS" if ok else "FAIL", f"(client exit {client_rc}; memory limit +10 %)")
sys.exit(0 if ok else 1)
PY
