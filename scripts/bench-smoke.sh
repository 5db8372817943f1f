#!/usr/bin/env bash
# CI smoke check of the benchmark tooling (well under a minute once built):
#
#   1. builds the release server and load tool, and every bench target (`cargo bench
#      --no-run`); the socket-free micro-benchmarks (parse, fanout) run once each as a
#      test (their harness does that without --bench), and so does allocs (allocations
#      per relayed message, a few milliseconds);
#   2. starts the release Portico on a free loopback port with a small generated config;
#   3. portico-load `connect` with 50 clients for 2 s, then `fanout` 1x20 for 2 s;
#      each must exit 0 with status ok, all clients up, and lines delivered with 0 loss;
#   4. stops the server with SIGTERM and checks it exits 0.
#
#   scripts/bench-smoke.sh      (SKIP_BUILD=1 uses the binaries already built)
# Exit status 0 when every check passed; run outputs stay in a temp dir, printed on failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fail() {
    echo "bench-smoke: FAIL: $*" >&2
    [[ -n "${tmp:-}" ]] && echo "bench-smoke: outputs in $tmp" >&2
    exit 1
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    cargo build --release --bin portico --bin portico-load
fi
# Bench targets must build; the micro-benchmarks also run once (no --bench: one call each).
micro=()
while IFS= read -r exe; do
    micro+=("$exe")
done < <(cargo bench --no-run --message-format=json 2>/dev/null |
    grep '"target":{[^}]*"name":"\(parse\|fanout\|allocs\)"' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
[[ ${#micro[@]} -eq 3 ]] || fail "cargo bench --no-run: expected the parse, fanout and allocs benches, got: ${micro[*]:-none}"
for exe in "${micro[@]}"; do
    "$exe" >/dev/null || fail "micro-benchmark $exe failed"
done

tmp="$(mktemp -d /tmp/portico-bench-smoke.XXXXXX)"
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

cat >"$tmp/portico.toml" <<'EOF'
# scripts/bench-smoke.sh: every client comes from 127.0.0.1, the sender OPERs.
[server]
name = "smoke.portico"
id = 1
[[listen]]
address = "127.0.0.1:0"         # port 0: a free port, read back from the log
[limits]
max_clients_per_ip = 0          # (default 16) 50 clients from one address
[[oper]]
name = "bench"
password = "benchpw"
host = "*@*"
EOF
"$root/target/release/portico" -c "$tmp/portico.toml" 2>"$tmp/portico.log" &
pid=$!
addr=""
for _ in $(seq 1 100); do
    addr="$(sed -n 's/^portico: listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/portico.log" | head -n 1)"
    [[ -n "$addr" ]] && break
    kill -0 "$pid" 2>/dev/null || fail "portico exited at start: $(tail -n 5 "$tmp/portico.log")"
    sleep 0.1
done
[[ -n "$addr" ]] || fail "portico did not report its listener"

load() {
    local name="$1" rc=0
    shift
    # The tool bounds itself (warm-up + duration + 60 s); timeout keeps CI under a minute.
    timeout 40 "$root/target/release/portico-load" --server "$addr" --server-pid "$pid" \
        --json "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    [[ $rc -eq 0 ]] || fail "$name: portico-load exited with $rc: $(tail -n 3 "$tmp/$name.err")"
    grep '^{' "$tmp/$name.out" >"$tmp/$name.json" || fail "$name: no JSON line"
}
# get NAME KEY: a value from that run's JSON line.
get() {
    sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" "$tmp/$1.json" | tr -d '"'
}
expect() {
    local name="$1" key="$2" op="$3" want="$4" v
    v="$(get "$name" "$key")"
    awk -v v="$v" -v w="$want" -v op="$op" 'BEGIN {
        if (v !~ /^-?[0-9.]+$/) exit 1
        if (op == "==") exit !(v + 0 == w + 0)
        if (op == ">") exit !(v + 0 > w + 0)
        exit 1 }' || fail "$name: $key is '$v', expected $op $want"
}

load connect --scenario connect --clients 50 --duration 2
[[ "$(get connect status)" == ok ]] || fail "connect: status $(get connect status)"
expect connect clients_up == 50
expect connect connections_held == 50

load fanout --scenario fanout --channels 1 --members 20 --senders 1 --window 16 \
    --duration 2 --warmup 0.5 --oper bench:benchpw
[[ "$(get fanout status)" == ok ]] || fail "fanout: status $(get fanout status)"
expect fanout clients_up == 20
expect fanout delivered '>' 0
expect fanout lost == 0
expect fanout bad_lines == 0

kill -TERM "$pid"
rc=0
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "portico still running 10 s after SIGTERM"
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 0 ]] || fail "portico exited with $rc on SIGTERM"

echo "bench-smoke: ok: connect $(get connect registrations_per_s) registrations/s;" \
    "fanout 1x20 $(get fanout lines_per_s) lines/s, p99 $(get fanout p99_ms) ms, 0 lost"
rm -rf "$tmp"
