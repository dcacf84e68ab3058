#!/usr/bin/env bash
# compare.sh BASE [BENCH] [COUNT] [BENCHTIME]
#
# Measures the benchmarks of ./benchmarks (or of the package in $PKG, e.g.
# PKG=./scheduler/server/fsm/) at git revision BASE against the working
# tree, the way the figures in benchmarks/README.md were compared:
# both test binaries are built first, then run alternately COUNT times each
# (old, new, old, new, ...) so the machine's drift over the run falls on
# both sides, and benchstat prints the comparison. Outputs stay in
# $OUT (default: a new temporary directory): old.txt, new.txt.
#
#   benchmarks/compare.sh HEAD~1 'BenchmarkPlace/policy=balanced' 6
#   make bench-compare BASE=main BENCH=BenchmarkSimEngine
#   PKG=./scheduler/server/fsm/ benchmarks/compare.sh HEAD~1 BenchmarkFSMApply 6 2000x
set -euo pipefail
base=${1:?usage: compare.sh BASE [BENCH] [COUNT] [BENCHTIME]}
bench=${2:-.}
count=${3:-6}
benchtime=${4:-1s}
pkg=${PKG:-./benchmarks/}
dir=${pkg#./}
dir=${dir%/}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
out=${OUT:-$(mktemp -d -t suanli-bench-XXXXXX)}
tree=$(mktemp -d -t suanli-base-XXXXXX)
cleanup() { git -C "$root" worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"; }
trap cleanup EXIT

git -C "$root" worktree add --detach --quiet "$tree" "$base"
echo "building $base and the working tree ..." >&2
(cd "$tree" && go test -c -o "$out/old.test" "$pkg")
(cd "$root" && go test -c -o "$out/new.test" "$pkg")
: >"$out/old.txt"
: >"$out/new.txt"
for i in $(seq 1 "$count"); do
  echo "run $i/$count ..." >&2
  (cd "$tree/$dir" && "$out/old.test" -test.run '^$' -test.bench "$bench" -test.benchmem -test.benchtime "$benchtime" >>"$out/old.txt")
  (cd "$root/$dir" && "$out/new.test" -test.run '^$' -test.bench "$bench" -test.benchmem -test.benchtime "$benchtime" >>"$out/new.txt")
done
if command -v benchstat >/dev/null 2>&1; then
  bs=(benchstat)
elif [ -x "$(go env GOPATH)/bin/benchstat" ]; then
  bs=("$(go env GOPATH)/bin/benchstat")
else
  bs=(go run golang.org/x/perf/cmd/benchstat@latest)
fi
echo "results in $out" >&2
"${bs[@]}" "$out/old.txt" "$out/new.txt"
