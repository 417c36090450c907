#!/bin/bash
# Build a small, realistic demo Maildir under DIR and print (one line) a shell
# command that speaks IMAP (PREAUTH, no password) on stdin/stdout against it.
#
#   cmd=$(tests/server/demo-maildir.sh /tmp/imaph-demo)
#   printf 'a LIST "" "*"\r\nb LOGOUT\r\n' | sh -c "$cmd"
#
# Uses Dovecot's imap binary directly (no daemon, no ports). Installs
# dovecot-imapd when missing. Must run as root: the command drops to uid/gid
# 65534, which owns DIR. Idempotent: an existing demo Maildir is kept as is
# (delete DIR to start over); the config is rewritten.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ $# = 1 ] && [ -n "$1" ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || imaph_die "must run as root (the command switches to uid 65534)"

IMAP_BIN=/usr/lib/dovecot/imap
imaph_ensure_pkgs "$IMAP_BIN:dovecot-imapd"

mkdir -p "$1"
dir=$(cd "$1" && pwd -P)
[ ${#dir} -le 80 ] || imaph_die "DIR path too long: $dir"
case $dir in
    *[!A-Za-z0-9/._+-]*) imaph_die "DIR may only contain [A-Za-z0-9/._+-]: $dir" ;;
esac
md=$dir/Maildir

# ------------------------------------------------------------------ mail
# msg FOLDER(""=INBOX) new|cur FLAGS DATE < message
n=0
msg() {
    local folder=$1 sub=$2 flags=$3 date=$4 path name
    n=$((n + 1))
    path=$md${folder:+/.$folder}
    name="$(date -d "$date" +%s).M${n}P1Q${n}.imaph-demo"
    if [ "$sub" = cur ]; then
        name="$name:2,$flags"
    fi
    cat > "$path/$sub/$name"
    touch -d "$date" "$path/$sub/$name"   # INTERNALDATE
}

build_mail() {
    local f
    rm -rf "$md.tmp"
    md=$md.tmp
    for f in "" .Archive .Work; do
        mkdir -p "$md/$f/cur" "$md/$f/new" "$md/$f/tmp"
    done
    : > "$md/.Archive/maildirfolder"
    : > "$md/.Work/maildirfolder"
    printf 'Archive\nWork\n' > "$md/subscriptions"

    msg "" cur RS "2024-03-04 09:12:00 +0100" <<'M'
Return-Path: <alice@example.org>
From: Alice Example <alice@example.org>
To: Demo User <demo@example.com>
Subject: Lunch on Friday?
Date: Mon, 4 Mar 2024 09:12:00 +0100
Message-ID: <lunch-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hi,

are you free for lunch on Friday? The new ramen place near the station
opened last week.

Alice
M
    msg "" cur S "2024-03-04 13:40:00 +0000" <<'M'
From: Dave Miller <dave@example.com>
To: Alice Example <alice@example.org>, Demo User <demo@example.com>
Subject: Re: Lunch on Friday?
Date: Mon, 4 Mar 2024 13:40:00 +0000
Message-ID: <lunch-2@example.com>
In-Reply-To: <lunch-1@example.org>
References: <lunch-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Count me in. 12:30?

> are you free for lunch on Friday?

Dave
M
    msg "" cur S "2024-03-05 07:02:11 +0000" <<'M'
From: GitHub <noreply@github.com>
To: Demo User <demo@example.com>
Subject: [imap.h] Pull request #42 merged: Support COMPRESS=DEFLATE
Date: Tue, 5 Mar 2024 07:02:11 +0000
Message-ID: <pr-42-merged@github.com>
List-Id: imap.h <imap.h.example.github.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Merged #42 into main.

-- 
You are receiving this because you were mentioned.
M
    msg "" cur S "2024-03-06 18:30:00 +0100" <<'M'
From: =?UTF-8?B?QmrDtnJuIMOFbmdzdHLDtm0=?= <bjorn@example.se>
To: Demo User <demo@example.com>
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgWsO8cmljaCDimJU=?=
Date: Wed, 6 Mar 2024 18:30:00 +0100
Message-ID: <zurich-1@example.se>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hallo!

Viele Gr=C3=BC=C3=9Fe aus Z=C3=BCrich. Der Kaffee hier ist ausgezeichnet =E2=
=98=95

Bj=C3=B6rn
M
    msg "" cur S "2024-03-07 10:05:00 -0500" <<'M'
From: Carol Jones <carol@example.net>
To: Demo User <demo@example.com>
Subject: Quarterly report (Q1)
Date: Thu, 7 Mar 2024 10:05:00 -0500
Message-ID: <report-q1@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_report_boundary"

This is a multi-part message in MIME format.

--=_report_boundary
Content-Type: text/plain; charset=us-ascii

Hi,

attached are the Q1 numbers for EMEA. Let me know if anything looks off.

Carol

--=_report_boundary
Content-Type: text/csv; name="q1-emea.csv"
Content-Disposition: attachment; filename="q1-emea.csv"
Content-Transfer-Encoding: base64

ZGF0ZSxyZWdpb24scmV2ZW51ZQoyMDI0LTAxLTMxLEVNRUEsMTIwNDAwCjIwMjQtMDItMjksRU1F
QSwxMzE5NTAKMjAyNC0wMy0zMSxFTUVBLDEyNzMwMAo=

--=_report_boundary--
M
    msg "" cur FS "2024-03-08 06:00:00 +0000" <<'M'
From: Example Bank <statements@bank.example>
To: Demo User <demo@example.com>
Subject: Your March statement is ready
Date: Fri, 8 Mar 2024 06:00:00 +0000
Message-ID: <stmt-2024-03@bank.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Your statement for March 2024 is available in online banking.
M
    msg "" new "" "2024-03-08 16:20:00 +0000" <<'M'
From: Rust Weekly <newsletter@weekly.example>
To: demo@example.com
Subject: This Week in Systems Programming #231
Date: Fri, 8 Mar 2024 16:20:00 +0000
Message-ID: <issue-231@weekly.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-231"

--alt-231
Content-Type: text/plain; charset=us-ascii

Issue 231: allocators, io_uring, and a tiny IMAP client in C.

--alt-231
Content-Type: text/html; charset=us-ascii

<html><body><h1>Issue 231</h1><p>Allocators, io_uring, and a tiny IMAP
client in C.</p></body></html>

--alt-231--
M
    msg "" new "" "2024-03-09 08:45:00 +0100" <<'M'
From: Frank Weber <frank@example.org>
To: Demo User <demo@example.com>
Cc: Alice Example <alice@example.org>
Subject: Meeting notes, planning session
Date: Sat, 9 Mar 2024 08:45:00 +0100
Message-ID: <notes-0309@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Notes from Friday:

- ship 0.1 at the end of the month
- write the README demo
- more tests against real servers
M
    msg Archive cur S "2023-12-20 12:00:00 +0000" <<'M'
From: Alice Example <alice@example.org>
To: Demo User <demo@example.com>
Subject: Holiday schedule
Date: Wed, 20 Dec 2023 12:00:00 +0000
Message-ID: <holidays-2023@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

The office is closed from Dec 24 to Jan 1.
M
    msg Archive cur RS "2024-01-15 09:30:00 +0000" <<'M'
From: Travel Desk <travel@example.com>
To: Demo User <demo@example.com>
Subject: Booking confirmation FRA-OSL
Date: Mon, 15 Jan 2024 09:30:00 +0000
Message-ID: <booking-7731@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Your flight FRA-OSL on 2024-02-02 is confirmed. Booking reference: K7QX2P.
M
    msg Work cur S "2024-02-26 15:10:00 +0100" <<'M'
From: Grace Hopper <grace@example.org>
To: Demo User <demo@example.com>
Subject: Code review: parser rewrite
Date: Mon, 26 Feb 2024 15:10:00 +0100
Message-ID: <review-parser@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Looks good overall. Two nits: handle NIL in ENVELOPE address lists, and
literal8 in FETCH BINARY responses.
M
    msg Work cur FS "2024-03-01 11:00:00 +0100" <<'M'
From: Heidi Park <heidi@example.org>
To: Demo User <demo@example.com>
Subject: Release checklist
Date: Fri, 1 Mar 2024 11:00:00 +0100
Message-ID: <release-checklist@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

1. Tag the release
2. Update the changelog
3. Announce on the mailing list
M
    md=${md%.tmp}
    mv "$md.tmp" "$md"
}

[ -d "$md/cur" ] || build_mail

# ------------------------------------------------------------------ config
mkdir -p "$dir/run"
cat > "$dir/stream.conf" <<CONF
# generated by tests/server/demo-maildir.sh: for $IMAP_BIN -c (PREAUTH on stdio)
base_dir = $dir/run
log_path = /dev/stderr
stats_writer_socket_path =
ssl = no
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {
  inbox = yes
  mailbox Archive {
    special_use = \\Archive
  }
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Trash {
    special_use = \\Trash
  }
}
protocol imap {
  mail_plugins = \$mail_plugins imap_zlib
}
CONF
chmod 644 "$dir/stream.conf"
chown -R 65534:65534 "$dir"
chmod 755 "$dir"

setpriv=$(command -v setpriv) || imaph_die "setpriv (util-linux) not found"
# uid 65534 must be able to reach DIR (all parent directories searchable)
"$setpriv" --reuid=65534 --regid=65534 --clear-groups test -w "$md/cur" ||
    imaph_die "uid 65534 cannot write $md (are all parents of DIR searchable?)"

echo "exec $setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/env -i USER=demo HOME=$dir MAIL=maildir:~/Maildir $IMAP_BIN -c $dir/stream.conf 2>>$dir/stream.log"
