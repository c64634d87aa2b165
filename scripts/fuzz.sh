#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ one after another: video URL normalisation,
# validation, and list cursors.
#
#   scripts/fuzz.sh              # each target for 600 s
#   scripts/fuzz.sh 60           # each for 60 s
#   scripts/fuzz.sh 600 cursor   # one target
#
# The workspace builds on stable Rust; cargo-fuzz needs nightly flags, which
# RUSTC_BOOTSTRAP=1 unlocks on a stable toolchain. AddressSanitizer is the default; where its runtime
# is missing, FUZZ_SANITIZER=none runs the targets with `--sanitizer none`, which keeps
# libFuzzer's coverage guidance and Rust's own checks (the crate has no unsafe code).
# Crashes land in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/; the
# full output of each run is in target/fuzz-<target>.log.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(video_url validation cursor)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-address}"

status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== fuzzing $target for $seconds s (sanitizer $sanitizer)"
  set +e
  cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"../target/fuzz-$target.log" 2>&1
  rc=$?
  set -e
  grep -E '^(Done|SUMMARY|stat::number_of_executed_units|stat::peak_rss_mb)|panicked at|^assertion|Test unit written|Reproduce with' \
    "../target/fuzz-$target.log" || true
  echo "== $target: exit $rc"
  [ "$rc" -eq 0 ] || status=$rc
done
exit "$status"
