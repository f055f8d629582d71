#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with cargo fuzz (libFuzzer + AddressSanitizer) for a
# bounded time per target, and prints executions and findings per target. Exit 1 on any
# finding (a crash, a panic, an assertion of a target's invariant, a leak or a timeout).
# Environment: FUZZ_SECONDS per target (default 60).
#
# cargo fuzz needs nightly flags (-Z sanitizer); rustc here is a fixed stable release, so they
# are enabled with RUSTC_BOOTSTRAP=1 for this build only.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version 2>/dev/null | grep -q '0.13.2'; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
cargo fuzz build --fuzz-dir fuzz -O 2>&1 | tail -1
printf '| fuzz target | seconds | executions | findings |\n|---|---|---|---|\n' >target/fuzz-summary.md
failed=0
for t in $(cargo fuzz list --fuzz-dir fuzz); do
  mkdir -p "fuzz/corpus/$t"
  log="target/fuzz-$t.log"
  rm -rf "fuzz/artifacts/$t"
  if cargo fuzz run --fuzz-dir fuzz -O "$t" -- -max_total_time="$SECONDS_PER_TARGET" \
      -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
    findings=0
  else
    findings=$(find "fuzz/artifacts/$t" -type f 2>/dev/null | wc -l)
    [ "$findings" -gt 0 ] || findings=1
    failed=1
    echo "--- $t: finding"; grep -E "panicked|ERROR|SUMMARY" "$log" | head -5
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
  printf '| `%s` | %s | %s | %s |\n' "$t" "$SECONDS_PER_TARGET" "${runs:-?}" "$findings" >>target/fuzz-summary.md
done
cat target/fuzz-summary.md
exit $failed
