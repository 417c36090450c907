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
