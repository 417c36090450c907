#!/bin/bash
# Private Cyrus IMAP 3.10 (Debian 13) for the imap.h tests: a real
# IMAP4rev2 server (RFC 9051) on this Debian 12 machine.
#
#   tests/server/cyrus-rev2.sh start DIR   start (or confirm running); writes DIR/env
#   tests/server/cyrus-rev2.sh stop DIR    stop it and wait until it has exited
#   tests/server/cyrus-rev2.sh root DIR    only build (or find) the cached root
#
# Cyrus runs from a trixie root made by debootstrap (the only package put
# on the host) from the Debian mirror this machine's apt already uses. The
# root is cached in $IMAPH_CACHE (default /var/cache/imaph) as
# trixie-cyrus-<cyrus-imapd version>; it is built in a temporary folder
# and renamed when complete, so an interrupted build leaves no half root
# (remove the folder to rebuild, e.g. for a newer trixie package).
# Every mount (proc, /dev for apt, DIR at ROOT/rig) is made inside
# `unshare --mount --propagation private`: nothing is visible on the host,
# and nothing needs unmounting. The master runs as the root's "cyrus"
# user (renumbered to a uid the host does not use) and is stopped by its
# pid. Listens on 127.0.0.1 only: plain IMAP with STARTTLS on
# IMAP_TEST_PORT, implicit TLS on IMAP_TEST_SSL_PORT; users alice and bob
# (sasldb: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1/256), 1 GB quota each (room
# for repeated runs of the suite). Cyrus logs to syslog:
# DIR/syslog when python3 is on the host.
# DIR/env has the variables of tests/server/cyrus.sh, with
# IMAP_TEST_SERVER=cyrus-rev2.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

usage() { echo "usage: $0 start|stop DIR  (or: root DIR, only build/find the cached root)" >&2; exit 2; }
[ $# = 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
case $2 in /*) dir=$2 ;; *) dir=$PWD/$2 ;; esac
if [ "$cmd" = stop ] && [ ! -d "$dir" ]; then exit 0; fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
case $dir in
    *[!A-Za-z0-9/._+-]*) imaph_die "DIR may only contain [A-Za-z0-9/._+-]: $dir" ;;
esac

CACHE=${IMAPH_CACHE:-/var/cache/imaph}
BIN=/usr/lib/cyrus/bin
USER1=alice
PASS1='p@ss w0rd "quoted" \back'
USER2=bob
PASS2=bobpass

# The Debian mirror (and its security mirror) of this machine's apt
# sources: deb822 .sources files or one-line entries.
apt_uri() {   # $1: "debian" or "debian-security"
    local f u
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v want="$1" '
            /^URIs:/ { for (i = 2; i <= NF; i++) { u = $i; sub(/\/$/, "", u); n = split(u, p, "/"); if (p[n] == want) { print u; exit } } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v want="$1" '
            $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp):/) { u = $i; sub(/\/$/, "", u); n = split(u, p, "/"); if (p[n] == want) { print u; exit } } }' "$f"
    done
}

# The newest complete cached root, or nothing.
cached_root() {
    local r
    for r in $(ls -d "$CACHE"/trixie-cyrus-* 2>/dev/null | sort -V -r); do
        [ -f "$r/.done" ] && { echo "$r"; return 0; }
    done
    return 0
}

# A uid unused on the host (and in the root) for the root's cyrus user: its
# trixie uid (100) is some host user's.
free_uid() {
    local u
    for u in $(seq 61000 61999); do
        getent passwd "$u" >/dev/null 2>&1 && continue
        grep -q "^[^:]*:[^:]*:$u:" "$1/etc/passwd" && continue
        echo "$u"
        return 0
    done
    imaph_die "no free uid"
}

build_root() {
    local mirror sec t ver log uid
    imaph_ensure_pkgs /usr/sbin/debootstrap:debootstrap
    mirror=$(apt_uri debian | head -n 1)
    sec=$(apt_uri debian-security | head -n 1)
    [ -n "$mirror" ] || imaph_die "no Debian mirror in /etc/apt/sources.list{,.d}"
    mkdir -p "$CACHE"
    rm -rf "$CACHE"/.trixie-build.*     # an interrupted build's (we hold the lock)
    t=$(mktemp -d "$CACHE/.trixie-build.XXXXXX")
    chmod 755 "$t"          # the chroot's / : the cyrus user walks it
    log=$t.log
    echo "${0##*/}: building a trixie root for Cyrus 3.10 from $mirror (once; cached in $CACHE)" >&2
    {
        unshare --mount --propagation private \
            debootstrap --variant=minbase trixie "$t" "$mirror" &&
        printf '#!/bin/sh\nexit 101\n' > "$t/usr/sbin/policy-rc.d" &&
        chmod 755 "$t/usr/sbin/policy-rc.d" &&
        {
            echo "deb $mirror trixie main"
            echo "deb $mirror trixie-updates main"
            [ -z "$sec" ] || echo "deb $sec trixie-security main"
        } > "$t/etc/apt/sources.list" &&
        unshare --mount --propagation private sh -ec '
            mount -t proc proc "$1/proc"
            mount --bind /dev "$1/dev"
            chroot "$1" apt-get update -qq
            chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends cyrus-imapd cyrus-admin cyrus-clients sasl2-bin dma
            chroot "$1" apt-get clean' _ "$t"
    } > "$log" 2>&1 </dev/null || {
        tail -n 40 "$log" >&2
        rm -rf "$t"
        imaph_die "building the trixie root failed (log above; $log)"
    }
    uid=$(free_uid "$t")
    chroot "$t" usermod -u "$uid" cyrus >> "$log" 2>&1 || imaph_die "usermod failed ($log)"
    mkdir -p "$t/rig"
    : > "$t/dev/log"        # where an instance binds its syslog socket
    ver=$(chroot "$t" dpkg-query -W -f '${Version}' cyrus-imapd)
    case $ver in ''|*[!A-Za-z0-9.+~-]*) imaph_die "odd cyrus-imapd version '$ver'" ;; esac
    touch "$t/.done"
    rm -rf "$CACHE/trixie-cyrus-$ver"
    mv "$t" "$CACHE/trixie-cyrus-$ver"
    rm -f "$log"
}

ensure_root() {
    ROOT=$(cached_root)
    [ -z "$ROOT" ] || return 0
    [ "$(id -u)" = 0 ] || imaph_die "need root to build the trixie root"
    mkdir -p "$CACHE"
    (
        flock -w 900 9 || imaph_die "timed out waiting for another root build"
        [ -n "$(cached_root)" ] || build_root
    ) 9>>"$CACHE/.trixie.lock"
    ROOT=$(cached_root)
    [ -n "$ROOT" ] || imaph_die "no trixie root after the build"
}

running_pid() {
    local pid
    pid=$(cat "$dir/run/master.pid" 2>/dev/null) || return 0
    case $pid in ''|*[!0-9]*) return 0 ;; esac
    [ -n "$(imaph_proc_id "$pid")" ] || return 0   # a zombie is stopped
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ] || return 0
    echo "$pid"
}

# The config, as the chroot sees it: DIR is bound at /rig.
write_config() {
    local plain=$1 ssl=$2 d=$dir s
    mkdir -p "$d/conf" "$d/spool" "$d/run"
    for s in db socket proc log msg user quota lock sieve ptclient; do mkdir -p "$d/conf/$s"; done
    cat > "$d/imapd.conf" <<CONF
# generated by tests/server/cyrus-rev2.sh (paths inside the chroot)
configdirectory: /rig/conf
partition-default: /rig/spool
temp_path: /rig/run
servername: localhost
admins: cyrus
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: /rig/sasldb2
sasl_mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
allowplaintext: yes
allowstarttls: yes
unixhierarchysep: yes
altnamespace: yes
autocreate_quota: 1048576
imapidlepoll: 1
idlesocket: /rig/conf/socket/idle
lmtpsocket: /rig/conf/socket/lmtp
notifysocket: /rig/conf/socket/notify
tls_server_cert: /rig/tls/localhost.pem
tls_server_key: /rig/tls/localhost.key
tls_versions: tls1_2 tls1_3
syslog_prefix: cyrus-rev2
CONF
    cat > "$d/cyrus.conf" <<CONF
# generated by tests/server/cyrus-rev2.sh
START {
  recover cmd="$BIN/ctl_cyrusdb -C /rig/imapd.conf -r"
}
SERVICES {
  imap cmd="$BIN/imapd -C /rig/imapd.conf" listen="127.0.0.1:$plain" prefork=0 maxchild=200
  imaps cmd="$BIN/imapd -s -C /rig/imapd.conf" listen="127.0.0.1:$ssl" prefork=0 maxchild=200
}
EVENTS {
}
DAEMON {
  idled cmd="$BIN/idled -C /rig/imapd.conf"
}
CONF
    rm -f "$d/sasldb2"
    printf '%s\n%s\n' "$PASS1" "$PASS2" > "$d/run/pw"
    chmod 600 "$d/run/pw"
}

# Cyrus logs to /dev/log: a receiver on DIR/log.sock (bound there in the
# chroot) writes DIR/syslog. Only a help when a start fails; skipped
# without python3.
start_syslog() {
    local py
    py=$(command -v python3 2>/dev/null) || return 0
    mkdir -p "$dir/run"
    rm -f "$dir/log.sock"
    setsid "$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[3], "w").write("%d\n" % __import__("os").getpid())
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
' "$dir/log.sock" "$dir/syslog" "$dir/run/syslog.pid" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 50); do [ -S "$dir/log.sock" ] && break; sleep 0.05; done
    chmod 666 "$dir/log.sock" 2>/dev/null || true
}

stop_syslog() {
    local pid
    pid=$(cat "$dir/run/syslog.pid" 2>/dev/null) || return 0
    case $pid in ''|*[!0-9]*) return 0 ;; esac
    grep -q "log.sock" "/proc/$pid/cmdline" 2>/dev/null && imaph_stop_tree "$pid"
    rm -f "$dir/run/syslog.pid" "$dir/log.sock"
}

# Users, then the master (it daemonizes: the namespace lives as long as it
# does), all inside a private mount namespace.
run_master() {
    local uid
    uid=$(awk -F: '$1 == "cyrus" { print $3 }' "$ROOT/etc/passwd")
    chown -R "$uid:8" "$dir/conf" "$dir/spool" "$dir/run" "$dir/tls"
    unshare --mount --propagation private sh -ec '
        R=$1 D=$2 B=$3
        mount -t proc proc "$R/proc"
        mount --bind "$D" "$R/rig"
        [ ! -S "$D/log.sock" ] || mount --bind "$D/log.sock" "$R/dev/log"
        chroot "$R" sh -ec "
            { sed -n 1p /rig/run/pw | tr -d \"\\n\" | saslpasswd2 -f /rig/sasldb2 -u localhost -c -p $4
              sed -n 2p /rig/run/pw | tr -d \"\\n\" | saslpasswd2 -f /rig/sasldb2 -u localhost -c -p $5; }
            rm -f /rig/run/pw
            chown cyrus:mail /rig/sasldb2
            chmod 640 /rig/sasldb2
            exec setpriv --reuid=cyrus --regid=mail --clear-groups env -i \
                $B/master -C /rig/imapd.conf -M /rig/cyrus.conf -p /rig/run/master.pid -d"
    ' _ "$ROOT" "$dir" "$BIN" "$USER1" "$USER2"
}

write_env() {
    local plain=$1 ssl=$2 d=$dir q=imaph_shq
    cat > "$d/env.tmp" <<ENV
# Private Cyrus IMAP 3.10 (IMAP4rev2) for the imap.h tests (tests/server/cyrus-rev2.sh).
# Plain IMAP + STARTTLS on IMAP_TEST_PORT, implicit TLS on IMAP_TEST_SSL_PORT;
# the certificate (DNS:localhost, IP:127.0.0.1) is signed by IMAP_TEST_CA.
IMAP_TEST_SERVER=cyrus-rev2
IMAP_TEST_HOST=127.0.0.1
IMAP_TEST_PORT=$plain
IMAP_TEST_SSL_PORT=$ssl
IMAP_TEST_CA=$($q "$d/tls/ca.pem")
IMAP_TEST_USER=$($q "$USER1")
IMAP_TEST_PASS=$($q "$PASS1")
IMAP_TEST_USER2=$($q "$USER2")
IMAP_TEST_PASS2=$($q "$PASS2")
IMAP_TEST_DIR=$($q "$d")
export IMAP_TEST_SERVER IMAP_TEST_HOST IMAP_TEST_PORT IMAP_TEST_SSL_PORT IMAP_TEST_CA IMAP_TEST_USER IMAP_TEST_PASS IMAP_TEST_USER2 IMAP_TEST_PASS2 IMAP_TEST_DIR
ENV
    mv "$d/env.tmp" "$d/env"
}

do_start() {
    [ "$(id -u)" = 0 ] || imaph_die "must run as root (chroot, mount namespace)"
    imaph_ensure_pkgs /usr/bin/openssl:openssl /usr/bin/unshare:util-linux
    ensure_root
    local pid p plain ssl ok
    pid=$(running_pid)
    if [ -n "$pid" ] && [ -f "$dir/env" ]; then
        p=$(sed -n 's/^IMAP_TEST_PORT=//p' "$dir/env")
        if [ -n "$p" ] && imaph_greets "$p"; then return 0; fi
    fi
    do_stop
    rm -f "$dir/env"
    chmod 755 "$dir"
    imaph_gen_tls "$dir"
    start_syslog
    for _ in 1 2 3 4 5; do
        plain=$(imaph_pick_port)
        ssl=$(imaph_pick_port "$plain")
        write_config "$plain" "$ssl"
        run_master </dev/null >"$dir/start.out" 2>&1 || true
        ok=
        for _ in $(seq 150); do   # ~15 s
            if imaph_port_listening "$ssl" && imaph_greets "$plain"; then
                ok=1
                break
            fi
            sleep 0.1
        done
        if [ -n "$ok" ]; then
            write_env "$plain" "$ssl"
            return 0
        fi
        [ -z "$(running_pid)" ] || imaph_stop_tree "$(running_pid)"
        # a bind race with another process: other ports
        if imaph_port_in_use "$plain" || imaph_port_in_use "$ssl"; then continue; fi
        cat "$dir/start.out" >&2 2>/dev/null || true
        tail -n 20 "$dir/syslog" >&2 2>/dev/null || true
        stop_syslog
        imaph_die "Cyrus 3.10 did not answer on 127.0.0.1:$plain/$ssl within 15 s (config $dir/imapd.conf, $dir/cyrus.conf, log $dir/syslog)"
    done
    stop_syslog
    imaph_die "could not bind free ports after 5 tries"
}

do_stop() {
    local pid
    pid=$(running_pid)
    [ -z "$pid" ] || imaph_stop_tree "$pid"
    rm -f "$dir/run/master.pid"
    stop_syslog
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    root) ensure_root; echo "$ROOT" ;;   # build or find the cached root (CI warm-up)
    *) usage ;;
esac
