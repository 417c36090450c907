/* Unit tests of the command builders, quoting, modified UTF-7, base64,
   sequence sets and the seeds' helpers (section 6 of imap.h). */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

static unsigned char cbuf[8192];
static char flat[16384];
static imap_cmd C;
static unsigned char pmem[1 << 14];

/* A fresh builder with the given literal mode and UTF8=ACCEPT flag. */
static imap_cmd *cmd(int mode, int utf8)
{
    imap_cmd_init(&C, cbuf, sizeof cbuf);
    C.literal_mode = mode;
    C.utf8 = utf8;
    return &C;
}

/* All segments of a command, concatenated. */
static imap_str flatten(const imap_cmd *c)
{
    imap_str s;
    size_t n = 0;
    unsigned i;
    for (i = 0; i < c->nseg && n + c->seg[i].len < sizeof flat; i++) {
        memcpy(flat + n, c->seg[i].ptr, c->seg[i].len);
        n += c->seg[i].len;
    }
    flat[n] = 0;
    s.ptr = flat;
    s.len = n;
    return s;
}

/* The segments' shape: each length, '+' after one that waits: "12+,5,2". */
static imap_str shape(const imap_cmd *c)
{
    static char out[256];
    imap_str s;
    size_t n = 0;
    unsigned i;
    for (i = 0; i < c->nseg; i++)
        n += (size_t)sprintf(out + n, "%s%lu%s", i ? "," : "", (unsigned long)c->seg[i].len,
                             c->seg[i].wait ? "+" : "");
    out[n] = 0;
    s.ptr = out;
    s.len = n;
    return s;
}

#define CHECK_CMD(call, want) do { imap_result rc_ = (call); \
        CHECK_EQ_INT(rc_, IMAP_OK); CHECK_STR(flatten(&C), want); } while (0)
#define CHECK_FAIL(call, code) do { imap_result rc_ = (call); \
        CHECK_EQ_INT(rc_, code); CHECK_EQ_INT(C.nseg, 0); } while (0)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "A1 X " + one argument by the seed's rule. */
static imap_result arg1(const char *s)
{
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    imap_cmd_arg(&C, s);
    return imap_cmd_end(&C);
}

TEST(quoting_table)
{
    static const struct { const char *in, *out; } t[] = {
        { "abc", "A1 X abc\r\n" },
        { "", "A1 X \"\"\r\n" },                   /* empty string */
        { "   ", "A1 X \"   \"\r\n" },               /* spaces only */
        { "a b", "A1 X \"a b\"\r\n" },
        { "a\"b", "A1 X \"a\\\"b\"\r\n" },         /* embedded quote */
        { "a\\b", "A1 X \"a\\\\b\"\r\n" },         /* embedded backslash */
        { "\\", "A1 X \"\\\\\"\r\n" },
        { "\"", "A1 X \"\\\"\"\r\n" },             /* a lone quote is no pair */
        { "\"abc", "A1 X \"\\\"abc\"\r\n" },       /* unbalanced quotes */
        { "abc\"", "A1 X \"abc\\\"\"\r\n" },
        { "\"abc\"", "A1 X \"abc\"\r\n" },         /* "..." passes */
        { "\"\"", "A1 X \"\"\r\n" },
        { "\"a\\\"b\"", "A1 X \"a\\\"b\"\r\n" },
        { "(a b)", "A1 X (a b)\r\n" },             /* (...) passes */
        { "()", "A1 X ()\r\n" },
        { "(abc", "A1 X \"(abc\"\r\n" },           /* unbalanced parentheses */
        { "abc)", "A1 X \"abc)\"\r\n" },
        { ")(", "A1 X \")(\"\r\n" },
        { "'1:*'", "A1 X 1:*\r\n" },               /* '...' loses its quotes */
        { "'a b'", "A1 X a b\r\n" },
        { "'", "A1 X '\r\n" },
        { "1:*", "A1 X \"1:*\"\r\n" },             /* * is an atom-special */
        { "1:3,5", "A1 X 1:3,5\r\n" },
        { "%", "A1 X \"%\"\r\n" },
        { "a]b", "A1 X \"a]b\"\r\n" },
        { "a[b", "A1 X \"a[b\"\r\n" },
        { "{5}", "A1 X \"{5}\"\r\n" },
        { "a\tb", "A1 X \"a\tb\"\r\n" },
        { "a\x7f", "A1 X \"a\x7f\"\r\n" },
        { "\\Seen", "A1 X \"\\\\Seen\"\r\n" },
        { "NIL", "A1 X NIL\r\n" },
        { "+FLAGS.SILENT", "A1 X +FLAGS.SILENT\r\n" },
        { "caf\xc3\xa9", "A1 X {5}\r\ncaf\xc3\xa9\r\n" },   /* 8-bit: literal */
        { "a\r\nb", "A1 X {4}\r\na\r\nb\r\n" },            /* CRLF: literal */
        { "a\nb\"", "A1 X {4}\r\na\nb\"\r\n" },
    };
    size_t i;
    for (i = 0; i < N(t); i++) {
        imap_result rc = arg1(t[i].in);
        CHECK_EQ_INT(rc, IMAP_OK);
        if (rc != IMAP_OK || strcmp(flatten(&C).ptr, t[i].out) != 0)
            printf("    row %lu: [%s] -> [%s]\n", (unsigned long)i, t[i].in, flatten(&C).ptr);
    }
    /* pass-throughs that would break the line are refused */
    CHECK_FAIL(arg1("\"a\r\nb\""), IMAP_E_ARGS);
    CHECK_FAIL(arg1("(a\rb)"), IMAP_E_ARGS);
    CHECK_FAIL(arg1("'a\nb'"), IMAP_E_ARGS);
    CHECK_FAIL(arg1("''"), IMAP_E_ARGS);      /* nothing left to pass */
    CHECK_FAIL(arg1(NULL), IMAP_E_ARGS);
}

TEST(literal_segments_and_modes)
{
    static char big[4097];
    static const char hello[] = "hello";
    /* synchronizing: the line ends at the header and waits */
    CHECK_CMD(arg1("caf\xc3\xa9"), "A1 X {5}\r\ncaf\xc3\xa9\r\n");
    CHECK_STR(shape(&C), "10+,7");
    /* LITERAL+: one piece, nothing to wait for */
    imap_cmd_begin(cmd(IMAP_LITERAL_PLUS, 0), "A1", "X");
    imap_cmd_arg(&C, "caf\xc3\xa9");
    CHECK_CMD(imap_cmd_end(&C), "A1 X {5+}\r\ncaf\xc3\xa9\r\n");
    CHECK_STR(shape(&C), "18");
    /* LITERAL-: {n+} up to 4096 bytes, {n} above */
    memset(big, '\n', sizeof big);
    imap_cmd_begin(cmd(IMAP_LITERAL_MINUS, 0), "A1", "X");
    imap_cmd_astring(&C, big, 4096);
    CHECK_EQ_INT(imap_cmd_end(&C), IMAP_OK);
    CHECK(memcmp(C.seg[0].ptr, "A1 X {4096+}\r\n", 14) == 0);
    CHECK_EQ_INT(C.nseg, 1);
    imap_cmd_begin(cmd(IMAP_LITERAL_MINUS, 0), "A1", "X");
    imap_cmd_astring(&C, big, 4097);
    CHECK_EQ_INT(imap_cmd_end(&C), IMAP_OK);
    CHECK_STR(shape(&C), "13+,4099");
    /* a referenced literal is its own segment, not a copy */
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    imap_cmd_literal(&C, hello, 5);
    imap_cmd_raw(&C, "Y");
    CHECK_CMD(imap_cmd_end(&C), "A1 X {5}\r\nhello Y\r\n");
    CHECK_STR(shape(&C), "10+,5,4");
    CHECK(C.seg[1].ptr == (const unsigned char *)hello);
    /* NUL cannot go even as a literal (CHAR8) */
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    CHECK_FAIL(imap_cmd_astring(&C, "a\0b", 3), IMAP_E_ARGS);
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    CHECK_FAIL(imap_cmd_literal(&C, "a\0b", 3), IMAP_E_ARGS);
    /* strings: always quoted */
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    imap_cmd_string(&C, "abc", 3);
    imap_cmd_string(&C, "", 0);
    imap_cmd_astring(&C, "", 0);
    CHECK_CMD(imap_cmd_end(&C), "A1 X \"abc\" \"\" \"\"\r\n");
}

TEST(no_injection)
{
    /* a raw argument may not end the line in a literal header */
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    imap_cmd_raw(&C, "{5}");
    CHECK_FAIL(imap_cmd_end(&C), IMAP_E_ARGS);
    CHECK_FAIL(arg1("'{12+}'"), IMAP_E_ARGS);
    CHECK_FAIL(arg1("'x~{3}'"), IMAP_E_ARGS);
    /* in the middle of the line it is harmless */
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    imap_cmd_raw(&C, "{5}");
    imap_cmd_raw(&C, "Y");
    CHECK_CMD(imap_cmd_end(&C), "A1 X {5} Y\r\n");
    /* literal data ending in "{5}" is data */
    CHECK_CMD(arg1("\xc3\xa9{5}"), "A1 X {5}\r\n\xc3\xa9{5}\r\n");
    /* CR, LF refused in every raw path */
    imap_cmd_begin(cmd(IMAP_LITERAL_SYNC, 0), "A1", "X");
    CHECK_FAIL(imap_cmd_raw(&C, "a\r\nA2 DELETE INBOX"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_fetch(&C, "A1", "1", "FLAGS\r\nA2 LOGOUT"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_store(&C, "A1", "1", "+FLAGS", "(\\Seen)\nA2 X"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_select(&C, "A1", "\"INBOX\r\nA2 X\"", 0, 0, NULL), IMAP_E_ARGS);
    /* ... while as a string the same bytes go as a literal */
    CHECK_CMD(imap_cmd_login(&C, "A1", "u", "p\r\nA2 X"), "A1 LOGIN u {7}\r\np\r\nA2 X\r\n");
}

TEST(begin_end_and_errors)
{
    imap_cmd_init(&C, cbuf, sizeof cbuf);
    CHECK_FAIL(imap_cmd_arg(&C, "x"), IMAP_E_ARGS);              /* before begin */
    CHECK_FAIL(imap_cmd_begin(&C, "A 1", "NOOP"), IMAP_E_ARGS);  /* tag with SP */
    CHECK_FAIL(imap_cmd_begin(&C, "A+1", "NOOP"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_begin(&C, "", "NOOP"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_begin(&C, NULL, "NOOP"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_begin(&C, "A1", "NO OP"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_begin(&C, "A1", "X{"), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_simple(&C, "A]1", "NOOP"), "A]1 NOOP\r\n");
    CHECK_FAIL(imap_cmd_arg(&C, "x"), IMAP_E_ARGS);              /* after end */
    CHECK_FAIL(imap_cmd_end(&C), IMAP_E_ARGS);
    /* sticky: after a failure nothing more is written */
    imap_cmd_begin(&C, "A1", "X");
    imap_cmd_raw(&C, "");
    CHECK_EQ_INT(imap_cmd_arg(&C, "ok"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_end(&C), IMAP_E_ARGS);
    CHECK_EQ_INT(C.len, 4);
    /* begin forgets the error */
    CHECK_CMD(imap_cmd_noop(&C, "A2"), "A2 NOOP\r\n");
}

/* Every buffer size short of a command's fails cleanly with NOMEM. */
TEST(buffer_too_small_everywhere)
{
    static const char *const crit[] = { "SUBJECT", "caf\xc3\xa9", "FROM", "a b" };
    size_t full, cap;
    imap_qresync q;
    memset(&q, 0, sizeof q);
    q.uidvalidity = 67890007;
    q.modseq = 20050715194045000ull;
    q.known_uids = "41,43:211";
    for (cap = 0;; cap++) {
        imap_result r1, r2, r3;
        imap_cmd_init(&C, cbuf, cap);
        r1 = imap_cmd_search(&C, "A1", "UTF-8", crit, N(crit));
        full = C.len;
        imap_cmd_init(&C, cbuf, cap);
        r2 = imap_cmd_select(&C, "A1", "Entw\xc3\xbcrfe \"x\"", 0, 1, &q);
        imap_cmd_init(&C, cbuf, cap);
        r3 = imap_cmd_login(&C, "A1", "user", "pa\"ss");
        if (r1 == IMAP_OK && r2 == IMAP_OK && r3 == IMAP_OK) break;
        CHECK(r1 == IMAP_OK || r1 == IMAP_E_NOMEM);
        CHECK(r2 == IMAP_OK || r2 == IMAP_E_NOMEM);
        CHECK(r3 == IMAP_OK || r3 == IMAP_E_NOMEM);
        if (cap > 200) break;
    }
    CHECK(cap < 200);
    (void)full;
    imap_cmd_init(&C, NULL, 100);
    CHECK_FAIL(imap_cmd_noop(&C, "A1"), IMAP_E_NOMEM);
}

TEST(builders_simple)
{
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_CMD(imap_cmd_capability(&C, "A1"), "A1 CAPABILITY\r\n");
    CHECK_CMD(imap_cmd_noop(&C, "A1"), "A1 NOOP\r\n");
    CHECK_CMD(imap_cmd_logout(&C, "A1"), "A1 LOGOUT\r\n");
    CHECK_CMD(imap_cmd_starttls(&C, "A1"), "A1 STARTTLS\r\n");
    CHECK_CMD(imap_cmd_check(&C, "A1"), "A1 CHECK\r\n");
    CHECK_CMD(imap_cmd_close(&C, "A1"), "A1 CLOSE\r\n");
    CHECK_CMD(imap_cmd_expunge(&C, "A1"), "A1 EXPUNGE\r\n");
    CHECK_CMD(imap_cmd_unselect(&C, "A1"), "A1 UNSELECT\r\n");
    CHECK_CMD(imap_cmd_namespace(&C, "A1"), "A1 NAMESPACE\r\n");
    CHECK_CMD(imap_cmd_idle(&C, "A1"), "A1 IDLE\r\n");
    CHECK_CMD(imap_cmd_done(&C), "DONE\r\n");
    CHECK_STR(shape(&C), "6");
    CHECK_CMD(imap_cmd_compress(&C, "A1", NULL), "A1 COMPRESS DEFLATE\r\n");
    CHECK_FAIL(imap_cmd_compress(&C, "A1", "DE FLATE"), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_simple(&C, "A1", "XYZZY"), "A1 XYZZY\r\n");
}

TEST(builders_auth)
{
    static const char *const id4[] = { "name", "imap.h", "version", NULL };
    static const char *const id1[] = { "(\"name\" \"x\")" };
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_CMD(imap_cmd_login(&C, "A1", "joe", "secret"), "A1 LOGIN joe \"secret\"\r\n");
    CHECK_CMD(imap_cmd_login(&C, "A1", "joe smith", "se\"c\\ret"),
              "A1 LOGIN \"joe smith\" \"se\\\"c\\\\ret\"\r\n");
    CHECK_CMD(imap_cmd_login(&C, "A1", "j", "\"quoted\""), "A1 LOGIN j \"\\\"quoted\\\"\"\r\n");
    CHECK_CMD(imap_cmd_login(&C, "A1", "j", ""), "A1 LOGIN j \"\"\r\n");
    CHECK_CMD(imap_cmd_login(&C, "A1", "j", "p\xc3\xa4ss"), "A1 LOGIN j {5}\r\np\xc3\xa4ss\r\n");
    CHECK_STR(shape(&C), "16+,7");
    CHECK_FAIL(imap_cmd_login(&C, "A1", "j", NULL), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_authenticate(&C, "A1", "PLAIN", NULL), "A1 AUTHENTICATE PLAIN\r\n");
    CHECK_CMD(imap_cmd_authenticate(&C, "A1", "PLAIN", "AHVzZXIAcGFzcw=="),
              "A1 AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n");
    CHECK_CMD(imap_cmd_authenticate(&C, "A1", "EXTERNAL", "="), "A1 AUTHENTICATE EXTERNAL =\r\n");
    CHECK_FAIL(imap_cmd_authenticate(&C, "A1", "PLAIN", ""), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_authenticate(&C, "A1", "PLAIN", "AHVz ZXI="), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_authenticate(&C, "A1", "PL AIN", NULL), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_sasl_response(&C, "dGVzdA=="), "dGVzdA==\r\n");
    CHECK_CMD(imap_cmd_sasl_response(&C, ""), "\r\n");
    CHECK_CMD(imap_cmd_sasl_response(&C, NULL), "*\r\n");
    CHECK_FAIL(imap_cmd_sasl_response(&C, "dGVzdA==\r\nA2 X"), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_proxyauth(&C, "A1", "admin"), "A1 PROXYAUTH admin\r\n");
    CHECK_CMD(imap_cmd_enable(&C, "A1", "CONDSTORE QRESYNC"), "A1 ENABLE CONDSTORE QRESYNC\r\n");
    CHECK_CMD(imap_cmd_id(&C, "A1", NULL, 0), "A1 ID NIL\r\n");
    CHECK_CMD(imap_cmd_id(&C, "A1", id4, 4), "A1 ID (\"name\" \"imap.h\" \"version\" NIL)\r\n");
    CHECK_CMD(imap_cmd_id(&C, "A1", id1, 1), "A1 ID (\"name\" \"x\")\r\n");
    CHECK_FAIL(imap_cmd_id(&C, "A1", id4, 3), IMAP_E_ARGS);
    {
        static const char *const longf[] = { "a-field-name-longer-than-thirty", "x" };
        CHECK_FAIL(imap_cmd_id(&C, "A1", longf, 2), IMAP_E_ARGS);
    }
}

TEST(builders_mailboxes)
{
    static const char *const pats[] = { "INBOX", NULL, "Sent*" };
    imap_qresync q;
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_CMD(imap_cmd_select(&C, "A1", NULL, 0, 0, NULL), "A1 SELECT INBOX\r\n");
    CHECK_CMD(imap_cmd_select(&C, "A1", "Sent Items", 1, 0, NULL), "A1 EXAMINE \"Sent Items\"\r\n");
    CHECK_CMD(imap_cmd_examine(&C, "A1", "\xe5\x8f\xb0\xe5\x8c\x97"), "A1 EXAMINE &U,BTFw-\r\n");
    CHECK_CMD(imap_cmd_select(&C, "A1", "INBOX", 0, 1, NULL), "A1 SELECT INBOX (CONDSTORE)\r\n");
    memset(&q, 0, sizeof q);
    q.uidvalidity = 67890007;
    q.modseq = 20050715194045000ull;
    CHECK_CMD(imap_cmd_select(&C, "A1", "INBOX", 0, 0, &q),
              "A1 SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n");
    q.known_uids = "41,43:211,214:541";
    q.known_seqs = "1:5";
    q.known_seq_uids = "41,43:46";
    CHECK_CMD(imap_cmd_select(&C, "A1", "INBOX", 1, 1, &q),
              "A1 EXAMINE INBOX (CONDSTORE QRESYNC (67890007 20050715194045000 "
              "41,43:211,214:541 (1:5 41,43:46)))\r\n");
    q.known_uids = "1:*";                           /* no "*" in QRESYNC */
    CHECK_FAIL(imap_cmd_select(&C, "A1", "INBOX", 0, 0, &q), IMAP_E_ARGS);
    q.known_uids = NULL;
    q.known_seq_uids = NULL;
    CHECK_FAIL(imap_cmd_select(&C, "A1", "INBOX", 0, 0, &q), IMAP_E_ARGS);
    q.known_seqs = NULL;
    q.modseq = 0;
    CHECK_FAIL(imap_cmd_select(&C, "A1", "INBOX", 0, 0, &q), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_create(&C, "A1", "a&b"), "A1 CREATE a&-b\r\n");
    CHECK_CMD(imap_cmd_create(&C, "A1", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
              "A1 CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n");
    CHECK_CMD(imap_cmd_delete(&C, "A1", "Entw\xc3\xbcrfe"), "A1 DELETE Entw&APw-rfe\r\n");
    CHECK_CMD(imap_cmd_delete(&C, "A1", "a\"b\\c d"), "A1 DELETE \"a\\\"b\\\\c d\"\r\n");
    CHECK_CMD(imap_cmd_delete(&C, "A1", "\"Already Quoted\""), "A1 DELETE \"Already Quoted\"\r\n");
    CHECK_FAIL(imap_cmd_delete(&C, "A1", "bad\xff"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_delete(&C, "A1", NULL), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_rename(&C, "A1", "old", "new name"), "A1 RENAME old \"new name\"\r\n");
    CHECK_CMD(imap_cmd_subscribe(&C, "A1", "news.comp"), "A1 SUBSCRIBE news.comp\r\n");
    CHECK_CMD(imap_cmd_unsubscribe(&C, "A1", ""), "A1 UNSUBSCRIBE \"\"\r\n");
    CHECK_CMD(imap_cmd_list(&C, "A1", NULL, NULL), "A1 LIST \"\" \"*\"\r\n");
    CHECK_CMD(imap_cmd_list(&C, "A1", "\"\"", "%"), "A1 LIST \"\" \"%\"\r\n");
    CHECK_CMD(imap_cmd_lsub(&C, "A1", "#news.", "comp.mail.*"), "A1 LSUB #news. \"comp.mail.*\"\r\n");
    CHECK_CMD(imap_cmd_list_extended(&C, "A1", "SUBSCRIBED RECURSIVEMATCH", "", pats, 3,
                                     "CHILDREN STATUS (MESSAGES UNSEEN)"),
              "A1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\") "
              "RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n");
    CHECK_CMD(imap_cmd_list_extended(&C, "A1", NULL, NULL, pats, 1, "()"),
              "A1 LIST \"\" INBOX RETURN ()\r\n");
    CHECK_FAIL(imap_cmd_list_extended(&C, "A1", NULL, NULL, pats + 1, 1, NULL), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_status(&C, "A1", "INBOX", "MESSAGES UNSEEN"),
              "A1 STATUS INBOX (MESSAGES UNSEEN)\r\n");
    CHECK_CMD(imap_cmd_status(&C, "A1", "INBOX", "(UIDNEXT)"), "A1 STATUS INBOX (UIDNEXT)\r\n");
    /* UTF8=ACCEPT: names go as UTF-8, so 8-bit ones as literals */
    cmd(IMAP_LITERAL_PLUS, 1);
    CHECK_CMD(imap_cmd_select(&C, "A1", "Entw\xc3\xbcrfe", 0, 0, NULL),
              "A1 SELECT {9+}\r\nEntw\xc3\xbcrfe\r\n");
    CHECK_CMD(imap_cmd_select(&C, "A1", "a&b", 0, 0, NULL), "A1 SELECT a&b\r\n");
    CHECK_FAIL(imap_cmd_select(&C, "A1", "bad\xc0\xaf", 0, 0, NULL), IMAP_E_ARGS);
}

TEST(builders_messages)
{
    static const char msg[] = "From: a@b\r\n\r\nhi\r\n";
    static const char *const crit[] = { "FROM", "joe smith", NULL, "SINCE", "1-Feb-1994" };
    static const char *const u8[] = { "SUBJECT", "caf\xc3\xa9" };
    static const char *const entries[] = { "/private/comment", "/shared/comment" };
    static const char *const pairs[] = { "/private/comment", "My comment", "/shared/x", NULL };
    static const char *const ann[] = { "/comment", "(\"value.priv\" \"hello\")" };
    imap_append_msg m[2];
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_CMD(imap_cmd_append(&C, "A1", "saved-messages", "\\Seen", "17-Jul-1996 02:44:25 -0700",
                              msg, sizeof msg - 1),
              "A1 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {17}\r\n"
              "From: a@b\r\n\r\nhi\r\n\r\n");
    CHECK_STR(shape(&C), "68+,17,2");
    CHECK(C.seg[1].ptr == (const unsigned char *)msg);        /* referenced */
    CHECK_CMD(imap_cmd_append(&C, "A1", NULL, NULL, NULL, "x", 1), "A1 APPEND INBOX {1}\r\nx\r\n");
    CHECK_CMD(imap_cmd_append(&C, "A1", NULL, "(\\Seen \\Draft)", "\" 1-Feb-2000 00:00:00 +0000\"",
                              "x", 1),
              "A1 APPEND INBOX (\\Seen \\Draft) \"01-Feb-2000 00:00:00 +0000\" {1}\r\nx\r\n");
    CHECK_FAIL(imap_cmd_append(&C, "A1", NULL, NULL, "30-Feb-2000 00:00:00 +0000", "x", 1),
               IMAP_E_ARGS);
    m[0].flags = "\\Seen";
    m[0].date_time = NULL;
    m[0].data = "one";
    m[0].len = 3;
    m[1].flags = NULL;
    m[1].date_time = NULL;
    m[1].data = "two!";
    m[1].len = 4;
    C.literal_mode = IMAP_LITERAL_PLUS;
    CHECK_CMD(imap_cmd_multiappend(&C, "A1", "Drafts", m, 2),
              "A1 APPEND Drafts (\\Seen) {3+}\r\none {4+}\r\ntwo!\r\n");
    CHECK_STR(shape(&C), "31,3,7,4,2");
    C.literal_mode = IMAP_LITERAL_SYNC;
    CHECK_CMD(imap_cmd_copy(&C, "A1", "2:4", "MEETING"), "A1 COPY 2:4 MEETING\r\n");
    CHECK_CMD(imap_cmd_copy(&C, "A1", "'1:*'", "Trash"), "A1 COPY 1:* Trash\r\n");
    CHECK_CMD(imap_cmd_move(&C, "A1", "$", "Archive"), "A1 MOVE $ Archive\r\n");
    CHECK_FAIL(imap_cmd_copy(&C, "A1", "1 2", "x"), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_copy(&C, "A1", "", "x"), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_fetch(&C, "A1", "1:*", "(UID BODY[TEXT])"),
              "A1 FETCH 1:* (UID BODY[TEXT])\r\n");
    CHECK_CMD(imap_cmd_fetch(&C, "A1", "2,4", "BODY.PEEK[HEADER.FIELDS (FROM)]"),
              "A1 FETCH 2,4 BODY.PEEK[HEADER.FIELDS (FROM)]\r\n");
    CHECK_CMD(imap_cmd_fetch_changedsince(&C, "A1", 0, "1:*", "(FLAGS)", 12345, 0),
              "A1 FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n");
    CHECK_CMD(imap_cmd_fetch_changedsince(&C, "A1", 1, "1:*", "FLAGS", 12345, 1),
              "A1 UID FETCH 1:* FLAGS (CHANGEDSINCE 12345 VANISHED)\r\n");
    CHECK_FAIL(imap_cmd_fetch_changedsince(&C, "A1", 0, "1", "FLAGS", 1, 1), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_partial(&C, "A1", "4", "RFC822", "1", "1024"),
              "A1 PARTIAL 4 RFC822 1 1024\r\n");
    CHECK_FAIL(imap_cmd_partial(&C, "A1", "x", "RFC822", "1", "1"), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_store(&C, "A1", "2:4", "+FLAGS", "(\\Deleted)"),
              "A1 STORE 2:4 +FLAGS (\\Deleted)\r\n");
    CHECK_CMD(imap_cmd_store(&C, "A1", "1", "-FLAGS.SILENT", "\\Seen \\Flagged"),
              "A1 STORE 1 -FLAGS.SILENT \\Seen \\Flagged\r\n");
    CHECK_CMD(imap_cmd_store_unchangedsince(&C, "A1", 0, "7,5,9", 320162338, "+FLAGS.SILENT",
                                            "(\\Deleted)"),
              "A1 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n");
    CHECK_CMD(imap_cmd_store_unchangedsince(&C, "A1", 1, "6,4,8", 0, "+FLAGS", "\\Seen"),
              "A1 UID STORE 6,4,8 (UNCHANGEDSINCE 0) +FLAGS \\Seen\r\n");
    CHECK_CMD(imap_cmd_search(&C, "A1", NULL, crit, N(crit)),
              "A1 SEARCH FROM \"joe smith\" SINCE 1-Feb-1994\r\n");
    CHECK_CMD(imap_cmd_search(&C, "A1", "UTF-8", u8, 2),
              "A1 SEARCH CHARSET UTF-8 SUBJECT {5}\r\ncaf\xc3\xa9\r\n");
    CHECK_FAIL(imap_cmd_search(&C, "A1", NULL, crit + 2, 1), IMAP_E_ARGS);
    C.utf8 = 1;
    CHECK_CMD(imap_cmd_search(&C, "A1", "UTF-8", u8, 2),
              "A1 SEARCH SUBJECT {5}\r\ncaf\xc3\xa9\r\n");
    C.utf8 = 0;
    CHECK_CMD(imap_cmd_search_return(&C, "A1", "MIN MAX COUNT", NULL, crit + 3, 1),
              "A1 SEARCH RETURN (MIN MAX COUNT) SINCE\r\n");
    CHECK_CMD(imap_cmd_search_return(&C, "A1", "", "UTF-8", u8, 1),
              "A1 SEARCH RETURN () CHARSET UTF-8 SUBJECT\r\n");
    CHECK_CMD(imap_cmd_sort(&C, "A1", "REVERSE DATE", NULL, u8, 1),
              "A1 SORT (REVERSE DATE) UTF-8 SUBJECT\r\n");
    CHECK_CMD(imap_cmd_sort(&C, "A1", "(SUBJECT)", "US-ASCII", crit, 2),
              "A1 SORT (SUBJECT) US-ASCII FROM \"joe smith\"\r\n");
    CHECK_CMD(imap_cmd_thread(&C, "A1", "REFERENCES", NULL, crit + 3, 2),
              "A1 THREAD REFERENCES UTF-8 SINCE 1-Feb-1994\r\n");
    CHECK_CMD(imap_cmd_xatom(&C, "A1", "XLIST", crit + 2, 0), "A1 XLIST\r\n");
    CHECK_CMD(imap_cmd_xatom(&C, "A1", "X-GM-EXT", ann, 2),
              "A1 X-GM-EXT /comment (\"value.priv\" \"hello\")\r\n");
    CHECK_CMD(imap_cmd_getacl(&C, "A1", "INBOX"), "A1 GETACL INBOX\r\n");
    CHECK_CMD(imap_cmd_setacl(&C, "A1", "INBOX", "Fred", "+rwte"), "A1 SETACL INBOX Fred +rwte\r\n");
    CHECK_CMD(imap_cmd_deleteacl(&C, "A1", "INBOX", "Fred Smith"),
              "A1 DELETEACL INBOX \"Fred Smith\"\r\n");
    CHECK_CMD(imap_cmd_listrights(&C, "A1", "~/Mail/saved", "smith"),
              "A1 LISTRIGHTS ~/Mail/saved smith\r\n");
    CHECK_CMD(imap_cmd_myrights(&C, "A1", "INBOX"), "A1 MYRIGHTS INBOX\r\n");
    CHECK_CMD(imap_cmd_getannotation(&C, "A1", "INBOX", "/comment", "value.shared"),
              "A1 GETANNOTATION INBOX /comment \"value.shared\"\r\n");
    CHECK_CMD(imap_cmd_getannotation(&C, "A1", "INBOX", "/*", "(\"value.priv\" \"size.priv\")"),
              "A1 GETANNOTATION INBOX \"/*\" (\"value.priv\" \"size.priv\")\r\n");
    CHECK_CMD(imap_cmd_setannotation(&C, "A1", "INBOX", ann, 2),
              "A1 SETANNOTATION INBOX /comment (\"value.priv\" \"hello\")\r\n");
    CHECK_FAIL(imap_cmd_setannotation(&C, "A1", "INBOX", ann, 1), IMAP_E_ARGS);
    CHECK_CMD(imap_cmd_getmetadata(&C, "A1", NULL, "INBOX", entries, 1),
              "A1 GETMETADATA INBOX /private/comment\r\n");
    CHECK_CMD(imap_cmd_getmetadata(&C, "A1", "MAXSIZE 1024 DEPTH 1", "", entries, 2),
              "A1 GETMETADATA (MAXSIZE 1024 DEPTH 1) \"\" (/private/comment /shared/comment)\r\n");
    CHECK_CMD(imap_cmd_setmetadata(&C, "A1", "INBOX", pairs, 4),
              "A1 SETMETADATA INBOX (/private/comment \"My comment\" /shared/x NIL)\r\n");
    CHECK_CMD(imap_cmd_setmetadata(&C, "A1", "INBOX", u8, 2),
              "A1 SETMETADATA INBOX (SUBJECT {5}\r\ncaf\xc3\xa9)\r\n");
    CHECK_CMD(imap_cmd_getquota(&C, "A1", ""), "A1 GETQUOTA \"\"\r\n");
    CHECK_CMD(imap_cmd_getquotaroot(&C, "A1", "INBOX"), "A1 GETQUOTAROOT INBOX\r\n");
    CHECK_CMD(imap_cmd_setquota(&C, "A1", "", "STORAGE 512"), "A1 SETQUOTA \"\" (STORAGE 512)\r\n");
}

TEST(builders_uid)
{
    static const char *const copy[] = { "4827313:4828442", "MEETING" };
    static const char *const fetch[] = { "1:*", "(FLAGS)", "(CHANGEDSINCE 5)" };
    static const char *const store[] = { "'1:*'", "+FLAGS", "(\\Seen)" };
    static const char *const search[] = { NULL, "UNSEEN", "SUBJECT", "a b" };
    static const char *const sort[] = { "(DATE)", "UTF-8", "ALL" };
    static const char *const one[] = { "3:5" };
    static const char *const crit[] = { "ALL" };
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_CMD(imap_cmd_uid(&C, "A1", "copy", copy, 2), "A1 UID COPY 4827313:4828442 MEETING\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "MOVE", copy, 2), "A1 UID MOVE 4827313:4828442 MEETING\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "FETCH", fetch, 3),
              "A1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "STORE", store, 3), "A1 UID STORE 1:* +FLAGS (\\Seen)\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "SEARCH", search, 4),
              "A1 UID SEARCH UNSEEN SUBJECT \"a b\"\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "SORT", sort, 3), "A1 UID SORT (DATE) UTF-8 ALL\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "THREAD", sort + 1, 2), "A1 UID THREAD UTF-8 ALL\r\n");
    CHECK_CMD(imap_cmd_uid(&C, "A1", "EXPUNGE", one, 1), "A1 UID EXPUNGE 3:5\r\n");
    CHECK_FAIL(imap_cmd_uid(&C, "A1", "DELETE", one, 1), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_uid(&C, "A1", "COPY", one, 1), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_uid(&C, "A1", "STORE", store, 2), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_uid(&C, "A1", "FETCH", copy + 1, 1), IMAP_E_ARGS);
    CHECK_FAIL(imap_cmd_uid(&C, "A1", "COPY", sort + 1, 2), IMAP_E_ARGS);   /* not a set */
    CHECK_CMD(imap_cmd_uid_copy(&C, "A1", "1:2", "x"), "A1 UID COPY 1:2 x\r\n");
    CHECK_CMD(imap_cmd_uid_move(&C, "A1", "1:2", "x"), "A1 UID MOVE 1:2 x\r\n");
    CHECK_CMD(imap_cmd_uid_fetch(&C, "A1", "1:2", "FLAGS"), "A1 UID FETCH 1:2 FLAGS\r\n");
    CHECK_CMD(imap_cmd_uid_store(&C, "A1", "1:2", "FLAGS", "()"), "A1 UID STORE 1:2 FLAGS ()\r\n");
    CHECK_CMD(imap_cmd_uid_expunge(&C, "A1", "1:2"), "A1 UID EXPUNGE 1:2\r\n");
    CHECK_CMD(imap_cmd_uid_search(&C, "A1", NULL, crit, 1), "A1 UID SEARCH ALL\r\n");
    CHECK_CMD(imap_cmd_uid_sort(&C, "A1", "ARRIVAL", NULL, crit, 1),
              "A1 UID SORT (ARRIVAL) UTF-8 ALL\r\n");
    CHECK_CMD(imap_cmd_uid_thread(&C, "A1", "ORDEREDSUBJECT", "UTF-8", crit, 1),
              "A1 UID THREAD ORDEREDSUBJECT UTF-8 ALL\r\n");
}

TEST(segments_run_out)
{
    imap_append_msg m[8];
    size_t i;
    for (i = 0; i < 8; i++) {
        m[i].flags = NULL;
        m[i].date_time = NULL;
        m[i].data = "x";
        m[i].len = 1;
    }
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_EQ_INT(imap_cmd_multiappend(&C, "A1", NULL, m, 7), IMAP_OK);
    CHECK_EQ_INT(C.nseg, 15);
    CHECK_FAIL(imap_cmd_multiappend(&C, "A1", NULL, m, 8), IMAP_E_NOMEM);
}

/* Echo a built command as a server would ("* NAME args"), parse it, and
   return the first argument's value. */
static const imap_value *echo(imap_parser *p)
{
    static char wire[16384];
    imap_str f = flatten(&C);
    const char *sp = (const char *)memchr(f.ptr, ' ', f.len);
    size_t n, used = 0;
    imap_response *r = NULL;
    if (!sp) return NULL;
    wire[0] = '*';
    n = f.len - (size_t)(sp - f.ptr);
    memcpy(wire + 1, sp, n);
    imap_parser_init(p, pmem, sizeof pmem);
    if (imap_parser_feed(p, wire, n + 1, &used, &r) != IMAP_OK || used != n + 1) return NULL;
    return r->args;
}

TEST(round_trip_through_parser)
{
    static const char *const t[] = { "abc", "", "   ", "a\"b", "\\", "a\\\"b\\", "(x", "x)",
        "1:*", "%", "a]b", "a[b", "{5}", "a\tb\x01", "caf\xc3\xa9", "a\r\nb", "\r\n", "\n",
        "\"", "NIL", "123", "~{3}", "\xff\xfe" };
    size_t i;
    int mode;
    imap_parser p;
    for (mode = 0; mode < 3; mode++) {
        for (i = 0; i < N(t); i++) {
            const imap_value *v;
            size_t n = strlen(t[i]);
            imap_cmd_begin(cmd(mode, 0), "A1", "X");
            imap_cmd_astring(&C, t[i], n);
            imap_cmd_string(&C, t[i], n);
            CHECK_EQ_INT(imap_cmd_end(&C), IMAP_OK);
            v = echo(&p);
            CHECK(v != NULL && v->next != NULL);
            if (!v || !v->next) continue;
            CHECK(v->len == n && memcmp(v->str, t[i], n) == 0);
            CHECK(v->next->type == IMAP_STRING && v->next->len == n &&
                  memcmp(v->next->str, t[i], n) == 0);
        }
    }
    /* a mailbox comes back as its modified UTF-7, which decodes to it */
    {
        static const char *const names[] = { "INBOX", "Entw\xc3\xbcrfe", "a&b \"c\"",
            "\xe5\x8f\xb0\xe5\x8c\x97/x", "\xf0\x9f\x98\x80" };
        char out[64];
        for (i = 0; i < N(names); i++) {
            const imap_value *v;
            imap_cmd_begin(cmd(0, 0), "A1", "X");
            imap_cmd_mailbox(&C, names[i]);
            CHECK_EQ_INT(imap_cmd_end(&C), IMAP_OK);
            v = echo(&p);
            CHECK(v != NULL);
            if (!v) continue;
            CHECK_EQ_INT(imap_utf7_decode(v->str, v->len, out, sizeof out), (long)strlen(names[i]));
            CHECK(strcmp(out, names[i]) == 0);
        }
    }
    /* LOGIN as a whole */
    cmd(IMAP_LITERAL_SYNC, 0);
    CHECK_EQ_INT(imap_cmd_login(&C, "A1", "joe smith", "p\"a\\ss"), IMAP_OK);
    {
        const imap_value *v = echo(&p);
        CHECK(v && imap_value_is(v, "joe smith") && v->next && imap_value_is(v->next, "p\"a\\ss"));
    }
}

TEST(utf7)
{
    static const struct { const char *utf8, *mutf7; } t[] = {
        { "", "" },
        { "INBOX", "INBOX" },
        { "a&b", "a&-b" },
        { "&", "&-" },
        { "\xe5\x8f\xb0\xe5\x8c\x97", "&U,BTFw-" },
        { "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
          "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },          /* RFC 3501 §5.1.3 */
        { "\xc3\xa9", "&AOk-" },
        { "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
        { "\xf0\x9f\x98\x80", "&2D3eAA-" },                 /* surrogate pair */
        { "\x01", "&AAE-" },
        { "\xc3\xbc&\xc3\xbc", "&APw-&-&APw-" },
        { "\x7f ~", "&AH8- ~" },
    };
    static const char *const bad[] = {
        "&", "&U,BTFw", "&AGE-", "&AOk-&AOk-", "&-&", "&2D0-", "&3gA-", "&AO-",
        "&AOkA-", "a\x80", "a\tb", "&A=-", "&U/BTFw-",
    };
    static const char *const bad8[] = { "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                        "\xe5\x8f", "\x80", "\xff" };
    char out[128];
    size_t i;
    for (i = 0; i < N(t); i++) {
        size_t a = strlen(t[i].utf8), b = strlen(t[i].mutf7);
        CHECK_EQ_INT(imap_utf7_encode(t[i].utf8, a, out, sizeof out), (long)b);
        CHECK(strcmp(out, t[i].mutf7) == 0);
        CHECK_EQ_INT(imap_utf7_encode(t[i].utf8, a, NULL, 0), (long)b);
        CHECK_EQ_INT(imap_utf7_decode(t[i].mutf7, b, out, sizeof out), (long)a);
        CHECK(strcmp(out, t[i].utf8) == 0);
        CHECK_EQ_INT(imap_utf7_decode(t[i].mutf7, b, NULL, 0), (long)a);
        CHECK_EQ_INT(imap_utf7_encode(t[i].utf8, a, out, b), IMAP_E_NOMEM);  /* no room for NUL */
    }
    for (i = 0; i < N(bad); i++) {
        long r = imap_utf7_decode(bad[i], strlen(bad[i]), out, sizeof out);
        CHECK_EQ_INT(r, IMAP_E_SYNTAX);
        if (r != IMAP_E_SYNTAX) printf("    bad[%lu] = %s\n", (unsigned long)i, bad[i]);
    }
    for (i = 0; i < N(bad8); i++)
        CHECK_EQ_INT(imap_utf7_encode(bad8[i], strlen(bad8[i]), out, sizeof out), IMAP_E_ARGS);
    /* a NUL is a character like any other control */
    CHECK_EQ_INT(imap_utf7_encode("a\0b", 3, out, sizeof out), 7);
    CHECK(strcmp(out, "a&AAA-b") == 0);
    CHECK_EQ_INT(imap_utf7_decode("a&AAA-b", 7, out, sizeof out), 3);
    CHECK(memcmp(out, "a\0b", 3) == 0);
}

TEST(base64)
{
    static const char *const t[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
        { "foo", "Zm9v" }, { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" } };                        /* RFC 4648 §10 */
    static const char *const bad[] = { "Zg=", "Zg=a", "Zh==", "Zm9=", "Zm9v\n", "=AAA",
                                       "Zm9vYg=", "Z===", "Zm9v====", "Zm,v" };
    char out[64];
    size_t i;
    for (i = 0; i < N(t); i++) {
        size_t a = strlen(t[i][0]), b = strlen(t[i][1]);
        CHECK_EQ_INT(imap_base64_encode(t[i][0], a, out, sizeof out), (long)b);
        CHECK(strcmp(out, t[i][1]) == 0);
        CHECK_EQ_INT(imap_base64_decode(t[i][1], b, out, sizeof out), (long)a);
        CHECK(memcmp(out, t[i][0], a) == 0);
        CHECK_EQ_INT(imap_base64_decode(t[i][1], b, NULL, 0), (long)a);
        if (a) CHECK_EQ_INT(imap_base64_decode(t[i][1], b, out, a - 1), IMAP_E_NOMEM);
    }
    for (i = 0; i < N(bad); i++)
        CHECK_EQ_INT(imap_base64_decode(bad[i], strlen(bad[i]), out, sizeof out), IMAP_E_SYNTAX);
    {
        unsigned char all[256], back[256];
        char enc[400];
        long n;
        for (i = 0; i < 256; i++) all[i] = (unsigned char)i;
        n = imap_base64_encode(all, 256, enc, sizeof enc);
        CHECK_EQ_INT(n, 344);
        CHECK_EQ_INT(imap_base64_decode(enc, (size_t)n, back, sizeof back), 256);
        CHECK(memcmp(all, back, 256) == 0);
    }
}

TEST(seqsets)
{
    static const imap_u64 uids[] = { 1, 2, 3, 5, 7, 8, 8, 9, 4294967295u };
    static const imap_u64 down[] = { 3, 2 };
    static const imap_u64 zero[] = { 0 };
    char buf[64];
    imap_seqset s;
    imap_seqset_iter it;
    imap_u64 lo, hi;
    imap_seqset_init(&s, buf, sizeof buf);
    CHECK_EQ_INT(imap_seqset_add(&s, 4), IMAP_OK);
    CHECK_EQ_INT(imap_seqset_range(&s, 7, IMAP_SEQ_STAR), IMAP_OK);
    CHECK_EQ_INT(imap_seqset_add(&s, IMAP_SEQ_STAR), IMAP_OK);
    CHECK_EQ_INT(imap_seqset_range(&s, 9, 9), IMAP_OK);
    CHECK_EQ_INT(imap_seqset_range(&s, 12, 10), IMAP_OK);
    CHECK(strcmp(buf, "4,7:*,*,9,12:10") == 0);
    CHECK_EQ_INT(imap_seqset_add(&s, 0), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_seqset_add(&s, 5), IMAP_E_ARGS);                 /* sticky */
    CHECK(strcmp(buf, "4,7:*,*,9,12:10") == 0);
    imap_seqset_init(&s, buf, sizeof buf);
    CHECK_EQ_INT(imap_seqset_compress(&s, uids, N(uids)), IMAP_OK);
    CHECK(strcmp(buf, "1:3,5,7:9,4294967295") == 0);
    imap_seqset_init(&s, buf, sizeof buf);
    CHECK_EQ_INT(imap_seqset_compress(&s, down, 2), IMAP_E_ARGS);
    CHECK(strcmp(buf, "") == 0);
    imap_seqset_init(&s, buf, sizeof buf);
    CHECK_EQ_INT(imap_seqset_compress(&s, zero, 1), IMAP_E_ARGS);
    imap_seqset_init(&s, buf, 4);                                       /* "1:3" + NUL fits */
    CHECK_EQ_INT(imap_seqset_compress(&s, uids, 3), IMAP_OK);
    CHECK_EQ_INT(imap_seqset_add(&s, 5), IMAP_E_NOMEM);
    CHECK(strcmp(buf, "1:3") == 0);
    imap_seqset_init(&s, NULL, 0);
    CHECK_EQ_INT(imap_seqset_add(&s, 1), IMAP_E_NOMEM);
    /* and back */
    imap_seqset_iter_init(&it, "1:3,5,9:7,*,4:*", 15);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 1);
    CHECK(lo == 1 && hi == 3);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 1);
    CHECK(lo == 5 && hi == 5);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 1);
    CHECK(lo == 7 && hi == 9);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 1);
    CHECK(lo == IMAP_SEQ_STAR && hi == IMAP_SEQ_STAR);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 1);
    CHECK(lo == 4 && hi == IMAP_SEQ_STAR);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 0);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 0);
    {
        static const char *const bad[] = { "", ",", "1,", ",1", "0", "01", "1:0", "4294967296",
            "99999999999999999999999", "1:", ":1", "1::2", "a", "1 2", "1,,2", "*:", "$" };
        size_t i;
        for (i = 0; i < N(bad); i++) {
            int r;
            imap_seqset_iter_init(&it, bad[i], strlen(bad[i]));
            while ((r = imap_seqset_next(&it, &lo, &hi)) == 1) {}
            CHECK_EQ_INT(r, IMAP_E_SYNTAX);
            CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), IMAP_E_SYNTAX);
        }
    }
    imap_seqset_iter_init(&it, "4294967295", 10);
    CHECK_EQ_INT(imap_seqset_next(&it, &lo, &hi), 1);
    CHECK(lo == 4294967295u);
}

TEST(internaldate)
{
    static const struct { const char *s; long long utc; } good[] = {
        { "17-Jul-1996 02:44:25 -0700", 837596665LL },
        { "\"17-Jul-1996 02:44:25 -0700\"", 837596665LL },
        { "17-jul-1996 09:44:25 +0000", 837596665LL },
        { " 1-Jan-1970 00:00:00 +0000", 0 },
        { "1-Jan-1970 01:00:00 +0100", 0 },
        { "01-Jan-1970 00:00:00 +0000", 0 },
        { "31-Dec-1969 23:59:59 +0000", -1 },
        { "29-Feb-2000 12:00:00 +0000", 951825600LL },            /* leap (400) */
        { "29-Feb-2024 23:59:59 -0100", 1709254799LL },
        { "01-Mar-2024 00:59:59 +0100", 1709251199LL },
        { "01-Jan-0000 00:00:00 +0000", -62167219200LL },          /* year limits */
        { "31-Dec-9999 23:59:59 +0000", 253402300799LL },
        { "29-Feb-0000 00:00:00 +0000", -62167219200LL + 59 * 86400LL },
        { "19-Jan-2038 03:14:08 +0000", 2147483648LL },
        { "30-Jun-2016 23:59:60 +0000", 1467331200LL },            /* leap second */
        { "01-Jan-2000 00:00:00 -9959", 946684800LL + 5999 * 60LL },
    };
    static const char *const bad[] = {
        "", "\"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 0700",
        "32-Jan-2000 00:00:00 +0000", "00-Jan-2000 00:00:00 +0000", "29-Feb-1900 00:00:00 +0000",
        "29-Feb-2023 00:00:00 +0000", "31-Apr-2023 00:00:00 +0000", "17-Jux-1996 02:44:25 -0700",
        "17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:00 +0000", "17-Jul-1996 02:44:61 +0000",
        "17-Jul-1996 02:44:25 +0760", "\"17-Jul-1996 02:44:25 -0700", "17-Jul-1996 02:44:25 -0700\"",
        "  1-Jan-1970 00:00:00 +0000", " 12-Jan-1970 00:00:00 +0000", "123-Jan-1970 00:00:00 +0000",
        "17-Jul-96 02:44:25 -0700", "17-Jul-1996 2:44:25 -0700", "17-Jul-1996  02:44:25 -0700",
        "17/Jul/1996 02:44:25 -0700", "17-Jul-1996 02:44:25 -07000", "17-Jul-+996 02:44:25 -0700",
    };
    imap_tm tm;
    long long utc;
    char out[29];
    size_t i;
    for (i = 0; i < N(good); i++) {
        imap_result r = imap_internaldate_parse(good[i].s, strlen(good[i].s), &tm, &utc);
        CHECK_EQ_INT(r, IMAP_OK);
        CHECK_EQ_INT(utc, good[i].utc);
        if (r != IMAP_OK || utc != good[i].utc) printf("    good[%lu] %s\n", (unsigned long)i, good[i].s);
    }
    for (i = 0; i < N(bad); i++) {
        imap_result r = imap_internaldate_parse(bad[i], strlen(bad[i]), &tm, &utc);
        CHECK_EQ_INT(r, IMAP_E_SYNTAX);
        if (r != IMAP_E_SYNTAX) printf("    bad[%lu] %s\n", (unsigned long)i, bad[i]);
    }
    CHECK_EQ_INT(imap_internaldate_parse("17-Jul-1996 02:44:25 -0700", 26, &tm, NULL), IMAP_OK);
    CHECK(tm.year == 1996 && tm.month == 7 && tm.day == 17 && tm.hour == 2 && tm.min == 44 &&
          tm.sec == 25 && tm.offset == -420);
    CHECK_EQ_INT(imap_internaldate_parse("17-Jul-1996 02:44:25 -0700", 26, NULL, NULL), IMAP_OK);
    /* Time2Internaldate */
    CHECK_EQ_INT(imap_internaldate_format(837596665LL, -420, out), IMAP_OK);
    CHECK(strcmp(out, "\"17-Jul-1996 02:44:25 -0700\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(0, 0, out), IMAP_OK);
    CHECK(strcmp(out, "\"01-Jan-1970 00:00:00 +0000\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(-1, 0, out), IMAP_OK);
    CHECK(strcmp(out, "\"31-Dec-1969 23:59:59 +0000\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(951825600LL - 86400 * 1 + 3600, 90, out), IMAP_OK);
    CHECK(strcmp(out, "\"28-Feb-2000 14:30:00 +0130\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(951825600LL, -780, out), IMAP_OK);
    CHECK(strcmp(out, "\"28-Feb-2000 23:00:00 -1300\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(-62167219200LL, 0, out), IMAP_OK);
    CHECK(strcmp(out, "\"01-Jan-0000 00:00:00 +0000\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(253402300799LL, 0, out), IMAP_OK);
    CHECK(strcmp(out, "\"31-Dec-9999 23:59:59 +0000\"") == 0);
    CHECK_EQ_INT(imap_internaldate_format(-62167219200LL, -1, out), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_internaldate_format(253402300799LL, 1, out), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_internaldate_format(0, 6000, out), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_internaldate_format(-9223372036854775807LL - 1, 0, out), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_internaldate_format(9223372036854775807LL, 0, out), IMAP_E_ARGS);
    tm.year = 2023; tm.month = 2; tm.day = 29; tm.hour = 0; tm.min = 0; tm.sec = 0; tm.offset = 0;
    CHECK_EQ_INT(imap_internaldate_format_tm(&tm, out), IMAP_E_ARGS);
    tm.year = 2024;
    CHECK_EQ_INT(imap_internaldate_format_tm(&tm, out), IMAP_OK);
    CHECK(strcmp(out, "\"29-Feb-2024 00:00:00 +0000\"") == 0);
    /* every day of a leap-year span round trips */
    for (utc = -62167219200LL; utc < 253402300799LL; utc += 86400LL * 97 + 3607) {
        long long back;
        int off = (int)((utc / 7) % 1441) - 720;
        if (imap_internaldate_format(utc, off, out) != IMAP_OK) continue;
        CHECK_EQ_INT(imap_internaldate_parse(out, 28, NULL, &back), IMAP_OK);
        CHECK_EQ_INT(back, utc);
        if (back != utc) break;
    }
    {
        imap_parser p;
        size_t used;
        imap_response *r;
        static const char f[] = "* 12 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n";
        imap_parser_init(&p, pmem, sizeof pmem);
        CHECK_EQ_INT(imap_parser_feed(&p, f, sizeof f - 1, &used, &r), IMAP_OK);
        CHECK_EQ_INT(imap_fetch_internaldate(r, &tm, &utc), IMAP_OK);
        CHECK_EQ_INT(utc, 837596665LL);
    }
}

TEST(parse_flags)
{
    static const char f1[] = "* 12 FETCH (UID 5 FLAGS (\\Seen $Junk \\Deleted) RFC822.SIZE 44)\r\n";
    static const char f2[] = "* FLAGS (\\Answered \\Flagged)\r\n";
    static const char f3[] = "* 3 FETCH (FLAGS ())\r\n";
    static const char f4[] = "* 3 FETCH (UID 7)\r\n";
    imap_parser p;
    imap_flags_iter it;
    imap_str fl;
    size_t used;
    imap_response *r;
    imap_parser_init(&p, pmem, sizeof pmem);
    CHECK_EQ_INT(imap_parser_feed(&p, f1, sizeof f1 - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(imap_parse_flags(r, &it), IMAP_OK);
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "\\Seen");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "$Junk");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "\\Deleted");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 0);
    CHECK_EQ_INT(imap_parser_feed(&p, f2, sizeof f2 - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(imap_parse_flags(r, &it), IMAP_OK);
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "\\Answered");
    CHECK_EQ_INT(imap_parser_feed(&p, f3, sizeof f3 - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(imap_parse_flags(r, &it), IMAP_OK);
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 0);
    CHECK_EQ_INT(imap_parser_feed(&p, f4, sizeof f4 - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(imap_parse_flags(r, &it), IMAP_E_SYNTAX);
    /* ParseFlags on text */
    CHECK_EQ_INT(imap_parse_flags_str(f1, sizeof f1 - 1, &it), IMAP_OK);
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "\\Seen");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "\\Deleted");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 0);
    CHECK_EQ_INT(imap_parse_flags_str("flags ( a  b )", 14, &it), IMAP_OK);
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "a");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 1);
    CHECK_STR(fl, "b");
    CHECK_EQ_INT(imap_flags_next(&it, &fl), 0);
    CHECK_EQ_INT(imap_parse_flags_str("* OK [PERMANENTFLAGS (\\Seen)]", 29, &it), IMAP_E_SYNTAX);
    CHECK_EQ_INT(imap_parse_flags_str("FLAGS (\\Seen", 12, &it), IMAP_E_SYNTAX);
    CHECK_EQ_INT(imap_parse_flags_str("FLAGS", 5, &it), IMAP_E_SYNTAX);
    CHECK_EQ_INT(imap_parse_flags_str("", 0, &it), IMAP_E_SYNTAX);
}

TEST(int2ap_and_tags)
{
    char out[17], tag[16];
    imap_tagger t;
    CHECK_EQ_INT(imap_int2ap(0, out, sizeof out), 0);
    CHECK(strcmp(out, "") == 0);
    CHECK_EQ_INT(imap_int2ap(1, out, sizeof out), 1);
    CHECK(strcmp(out, "B") == 0);
    CHECK_EQ_INT(imap_int2ap(15, out, sizeof out), 1);
    CHECK(strcmp(out, "P") == 0);
    CHECK_EQ_INT(imap_int2ap(16, out, sizeof out), 2);
    CHECK(strcmp(out, "BA") == 0);
    CHECK_EQ_INT(imap_int2ap(0xBEEF, out, sizeof out), 4);
    CHECK(strcmp(out, "LOOP") == 0);
    CHECK_EQ_INT(imap_int2ap(0xBEEF, out, 4), IMAP_E_NOMEM);
    CHECK_EQ_INT(imap_int2ap(~0ul, out, sizeof out), (int)(sizeof(unsigned long) * 2));
    imap_tagger_init(&t, 0);
    CHECK_EQ_INT(imap_tagger_next(&t, tag), 5);
    CHECK(strcmp(tag, "BAAA0") == 0);
    CHECK_EQ_INT(imap_tagger_next(&t, tag), 5);
    CHECK(strcmp(tag, "BAAA1") == 0);
    imap_tagger_init(&t, 61439);
    imap_tagger_next(&t, tag);
    CHECK(strcmp(tag, "PPPP0") == 0);
    imap_tagger_init(&t, 61440 + 0xBEEF - 4096);
    imap_tagger_next(&t, tag);
    CHECK(strcmp(tag, "LOOP0") == 0);
    t.counter = 99999999999ull;
    CHECK_EQ_INT(imap_tagger_next(&t, tag), 15);
    CHECK(strcmp(tag, "LOOP99999999999") == 0);
    imap_tagger_next(&t, tag);
    CHECK(strcmp(tag, "LOOP0") == 0);
    t.counter = ~0ull;                                  /* a caller's wild value */
    CHECK_EQ_INT(imap_tagger_next(&t, tag), 5);
    cmd(0, 0);
    CHECK_CMD(imap_cmd_noop(&C, tag), "LOOP0 NOOP\r\n");
}

int main(void)
{
    RUN(quoting_table);
    RUN(literal_segments_and_modes);
    RUN(no_injection);
    RUN(begin_end_and_errors);
    RUN(buffer_too_small_everywhere);
    RUN(builders_simple);
    RUN(builders_auth);
    RUN(builders_mailboxes);
    RUN(builders_messages);
    RUN(builders_uid);
    RUN(segments_run_out);
    RUN(round_trip_through_parser);
    RUN(utf7);
    RUN(base64);
    RUN(seqsets);
    RUN(internaldate);
    RUN(parse_flags);
    RUN(int2ap_and_tags);
    return test_summary();
}
