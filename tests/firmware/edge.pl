#!/usr/bin/perl
# A crafted IMAP server for tests/firmware/run.sh: the 32-bit edges that no
# real server produces on demand. Reads the firmware's commands on stdin,
# answers on stdout (the UART's FIFOs). Modes:
#   edge      EXISTS 2^32, UIDs 2^32-1..2^32+1, MODSEQ 2^63-1 / 2^64-1 /
#             2^64, an INTERNALDATE and ENVELOPE date in 2106 (2^32 s)
#   lit4 lit5 lit5sink   a FETCH answered with a 4 / 5 GiB literal: 64 KiB
#             of it, then silence (the firmware's timeout ends the call)
use strict;
use warnings;
$| = 1;
my $mode = shift // 'edge';
my ($tag, $cmd);

sub out { print @_; }

out "* PREAUTH [CAPABILITY IMAP4rev1 IDLE CONDSTORE] edge server ready\r\n";
while (my $line = <STDIN>) {
    $line =~ s/\r?\n\z//;
    ($tag, $cmd) = split / /, $line, 2;
    $cmd //= '';
    print STDERR "C: $line\n";
    if ($cmd =~ /^SELECT /i) {
        if ($mode eq 'edge') {
            out "* FLAGS (\\Seen)\r\n* 4294967296 EXISTS\r\n* 0 RECENT\r\n",
                "* OK [UIDVALIDITY 4294967295] 2^32-1\r\n* OK [UIDNEXT 4294967298] next\r\n",
                "* OK [HIGHESTMODSEQ 18446744073709551615] 2^64-1\r\n";
        } else {
            out "* 1 EXISTS\r\n";
        }
        out "$tag OK [READ-WRITE] selected\r\n";
    } elsif ($mode eq 'edge' && $cmd =~ /^FETCH 4294967295:\* /i) {
        out "* 4294967296 FETCH (UID 4294967297 MODSEQ (9223372036854775807) ",
            "INTERNALDATE \"07-Feb-2106 06:28:16 +0000\" ENVELOPE (\"Sun, 07 Feb 2106 06:28:16 +0000\" ",
            "\"after 2038\" ((\"Far Future\" NIL \"future\" \"example.org\")) NIL NIL ",
            "((NIL NIL \"device\" \"example.org\")) NIL NIL NIL \"<2106\@example.org>\"))\r\n",
            "* 4294967296 FETCH (MODSEQ (18446744073709551615))\r\n",
            "* 4294967296 FETCH (MODSEQ (18446744073709551616))\r\n",
            "$tag OK fetched\r\n";
    } elsif ($mode eq 'edge' && $cmd =~ /^UID FETCH 4294967295 /i) {
        out "* 1 FETCH (UID 4294967295 FLAGS (\\Seen))\r\n$tag OK fetched\r\n";
    } elsif ($mode =~ /^lit/ && $cmd =~ /^FETCH 1 /i) {
        my $n = $mode eq 'lit4' ? 4 << 30 : 5 << 30;
        out "* 1 FETCH (BODY[] {$n}\r\n", "z" x 65536;
        # then nothing: no server sends 4 GiB to a test
    } elsif ($cmd =~ /^LOGOUT/i) {
        out "* BYE edge server\r\n$tag OK bye\r\n";
        last;
    } else {
        out "$tag BAD not in this script\r\n";
    }
}
