#!/usr/bin/env bash
# Instructions per request on the hot paths (BENCHMARKS.md, "Instructions per
# request"): runs dev/bench's cpu_per_request under callgrind, which counts
# only the batches of requests (--toggle-collect) and dumps after each one;
# per request = (Ir(N2) - Ir(N1)) / (N2 - N1). The whole program runs twice
# (two processes) to show the figure repeats. Prints markdown to stdout:
# the figures, then where the client-side CPU of GET /renders goes.
# Uses the test stack (PostgreSQL cluster, s3s-fs) like the other benches and
# leaves it running: dev/scripts/bench.sh stops it at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

paths="token-hs256,token-es256,token-es256-kept,json-submit,json-renders,handler-renders,handler-renders-logged,handler-render,handler-usage,handler-collections,handler-favorite-toggle"
n1=${CPU_N1:-10}
n2=${CPU_N2:-110}
profiled=handler-renders

cargo build --quiet --profile measure -p bench --bin cpu_per_request
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for run in a b; do
  # stdout carries the log lines of the `-logged` path (written, as on
  # Lambda, and thrown away here); stderr the wall-clock sanity lines.
  RUST_LOG=info valgrind --tool=callgrind --collect-atstart=no \
    --toggle-collect='*measured_batch' --dump-after='*measured_batch' \
    --callgrind-out-file="$work/$run.out" \
    target/measure/cpu_per_request "$paths" "$n1,$n2" > /dev/null 2> "$work/$run.log" \
    || { cat "$work/$run.log" >&2; exit 1; }
done

# Dump k (1-based) is batch k: the paths in order, N1 then N2 for each.
profiled_index=$(echo "$paths" | tr ',' '\n' | grep -n -x "$profiled" | cut -d: -f1)
callgrind_annotate --inclusive=yes --threshold=99.9 "$work/a.out.$(( profiled_index * 2 ))" > "$work/profile.txt"

python3 - "$work" "$paths" "$n1" "$n2" "$profiled" <<'PY'
import re, sys

work, paths, n1, n2, profiled = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def total_ir(dump):
    with open(dump) as lines:
        for line in lines:
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"no totals in {dump}")

def per_request(run, index):
    short, long = (total_ir(f"{work}/{run}.out.{2 * index + k}") for k in (1, 2))
    return (long - short) / (n2 - n1)

figures = {}
print("| path | instructions per request | second run | difference |")
print("| --- | ---: | ---: | ---: |")
for index, path in enumerate(paths):
    a, b = per_request("a", index), per_request("b", index)
    figures[path] = a
    print(f"| `{path}` | {a:,.0f} | {b:,.0f} | {abs(a - b) / a * 100:.2f}% |")
print()
if "token-es256" in figures and "token-hs256" in figures:
    print(f"ES256 verification costs {figures['token-es256'] / figures['token-hs256']:.0f}x HS256 "
          f"({figures['token-es256'] / figures.get(profiled, 1):.1f}x a whole `{profiled}`).", end=" ")
if "token-es256-kept" in figures and "token-hs256" in figures:
    print(f"A kept ES256 token (a warm environment's repeat caller) costs "
          f"{figures['token-es256-kept'] / figures['token-hs256']:.2f}x a first-sight HS256 verification.", end=" ")
if f"{profiled}-logged" in figures:
    print(f"The JSON log line adds {figures[profiled + '-logged'] - figures[profiled]:,.0f} instructions "
          f"to `{profiled}` ({profiled}-logged minus {profiled}).")
print()

# Inclusive cost of each phase of one request, from callgrind_annotate. A
# function shows once per source file its inlined code comes from: the
# largest entry is its inclusive cost. The phases do not nest in one another.
phases = [
    ("token verification", "shared::app::Services::authenticate::{{closure}}"),
    ("statement: send, receive, wait (`Tx::query_and_commit`, tokio-postgres client)",
     "shared::db::Tx::query_and_commit::{{closure}}"),
    ("tokio-postgres connection task (socket I/O, message framing)",
     "<tokio_postgres::connection::Connection<S,T> as core::future::future::Future>::poll"),
    ("rows to values (`Row::get` by position, `FromSql`)", "tokio_postgres::row::Row::get"),
    ("values to views (`RenderPageView::new`: image URLs, cursor)", "shared::views::renders::RenderPageView::new"),
    ("JSON response (`http::ok`: serde_json, timestamps, UUIDs)", "shared::http::response::ok"),
]
inclusive = {}
total = None
for line in open(f"{work}/profile.txt"):
    match = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
    if not match:
        continue
    cost = int(match.group(1).replace(",", ""))
    where = re.sub(r"\s*\[[^\]]*\]$", "", match.group(2).strip())
    name = re.sub(r" \([\d,]+x\)$", "", re.sub(r"^(?:.*?\.(?:rs|c|h|S)|\?\?\?):", "", where))
    if name == "PROGRAM TOTALS":
        total = cost
    inclusive[name] = max(inclusive.get(name, 0), cost)
if not total:
    raise SystemExit("no totals in the profile")
print(f"Where the client-side instructions of `{profiled}` go (inclusive, from the batch of {n2}):")
print()
print("| phase | function | share | per request |")
print("| --- | --- | ---: | ---: |")
counted = 0
for label, function in phases:
    cost = inclusive.get(function, 0)
    counted += cost
    print(f"| {label} | `{function}` | {cost / total * 100:.1f}% | {cost / n2:,.0f} |")
rest = total - counted
print(f"| rest: routing, query string, transaction set-up, runtime, allocator, drops | | "
      f"{rest / total * 100:.1f}% | {rest / n2:,.0f} |")
PY
