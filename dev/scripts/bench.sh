#!/usr/bin/env bash
# `make bench`: measures every figure of BENCHMARKS.md on this machine and
# rewrites the file, method beside each figure. Uses the same throwaway
# PostgreSQL, S3 server and Replicate simulator as the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'dev/scripts/stop-test-servers.sh' EXIT
out=$(mktemp -d)

cargo build --quiet -p bench
echo "round trips..."; target/debug/roundtrips > "$out/roundtrips.md"
echo "webhook completion..."; target/debug/webhook > "$out/webhook.md"
echo "one million renders (takes a few minutes)..."; target/debug/scale > "$out/scale.md"
echo "PostgreSQL work per request: each read route under wrk, beside the floor transaction under pgbench..."
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; $sudo apt-get install -y -qq wrk >/dev/null; }
cargo build --quiet --profile measure -p bench --bin throughput --bin images
target/measure/throughput > "$out/throughput.md"
echo "images: thumbnails and clean inputs..."; target/measure/images > "$out/images.md"
echo "cold starts and peak memory per function (functions built with --profile measure)..."
cargo build --quiet --profile measure -p bench $(for f in functions/*/Cargo.toml; do printf -- '-p %s ' "$(basename "$(dirname "$f")")"; done)
target/measure/coldstart > "$out/coldstart.md"
echo "instructions per request (callgrind, builds with --profile measure)..."; dev/scripts/cpu_per_request.sh > "$out/cpu.md"
echo "soak under faults, ${SOAK_SECONDS:-600} s of traffic plus drain..."; target/debug/soak > "$out/soak.md"
echo "property-based fuzzing, 20,000 cases per property..."
fuzz_started=$(date +%s)
if PROPTEST_CASES=20000 cargo test --quiet -p shared --test properties > "$out/fuzz.log" 2>&1; then fuzz_result="no findings"; else fuzz_result="FINDINGS: see the test output"; fi
properties=$(grep -c '^    fn \|^async fn ' shared/tests/properties.rs)
printf '| properties | cases each | executions | time | result |\n| --- | --- | --- | --- | --- |\n| %s | 20,000 | %s | %s s | %s |\n' \
  "$properties" "$((properties * 20000))" "$(( $(date +%s) - fuzz_started ))" "$fuzz_result" > "$out/fuzz.md"
echo "coverage-guided fuzzing (cargo fuzz), ${FUZZ_SECONDS:-15} s per target..."
dev/scripts/fuzz.sh > "$out/cargo_fuzz.md" || echo "cargo fuzz did not run to the end: see the output of \`dev/scripts/fuzz.sh\`." > "$out/cargo_fuzz.md"
sizes="$out/sizes.md"
if [ -d target/lambda ] && ls target/lambda/*/bootstrap >/dev/null 2>&1; then
  {
    echo "| function | arm64 binary | zip |"
    echo "| --- | --- | --- |"
    for f in target/lambda/*/bootstrap; do
      name=$(basename "$(dirname "$f")")
      zip="target/lambda/$name.zip"
      mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
      printf '| %s | %s | %s |\n' "$name" "$(mb "$f")" "$( [ -f "$zip" ] && mb "$zip" || echo -)"
    done
  } > "$sizes"
else
  echo "Run \`make build\` first to measure the arm64 binaries." > "$sizes"
fi

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), PostgreSQL $(postgres --version 2>/dev/null | awk '{print $3}' || echo '?')"
sed -e "/@ROUNDTRIPS@/{r $out/roundtrips.md" -e 'd}' \
    -e "/@WEBHOOK@/{r $out/webhook.md" -e 'd}' \
    -e "/@SCALE@/{r $out/scale.md" -e 'd}' \
    -e "/@IMAGES@/{r $out/images.md" -e 'd}' \
    -e "/@THROUGHPUT@/{r $out/throughput.md" -e 'd}' \
    -e "/@SOAK@/{r $out/soak.md" -e 'd}' \
    -e "/@SIZES@/{r $sizes" -e 'd}' \
    -e "/@COLDSTART@/{r $out/coldstart.md" -e 'd}' \
    -e "/@CPU@/{r $out/cpu.md" -e 'd}' \
    -e "/@FUZZ@/{r $out/fuzz.md" -e 'd}' \
    -e "/@CARGO_FUZZ@/{r $out/cargo_fuzz.md" -e 'd}' \
    -e "s|@MACHINE@|$machine|" -e "s|@DATE@|$(date -u +%Y-%m-%d)|" \
    dev/bench/BENCHMARKS.template.md > BENCHMARKS.md
echo "wrote BENCHMARKS.md"
