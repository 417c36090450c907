#!/usr/bin/env python3
"""Python's imaplib reading an in-memory corpus.

    python3 tests/bench/bench_imaplib.py --corpus F [--name N] [--min-time S | --passes N]
                                         [--stock] [--dry]

The reader is imaplib's own: IMAP4._get_response(), which reads a line,
matches it against imaplib's regexes, reads literals with self.read(n) and
stores untagged data in self.untagged_responses, exactly as it does under
IMAP4.fetch()/list()/search(). MemIMAP below only replaces the transport:
open() gives it a file object (io.BytesIO over the corpus) and a dummy
socket, and the connection greeting is answered from memory. The loop calls
_get_response() until the command's tagged response arrives (as
_get_tagged_response does), counting responses, then pops the untagged
data the way the command methods do.

imaplib refuses any line longer than imaplib._MAXLINE (1,000,000 bytes in
3.11; newer versions keep it in self._maxline). The million-number SEARCH
line is 7.6 MB, so by default the limit is raised for the run; --stock keeps
it and reports what stock imaplib does with the corpus.

--warmup N runs N untimed passes first (default 1), as the C harnesses do.
--dry loads the corpus and builds the client but runs no pass: run.sh takes
callgrind's count for --passes 1 minus the count for --dry as the
instructions of one pass.

Prints one line: "result key=value ..." (see report.py). Peak RSS is
ru_maxrss; rss_base_kb is taken after the corpus was loaded.
"""
import argparse
import imaplib
import io
import re
import resource
import sys
import time

TAG = b"7"


class DummySock:
    def sendall(self, data):
        pass

    def shutdown(self, how):
        pass

    def close(self):
        pass


class MemIMAP(imaplib.IMAP4):
    """imaplib.IMAP4 over memory instead of a TCP socket."""

    def open(self, host="", port=imaplib.IMAP4_PORT, timeout=None):
        self.host = host
        self.port = port
        self.sock = DummySock()
        self.file = io.BytesIO(b"* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n")

    def _get_capabilities(self):
        # answered by the greeting's code; no round trip to a server
        self.capabilities = ("IMAP4REV1",)

    def _run(self, corpus, stock):
        """Read one command's responses from `corpus`; returns the count."""
        self.file = io.BytesIO(corpus)
        # the corpus's tag is "7": match it the way imaplib matches its own
        self.tagpre = b""
        self.tagre = re.compile(br"(?P<tag>" + self.tagpre + br"\d+) (?P<type>[A-Z]+) (?P<data>.*)",
                                re.ASCII)
        self.tagged_commands[TAG] = None
        self.untagged_responses = {}
        n = 0
        while self.tagged_commands[TAG] is None:
            self._get_response()
            n += 1
        typ, dat = self.tagged_commands.pop(TAG)
        # what fetch()/list()/search() hand back to the caller
        kept = {}
        for name in ("FETCH", "LIST", "STATUS", "SEARCH"):
            if name in self.untagged_responses:
                kept[name] = self.untagged_responses.pop(name)
        return n, typ, kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--name")
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--passes", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--stock", action="store_true")
    ap.add_argument("--dry", action="store_true",
                    help="load everything, run no pass (callgrind baseline)")
    a = ap.parse_args()
    with open(a.corpus, "rb") as f:
        corpus = f.read()
    name = a.name or a.corpus
    stock_limit = getattr(imaplib, "_MAXLINE", None)
    if not a.stock:
        # raise the line limit so the 7.6 MB SEARCH line is accepted
        imaplib._MAXLINE = max(stock_limit or 0, len(corpus) + 2)
    m = MemIMAP()
    if not a.stock and hasattr(m, "_maxline"):
        m._maxline = len(corpus) + 2
    rss_base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    passes, elapsed, responses, status, error = 0, 0.0, 0, "-", "-"
    counts = {}
    if a.dry:
        print("result parser=imaplib-dry corpus=%s bytes=%d passes=0" % (name, len(corpus)))
        return
    for _ in range(a.warmup if not a.stock else 0):
        m._run(corpus, a.stock)
    while (passes < a.passes) if a.passes > 0 else (passes == 0 or elapsed < a.min_time):
        t0 = time.perf_counter()
        try:
            n, typ, kept = m._run(corpus, a.stock)
        except Exception as e:             # stock imaplib on the SEARCH line
            elapsed += time.perf_counter() - t0
            error = "%s:%s" % (type(e).__name__, str(e).replace(" ", "_")[:80])
            passes += 1
            break
        elapsed += time.perf_counter() - t0
        if passes == 0:
            responses, status = n, typ
            counts = {k: len(v) for k, v in kept.items()}
        passes += 1
    mbps = len(corpus) * passes / elapsed / 1e6 if error == "-" else 0.0
    print("result parser=%s corpus=%s bytes=%d passes=%d secs=%.6f mbps=%.3f rps=%.1f "
          "responses=%d tagged_ok=%d errors=%d error=%s maxrss_kb=%d rss_base_kb=%d "
          "maxline=%s python=%s fetches=%d mailboxes=%d statuses=%d searches=%d"
          % ("imaplib-stock" if a.stock else "imaplib", name, len(corpus), passes, elapsed, mbps,
             responses * passes / elapsed if error == "-" else 0.0, responses,
             1 if status == "OK" else 0, 0 if error == "-" else 1, error,
             resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rss_base,
             stock_limit if a.stock else imaplib._MAXLINE, sys.version.split()[0],
             counts.get("FETCH", 0), counts.get("LIST", 0), counts.get("STATUS", 0),
             counts.get("SEARCH", 0)))


if __name__ == "__main__":
    main()
