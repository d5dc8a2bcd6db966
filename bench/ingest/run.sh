#!/bin/bash
# bench/ingest/run.sh — `kagami reports import` of generated gzip DMARC aggregate reports beside
# a bare fast-xml-parser parse of the same files, in one run (see README.md). A benchmark, not a
# test: it prints a table.
#
#   bash bench/ingest/run.sh                      # 100 000 reports
#   BENCH_REPORTS=2000 bash bench/ingest/run.sh   # quick
#
# env: BENCH_REPORTS (100000), BENCH_SEED (1), BENCH_TIMEOUT (s, 1800), BENCH_KEEP=1,
#      KAGAMI_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), TMPDIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=/dev/null
. "$ROOT/scripts/node24.sh"
# The import runs this checkout's CLI (src/cli/index.ts, as bin/kagami.js runs it from dist/),
# built into a private folder: dist/ is shared with others who rebuild it while this runs.
export KAGAMI_DIST=$ROOT/bench/out/ingest-dist
echo "bench/ingest: building src/ into $KAGAMI_DIST" >&2
rm -rf "$KAGAMI_DIST"
# tsc emits even when another file in progress has a type error; that is reported, not fatal.
(cd "$ROOT" && npx tsc -p tsconfig.json --outDir "$KAGAMI_DIST" --sourceMap false) >&2 || echo "bench/ingest: tsc reported errors (above); the emitted build is used" >&2
[ -f "$KAGAMI_DIST/cli/index.js" ] || { echo "bench/ingest: build failed" >&2; exit 1; }
cd "$ROOT"
exec node "$HERE/run.ts"
