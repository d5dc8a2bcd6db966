#!/bin/bash
# bench/inbound/run.sh — Kagami's inbound MX (SMTP in -> fsync'd spool -> Maildir) measured
# beside smtp-sink, Postfix -> Maildir and Postfix + OpenDKIM + OpenDMARC, in one run of the
# shared harness shared/tools/perf-anchors/run.sh (beside this project's root). A benchmark,
# not a test: nothing here asserts, it prints a table.
#
#   sudo bash bench/inbound/run.sh                      # 2000 msgs x 10 KB, 20 sessions, 3 runs
#   sudo bash bench/inbound/run.sh -i -n 300 -r 1 -w 50 # first time (apt: postfix, nsd, milters), quick
#   sudo bash bench/inbound/run.sh -n 500 -r 1          # quick run
#
# Every argument is passed to the harness (see the header of its run.sh: -n -s -c -r -w -t -d -P
# -p -m -i -k ...), except -o: the results go to $BENCH_OUT (default bench/out/inbound-DATE,
# git-ignored), where Kagami's own log (kagami.log) is copied too.
# env: KAGAMI_PORT (default 25260), KAGAMI_CONFIG (a TOML file passed as --config, e.g. to change
#      [limits]), KAGAMI_NODE_ARGS (node flags, e.g. "--cpu-prof --cpu-prof-dir=DIR"),
#      PERF_ANCHORS (harness directory), BENCH_OUT.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PA=${PERF_ANCHORS:-$ROOT/../shared/tools/perf-anchors}
[ -x "$PA/run.sh" ] || { echo "bench/inbound: harness not found at $PA (set PERF_ANCHORS)" >&2; exit 2; }
PA=$(cd "$PA" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench/inbound: run as root (the harness needs postfix -c, cgroups, a mount namespace)" >&2; exit 2; }
for a in "$@"; do [ "$a" != -o ] || { echo "bench/inbound: set BENCH_OUT instead of -o" >&2; exit 2; }; done

# Node >= 22.19 first on PATH. The harness starts the server through cgexec.sh/unshare/bash -c,
# which keep the environment, but sudo resets PATH: the command below names node by absolute path.
# shellcheck source=/dev/null
. "$ROOT/scripts/node24.sh"
NODE=$(command -v node)
[ -f "$ROOT/dist/cli/index.js" ] || { echo "bench/inbound: dist/ missing, building" >&2; (cd "$ROOT" && npm run build) >&2; }

PORT=${KAGAMI_PORT:-25260}
if ss -Hltn | awk '{print $4}' | grep -qE "[:.]$PORT\$"; then echo "bench/inbound: port $PORT is busy (set KAGAMI_PORT)" >&2; exit 2; fi
# The harness's load (bench.py -> smtp-source -t, and its latency probe) sends
# MAIL FROM:<sender@sender.example> RCPT TO:<user@example.test>.
DOMAIN=example.test RCPT_USER=user

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kagami-bench.XXXXXX"); chmod 755 "$TMP"
DATA=$TMP/data KLOG=$TMP/kagami.log
OUT=${BENCH_OUT:-$ROOT/bench/out/inbound-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
finish() {
  set +e
  if [ -s "$KLOG" ]; then
    cp "$KLOG" "$OUT/kagami.log"
    local n; n=$(grep -c '"level":[4-6]0' "$KLOG")
    echo "bench/inbound: Kagami log: $n warn/error/fatal lines -> $OUT/kagami.log" >&2
    if [ "$n" -gt 0 ]; then
      echo "bench/inbound: by message:" >&2
      grep '"level":[4-6]0' "$KLOG" | sed -n 's/.*"msg":"\([^"]*\)".*/\1/p' | sort | uniq -c | sort -rn | head -10 >&2
    fi
  fi
  # Kagami's own view: every message it acknowledged has a queue row; all should be delivered.
  if [ -f "$DATA/kagami.db" ]; then
    "$NODE" "$ROOT/bin/kagami.js" queue --json --data "$DATA" > "$TMP/queue.json" 2>> "$OUT/kagami.log" &&
    "$NODE" -e '
      const q = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).messages, st = {}, errs = {};
      for (const m of q) for (const r of m.recipients) { st[r.state] = (st[r.state] ?? 0) + 1; if (r.lastError) errs[r.lastError] = (errs[r.lastError] ?? 0) + 1; }
      console.log(`bench/inbound: Kagami queue after the run: ${q.length} messages acknowledged; recipients by state: ${JSON.stringify(st)}` +
        (Object.keys(errs).length ? `; last errors: ${JSON.stringify(errs).slice(0, 300)}` : ""));' "$TMP/queue.json" | tee -a "$OUT/kagami-queue.txt" >&2
  fi
  rm -rf "$TMP"
}
trap finish EXIT; trap 'exit 130' INT TERM

CFG=(); [ -n "${KAGAMI_CONFIG:-}" ] && CFG=(--config "$(cd "$(dirname "$KAGAMI_CONFIG")" && pwd)/$(basename "$KAGAMI_CONFIG")")
# exec: the harness stops the target by the PID it started (TERM, then KILL after 5 s);
# with exec that PID is node itself, so Kagami gets the TERM and stops gracefully.
CMD="exec $NODE ${KAGAMI_NODE_ARGS:-} $ROOT/bin/kagami.js serve ${CFG[*]} --smtp-port $PORT --http-port 0 --domain $DOMAIN --dns 127.0.0.1:53 --data $DATA --log-level warn >> $KLOG 2>&1"

echo "bench/inbound: harness $PA, Kagami on 127.0.0.1:$PORT, data $DATA, results $OUT" >&2
echo "bench/inbound: node $("$NODE" --version) ($NODE), kagami $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted src changes'), dist built $(date -r "$ROOT/dist/main.js" '+%F %T')" >&2
# Run from $OUT: the harness's default work paths are relative to the cwd.
cd "$OUT"
"$PA/run.sh" -o "$OUT" \
  -x "kagami=127.0.0.1:$PORT=$DATA/mail/$DOMAIN/$RCPT_USER/new" \
  -X "kagami=$CMD" \
  "$@"
