#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the parsers of untrusted
# input: builds every target of dev/fuzz, runs each for FUZZ_SECONDS (15 by
# default) from the committed seeds, and prints a markdown table to stdout
# (progress goes to stderr). Part of `make bench`; run alone with
# `dev/scripts/fuzz.sh` (or `FUZZ_SECONDS=600 dev/scripts/fuzz.sh`).
#
# A finding (crash, timeout, out of memory) is written by libFuzzer under
# dev/fuzz/artifacts/<target>/; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir dev/fuzz -O -a -s none <target> <file>
# (the flags of the build below, so the build is reused)
# minimise it with `cargo fuzz tmin` (same flags), then keep the bytes as a
# test in shared/tests/fuzz_regressions.rs and fix the bug.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-15}
fuzz_dir=dev/fuzz
cargo_home=${CARGO_HOME:-$HOME/.cargo}

# Pinned: a newer cargo-fuzz may need a newer rustc than the machine's.
if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x "$cargo_home/bin/cargo-fuzz" ]; then
  echo "installing cargo-fuzz..." >&2
  cargo install cargo-fuzz --version 0.13.2 --locked --quiet >&2
fi

# With `-s none` cargo fuzz passes only stable compiler flags. RUSTC_BOOTSTRAP
# lets the stable compiler take the nightly-only ones too (`-s address`,
# `--build-std`) for a deeper run by hand with the same command; it is always
# set because cargo rebuilds everything when its value changes.
export RUSTC_BOOTSTRAP=1
# `-s none`: no AddressSanitizer. Every crate under test is safe Rust (and the
# dependencies' unsafe code is not what we fuzz), so ASan would find nothing a
# panic would not, while slowing every execution and the build; a panic,
# overflow (`-a` keeps overflow checks on), timeout or OOM is the finding.
# `-O -a`: optimised, with debug assertions. One cargo invocation builds all
# targets, sharing the instrumented build of `shared` and its dependencies.
triple=$(rustc -vV | awk '/^host:/ { print $2 }')
fuzz_flags=(--fuzz-dir "$fuzz_dir" -O -a -s none --target "$triple")

echo "building the fuzz targets (the first build compiles shared and its dependencies with coverage instrumentation)..." >&2
build_started=$(date +%s)
cargo fuzz build "${fuzz_flags[@]}" >&2
build_seconds=$(( $(date +%s) - build_started ))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
targets=$(cargo fuzz list --fuzz-dir "$fuzz_dir")

echo "| target | seconds | executions | executions/s | corpus (inputs) | findings |"
echo "| --- | --- | --- | --- | --- | --- |"
all_findings=()
for target in $targets; do
  echo "fuzzing $target for ${seconds} s..." >&2
  # The working corpus starts from the seeds and is thrown away afterwards:
  # new inputs go to the first directory, the seeds are only read.
  corpus="$work/corpus/$target"
  artifacts="$fuzz_dir/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  log="$work/$target.log"
  started_marker="$work/$target.started"
  touch "$started_marker"
  started=$(date +%s)
  # The binary cargo fuzz built, run directly (`cargo fuzz run` would check
  # the build again for every target). A finding stops the run (libFuzzer's
  # exit status is then non-zero); the table reports it either way.
  "$fuzz_dir/target/$triple/release/$target" "$corpus" "$fuzz_dir/seeds/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" > "$log" 2>&1 || true
  # libFuzzer's own figures: `Done <runs> runs in <seconds> second(s)` (absent
  # after a finding), the final stats, and the last status line's
  # `corp: <inputs>/<size>` (the in-memory corpus at the end).
  elapsed=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{ print $5 }' | tail -1 || true)
  executions=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -1)
  per_second=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log" | tail -1)
  corpus_size=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //; s|/| inputs, |' || true)
  findings=$(find "$artifacts" -type f -newer "$started_marker" | sort)
  count=$(printf '%s' "$findings" | grep -c . || true)
  if [ "$count" -gt 0 ]; then
    all_findings+=($findings)
    tail -40 "$log" >&2
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$target" "${elapsed:-$(( $(date +%s) - started ))}" "${executions:-?}" "${per_second:-?}" \
    "${corpus_size:-?}" "$count"
done
echo
echo "Instrumented build of the targets: ${build_seconds} s (what changed since the last run; a cold build compiles shared and all its dependencies)."
if [ ${#all_findings[@]} -gt 0 ]; then
  echo "Findings: ${all_findings[*]}"
fi
