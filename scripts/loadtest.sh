#!/usr/bin/env bash
# Run the portico-load scenarios against an IRC server that is already running.
#
#   scripts/loadtest.sh HOST:PORT [extra portico-load args...]
#
# Extra arguments are appended to every run; since the tool takes the last
# value of a repeated option, they also override the defaults below, e.g.
#   scripts/loadtest.sh 127.0.0.1:6667 --server-pid "$(pgrep -x portico)"
#   scripts/loadtest.sh 127.0.0.1:16667 --connect-batch 10 --oper bench:pw --umode +F
# (ngIRCd listens with a backlog of 10, hence --connect-batch 10 for it.)
#
# What the server needs: up to 1000 clients from 127.0.0.1, so a per-IP
# connection limit must allow them (Portico: [limits] max_clients_per_ip = 0
# and connects_per_ip_per_min = 0), or spread them over loopback addresses
# with --source-ips N (e.g. --source-ips 100 for Portico's default 16 per IP).
# A server that refuses clients is quoted: its ERROR text is in the report.
#
# Results: each run's table on stdout, then one JSON line per run; the JSON
# lines are also kept in $RESULTS_DIR (default: a new temp directory).
# Exit status: 0 when every scenario ran without errors, 1 otherwise (a run
# that counted failed operations fails too).  Load stays on the given
# address; use loopback (127.0.0.0/8) servers only.
# LOAD_BIN=/path/to/portico-load skips the cargo build.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
server="$1"
shift
extra=("$@")

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Many client sockets: raise the soft descriptor limit as far as allowed.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# LOAD_BIN=/path/to/portico-load skips the build (e.g. a binary built elsewhere).
if [[ -n "${LOAD_BIN:-}" ]]; then
    bin="$LOAD_BIN"
else
    cargo build --release --bin portico-load
    bin="$root/target/release/portico-load"
fi

results="${RESULTS_DIR:-$(mktemp -d /tmp/portico-load.XXXXXX)}"
mkdir -p "$results"
failed=0

run() {
    local name="$1"
    shift
    echo "=== $name ==="
    local rc=0
    "$bin" --server "$server" --json "$@" "${extra[@]}" >"$results/$name.out" || rc=$?
    grep -v '^{' "$results/$name.out" || true
    grep '^{' "$results/$name.out" >"$results/$name.json" || true
    if [[ $rc -ne 0 ]]; then
        echo "!!! $name exited with status $rc"
        failed=1
    elif grep -q '"status":"errors"' "$results/$name.json"; then
        echo "!!! $name counted failed operations (status: errors)"
        failed=1
    fi
    echo
}

run connect --scenario connect --clients 1000 --duration 5
run fanout_1x200 --scenario fanout --channels 1 --members 200 --senders 1 --window 32 --duration 10
run fanout_10x50 --scenario fanout --channels 10 --members 50 --senders 1 --window 32 --duration 10
run privmsg --scenario privmsg --pairs 100 --window 32 --duration 10
run churn --scenario churn --clients 50 --duration 5

echo "=== summary (JSON, also in $results) ==="
for name in connect fanout_1x200 fanout_10x50 privmsg churn; do
    cat "$results/$name.json" 2>/dev/null || true
done
exit "$failed"
