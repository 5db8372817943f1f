#!/usr/bin/env bash
# Installs Portico as a systemd service on a Debian/Ubuntu machine (or, with --root, into
# a scratch directory tree for testing). Safe to run again: it never overwrites a
# configuration the operator has, and leaves the same files the second time.
#
#   sudo scripts/install.sh                    # build, install, enable and start
#   sudo scripts/install.sh --binary ./portico # install a binary built elsewhere
#   sudo scripts/install.sh --uninstall        # stop and remove; keeps config and state
#   sudo scripts/install.sh --uninstall --purge  # also the config, state and user
#
# What it installs (paths under --root when given):
#   /usr/local/bin/portico                     the server
#   /etc/portico/portico.toml                  from scripts/deploy/portico.example.toml,
#                                              only if absent (mode 0640 root:portico)
#   /etc/systemd/system/portico.service        hardened unit; LimitNOFILE from max_clients
#   /usr/local/share/man/man{5,8}/             portico.toml(5), portico(8)
#   /usr/local/share/doc/portico/portico.example.toml
#   the system user and group `portico`; /var/lib/portico for the state file
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --binary PATH   install this binary instead of building one (cargo build --release)
  --root DIR      install into DIR as if it were / (no systemctl; for tests and images)
  --no-start      install and enable, but do not start or restart the service
  --uninstall     stop, disable and remove the service, binary and man pages
  --purge         with --uninstall: also remove /etc/portico, /var/lib/portico and the user
  -h, --help      this text
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
root=""
binary=""
start=1
uninstall=0
purge=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --root) root="${2:?--root needs a directory}"; shift 2 ;;
        --no-start) start=0; shift ;;
        --uninstall) uninstall=1; shift ;;
        --purge) purge=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
if [[ -n "$root" ]]; then
    mkdir -p "$root"
    root="$(cd "$root" && pwd)"
fi
[[ $(id -u) -eq 0 || -n "$root" ]] || die "run it as root (sudo $0), or with --root DIR"

bin_path=/usr/local/bin/portico
config_dir=/etc/portico
config=$config_dir/portico.toml
unit=/etc/systemd/system/portico.service
state_dir=/var/lib/portico
man_dir=/usr/local/share/man
doc_dir=/usr/local/share/doc/portico

# systemctl only on the real machine, and only when systemd runs it.
have_systemd() {
    [[ -z "$root" && -d /run/systemd/system ]] && command -v systemctl >/dev/null
}

user_exists() {
    if [[ -n "$root" ]]; then
        grep -q '^portico:' "$root/etc/passwd" 2>/dev/null
    else
        getent passwd portico >/dev/null
    fi
}

# The system user the service runs as: no login, no home of its own beyond the state.
ensure_user() {
    user_exists && return 0
    local args=(--system --no-create-home --home-dir "$state_dir" --user-group)
    args+=(--shell /usr/sbin/nologin --comment "Portico IRC server")
    if [[ -n "$root" ]]; then
        if [[ $(id -u) -ne 0 || ! -f "$root/etc/passwd" ]]; then
            echo "install.sh: no user created in $root (needs root and $root/etc/passwd)" >&2
            return 0
        fi
        args+=(--root "$root")
    fi
    useradd "${args[@]}" portico
    echo "install.sh: created system user portico"
}

# The group name for file ownership: portico when it exists, else root (scratch roots
# without a user database).
owner_group() {
    if user_exists; then echo portico; else echo root; fi
}

# chown only where it can work: as root, and with the group known to this system.
chown_if_possible() {
    local spec="$1" path="$2"
    [[ $(id -u) -eq 0 ]] || return 0
    if [[ -n "$root" ]]; then
        # The scratch root's user database is not the system's: use its numbers.
        local gid uid
        gid="$(awk -F: -v g="${spec#*:}" '$1 == g { print $3 }' "$root/etc/group" 2>/dev/null || true)"
        uid="$(awk -F: -v u="${spec%%:*}" '$1 == u { print $3 }' "$root/etc/passwd" 2>/dev/null || true)"
        chown "${uid:-0}:${gid:-0}" "$path"
    else
        chown "$spec" "$path"
    fi
}

build_binary() {
    if [[ -n "$binary" ]]; then
        [[ -x "$binary" ]] || die "--binary $binary: not an executable file"
        return 0
    fi
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) or pass --binary PATH"
    echo "install.sh: building (cargo build --release --locked)"
    (cd "$repo" && cargo build --release --locked --quiet)
    binary="$repo/target/release/portico"
}

# max_clients from the [limits] section of the installed config (default 50000): the
# unit's file limit must hold every client socket plus listeners, portals and files.
limit_nofile() {
    local max
    max="$(awk '
        /^\[/ { in_limits = ($0 ~ /^\[limits\]/) }
        in_limits && /^[[:space:]]*max_clients[[:space:]]*=/ {
            sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]#].*$/, ""); gsub(/_/, ""); print; exit
        }' "$root$config")"
    [[ "$max" =~ ^[0-9]+$ ]] || max=50000
    echo $((max + 1024))
}

# A fresh configuration gets a random operator password (printed once, stored as its
# argon2 hash) and a random cloak secret instead of the example's placeholders.
install_config() {
    install -d -m 0750 "$root$config_dir"
    chown_if_possible "root:$(owner_group)" "$root$config_dir"
    if [[ -e "$root$config" ]]; then
        echo "install.sh: keeping the existing $config"
        return 0
    fi
    local secret hash cloak tmp
    secret="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
    hash="$(printf '%s\n' "$secret" | "$root$bin_path" --hash-password)"
    cloak="$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
    tmp="$(mktemp)"
    sed -e "s|^password = \"change-me\"|password = \"$hash\"|" \
        -e "s/^secret = \"replace-with-a-random-secret\"/secret = \"$cloak\"/" \
        "$here/deploy/portico.example.toml" >"$tmp"
    install -m 0640 "$tmp" "$root$config"
    rm -f "$tmp"
    chown_if_possible "root:$(owner_group)" "$root$config"
    echo "install.sh: wrote $config; edit [server] name, then: OPER admin $secret"
}

install_unit() {
    local tmp
    tmp="$(mktemp)"
    sed -e "s#@BIN@#$bin_path#g" -e "s#@CONFIG@#$config#g" \
        -e "s#@LIMITNOFILE@#$(limit_nofile)#g" "$here/deploy/portico.service" >"$tmp"
    install -D -m 0644 "$tmp" "$root$unit"
    rm -f "$tmp"
}

install_files() {
    install -D -m 0755 "$binary" "$root$bin_path"
    install -D -m 0644 "$repo/docs/man/portico.8" "$root$man_dir/man8/portico.8"
    install -D -m 0644 "$repo/docs/man/portico.toml.5" "$root$man_dir/man5/portico.toml.5"
    install -D -m 0644 "$here/deploy/portico.example.toml" "$root$doc_dir/portico.example.toml"
    # systemd creates it (StateDirectory=); made here too for a root without systemd.
    install -d -m 0750 "$root$state_dir"
    chown_if_possible "portico:$(owner_group)" "$root$state_dir"
}

do_install() {
    build_binary
    ensure_user
    install_files
    install_config
    install_unit
    "$root$bin_path" --check-config "$root$config" >/dev/null ||
        die "$config is not valid (see above); fix it, then run this again"
    if have_systemd; then
        systemctl daemon-reload
        systemctl enable --quiet portico
        if [[ $start -eq 1 ]]; then
            systemctl restart portico
            echo "install.sh: portico is running (systemctl status portico; journalctl -u portico)"
        fi
    else
        echo "install.sh: installed under ${root:-/}; systemd not used"
    fi
}

do_uninstall() {
    if have_systemd && systemctl list-unit-files portico.service >/dev/null 2>&1; then
        systemctl disable --now --quiet portico 2>/dev/null || true
    fi
    rm -f "$root$unit" "$root$bin_path" "$root$man_dir/man8/portico.8" \
        "$root$man_dir/man5/portico.toml.5"
    rm -rf "$root$doc_dir"
    have_systemd && systemctl daemon-reload
    if [[ $purge -eq 1 ]]; then
        rm -rf "$root$config_dir" "$root$state_dir"
        if user_exists && [[ $(id -u) -eq 0 ]]; then
            if [[ -n "$root" ]]; then userdel --root "$root" portico; else userdel portico; fi
        fi
        echo "install.sh: removed Portico, its configuration, state and user"
    else
        echo "install.sh: removed Portico; kept $config_dir and $state_dir (--purge removes them)"
    fi
}

if [[ $uninstall -eq 1 ]]; then do_uninstall; else do_install; fi
