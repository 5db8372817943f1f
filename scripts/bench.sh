#!/usr/bin/env bash
# Portico vs ngIRCd and InspIRCd: the same portico-load scenarios against each server in
# one run, summarised as one side-by-side table.
#
#   scripts/bench.sh            # full run (about 3-4 minutes on 2 cores; bound: 10 min)
#   QUICK=1 scripts/bench.sh    # smoke version, about 1 minute
#
# Scenarios (each server gets the same ones, interleaved so background load hits both;
# every run on a freshly started server):
#   connect     CONNECT_CLIENTS (19500) idle registered clients, on a freshly started
#               server: registrations/s, server RSS per client
#   fanout      1 channel x 500 members, 1 sender, window 64: lines/s, p50/p99
#   fanout      100 channels x 50 members, 1 sender each, window 8
#   privmsg     1000 pairs, window 4: messages/s, p50/p99
#   rate        open loop, 200 msg/s into 500 members: server CPU per delivered line
#   churn       50 workers looping connect/register/JOIN/PART/QUIT: cycles/s
#   noisy       (not in the default list; Portico only) issue 14's noisy neighbours, three
#               runs: a healthy client's PING round trip p50/p99/max and the server's
#               largest RSS while (noisy_stuck) 1,000 members of a channel taking 1,000
#               msgs/s never read, (noisy_who) 50 of 5,000 members send WHO #channel every
#               0.5 s, (noisy_reconnect) 200 clients flood into Excess Flood and reconnect.
#               The server runs with its default limits (send queue, flood control), only
#               max_clients_per_ip lifted; NOISY_DUR (20) s measured from the crowd's start.
#               SCENARIOS=noisy runs the three; each may be named alone.
# Runs with many clients bind to 127.0.0.1..127.0.0.16 (--source-ips 16).
#
# Knobs (environment; QUICK=1 changes the defaults marked *):
#   DUR* (5) measured seconds per run      WARMUP* (1) seconds before measuring
#   CONNECT_CLIENTS* (19500)  CONNECT_IDLE* (3)  SOURCE_IPS (16)
#   FANOUT_MEMBERS (500) FANOUT_WINDOW (64)
#   MULTI_CHANNELS* (100) MULTI_MEMBERS (50) MULTI_WINDOW (8)
#   PAIRS* (1000) PAIRS_WINDOW (4)  RATE (200) RATE_MEMBERS (500)  CHURN (50)
#   PORTICO_BATCH (50) NGIRCD_BATCH (10) INSPIRCD_BATCH (1000)   handshakes in flight
#   (ngIRCd's listen backlog is 10; InspIRCd completes registrations on its 1 s tick,
#   so each handshake takes about a second there whatever the load)
#   NOISY_DUR (20) NOISY_STUCK (1000) NOISY_RATE (1000) NOISY_WHO_MEMBERS (5000)
#   NOISY_WHO_FLOODERS (50) NOISY_FLOODERS (200) NOISY_READERS (100)
#   SENDQ_BYTES (8388608)   per-client send queue for the runs (Portico, InspIRCd)
#   SO_SNDBUF (unset: Portico's default)   its per-socket kernel send buffer
#   SERVERS ("portico ngircd inspircd"; without inspircd when it is not installed)
#   SCENARIOS ("connect fanout_1x500 fanout_100x50 privmsg rate churn")
#   NGIRCD (/usr/sbin/ngircd)  INSPIRCD (/usr/sbin/inspircd; apt-get install -y inspircd)
#   SKIP_BUILD=1  RESULTS_DIR (temp dir)  PORTICO_BIN (target/release/portico; another
#   build, e.g. a copy from before a change, for before/after runs)  LOAD_BIN
#   (target/release/portico-load; a copy keeps a long run apart from rebuilds)
#   NGIRCD_LOG (RESULTS_DIR/ngircd.log; /dev/null spares ngIRCd the console log writes)
#
# Output: progress on stderr, the table on stdout; every run's output, JSON line, server
# configs and logs stay in RESULTS_DIR. Exit status 0 when every run succeeded.
set -euo pipefail

if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

QUICK="${QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then
    : "${DUR:=2}" "${WARMUP:=0.5}" "${CONNECT_CLIENTS:=2000}" "${CONNECT_IDLE:=1}"
    : "${MULTI_CHANNELS:=20}" "${PAIRS:=200}"
fi
DUR="${DUR:-5}"
WARMUP="${WARMUP:-1}"
CONNECT_CLIENTS="${CONNECT_CLIENTS:-19500}"
CONNECT_IDLE="${CONNECT_IDLE:-3}"
SOURCE_IPS="${SOURCE_IPS:-16}"
FANOUT_MEMBERS="${FANOUT_MEMBERS:-500}"
FANOUT_WINDOW="${FANOUT_WINDOW:-64}"
MULTI_CHANNELS="${MULTI_CHANNELS:-100}"
MULTI_MEMBERS="${MULTI_MEMBERS:-50}"
MULTI_WINDOW="${MULTI_WINDOW:-8}"
PAIRS="${PAIRS:-1000}"
PAIRS_WINDOW="${PAIRS_WINDOW:-4}"
RATE="${RATE:-200}"
RATE_MEMBERS="${RATE_MEMBERS:-500}"
CHURN="${CHURN:-50}"
PORTICO_BATCH="${PORTICO_BATCH:-50}"
NGIRCD_BATCH="${NGIRCD_BATCH:-10}"
INSPIRCD_BATCH="${INSPIRCD_BATCH:-1000}"
SENDQ_BYTES="${SENDQ_BYTES:-8388608}"
SCENARIOS="${SCENARIOS:-connect fanout_1x500 fanout_100x50 privmsg rate churn}"
# "noisy" alone stands for its three runs.
SCENARIOS="$(echo " $SCENARIOS " | sed 's/ noisy / noisy_stuck noisy_who noisy_reconnect /g')"
NOISY_DUR="${NOISY_DUR:-20}"
NOISY_STUCK="${NOISY_STUCK:-1000}"
NOISY_RATE="${NOISY_RATE:-1000}"
NOISY_WHO_MEMBERS="${NOISY_WHO_MEMBERS:-5000}"
NOISY_WHO_FLOODERS="${NOISY_WHO_FLOODERS:-50}"
NOISY_FLOODERS="${NOISY_FLOODERS:-200}"
NOISY_READERS="${NOISY_READERS:-100}"
NGIRCD="${NGIRCD:-/usr/sbin/ngircd}"
INSPIRCD="${INSPIRCD:-/usr/sbin/inspircd}"

log() { echo "bench: $*" >&2; }
die() {
    log "$*"
    exit 1
}

if [[ -z "${SERVERS:-}" ]]; then
    SERVERS="portico ngircd inspircd"
    if [[ ! -x "$INSPIRCD" ]]; then
        SERVERS="portico ngircd"
        log "note: InspIRCd not found at $INSPIRCD: running without it (apt-get install -y inspircd)"
    fi
fi

# ---------------------------------------------------------------- setup

# Every client is a descriptor in the tool and one in the server (both inherit this).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile="$(ulimit -n)"
if [[ "$nofile" != unlimited ]] && ((CONNECT_CLIENTS + 200 > nofile)); then
    log "descriptor limit is $nofile: connect run lowered from $CONNECT_CLIENTS clients"
    CONNECT_CLIENTS=$((nofile - 200))
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building (cargo build --release --bins)"
    cargo build --release --bins >&2
fi
portico_bin="${PORTICO_BIN:-$root/target/release/portico}"
load_bin="${LOAD_BIN:-$root/target/release/portico-load}"
[[ -x "$portico_bin" && -x "$load_bin" ]] || die "release binaries missing (build first)"
if [[ " $SERVERS " == *" ngircd "* && ! -x "$NGIRCD" ]]; then
    die "ngIRCd not found at $NGIRCD (apt-get install -y ngircd, or SERVERS=portico)"
fi
if [[ " $SERVERS " == *" inspircd "* && ! -x "$INSPIRCD" ]]; then
    die "InspIRCd not found at $INSPIRCD (apt-get install -y inspircd, or leave it out of SERVERS)"
fi

tmp="${RESULTS_DIR:-$(mktemp -d /tmp/portico-bench.XXXXXX)}"
mkdir -p "$tmp"
log "results, configs and logs in $tmp"

declare -A PID=() PORT=()

stop_server() {
    local srv="$1" pid="${PID[$1]:-}"
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset "PID[$srv]"
}

cleanup() {
    local srv
    for srv in "${!PID[@]}"; do
        stop_server "$srv"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port below the ephemeral range (so no client socket takes it): nothing
# answers a connect there. The servers set SO_REUSEADDR, so TIME_WAIT leftovers are fine.
free_port() {
    local p
    for _ in $(seq 1 500); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Waits until the server accepts connections (or has died).
wait_port() {
    local srv="$1"
    for _ in $(seq 1 150); do
        kill -0 "${PID[$srv]}" 2>/dev/null || break
        if (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$srv]}") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$tmp/$srv.log" >&2 || true
    die "$srv did not come up on port ${PORT[$srv]}"
}

portico_config() {
    if [[ "${2:-}" == noisy ]]; then
        portico_noisy_config "$1"
        return
    fi
    cat <<EOF
# Generated by scripts/bench.sh: Portico set up for capacity, not for safety.
# Every difference from the defaults (README.md, "Configuration reference") says why.
[server]
name = "portico.bench"
id = 1
description = "Portico under load"
network = "BenchNet"
motd = "bench"                  # a one-line MOTD, as ngIRCd's MotdPhrase below

[[listen]]
address = "127.0.0.1:$1"        # loopback only, a free port picked by bench.sh

[limits]
max_clients = 50000             # (default 50000) room for the ${CONNECT_CLIENTS}-client connect run
max_clients_per_ip = 0          # (default 16) all clients come from 127.0.0.1-127.0.0.${SOURCE_IPS}
sendq_bytes = ${SENDQ_BYTES}          # (default 1 MiB) fanout backlogs show as latency, never as kills
flood_burst = 1000000           # (default 10) receivers, pairs and churn workers are never throttled
flood_interval_ms = 1           # (default 500) same
ping_interval_s = 600           # (default 120) no server PINGs during a run
ping_timeout_s = 600            # (default 60) same
registration_timeout_s = 120    # (default 60) a slow fleet still registers
${SO_SNDBUF:+so_sndbuf = ${SO_SNDBUF}               # (default 65536) set by SO_SNDBUF for a comparison}

[[oper]]                        # senders OPER (--oper bench:benchpw): exempt from flood control
name = "bench"
password = "benchpw"
host = "*@*"
EOF
}

# The noisy-neighbours runs: Portico as deployed (default send queue, flood control and
# reply cost), so what protects the healthy client is what protects it in production.
portico_noisy_config() {
    cat <<EOF
# Generated by scripts/bench.sh for the noisy-neighbours runs: default limits.
[server]
name = "portico.bench"
id = 1
network = "BenchNet"
motd = "bench"

[[listen]]
address = "127.0.0.1:$1"

[limits]
max_clients_per_ip = 0          # (default 16) the crowd comes from 127.0.0.1-127.0.0.${SOURCE_IPS}
ping_interval_s = 600           # (default 120) no server PINGs during a run
ping_timeout_s = 600            # (default 60) same
registration_timeout_s = 120    # (default 60) a slow fleet still registers
${SO_SNDBUF:+so_sndbuf = ${SO_SNDBUF}}

[[oper]]                        # the probe and the stuck channel's sender OPER
name = "bench"
password = "benchpw"
host = "*@*"
EOF
}

ngircd_config() {
    cat <<EOF
# Generated by scripts/bench.sh: ngIRCd 26 set up for capacity, as Portico is.
# Every difference from the defaults (man ngircd.conf) says why.
[Global]
Name = ngircd.bench
Info = ngIRCd under load
Listen = 127.0.0.1
# loopback only, a free port picked by bench.sh
Ports = $1
# a one-line MOTD, as Portico's
MotdPhrase = bench
AdminInfo1 = bench
AdminInfo2 = bench
AdminEMail = bench@example.net

[Limits]
# (default 0) unlimited, stated for clarity
MaxConnections = 0
# (default 5) all clients come from 127.0.0.1-127.0.0.${SOURCE_IPS}
MaxConnectionsIP = 0
# (default 9) as Portico's nick_length
MaxNickLength = 30
# (default -1) 0 disables penalty time, ngIRCd's flood control, for every client
MaxPenaltyTime = 0
# (defaults 120/20) no server PINGs during a run
PingTimeout = 600
PongTimeout = 600

[Options]
# (default yes) no DNS or ident lookups, no PAM: registration cost is the server's own
DNS = no
Ident = no
PAM = no

# Senders OPER (--oper bench:benchpw) and set +F (--umode +F, relaxed flood protection).
[Operator]
Name = bench
Password = benchpw
EOF
}

inspircd_config() {
    cat <<EOF
# Generated by scripts/bench.sh: InspIRCd 3 set up for capacity, as Portico is.
# Every difference from the shipped example (inspircd.conf.example) says why.
<server name="inspircd.bench" description="InspIRCd under load" network="BenchNet">
<admin name="bench" nick="bench" email="bench@example.net">

# loopback only, a free port picked by bench.sh
<bind address="127.0.0.1" port="$1" type="clients">

# One class for everyone:
# limit 100000 (example 5000): room for the ${CONNECT_CLIENTS}-client connect run;
# localmax/globalmax 100000 (example 3): all clients come from 127.0.0.1-127.0.0.${SOURCE_IPS};
# commandrate 1000000000 (example 1000 = 1 line/s), threshold 1000000 (example 10),
# fakelag no (example yes): receivers, pairs and churn workers are never throttled;
# hardsendq ${SENDQ_BYTES} (example 1M), softsendq and recvq 1M (example 10K):
# fanout backlogs show as latency, never as kills, as Portico's sendq_bytes;
# pingfreq 600 (example 120): no server PINGs during a run; timeout 120 (example 60):
# a slow fleet still registers; resolvehostnames no (example yes), useident no:
# no DNS or ident lookups, registration cost is the server's own.
<connect name="main" allow="*" limit="100000" localmax="100000" globalmax="100000"
         maxconnwarn="no" commandrate="1000000000" threshold="1000000" fakelag="no"
         hardsendq="${SENDQ_BYTES}" softsendq="1048576" recvq="1048576"
         pingfreq="600" timeout="120" resolvehostnames="no" useident="no">

# a one-line MOTD, as Portico's and ngIRCd's
<files motd="$2/inspircd.motd">
<dns server="127.0.0.1" timeout="1">

# softlimit 50000 (example 12800): the descriptor limit bench.sh sets is the bound;
# somaxconn 1024 (example 128): a listen backlog that does not bound the connect run
<performance netbuffersize="10240" somaxconn="1024" softlimit="50000"
             clonesonconnect="no" timeskipwarn="2s" quietbursts="yes">

# as Portico's nick_length
<limits maxnick="30">

# Senders OPER (--oper bench:benchpw): exempt from throttling and buffer limits
<class name="Bench" commands="*" usermodes="*" chanmodes="*"
       privs="users/flood/no-throttle users/flood/no-fakelag users/flood/increased-buffers">
<type name="Bench" classes="Bench">
<oper name="bench" password="benchpw" host="*@*" type="Bench">

# its own pid and log files in the results directory
<pid file="$2/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$2/inspircd.ircd.log">
EOF
}

start_server() {
    local srv="$1" mode="${2:-}" port
    port="$(free_port)" || die "no free port"
    PORT[$srv]="$port"
    case "$srv" in
    portico)
        portico_config "$port" "$mode" >"$tmp/portico.toml"
        "$portico_bin" -c "$tmp/portico.toml" >>"$tmp/portico.log" 2>&1 &
        ;;
    ngircd)
        ngircd_config "$port" >"$tmp/ngircd.conf"
        # In the foreground (-n) ngIRCd logs every connection to the console: to a file here.
        "$NGIRCD" -n -f "$tmp/ngircd.conf" >>"${NGIRCD_LOG:-$tmp/ngircd.log}" 2>&1 &
        ;;
    inspircd)
        inspircd_config "$port" "$tmp" >"$tmp/inspircd.conf"
        echo bench >"$tmp/inspircd.motd"
        # In the foreground (--nofork); as root it needs --runasroot (CI runs as root).
        local asroot=()
        [[ $EUID -eq 0 ]] && asroot=(--runasroot)
        "$INSPIRCD" --config "$tmp/inspircd.conf" --nofork "${asroot[@]}" >>"$tmp/inspircd.log" 2>&1 &
        ;;
    *) die "unknown server $srv" ;;
    esac
    PID[$srv]=$!
    wait_port "$srv"
    log "$srv started: pid ${PID[$srv]}, 127.0.0.1:$port"
}

# ---------------------------------------------------------------- runs

failed=0
declare -A RC=()

# run SERVER NAME ARGS...: one portico-load run; output in $tmp/SERVER.NAME.{out,err,json}.
run() {
    local srv="$1" name="$2"
    shift 2
    local extra=()
    case "$srv" in
    portico) extra=(--connect-batch "$PORTICO_BATCH") ;;
    ngircd) extra=(--connect-batch "$NGIRCD_BATCH") ;;
    inspircd) extra=(--connect-batch "$INSPIRCD_BATCH") ;;
    esac
    log "$name on $srv: $*"
    local rc=0 t0=$SECONDS
    "$load_bin" --server "127.0.0.1:${PORT[$srv]}" --server-pid "${PID[$srv]}" --json \
        "$@" "${extra[@]}" >"$tmp/$srv.$name.out" 2>"$tmp/$srv.$name.err" || rc=$?
    grep '^{' "$tmp/$srv.$name.out" >"$tmp/$srv.$name.json" || true
    RC["$srv.$name"]=$rc
    if [[ $rc -ne 0 ]]; then
        failed=1
        log "!!! $name on $srv exited with status $rc (see $tmp/$srv.$name.err)"
        tail -n 3 "$tmp/$srv.$name.err" >&2 || true
    fi
    if ! kill -0 "${PID[$srv]}" 2>/dev/null; then
        failed=1
        log "!!! $srv died during $name (see $tmp/$srv.log)"
    fi
    log "  ${name} on $srv took $((SECONDS - t0)) s"
}

# Arguments per scenario; sender options (--oper, --umode) are added for traffic runs.
scenario_args() {
    local traffic=(--duration "$DUR" --warmup "$WARMUP" --source-ips "$SOURCE_IPS")
    local noisy=(--duration "$NOISY_DUR" --warmup 0 --source-ips "$SOURCE_IPS" --oper bench:benchpw)
    case "$1" in
    connect) echo --scenario connect --clients "$CONNECT_CLIENTS" --duration "$CONNECT_IDLE" --source-ips "$SOURCE_IPS" ;;
    fanout_1x500) echo --scenario fanout --channels 1 --members "$FANOUT_MEMBERS" --senders 1 --window "$FANOUT_WINDOW" "${traffic[@]}" ;;
    fanout_100x50) echo --scenario fanout --channels "$MULTI_CHANNELS" --members "$MULTI_MEMBERS" --senders 1 --window "$MULTI_WINDOW" "${traffic[@]}" ;;
    privmsg) echo --scenario privmsg --pairs "$PAIRS" --window "$PAIRS_WINDOW" "${traffic[@]}" ;;
    rate) echo --scenario fanout --channels 1 --members "$RATE_MEMBERS" --senders 1 --rate "$RATE" "${traffic[@]}" ;;
    churn) echo --scenario churn --clients "$CHURN" --duration "$DUR" --warmup "$WARMUP" --source-ips "$SOURCE_IPS" ;;
    noisy_stuck) echo --scenario noisy-stuck --clients "$NOISY_STUCK" --rate "$NOISY_RATE" "${noisy[@]}" ;;
    noisy_who) echo --scenario noisy-who --members "$NOISY_WHO_MEMBERS" --senders "$NOISY_WHO_FLOODERS" "${noisy[@]}" ;;
    noisy_reconnect) echo --scenario noisy-reconnect --clients "$NOISY_FLOODERS" --members "$NOISY_READERS" "${noisy[@]}" ;;
    *) die "unknown scenario $1" ;;
    esac
}

sender_args() {
    case "$1" in
    portico | inspircd) echo --oper bench:benchpw ;;
    ngircd) echo --oper bench:benchpw --umode +F ;;
    esac
}

started=$SECONDS
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
servers=($SERVERS)
scenarios=($SCENARIOS)

# Every run gets a freshly started server, stopped after it: the connect run's RSS is clean,
# and no run inherits another's state (ngIRCd's connection table, for one, never shrinks and
# some of its loops walk all of it, so a run would pay for an earlier run's client count).
for sc in "${scenarios[@]}"; do
    for srv in "${servers[@]}"; do
        # shellcheck disable=SC2207
        args=($(scenario_args "$sc"))
        mode=""
        case "$sc" in
        fanout* | privmsg | rate) args+=($(sender_args "$srv")) ;;
        noisy*)
            # The limits under test are Portico's own; the others' configs lift theirs.
            if [[ "$srv" != portico ]]; then
                log "$sc: Portico only, skipped for $srv"
                continue
            fi
            mode=noisy
            ;;
        esac
        start_server "$srv" "$mode"
        run "$srv" "$sc" "${args[@]}"
        stop_server "$srv"
    done
done
cleanup
elapsed=$((SECONDS - started))

# ---------------------------------------------------------------- table

# jget FILE KEY: a value from the run's flat JSON line ("" when absent or null).
jget() {
    [[ -s "$1" ]] || return 0
    sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" "$1" | tr -d '"' | sed 's/^null$//'
}

# value SERVER SCENARIO KEY FORMAT: the figure, or FAIL / - when there is none.
value() {
    local f="$tmp/$1.$2.json" v
    if [[ ! -s "$f" ]]; then
        if [[ -n "${RC[$1.$2]:-}" ]]; then echo "FAIL(${RC[$1.$2]})"; else echo "-"; fi
        return
    fi
    v="$(jget "$f" "$3")"
    if [[ -z "$v" ]]; then
        echo "n/a"
    elif [[ "${RC[$1.$2]:-0}" != 0 ]]; then
        awk -v v="$v" -v f="$4" 'BEGIN { printf f "!", v }'
    else
        awk -v v="$v" -v f="$4" 'BEGIN { printf f, v }'
    fi
}

# Display names; the table has a column per server in SERVERS and a ratio column
# Portico/OTHER for every other server.
declare -A NAME=([portico]=Portico [ngircd]=ngIRCd [inspircd]=InspIRCd)
others=()
for srv in "${servers[@]}"; do
    [[ "$srv" == portico ]] || others+=("$srv")
done
header="scenario|figure"
for srv in "${servers[@]}"; do header+="|${NAME[$srv]:-$srv}"; done
if [[ " $SERVERS " == *" portico "* ]]; then
    for srv in "${others[@]}"; do header+="|Portico/${NAME[$srv]:-$srv}"; done
fi

rows=()
# row SCENARIO LABEL KEY FIGURE FORMAT
row() {
    local srv line p o ratio
    line="$2|$4"
    for srv in "${servers[@]}"; do
        line+="|$(value "$srv" "$1" "$3" "$5")"
    done
    if [[ " $SERVERS " == *" portico "* ]]; then
        p="$(value portico "$1" "$3" "$5")"
        for srv in "${others[@]}"; do
            o="$(value "$srv" "$1" "$3" "$5")"
            ratio="$(awk -v a="${p%!}" -v b="${o%!}" 'BEGIN {
                if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/ && b + 0 != 0) printf "%.2f", a / b; else printf "-" }')"
            line+="|$ratio"
        done
    fi
    rows+=("$line")
}

for sc in "${scenarios[@]}"; do
    case "$sc" in
    connect)
        label="connect ${CONNECT_CLIENTS} idle"
        row connect "$label" clients_up "clients up" "%d"
        row connect "$label" registrations_per_s "registrations/s ^" "%.0f"
        row connect "$label" server_cpu_per_reg_us "server CPU per registration, us v" "%.1f"
        row connect "$label" server_rss_per_client "RSS per client, bytes v" "%.0f"
        row connect "$label" server_rss_after "RSS with all up, bytes v" "%.0f"
        row connect "$label" connections_held "answered PING after idle" "%d"
        ;;
    fanout_1x500 | fanout_100x50)
        if [[ "$sc" == fanout_1x500 ]]; then
            label="fanout 1x${FANOUT_MEMBERS} w${FANOUT_WINDOW}"
        else
            label="fanout ${MULTI_CHANNELS}x${MULTI_MEMBERS} w${MULTI_WINDOW}"
        fi
        row "$sc" "$label" lines_per_s "delivered lines/s ^" "%.0f"
        row "$sc" "$label" p50_ms "latency p50, ms v" "%.3f"
        row "$sc" "$label" p99_ms "latency p99, ms v" "%.3f"
        row "$sc" "$label" server_cpu_per_line_us "server CPU per line, us v" "%.3f"
        row "$sc" "$label" server_writes_per_unit "server write syscalls per line v" "%.4f"
        row "$sc" "$label" server_user_pct "server user-space CPU, % of its CPU" "%.1f"
        row "$sc" "$label" loss_pct "loss, % v" "%.3f"
        row "$sc" "$label" tool_cpu_pct "load tool CPU, % of a core" "%.1f"
        ;;
    privmsg)
        label="privmsg ${PAIRS} pairs w${PAIRS_WINDOW}"
        row privmsg "$label" msgs_per_s "messages/s ^" "%.0f"
        row privmsg "$label" p50_ms "latency p50, ms v" "%.3f"
        row privmsg "$label" p99_ms "latency p99, ms v" "%.3f"
        row privmsg "$label" server_cpu_per_line_us "server CPU per message, us v" "%.3f"
        row privmsg "$label" server_writes_per_unit "server write syscalls per message v" "%.4f"
        row privmsg "$label" server_user_pct "server user-space CPU, % of its CPU" "%.1f"
        row privmsg "$label" loss_pct "loss, % v" "%.3f"
        row privmsg "$label" tool_cpu_pct "load tool CPU, % of a core" "%.1f"
        ;;
    rate)
        label="rate ${RATE}/s into ${RATE_MEMBERS}"
        row rate "$label" lines_per_s "delivered lines/s" "%.0f"
        row rate "$label" server_cpu_per_line_us "server CPU per line, us v" "%.3f"
        row rate "$label" server_cpu_pct "server CPU, % of a core v" "%.1f"
        row rate "$label" server_writes_per_unit "server write syscalls per line v" "%.4f"
        row rate "$label" server_user_pct "server user-space CPU, % of its CPU" "%.1f"
        row rate "$label" p50_ms "latency p50, ms v" "%.3f"
        row rate "$label" p99_ms "latency p99, ms v" "%.3f"
        row rate "$label" loss_pct "loss, % v" "%.3f"
        ;;
    churn)
        label="churn ${CHURN} workers"
        row churn "$label" cycles_per_s "cycles/s ^" "%.1f"
        row churn "$label" cycle_p99_ms "cycle p99, ms v" "%.3f"
        row churn "$label" server_cpu_per_cycle_us "server CPU per cycle, us v" "%.1f"
        row churn "$label" server_writes_per_unit "server write syscalls per cycle v" "%.2f"
        row churn "$label" server_user_pct "server user-space CPU, % of its CPU" "%.1f"
        row churn "$label" errors "errors v" "%d"
        row churn "$label" tool_cpu_pct "load tool CPU, % of a core" "%.1f"
        ;;
    noisy_*)
        case "$sc" in
        noisy_stuck) label="noisy: ${NOISY_STUCK} stuck readers, ${NOISY_RATE} msg/s" ;;
        noisy_who) label="noisy: ${NOISY_WHO_FLOODERS} WHO flooders, ${NOISY_WHO_MEMBERS} members" ;;
        *) label="noisy: ${NOISY_FLOODERS} flood+reconnect" ;;
        esac
        row "$sc" "$label" healthy_p50_ms "healthy PING p50, ms v" "%.3f"
        row "$sc" "$label" healthy_p99_ms "healthy PING p99, ms v" "%.3f"
        row "$sc" "$label" healthy_max_ms "healthy PING max, ms v" "%.3f"
        row "$sc" "$label" healthy_samples "healthy PINGs answered" "%d"
        row "$sc" "$label" server_rss_max_mb "server RSS max, MiB v" "%.1f"
        row "$sc" "$label" server_cpu_pct "server CPU, % of a core" "%.1f"
        case "$sc" in
        noisy_stuck) row "$sc" "$label" msgs_sent "messages sent into the channel" "%d" ;;
        noisy_who) row "$sc" "$label" who_done "WHO replies completed" "%d" ;;
        *) row "$sc" "$label" flood_cycles "flood+reconnect cycles (Excess Flood)" "%d" ;;
        esac
        ;;
    esac
done

commit="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || commit="$commit+dirty"
versions=()
for srv in "${others[@]}"; do
    case "$srv" in
    ngircd) versions+=("$("$NGIRCD" --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2 || true)") ;;
    inspircd) versions+=("$("$INSPIRCD" --version 2>/dev/null | head -n 1 || true)") ;;
    *) versions+=("$srv") ;;
    esac
done
vs=""
((${#versions[@]})) && vs=" vs $(printf '%s, ' "${versions[@]}")" && vs="${vs%, }"

echo
echo "Portico ($commit)$vs; $(nproc) CPUs, $(uname -r), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; ${DUR}s per run after ${WARMUP}s warm-up (noisy runs: ${NOISY_DUR}s); total ${elapsed}s"
{
    echo "$header"
    printf '%s\n' "${rows[@]}"
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; w = length($i); if (w > width[i]) width[i] = w } ; if (NF > nf) nf = NF; n = NR }
    END {
        for (r = 1; r <= n; r++) {
            line = ""
            for (i = 1; i <= nf; i++) {
                pad = width[i] - length(cell[r, i])
                s = cell[r, i]
                if (i >= 3) { for (k = 0; k < pad; k++) s = " " s } else { for (k = 0; k < pad; k++) s = s " " }
                line = line (i > 1 ? " | " : "") s
            }
            print line
            if (r == 1) { sep = ""; for (i = 1; i <= nf; i++) { d = ""; for (k = 0; k < width[i]; k++) d = d "-"; sep = sep (i > 1 ? "-|-" : "") d }; print sep }
        }
    }'
echo "(^ higher is better, v lower is better; ! marks a figure from a run that exited non-zero."
echo " Server and load tool share the machine: a tool near 100 % of a core bounds that run's throughput."
echo " Write syscalls (/proc/PID/io syscw) and user-space share (utime/(utime+stime)) are the server's"
echo " over the measured window: they do not depend on how fast the load tool is."
echo " Every run's output, JSON, configs and server logs: $tmp)"
exit "$failed"
