# shellcheck shell=bash
# Shared helpers for tests/server/*.sh (sourced, not executed).
# bash; callers use `set -eu`.

imaph_die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# Install Debian packages when the given files are missing.
# Usage: imaph_ensure_pkgs FILE:PACKAGE ...
# Runs `apt-get update` once, then one `apt-get install` for everything
# missing. Quiet on success; prints apt's output on failure. Serialised with
# flock so that parallel callers on a fresh machine do not fight over dpkg.
# If the machine has no /usr/sbin/policy-rc.d, a temporary one (exit 101) keeps
# the package scripts from starting the system-wide Dovecot on ports 143/993.
imaph_ensure_pkgs() {
    local spec missing="" want
    for spec in "$@"; do
        [ -e "${spec%%:*}" ] || missing="$missing ${spec#*:}"
    done
    [ -n "$missing" ] || return 0
    [ "$(id -u)" = 0 ] || imaph_die "need root to install:$missing"
    command -v apt-get >/dev/null 2>&1 || imaph_die "apt-get not found; install:$missing"
    (
        flock -w 600 9 || imaph_die "timed out waiting for the package lock"
        # Re-check under the lock: another caller may have installed them.
        want=""
        for spec in "$@"; do
            [ -e "${spec%%:*}" ] || want="$want ${spec#*:}"
        done
        [ -n "$want" ] || exit 0
        aptlog=$(mktemp)
        made_policy=""
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            made_policy=1
        fi
        rc=0
        {
            apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends $want
        } >"$aptlog" 2>&1 </dev/null || rc=$?
        [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
        if [ "$rc" != 0 ]; then
            cat "$aptlog" >&2
            rm -f "$aptlog"
            imaph_die "apt-get install$want failed"
        fi
        rm -f "$aptlog"
    ) 9>>/tmp/.imaph-apt.lock
}

# Quote a string for a POSIX shell (single quotes).
imaph_shq() {
    local s=$1
    printf "'%s'" "${s//\'/\'\\\'\'}"
}

# ---- helpers for the server scripts (mailutils.sh, cyrus.sh) --------------

# Any TCP socket (v4 or v6, any state) bound to this local port?
imaph_port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Is 127.0.0.1:PORT (0100007F) in state LISTEN (0A)?
imaph_port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -qE "^ *[0-9]+: 0100007F:$hex 00000000:0000 0A " /proc/net/tcp 2>/dev/null
}

# A free port in 20000..31999 (below the kernel's ephemeral range) that is
# none of the arguments.
imaph_pick_port() {
    local p
    for _ in $(seq 200); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM + $$) % 12000 ))
        case " $* " in *" $p "*) continue ;; esac
        imaph_port_in_use "$p" || { echo "$p"; return 0; }
    done
    imaph_die "no free port found"
}

# Does 127.0.0.1:PORT answer with an IMAP greeting (OK or PREAUTH)?
imaph_greets() {
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        IFS= read -r line <&3 || exit 1
        exec 3>&-
        case $line in "* OK "*|"* PREAUTH "*) exit 0 ;; esac
        exit 1' _ "$1" 2>/dev/null
}

# "pid:starttime" of a live (not zombie) process, or nothing.
imaph_proc_id() {
    local rest
    { read -r rest < "/proc/$1/stat"; } 2>/dev/null || return 0
    rest=${rest##*) }
    set -- "$1" $rest
    [ "$2" != Z ] || return 0
    echo "$1:${21}"
}

# Is "pid:starttime" still alive, not a zombie, and the same process?
imaph_alive() {
    [ -n "$(imaph_proc_id "${1%%:*}")" ] && [ "$(imaph_proc_id "${1%%:*}")" = "$1" ]
}

# "pid:starttime" of every live descendant of a pid (reads /proc).
imaph_descendants() {
    local f rest pid todo="$1" all p ppid
    all=$(for f in /proc/[0-9]*/stat; do
        { read -r rest < "$f"; } 2>/dev/null || continue
        pid=${rest%% *}
        rest=${rest##*) }
        set -- $rest
        [ "$1" = Z ] || echo "$pid $2"
    done)
    while [ -n "$todo" ]; do
        set -- $todo
        p=$1
        shift
        todo=$*
        while read -r pid ppid; do
            if [ "$ppid" = "$p" ]; then
                imaph_proc_id "$pid"
                todo="$todo $pid"
            fi
        done <<<"$all"
    done
}

# Stop a daemon and everything it started: TERM to the pid, wait up to
# ~5 s, then TERM to each remaining descendant (same pid and start time
# as recorded before, so never a recycled pid), then KILL what is left.
imaph_stop_tree() {
    local id kids k left
    id=$(imaph_proc_id "$1")
    [ -n "$id" ] || return 0
    kids=$(imaph_descendants "$1")
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do
        imaph_alive "$id" || break
        sleep 0.1
    done
    imaph_alive "$id" && kill -KILL "$1" 2>/dev/null
    for k in $kids; do
        imaph_alive "$k" && kill -TERM "${k%%:*}" 2>/dev/null
    done
    for _ in $(seq 30); do
        left=""
        for k in $kids; do imaph_alive "$k" && left="$left $k"; done
        [ -n "$left" ] || break
        sleep 0.1
    done
    for k in $left; do imaph_alive "$k" && kill -KILL "${k%%:*}" 2>/dev/null; done
    return 0
}

# A test CA and a certificate for localhost (SAN DNS:localhost and
# IP:127.0.0.1) signed by it: DIR/tls/{ca.pem,localhost.pem,localhost.key}.
# Kept once made.
imaph_gen_tls() {
    local t=$1/tls
    [ -f "$t/.done" ] && return 0
    rm -rf "$t"
    mkdir -p "$t"
    (
        cd "$t" &&
        printf '[v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n[srv]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n' > ext.cnf &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
            -sha256 -subj "/O=imap.h tests/CN=imap.h test CA" -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -new -newkey rsa:2048 -nodes -keyout localhost.key -out localhost.csr \
            -subj "/CN=localhost" &&
        openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
            -days 825 -sha256 -extfile ext.cnf -extensions srv -out localhost.pem &&
        rm -f localhost.csr
    ) > "$t/gen.log" 2>&1 || { cat "$t/gen.log" >&2; imaph_die "certificate generation failed"; }
    chmod 644 "$t"/*.pem
    chmod 600 "$t"/*.key
    touch "$t/.done"
}
