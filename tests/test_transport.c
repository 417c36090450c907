/* Unit tests of the transports: the scripted one (every knob). */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

/* ---- helpers -------------------------------------------------------- */

#define SZ(lit) (sizeof(lit) - 1)

static int w(imap_transport *tr, const char *s, size_t n)
{
    return tr->write(tr->ctx, (const unsigned char *)s, n);
}

static int r(imap_transport *tr, char *buf, size_t n)
{
    return tr->read(tr->ctx, (unsigned char *)buf, n);
}

/* Write all n bytes, retrying 0 ("not now") up to `spins` times in all.
   Returns 0, -1 on a failed write, -2 when it never finished. */
static int put_all(imap_transport *tr, const char *s, size_t n, int spins)
{
    size_t off = 0;
    while (off < n) {
        int k = w(tr, s + off, n - off);
        if (k < 0) return -1;
        if (k == 0 && --spins < 0) return -2;
        off += (size_t)k;
    }
    return 0;
}

/* Read exactly n bytes the same way. Returns 0, -1, or -2. */
static int get_n(imap_transport *tr, char *buf, size_t n, int spins)
{
    size_t off = 0;
    while (off < n) {
        int k = r(tr, buf + off, n - off);
        if (k < 0) return -1;
        if (k == 0 && --spins < 0) return -2;
        off += (size_t)k;
    }
    return 0;
}

#define CHECK_BYTES(buf, lit) CHECK(memcmp((buf), (lit), SZ(lit)) == 0)

/* ---- 8a. scripted transport ----------------------------------------- */

TEST(script_plain_exchange)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK ready\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A1 NOOP\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK done\r\n", 0 },
        { IMAP_SCRIPT_CLOSE, NULL, 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[64];
    imap_script_init(&s, steps, 4, &tr);
    CHECK(tr.ctx == &s);
    CHECK(!imap_script_done(&s));
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 12);
    CHECK_BYTES(buf, "* OK ready\r\n");
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);     /* server waits for us */
    CHECK_EQ_INT(w(&tr, "A1 NOOP\r\n", 9), 9);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 12);
    CHECK_BYTES(buf, "A1 OK done\r\n");
    CHECK(s.closed);
    CHECK(imap_script_done(&s));
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK_EQ_INT(w(&tr, "x", 1), -1);
    CHECK_EQ_INT(s.bytes_read, 24);
    CHECK_EQ_INT(s.bytes_written, 9);
    CHECK(!s.mismatch);
    CHECK_EQ_INT(tr.close(tr.ctx), 0);
    CHECK(s.client_closed);
}

TEST(script_reads_span_steps_and_max_read)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* 1 EXISTS\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 0 RECENT\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A2 X\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A2 OK\r\n", 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[64];
    int k, calls = 0;
    size_t got = 0;
    /* no limit: one read takes both REPLY steps, stops at the EXPECT */
    imap_script_init(&s, steps, 4, &tr);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 24);
    CHECK_BYTES(buf, "* 1 EXISTS\r\n* 0 RECENT\r\n");
    CHECK_EQ_INT(s.step, 2);
    /* a byte at a time */
    imap_script_init(&s, steps, 4, &tr);
    s.max_read = 1;
    while ((k = r(&tr, buf + got, sizeof buf - got)) > 0) {
        CHECK_EQ_INT(k, 1);
        got += (size_t)k;
        calls++;
    }
    CHECK_EQ_INT(k, 0);
    CHECK_EQ_INT(calls, 24);
    CHECK_BYTES(buf, "* 1 EXISTS\r\n* 0 RECENT\r\n");
    /* three at a time, and the caller's len is a limit too */
    imap_script_init(&s, steps, 4, &tr);
    s.max_read = 3;
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 3);
    CHECK_EQ_INT(r(&tr, buf, 2), 2);
    CHECK_EQ_INT(s.bytes_read, 5);
    CHECK_EQ_INT(s.step_off, 5);
}

TEST(script_max_write_takes_a_few_bytes)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_EXPECT, "A1 ", 0 },
        { IMAP_SCRIPT_EXPECT, "NOOP\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK\r\n", 0 },
    };
    imap_script s;
    imap_transport tr;
    const char *cmd = "A1 NOOP\r\n";
    size_t off = 0;
    int calls = 0;
    imap_script_init(&s, steps, 3, &tr);
    s.max_write = 1;
    while (off < 9) {
        int k = w(&tr, cmd + off, 9 - off);
        CHECK_EQ_INT(k, 1);
        if (k != 1) break;
        off++;
        calls++;
    }
    CHECK_EQ_INT(calls, 9);
    CHECK_EQ_INT(s.step, 2);
    CHECK_EQ_INT(s.bytes_written, 9);
    /* a write spanning two EXPECT steps is one run */
    imap_script_init(&s, steps, 3, &tr);
    s.max_write = 4;
    CHECK_EQ_INT(w(&tr, cmd, 9), 4);
    CHECK_EQ_INT(s.step, 1);
    CHECK_EQ_INT(s.step_off, 1);
    CHECK_EQ_INT(w(&tr, cmd + 4, 5), 4);
    CHECK_EQ_INT(w(&tr, cmd + 8, 1), 1);
    CHECK(!s.mismatch);
    CHECK_EQ_INT(s.step, 2);
}

TEST(script_would_block_every_other_call)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A1 X\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK\r\n", 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[32];
    imap_script_init(&s, steps, 3, &tr);
    s.would_block = 1;
    s.max_read = 2;
    s.max_write = 4;
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 2);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    CHECK_EQ_INT(r(&tr, buf + 2, sizeof buf), 2);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    CHECK_EQ_INT(r(&tr, buf + 4, sizeof buf), 2);
    CHECK_BYTES(buf, "* OK\r\n");
    CHECK_EQ_INT(w(&tr, "A1 X\r\n", 6), 0);
    CHECK_EQ_INT(w(&tr, "A1 X\r\n", 6), 4);
    CHECK_EQ_INT(w(&tr, "\r\n", 2), 0);
    CHECK_EQ_INT(w(&tr, "\r\n", 2), 2);
    /* a client that retries 0 gets everything */
    CHECK_EQ_INT(get_n(&tr, buf, 7, 100), 0);
    CHECK_BYTES(buf, "A1 OK\r\n");
    CHECK(imap_script_done(&s));
}

TEST(script_close_at_server_offset)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK hello\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A1 X\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK fine\r\n", 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[64];
    /* inside the first reply: the read stops exactly there */
    imap_script_init(&s, steps, 3, &tr);
    s.close_at = 5;
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 5);
    CHECK_BYTES(buf, "* OK ");
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK(s.closed);
    CHECK_EQ_INT(w(&tr, "A1 X\r\n", 6), -1);
    CHECK(!imap_script_done(&s));
    /* zero: dropped before the greeting */
    imap_script_init(&s, steps, 3, &tr);
    s.close_at = 0;
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 100), 1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    /* in the second reply, after an exchange, byte by byte */
    imap_script_init(&s, steps, 3, &tr);
    s.close_at = 12 + 4;
    s.max_read = 1;
    CHECK_EQ_INT(get_n(&tr, buf, 12, 0), 0);
    CHECK_EQ_INT(put_all(&tr, "A1 X\r\n", 6, 0), 0);
    CHECK_EQ_INT(get_n(&tr, buf, 4, 0), 0);
    CHECK_BYTES(buf, "A1 O");
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK_EQ_INT(s.bytes_read, 16);
}

TEST(script_stall_hangs_reads_but_takes_writes)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "+ idling\r\n", 0 },
        { IMAP_SCRIPT_STALL, NULL, 0 },
        { IMAP_SCRIPT_REPLY, "never read\r\n", 0 },
    };
    static const imap_script_step steps2[] = {
        { IMAP_SCRIPT_REPLY, "* OK\r\n", 0 },
        { IMAP_SCRIPT_STALL, NULL, 0 },
        { IMAP_SCRIPT_EXPECT, "DONE\r\n", 0 },
        { IMAP_SCRIPT_CLOSE, NULL, 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[64];
    int i;
    imap_script_init(&s, steps, 3, &tr);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 1000), 1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 10);
    CHECK(s.stalled);
    for (i = 0; i < 100; i++)
        if (r(&tr, buf, sizeof buf) != 0) break;
    CHECK_EQ_INT(i, 100);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 1000), 0);  /* no progress: a timeout */
    CHECK_EQ_INT(tr.wait(tr.ctx, 1, 1000), 1);
    /* the client gives up and says DONE; the server then drops */
    imap_script_init(&s, steps2, 4, &tr);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 6);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    CHECK_EQ_INT(w(&tr, "DONE\r\n", 6), 6);
    CHECK(s.closed);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK(imap_script_done(&s));
}

TEST(script_mismatch_is_recorded_and_fails)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A1 CAPABILITY\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A2 LOGIN bob secret\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK\r\n", 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[16];
    imap_script_init(&s, steps, 4, &tr);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 6);
    CHECK_EQ_INT(w(&tr, "A1 CAPABILITY\r\n", 15), 15);
    CHECK_EQ_INT(w(&tr, "A2 LOGIN bob secreT\r\n", 21), -1);
    CHECK(s.mismatch);
    CHECK_EQ_INT(s.mismatch_step, 2);
    CHECK_EQ_INT(s.mismatch_offset, 15 + 18);
    CHECK_STR(s.mismatch_expected, "t\r\n");
    CHECK_EQ_INT(s.mismatch_got_len, 3);
    CHECK(memcmp(s.mismatch_got, "T\r\n", 3) == 0);
    CHECK_EQ_INT(s.bytes_written, 15);
    CHECK(!imap_script_done(&s));
    /* everything fails from then on, and wait says so at once */
    CHECK_EQ_INT(w(&tr, "A2 LOGIN bob secret\r\n", 21), -1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 1000), 1);
}

TEST(script_bytes_ahead_of_the_server_are_a_mismatch)
{
    /* A synchronizing literal: the data may go only after the "+". */
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_EXPECT, "A1 APPEND box {3}\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "+ go ahead\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "abc\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK\r\n", 0 },
    };
    static const char all[] = "A1 APPEND box {3}\r\nabc\r\n";
    imap_script s;
    imap_transport tr;
    char buf[32];
    /* too eager: the whole write is refused, even with max_write 1 */
    imap_script_init(&s, steps, 4, &tr);
    s.max_write = 1;
    CHECK_EQ_INT(w(&tr, all, SZ(all)), -1);
    CHECK(s.mismatch);
    CHECK_EQ_INT(s.mismatch_step, 1);
    CHECK_EQ_INT(s.mismatch_offset, 19);
    CHECK(s.mismatch_expected.ptr == NULL);
    CHECK_EQ_INT(s.mismatch_expected.len, 0);
    CHECK_EQ_INT(s.mismatch_got_len, 5);
    CHECK(memcmp(s.mismatch_got, "abc\r\n", 5) == 0);
    CHECK_EQ_INT(s.bytes_written, 0);
    /* patient: passes */
    imap_script_init(&s, steps, 4, &tr);
    CHECK_EQ_INT(put_all(&tr, all, 19, 0), 0);
    CHECK_EQ_INT(get_n(&tr, buf, 12, 0), 0);
    CHECK_EQ_INT(put_all(&tr, all + 19, 5, 0), 0);
    CHECK_EQ_INT(get_n(&tr, buf, 7, 0), 0);
    CHECK(imap_script_done(&s));
}

TEST(script_write_before_reading_or_after_the_end)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A1 X\r\n", 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[8];
    /* writing before the greeting was read */
    imap_script_init(&s, steps, 2, &tr);
    CHECK_EQ_INT(w(&tr, "A1 X\r\n", 6), -1);
    CHECK_EQ_INT(s.mismatch_step, 0);
    CHECK_EQ_INT(s.mismatch_offset, 0);
    /* writing past the last step */
    imap_script_init(&s, steps, 2, &tr);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 6);
    CHECK_EQ_INT(w(&tr, "A1 X\r\nA2", 8), -1);
    CHECK_EQ_INT(s.mismatch_step, 2);
    CHECK_EQ_INT(s.mismatch_offset, 6);
    CHECK_EQ_INT(s.mismatch_got_len, 2);
    /* the script over: reads wait, wait says so */
    imap_script_init(&s, steps, 2, &tr);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 6);
    CHECK_EQ_INT(w(&tr, "A1 X\r\n", 6), 6);
    CHECK(imap_script_done(&s));
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 1000), 0);
}

TEST(script_wait_close_and_odd_steps)
{
    /* explicit lengths carry NUL bytes; empty steps are skipped */
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "a\0b", 3 },
        { IMAP_SCRIPT_REPLY, "", 0 },
        { IMAP_SCRIPT_EXPECT, "x\0y", 3 },
        { IMAP_SCRIPT_EXPECT, NULL, 0 },
    };
    static const imap_script_step closed[] = { { IMAP_SCRIPT_CLOSE, NULL, 0 } };
    imap_script s;
    imap_transport tr;
    char buf[8];
    imap_script_init(&s, steps, 4, &tr);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 0), 1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 3);
    CHECK(memcmp(buf, "a\0b", 3) == 0);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 0), 0);
    CHECK_EQ_INT(tr.wait(tr.ctx, 1, 0), 1);
    CHECK_EQ_INT(w(&tr, "x\0y", 3), 3);
    CHECK(imap_script_done(&s));
    CHECK_EQ_INT(tr.close(tr.ctx), 0);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 0), -1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK_EQ_INT(w(&tr, "x", 1), -1);
    /* a leading CLOSE takes effect at once */
    imap_script_init(&s, closed, 1, &tr);
    CHECK(s.closed);
    CHECK(imap_script_done(&s));
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    /* no steps at all */
    imap_script_init(&s, NULL, 0, &tr);
    CHECK(imap_script_done(&s));
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    CHECK_EQ_INT(w(&tr, "x", 1), -1);
}

/* Every knob at once, with a client loop that copes with all of them. */
TEST(script_all_knobs_with_a_patient_client)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK IMAP4rev1 ready\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A1 LOGIN u p\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "A1 OK logged in\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "A2 LOGOUT\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* BYE\r\nA2 OK\r\n", 0 },
        { IMAP_SCRIPT_CLOSE, NULL, 0 },
    };
    imap_script s;
    imap_transport tr;
    char buf[64];
    size_t mr, mw;
    for (mr = 1; mr <= 4; mr++) {
        for (mw = 1; mw <= 4; mw++) {
            imap_script_init(&s, steps, 6, &tr);
            s.max_read = mr;
            s.max_write = mw;
            s.would_block = (int)((mr + mw) & 1);
            CHECK_EQ_INT(get_n(&tr, buf, 22, 200), 0);
            CHECK_EQ_INT(put_all(&tr, "A1 LOGIN u p\r\n", 14, 200), 0);
            CHECK_EQ_INT(get_n(&tr, buf, 17, 200), 0);
            CHECK_BYTES(buf, "A1 OK logged in\r\n");
            CHECK_EQ_INT(put_all(&tr, "A2 LOGOUT\r\n", 11, 200), 0);
            CHECK_EQ_INT(get_n(&tr, buf, 14, 200), 0);
            CHECK_EQ_INT(get_n(&tr, buf, 1, 200), -1);
            CHECK(imap_script_done(&s));
        }
    }
}

int main(void)
{
    RUN(script_plain_exchange);
    RUN(script_reads_span_steps_and_max_read);
    RUN(script_max_write_takes_a_few_bytes);
    RUN(script_would_block_every_other_call);
    RUN(script_close_at_server_offset);
    RUN(script_stall_hangs_reads_but_takes_writes);
    RUN(script_mismatch_is_recorded_and_fails);
    RUN(script_bytes_ahead_of_the_server_are_a_mismatch);
    RUN(script_write_before_reading_or_after_the_end);
    RUN(script_wait_close_and_odd_steps);
    RUN(script_all_knobs_with_a_patient_client);
    return test_summary();
}
