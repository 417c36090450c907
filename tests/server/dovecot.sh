#!/bin/bash
# Private Dovecot 2.3 instance for the imap.h tests.
#
#   tests/server/dovecot.sh start DIR   start (or confirm running); writes DIR/env
#   tests/server/dovecot.sh stop DIR    stop it and wait until it has exited
#
# All state lives in DIR (keep the path short: unix sockets live in DIR/run
# and are limited to 108 characters). Listens on 127.0.0.1 only, on free
# high ports picked at start. See tests/server/README.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# = 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
case $2 in /*) dir=$2 ;; *) dir=$PWD/$2 ;; esac
[ ${#dir} -le 60 ] || imaph_die "DIR path too long (${#dir} > 60 chars; unix sockets live under it): $dir"
if [ "$cmd" = stop ] && [ ! -d "$dir" ]; then exit 0; fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
[ ${#dir} -le 60 ] || imaph_die "DIR path too long (${#dir} > 60 chars; unix sockets live under it): $dir"
case $dir in
    *[!A-Za-z0-9/._+-]*) imaph_die "DIR may only contain [A-Za-z0-9/._+-]: $dir" ;;
esac

UID_MAIL=65534
GID_MAIL=65534
USER1=alice
PASS1='p@ss w0rd "quoted" \back'
USER2=bob
PASS2=bobpass
DOVECOT=/usr/sbin/dovecot
IMAP_BIN=/usr/lib/dovecot/imap

# ---------------------------------------------------------------- helpers

# pid of a running master for this DIR, or nothing
running_pid() {
    local pid
    [ -f "$dir/run/master.pid" ] || return 0
    pid=$(cat "$dir/run/master.pid" 2>/dev/null) || return 0
    case $pid in ''|*[!0-9]*) return 0 ;; esac
    # must be alive, not a zombie, and a dovecot master
    [ -r "/proc/$pid/stat" ] || return 0
    local state
    state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
    [ "$state" != Z ] || return 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dovecot ] || return 0
    echo "$pid"
}

# any TCP socket (v4 or v6, any state) bound to this local port?
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# a port listening on 127.0.0.1 (0100007F) in state LISTEN (0A)?
port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -qE "^ *[0-9]+: 0100007F:$hex 00000000:0000 0A " /proc/net/tcp 2>/dev/null
}

# free port in 20000..31999 (below the kernel's ephemeral range), not $1
pick_port() {
    local p
    for _ in $(seq 200); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM + $$) % 12000 ))
        [ "$p" != "${1:-}" ] || continue
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    imaph_die "no free port found"
}

# does the port answer with an IMAP greeting?
greets() {
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        IFS= read -r line <&3 || exit 1
        exec 3>&-
        case $line in "* OK "*) exit 0 ;; esac
        exit 1' _ "$1" 2>/dev/null
}

# "pid:starttime" of every descendant of a pid (reads /proc; no procps needed)
descendants() {
    local f rest pid ppid start todo="$1" all
    all=$(for f in /proc/[0-9]*/stat; do
        { read -r rest < "$f"; } 2>/dev/null || continue
        pid=${rest%% *}
        rest=${rest##*) }
        set -- $rest
        echo "$pid $2 ${20}"
    done)
    while [ -n "$todo" ]; do
        set -- $todo
        local p=$1
        shift
        todo=$*
        while read -r pid ppid start; do
            if [ "$ppid" = "$p" ]; then
                echo "$pid:$start"
                todo="$todo $pid"
            fi
        done <<<"$all"
    done
}

# is "pid:starttime" still alive (and the same process)?
alive() {
    local rest
    { read -r rest < "/proc/${1%%:*}/stat"; } 2>/dev/null || return 1
    rest=${rest##*) }
    set -- "$1" $rest
    [ "$2" != Z ] && [ "${21}" = "${1#*:}" ]
}

# ---------------------------------------------------------------- TLS

gen_tls() {
    local t=$dir/tls
    [ -f "$t/.done" ] && return 0
    rm -rf "$t"
    mkdir -p "$t/ca-db"
    chmod 755 "$t"
    : > "$t/ca-db/index.txt"
    cat > "$t/openssl.cnf" <<CNF
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ srv_localhost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ srv_expired ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:expired.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ srv_unknownca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:unknownca.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca ]
default_ca = ca_default
[ ca_default ]
database = $t/ca-db/index.txt
new_certs_dir = $t/ca-db
serial = $t/ca-db/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
CNF
    local o="openssl" cnf=$t/openssl.cnf
    (
        cd "$t"
        # the trusted test CA, and a second CA the tests do not trust
        $o req -x509 -config "$cnf" -extensions v3_ca -newkey rsa:2048 -nodes \
            -keyout ca.key -out ca.pem -days 3650 -sha256 \
            -subj "/O=imap.h tests/CN=imap.h test CA"
        $o req -x509 -config "$cnf" -extensions v3_ca -newkey rsa:2048 -nodes \
            -keyout untrusted-ca.key -out untrusted-ca.pem -days 3650 -sha256 \
            -subj "/O=imap.h tests/CN=imap.h UNTRUSTED test CA"
        # localhost (default certificate), signed by the test CA
        $o req -config "$cnf" -new -newkey rsa:2048 -nodes \
            -keyout localhost.key -out localhost.csr -subj "/CN=localhost"
        $o x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key \
            -set_serial "0x$($o rand -hex 8)" -days 825 -sha256 \
            -extfile "$cnf" -extensions srv_localhost -out localhost.pem
        # expired.test, signed by the test CA, validity entirely in the past
        $o req -config "$cnf" -new -newkey rsa:2048 -nodes \
            -keyout expired.key -out expired.csr -subj "/CN=expired.test"
        $o rand -hex 8 > ca-db/serial
        $o ca -batch -config "$cnf" -name ca_default -notext \
            -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
            -startdate 20200101000000Z -enddate 20200201000000Z \
            -extfile "$cnf" -extensions srv_expired
        # unknownca.test, signed by the untrusted CA
        $o req -config "$cnf" -new -newkey rsa:2048 -nodes \
            -keyout unknownca.key -out unknownca.csr -subj "/CN=unknownca.test"
        $o x509 -req -in unknownca.csr -CA untrusted-ca.pem -CAkey untrusted-ca.key \
            -set_serial "0x$($o rand -hex 8)" -days 825 -sha256 \
            -extfile "$cnf" -extensions srv_unknownca -out unknownca.pem
        rm -f ./*.csr
        chmod 600 ./*.key
        chmod 644 ./*.pem
    ) > "$t/gen.log" 2>&1 || { cat "$t/gen.log" >&2; imaph_die "certificate generation failed"; }
    # sanity: the expired one must be expired, the others valid
    openssl x509 -checkend 0 -noout -in "$t/expired.pem" >/dev/null 2>&1 &&
        imaph_die "expired.pem is not expired"
    openssl verify -CAfile "$t/ca.pem" "$t/localhost.pem" >/dev/null 2>&1 ||
        imaph_die "localhost.pem does not verify"
    touch "$t/.done"
}

# ---------------------------------------------------------------- config

write_config() {
    local plain=$1 ssl=$2 d=$dir
    local iname
    iname="$(basename "$d")-$(printf "%s" "$d" | cksum | cut -d" " -f1)"

    mkdir -p "$d/run" "$d/state" "$d/home" "$d/stream-run"
    chmod 755 "$d" "$d/home"
    local u
    for u in "$USER1" "$USER2"; do
        mkdir -p "$d/home/$u/Maildir/cur" "$d/home/$u/Maildir/new" "$d/home/$u/Maildir/tmp"
        chown -R "$UID_MAIL:$GID_MAIL" "$d/home/$u"
        chmod 700 "$d/home/$u"
    done
    chown "$UID_MAIL:$GID_MAIL" "$d/stream-run"
    chmod 700 "$d/stream-run"

    # passwd-file: user:{PLAIN}password:uid:gid::home::
    umask 077
    {
        echo "$USER1:{PLAIN}$PASS1:$UID_MAIL:$GID_MAIL::$d/home/$USER1::"
        echo "$USER2:{PLAIN}$PASS2:$UID_MAIL:$GID_MAIL::$d/home/$USER2::"
    } > "$d/users"
    umask 022
    # read by the auth process, which runs as the "dovecot" user
    chgrp dovecot "$d/users"
    chmod 640 "$d/users"

    # Mail settings shared by the daemon and the stream (PREAUTH) mode.
    cat > "$d/mail.conf" <<CONF
# generated by tests/server/dovecot.sh: shared by dovecot.conf and stream.conf
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
mail_plugins = \$mail_plugins acl quota
mail_attribute_dict = file:%h/dovecot-attributes

namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}

protocol imap {
  mail_plugins = \$mail_plugins imap_zlib imap_acl imap_quota
  imap_metadata = yes
  mail_max_userip_connections = 200
}

plugin {
  acl = vfile
  acl_anyone = allow
  quota = maildir:User quota
  quota_rule = *:storage=100M
}
CONF

    cat > "$d/dovecot.conf" <<CONF
# generated by tests/server/dovecot.sh
instance_name = $iname
base_dir = $d/run
state_dir = $d/state
log_path = $d/log
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes

ssl = yes
ssl_cert = <$d/tls/localhost.pem
ssl_key = <$d/tls/localhost.key
ssl_min_protocol = TLSv1.2
local_name expired.test {
  ssl_cert = <$d/tls/expired.pem
  ssl_key = <$d/tls/expired.key
}
local_name unknownca.test {
  ssl_cert = <$d/tls/unknownca.pem
  ssl_key = <$d/tls/unknownca.key
}

disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users
}

!include $d/mail.conf

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $plain
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $ssl
    ssl = yes
  }
}
CONF

    # Standalone imap binary over stdin/stdout (PREAUTH); no daemon needed.
    cat > "$d/stream.conf" <<CONF
# generated by tests/server/dovecot.sh: for $IMAP_BIN -c (PREAUTH on stdio)
base_dir = $d/stream-run
log_path = /dev/stderr
stats_writer_socket_path =
ssl = no
!include $d/mail.conf
CONF
    chmod 644 "$d/dovecot.conf" "$d/mail.conf" "$d/stream.conf"
}

write_env() {
    local plain=$1 ssl=$2 d=$dir setpriv
    setpriv=$(command -v setpriv)
    local stream="exec $setpriv --reuid=$UID_MAIL --regid=$GID_MAIL --clear-groups"
    stream="$stream /usr/bin/env -i USER=$USER1 HOME=$d/home/$USER1 MAIL=maildir:~/Maildir"
    stream="$stream $IMAP_BIN -c $d/stream.conf 2>>$d/stream.log"
    local q=imaph_shq
    cat > "$d/env.tmp" <<ENV
# Private Dovecot instance for the imap.h tests (tests/server/dovecot.sh).
# Plain IMAP + STARTTLS on IMAP_TEST_PORT, implicit TLS on IMAP_TEST_SSL_PORT.
# TLS: IMAP_TEST_CA signs the default certificate (DNS:localhost, IP:127.0.0.1).
# SNI "expired.test" gets an expired certificate signed by IMAP_TEST_CA;
# SNI "unknownca.test" gets a certificate signed by a CA not in IMAP_TEST_CA;
# any other SNI (e.g. "wronghost.test") gets the localhost certificate.
# IMAP_TEST_STREAM_CMD: run with /bin/sh -c, stdin must be a pipe; speaks IMAP
# on stdin/stdout, greets "* PREAUTH" as IMAP_TEST_USER and shares that user's
# Maildir with the daemon (both see the same mail). Its stderr goes to
# IMAP_TEST_DIR/stream.log. Needs root (it drops to uid 65534).
IMAP_TEST_HOST=127.0.0.1
IMAP_TEST_PORT=$plain
IMAP_TEST_SSL_PORT=$ssl
IMAP_TEST_CA=$($q "$d/tls/ca.pem")
IMAP_TEST_USER=$($q "$USER1")
IMAP_TEST_PASS=$($q "$PASS1")
IMAP_TEST_USER2=$($q "$USER2")
IMAP_TEST_PASS2=$($q "$PASS2")
IMAP_TEST_STREAM_CMD=$($q "$stream")
IMAP_TEST_DIR=$($q "$d")
export IMAP_TEST_HOST IMAP_TEST_PORT IMAP_TEST_SSL_PORT IMAP_TEST_CA IMAP_TEST_USER IMAP_TEST_PASS IMAP_TEST_USER2 IMAP_TEST_PASS2 IMAP_TEST_STREAM_CMD IMAP_TEST_DIR
ENV
    mv "$d/env.tmp" "$d/env"
}

# ---------------------------------------------------------------- start/stop

do_start() {
    imaph_ensure_pkgs "$DOVECOT:dovecot-imapd" "$IMAP_BIN:dovecot-imapd" \
        /usr/bin/openssl:openssl
    [ "$(id -u)" = 0 ] || imaph_die "must run as root"

    local pid
    pid=$(running_pid)
    if [ -n "$pid" ] && [ -f "$dir/env" ]; then
        # already running: confirm it answers, keep its ports
        local p
        p=$(sed -n 's/^IMAP_TEST_PORT=//p' "$dir/env")
        if [ -n "$p" ] && greets "$p"; then
            return 0
        fi
        do_stop
    elif [ -n "$pid" ]; then
        do_stop
    fi
    rm -f "$dir/run/master.pid" "$dir/env"

    # Dovecot's unprivileged processes (and the stream command) must reach DIR
    chmod 755 "$dir"
    setpriv --reuid="$UID_MAIL" --regid="$GID_MAIL" --clear-groups test -x "$dir" ||
        imaph_die "uid $UID_MAIL cannot reach $dir: make its parent directories searchable"

    gen_tls

    local plain ssl out="" ok
    for _ in 1 2 3 4 5; do
        plain=$(pick_port)
        ssl=$(pick_port "$plain")
        write_config "$plain" "$ssl"
        # The daemon keeps the fds it inherits: never hand it a pipe (a caller
        # reading our output would wait forever), only files.
        if "$DOVECOT" -c "$dir/dovecot.conf" </dev/null >"$dir/start.out" 2>&1; then
            # Dovecot 2.3 delays logins from an IP after failed ones (2, 4,
            # 8, 15 s, tracked by anvil) and has no setting to turn that off.
            # Tests fail logins on purpose, so remove the socket the auth
            # process uses for it: a missing socket (ENOENT) disables the
            # penalty silently. The auth process starts later, on first use.
            rm -f "$dir/run/anvil-auth-penalty"
            ok=

            for _ in $(seq 100); do   # ~10 s
                if port_listening "$ssl" && greets "$plain"; then
                    ok=1
                    break
                fi
                [ -n "$(running_pid)" ] || break
                sleep 0.1
            done
            if [ -n "$ok" ]; then
                write_env "$plain" "$ssl"
                return 0
            fi
            if [ -n "$(running_pid)" ]; then
                do_stop
                imaph_die "dovecot started but 127.0.0.1:$plain/$ssl did not answer within 10 s; see $dir/log"
            fi
        fi
        # bind race with another process: retry with other ports
        out=$(cat "$dir/start.out" 2>/dev/null || true)
        if printf '%s\n' "$out" | grep -q 'Address already in use' ||
           tail -n 5 "$dir/log" 2>/dev/null | grep -q 'Address already in use'; then
            continue
        fi
        [ -z "$out" ] || printf '%s\n' "$out" >&2
        tail -n 20 "$dir/log" >&2 2>/dev/null || true
        imaph_die "dovecot failed to start (config $dir/dovecot.conf, log $dir/log)"
    done
    imaph_die "could not bind free ports after 5 tries"
}

do_stop() {
    local pid kids k
    pid=$(running_pid)
    if [ -z "$pid" ]; then
        rm -f "$dir/run/master.pid"
        return 0
    fi
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do   # ~10 s
        [ -n "$(running_pid)" ] || break
        sleep 0.1
    done
    if [ -n "$(running_pid)" ]; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.1
    fi
    # Mail processes serving a client outlive the master by ~9 s before they
    # notice; tell the remaining children (same pid and start time as
    # recorded above, so never a recycled pid) to go now, then make sure.
    # (the log process last, so that their goodbyes still reach DIR/log)
    local logpid=""
    for k in $kids; do
        if [ "$(cat "/proc/${k%%:*}/comm" 2>/dev/null)" = log ]; then
            logpid="$logpid $k"
        else
            alive "$k" && kill -TERM "${k%%:*}" 2>/dev/null || true
        fi
    done
    for _ in $(seq 20); do
        local left=""
        for k in $kids; do
            case " $logpid " in *" $k "*) continue ;; esac
            alive "$k" && left="$left $k"
        done
        [ -n "$left" ] || break
        sleep 0.05
    done
    for k in $logpid; do
        alive "$k" && kill -TERM "${k%%:*}" 2>/dev/null || true
    done
    for _ in $(seq 30); do
        local left=""
        for k in $kids; do
            alive "$k" && left="$left $k"
        done
        kids=$left
        [ -n "$kids" ] || break
        sleep 0.1
    done
    for k in $kids; do
        alive "$k" && kill -KILL "${k%%:*}" 2>/dev/null || true
    done
    rm -f "$dir/run/master.pid"
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    *) usage ;;
esac
