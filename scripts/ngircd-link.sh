#!/usr/bin/env bash
# Link a real ngIRCd to a running Portico over an rfc2813 portal.
#
#   scripts/ngircd-link.sh [options] HOST:PORT
#
# HOST:PORT is the Portico listener ngIRCd dials (or, with --passive, only the
# address Portico is reached at; Portico dials ngIRCd then). The script writes an
# ngircd.conf into a new temp directory, prints the [[portal]] block to add to
# portico.toml (then SIGHUP or REHASH Portico), and runs `ngircd -n -f <conf>`
# in the foreground until Ctrl-C; the temp directory is removed on exit.
#
# Options:
#   -P, --portico-name NAME   Portico's [server] name        (default irc.example.net)
#   -n, --ngircd-name NAME    ngIRCd's server name            (default ng.example.net)
#   -w, --password PW         link password, same on both ends (default: random)
#   -l, --listen ADDR         ngIRCd's listen address         (default 127.0.0.1)
#   -p, --port PORT           ngIRCd's port                   (default 6670)
#   -i, --id ID               the portal id ngIRCd gets in portico.toml (default 50)
#   -s, --passive             ngIRCd only accepts; Portico dials it (connect = true)
#   -N, --nicklen N           nick length; must equal Portico's limits.nick_length (default 30)
#   -b, --bin PATH            ngircd binary (default: ngircd on PATH or /usr/sbin/ngircd)
#   -c, --config-only         write the config and print the block, do not run ngIRCd
#   -h, --help                this text
#
# Portico must use `casemapping = "ascii"` and the same nick_length in [limits]:
# both are checked when the link comes up, and the link is refused otherwise.
set -euo pipefail

usage() {
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "ngircd-link.sh: $*" >&2
    exit 2
}

portico_name="irc.example.net"
ngircd_name="ng.example.net"
password=""
listen="127.0.0.1"
port="6670"
id="50"
passive=0
nicklen="30"
bin=""
config_only=0
target=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        -P | --portico-name) portico_name="${2:?$1 needs a value}"; shift 2 ;;
        -n | --ngircd-name) ngircd_name="${2:?$1 needs a value}"; shift 2 ;;
        -w | --password) password="${2:?$1 needs a value}"; shift 2 ;;
        -l | --listen) listen="${2:?$1 needs a value}"; shift 2 ;;
        -p | --port) port="${2:?$1 needs a value}"; shift 2 ;;
        -i | --id) id="${2:?$1 needs a value}"; shift 2 ;;
        -s | --passive) passive=1; shift ;;
        -N | --nicklen) nicklen="${2:?$1 needs a value}"; shift 2 ;;
        -b | --bin) bin="${2:?$1 needs a value}"; shift 2 ;;
        -c | --config-only) config_only=1; shift ;;
        -*) die "unknown option $1 (see --help)" ;;
        *)
            [[ -z "$target" ]] || die "one HOST:PORT only (see --help)"
            target="$1"
            shift
            ;;
    esac
done

if [[ -z "$target" ]]; then
    usage >&2
    exit 2
fi

# HOST:PORT, or [IPv6]:PORT.
host="${target%:*}"
portico_port="${target##*:}"
host="${host#[}"
host="${host%]}"
[[ -n "$host" && "$host" != "$target" ]] || die "$target: expected HOST:PORT, e.g. 127.0.0.1:6667"
[[ "$portico_port" =~ ^[0-9]+$ ]] || die "$target: the port must be a number"
[[ "$port" =~ ^[0-9]+$ ]] || die "--port $port: not a number"
[[ "$id" =~ ^[0-9]+$ && "$id" -ge 1 && "$id" -le 4095 ]] || die "--id $id: use 1 to 4095"
[[ "$nicklen" =~ ^[0-9]+$ ]] || die "--nicklen $nicklen: not a number"
case "$password" in
    *[[:space:]]* | :*) die "--password: no spaces, no leading colon (it is one PASS parameter)" ;;
esac
if [[ -z "$password" ]]; then
    password="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
fi

if [[ -z "$bin" ]]; then
    bin="$(command -v ngircd || true)"
    [[ -n "$bin" ]] || bin=/usr/sbin/ngircd
fi
if [[ $config_only -eq 0 && ! -x "$bin" ]]; then
    die "no ngircd at $bin (apt-get install ngircd, or --bin PATH)"
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/ngircd-link.XXXXXX")"
if [[ $config_only -eq 0 ]]; then
    trap 'rm -rf "$dir"' EXIT
fi
conf="$dir/ngircd.conf"

# MyPassword is what ngIRCd expects from Portico, PeerPassword what it sends: the same
# here, as Portico has one password per portal.
cat >"$conf" <<EOF
[Global]
Name = $ngircd_name
Info = ngIRCd linked to $portico_name
Listen = $listen
Ports = $port
AdminInfo1 = ngircd-link.sh
AdminInfo2 = temporary test server
AdminEMail = root@localhost

[Limits]
MaxNickLength = $nicklen
ConnectRetry = 5

[Options]
DNS = no
Ident = no
PAM = no

[Server]
Name = $portico_name
MyPassword = $password
PeerPassword = $password
EOF
if [[ $passive -eq 1 ]]; then
    echo "Passive = yes" >>"$conf"
else
    printf 'Host = %s\nPort = %s\n' "$host" "$portico_port" >>"$conf"
fi

# Where Portico dials ngIRCd (passive mode): the listen address, or loopback for "any".
dial_host="$listen"
case "$dial_host" in
    0.0.0.0) dial_host=127.0.0.1 ;;
    ::) dial_host=::1 ;;
esac
[[ "$dial_host" == *:* ]] && dial_host="[$dial_host]"

cat <<EOF
# Add to portico.toml (Portico "$portico_name" at $target), then SIGHUP or REHASH:
#   [limits] must have casemapping = "ascii" and nick_length = $nicklen.

[[portal]]
name = "$ngircd_name"
id = $id
password = "$password"
protocol = "rfc2813"
EOF
if [[ $passive -eq 1 ]]; then
    printf 'address = "%s:%s"\nconnect = true\n' "$dial_host" "$port"
fi
echo
echo "# ngIRCd config: $conf"

if [[ $config_only -eq 1 ]]; then
    exit 0
fi
if [[ $passive -eq 1 ]]; then
    echo "# ngIRCd waits on $listen:$port for Portico to dial."
else
    echo "# ngIRCd dials $target (the first try about a second after it starts, then every 5 s)."
fi
echo "# Running $bin -n -f $conf (Ctrl-C stops it)."
# In the foreground as far as the user can tell; started as a child so a signal to this
# script (Ctrl-C, kill) stops ngIRCd too and the temp directory goes.
"$bin" -n -f "$conf" &
ngircd_pid=$!
trap 'kill -TERM "$ngircd_pid" 2>/dev/null || true' INT TERM HUP
status=0
while kill -0 "$ngircd_pid" 2>/dev/null; do
    wait "$ngircd_pid" && status=0 || status=$?
done
exit "$status"
