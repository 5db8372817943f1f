#!/bin/sh
# RSS per idle registered client by transport: for each of plain TCP, TLS, WebSocket and
# WebSocket over TLS (wss), a
# freshly started Portico (release build) gets N clients from `portico-load --scenario
# connect` (with --tls / --websocket), which reads the server's RSS before and after and
# prints server_rss_per_client. Loopback only; the certificate is the tests' (tests/data).
#
#   scripts/transport-memory.sh [N]         (default 10000; needs ulimit -n > N + 100)
#   PORTICO_BIN=... LOAD_BIN=...            other builds (default target/release/...)
#   TRANSPORTS="tls wss"                    a subset (default: plain tls websocket wss)
#   IDLE=3                                  seconds the clients stay idle
#   BATCH=500                               handshakes in flight
set -eu
cd "$(dirname "$0")/.."
N="${1:-10000}"
PORTICO_BIN="${PORTICO_BIN:-target/release/portico}"
LOAD_BIN="${LOAD_BIN:-target/release/portico-load}"
TRANSPORTS="${TRANSPORTS:-plain tls websocket wss}"
IDLE="${IDLE:-3}"
ulimit -n "$((N + 200))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt "$((N + 100))" ] || { echo "ulimit -n is $(ulimit -n): too low for $N clients" >&2; exit 2; }
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
pid=
cp tests/data/server.crt "$dir/cert.pem"
cp tests/data/server.key "$dir/key.pem"
cat >"$dir/portico.toml" <<EOF
[server]
name = "mem.test"
id = 1
network = "Mem"
motd = "m"

[[listen]]
address = "127.0.0.1:26667"

[[listen]]
address = "127.0.0.1:26697"
tls = true
cert = "cert.pem"
key = "key.pem"

[[listen]]
address = "127.0.0.1:28080"
websocket = true

[[listen]]
address = "127.0.0.1:28443"
websocket = true
tls = true
cert = "cert.pem"
key = "key.pem"

[limits]
max_clients = $((N + 100))
max_clients_per_ip = 0
connects_per_ip_per_min = 0
EOF
echo "$N idle registered clients per transport, $("$PORTICO_BIN" --version 2>/dev/null || echo portico), load $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $TRANSPORTS; do
    case "$t" in
        plain) port=26667 flag= ;;
        tls) port=26697 flag=--tls ;;
        websocket) port=28080 flag=--websocket ;;
        wss) port=28443 flag="--tls --websocket" ;;
        *) echo "unknown transport $t" >&2; exit 2 ;;
    esac
    RUST_LOG=warn "$PORTICO_BIN" -c "$dir/portico.toml" 2>"$dir/server.log" &
    pid=$!
    sleep 1
    # --warmup only moves the tool's deadline (connect does not warm up): TLS handshakes
    # on a loaded 2-core machine can take minutes for 10,000 clients.
    # shellcheck disable=SC2086
    out="$(RUST_LOG=warn "$LOAD_BIN" --server 127.0.0.1:$port --scenario connect \
        --clients "$N" --duration "$IDLE" --warmup 240 --server-pid "$pid" \
        --connect-batch "${BATCH:-500}" $flag)" || true
    per="$(echo "$out" | sed -n 's/^server_rss_per_client: *//p')"
    up="$(echo "$out" | sed -n 's/^clients_up: *//p')"
    echo "$t: ${per:-?} B RSS per client (${up:-?} up)"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
done
