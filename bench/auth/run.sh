#!/bin/bash
# bench/auth/run.sh — Kagami's SPF, DKIM and ARC beside mailauth, pyspf and dkimpy (and the DKIM
# crypto floor), in one run of the shared harness shared/tools/auth-anchors (beside this
# project's root). A benchmark, not a test: it prints Markdown tables.
#
#   bash bench/auth/run.sh            # first run installs the harness's deps (setup.sh)
#   AA_RUNS=3 bash bench/auth/run.sh  # fewer runs; every AA_* knob of run-all.sh passes through
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AA=${AUTH_ANCHORS:-$ROOT/../shared/tools/auth-anchors}
[ -x "$AA/run-all.sh" ] || { echo "bench/auth: harness not found at $AA (set AUTH_ANCHORS)" >&2; exit 2; }
AA=$(cd "$AA" && pwd)
export AA_CORPUS=${AA_CORPUS:-$(cd "$ROOT/../shared/corpus" && pwd)}
export AA_DEPS=${AA_DEPS:-${TMPDIR:-/tmp}/kagami-auth-anchors-deps}
[ -x "$AA_DEPS/node_modules/.bin/node" ] || AA_DEPS=$AA_DEPS bash "$AA/setup.sh" >&2
export AA_SPF_TARGETS="$AA/targets/mailauth-spf-strict.cjs $HERE/spf-target.ts"
export AA_DKIM_TARGETS="$AA/targets/mailauth-dkim.cjs $HERE/dkim-target.ts"
export AA_ARC_TARGETS="$AA/targets/mailauth-arc-strict.cjs $HERE/arc-target.ts"
export AA_RESULTS=${AA_RESULTS:-$ROOT/bench/out/auth-$(date +%Y%m%d-%H%M%S)}
echo "bench/auth: Kagami $(git -C "$ROOT" rev-parse --short HEAD) -> $AA_RESULTS" >&2
exec bash "$AA/run-all.sh"
