#!/usr/bin/env bash
# Run every benchmark (bench/<tool>.sh) and assemble docs/bench.md.
#
# Each bench/<tool>.sh measures golive against its peer tool in the same run
# and writes its section to docs/bench/<tool>.md (a markdown fragment with a
# table of medians and ratios). Release binaries must be built first
# (`make bench` does it).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOLIVE_BIN="${GOLIVE_BIN:-$PWD/target/release}"
mkdir -p docs/bench bench/out
only="${1:-}"
for b in bench/*.sh; do
  name=$(basename "$b" .sh)
  [ "$name" = run ] && continue
  [ "$name" = lib ] && continue
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  echo "== bench: $name" >&2
  bash "$b"
done
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr)."
  echo "Each table compares golive with the peer tool measured in the same run;"
  echo "ratios are golive's median divided by the peer's (below 1.0 means golive is faster)."
  echo
  for f in docs/bench/*.md; do
    cat "$f"
    echo
  done
} > docs/bench.md
cat docs/bench.md
