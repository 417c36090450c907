/* MIME decoding (imap.h section 6b): RFC 2047 encoded words with the
   examples of RFC 2047 §8, RFC 2231 parameters with those of RFC 2231
   §3-§4, the transfer decoders split at every offset, the charsets, and
   iconv as the converter for charsets imap.h does not build in. */
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "test.h"
#include <iconv.h>
#include <stdlib.h>

static char buf[4096];

/* decode a header value; "" on error */
static const char *hdr(const char *s, const imap_charset_conv *cv)
{
    long n = imap_header_decode(s, strlen(s), buf, sizeof buf, NULL, cv);
    return n < 0 ? "<error>" : buf;
}

/* iconv as an imap_charset_conv: the test command shows it works */
static long iconv_convert(void *arg, imap_str charset, const void *in, size_t n,
                          char *out, size_t cap)
{
    char name[64], tmp[4096], *ip = (char *)(size_t)in, *op = tmp;
    size_t il = n, ol = sizeof tmp, len;
    iconv_t cd;
    (void)arg;
    if (charset.len >= sizeof name) return -1;
    memcpy(name, charset.ptr, charset.len);
    name[charset.len] = 0;
    cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) return -1;
    if (in && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        iconv_close(cd);
        return -1;
    }
    iconv_close(cd);
    len = (size_t)(op - tmp);
    if (out && len <= cap) memcpy(out, tmp, len);
    return (long)len;
}

static const imap_charset_conv iconv_cv = {iconv_convert, NULL};

TEST(rfc2047_section8_examples)
{
    /* RFC 2047 §8: the display form of each encoded comment */
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a?=)", NULL), "(a)") == 0);
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a?= b)", NULL), "(a b)") == 0);
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", NULL), "(ab)") == 0);
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", NULL), "(ab)") == 0);
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", NULL), "(ab)") == 0);
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a_b?=)", NULL), "(a b)") == 0);
    CHECK(strcmp(hdr("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", &iconv_cv), "(a b)") == 0);
    /* the message of §8 */
    CHECK(strcmp(hdr("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", NULL),
                 "Keith Moore <moore@cs.utk.edu>") == 0);
    CHECK(strcmp(hdr("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", NULL),
                 "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>") == 0);
    CHECK(strcmp(hdr("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", NULL),
                 "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>") == 0);
    CHECK(strcmp(hdr("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
                     "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=", &iconv_cv),
                 "If you can read this you understand the example.") == 0);
    /* without a converter ISO-8859-2 is unknown: that word stays as it is */
    CHECK(strcmp(hdr("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
                     "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=", NULL),
                 "If you can read this yo    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=") == 0);
}

TEST(encoded_words)
{
    /* the subject of the issue */
    CHECK(strcmp(hdr("=?utf-8?q?Caf=C3=A9_=E2=98=95_et_croissants?=", NULL),
                 "Caf\xc3\xa9 \xe2\x98\x95 et croissants") == 0);
    /* a UTF-8 character cut across two words is joined (same charset) */
    CHECK(strcmp(hdr("=?utf-8?q?caf=C3?= =?UTF-8?Q?=A9?=", NULL), "caf\xc3\xa9") == 0);
    CHECK(strcmp(hdr("=?utf-8?b?Y2Fmw6k=?=", NULL), "caf\xc3\xa9") == 0);
    CHECK(strcmp(hdr("=?utf-8?b?Y2Fmw6k?=", NULL), "caf\xc3\xa9") == 0);      /* no padding */
    CHECK(strcmp(hdr("=?utf-8*fr?q?caf=c3=a9?=", NULL), "caf\xc3\xa9") == 0); /* RFC 2231 §5, lowercase hex */
    /* text around words keeps its spaces; folding goes */
    CHECK(strcmp(hdr("Re: =?utf-8?q?a?=  b\r\n\tc", NULL), "Re: a  b\tc") == 0);
    CHECK(strcmp(hdr("x=?utf-8?q?a?=y", NULL), "xay") == 0);
    /* malformed words are left as they are */
    CHECK(strcmp(hdr("=?utf-8?q?a b?=", NULL), "=?utf-8?q?a b?=") == 0);
    CHECK(strcmp(hdr("=?utf-8?x?abc?=", NULL), "=?utf-8?x?abc?=") == 0);
    CHECK(strcmp(hdr("=?utf-8?b?Y?=", NULL), "=?utf-8?b?Y?=") == 0);
    CHECK(strcmp(hdr("=?utf-8?b?Y2F*?=", NULL), "=?utf-8?b?Y2F*?=") == 0);
    CHECK(strcmp(hdr("=??q?a?=", NULL), "=??q?a?=") == 0);
    CHECK(strcmp(hdr("=?utf-8?q?abc", NULL), "=?utf-8?q?abc") == 0);
    CHECK(strcmp(hdr("=?", NULL), "=?") == 0);
    CHECK(strcmp(hdr("=?x-unknown?q?a?=", NULL), "=?x-unknown?q?a?=") == 0);
    CHECK(strcmp(hdr("=?utf-8?q?a=zz=4?=", NULL), "a=zz=4") == 0);
    /* invalid UTF-8 becomes U+FFFD; so do 8-bit bytes in US-ASCII */
    CHECK(strcmp(hdr("=?utf-8?q?a=FFb=C3?=", NULL), "a\xef\xbf\xbd" "b\xef\xbf\xbd") == 0);
    CHECK(strcmp(hdr("=?us-ascii?q?=E9?=", NULL), "\xef\xbf\xbd") == 0);
    /* Windows-1252 and ISO-8859-15 differ from ISO-8859-1 where they should */
    CHECK(strcmp(hdr("=?windows-1252?q?=80=93=A4?=", NULL), "\xe2\x82\xac\xe2\x80\x9c\xc2\xa4") == 0);
    CHECK(strcmp(hdr("=?iso-8859-15?q?=A4=BD=E9?=", NULL), "\xe2\x82\xac\xc5\x93\xc3\xa9") == 0);
    CHECK(strcmp(hdr("=?iso-8859-1?q?=A4?=", NULL), "\xc2\xa4") == 0);
    /* a charset only the converter knows; one it does not is kept */
    CHECK(strcmp(hdr("=?koi8-r?b?8NLJ18XU?=", &iconv_cv),
                 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82") == 0);
    CHECK(strcmp(hdr("=?x-nothing?q?a?=", &iconv_cv), "=?x-nothing?q?a?=") == 0);
}

TEST(sizes_and_measuring)
{
    const char *s = "=?utf-8?q?Caf=C3=A9?=";
    char small[5];
    size_t need = 0;
    long n = imap_header_decode(s, strlen(s), NULL, 0, &need, NULL);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(need, 6);
    n = imap_header_decode(s, strlen(s), small, sizeof small, &need, NULL);
    CHECK_EQ_INT(n, IMAP_E_NOMEM);
    CHECK_EQ_INT(need, 6);
    n = imap_header_decode(s, strlen(s), buf, need, &need, NULL);
    CHECK_EQ_INT(n, 5);
    CHECK(strcmp(buf, "Caf\xc3\xa9") == 0);
    /* through the converter too */
    n = imap_header_decode("=?koi8-r?b?8NLJ18XU?=", 21, small, sizeof small, &need, &iconv_cv);
    CHECK_EQ_INT(n, IMAP_E_NOMEM);
    CHECK_EQ_INT(need, 13);
    /* charset conversion on its own */
    {
        imap_str cs = {"latin1", 6}, bad = {"x-nothing", 9};
        n = imap_charset_to_utf8(cs, "caf\xe9", 4, buf, sizeof buf, &need, NULL);
        CHECK_EQ_INT(n, 5);
        CHECK(strcmp(buf, "caf\xc3\xa9") == 0);
        CHECK_EQ_INT(imap_charset_to_utf8(bad, "a", 1, buf, sizeof buf, &need, NULL), IMAP_E_UNSUPPORTED);
        CHECK(imap_charset_known(cs, NULL));
        CHECK(!imap_charset_known(bad, NULL));
    }
}

/* ---- RFC 2231, through a parsed BODYSTRUCTURE ------------------------ */

static unsigned char pmem[16384];
static imap_parser P;

static const imap_value *bodystructure(const char *text)
{
    imap_response *r = NULL;
    size_t used = 0;
    imap_parser_init(&P, pmem, sizeof pmem);
    if (imap_parser_feed(&P, text, strlen(text), &used, &r) != IMAP_OK || !r) return NULL;
    return imap_fetch_get(r, "BODYSTRUCTURE");
}

static const char *param(const imap_value *params, const char *name, int *found)
{
    long n = imap_param_decode(params, name, buf, sizeof buf, NULL, NULL, found);
    return n < 0 ? "<error>" : buf;
}

TEST(rfc2231_examples)
{
    const imap_value *v;
    imap_body b;
    int found = -1;
    /* §3: continuations */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"MESSAGE\" \"EXTERNAL-BODY\" (\"access-type\" \"URL\" "
                      "\"URL*0\" \"ftp://\" \"URL*1\" \"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\") "
                      "NIL NIL \"7BIT\" 0))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(strcmp(param(b.params, "url", &found), "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar") == 0);
    CHECK_EQ_INT(found, 1);
    CHECK(strcmp(param(b.params, "access-type", &found), "URL") == 0);
    CHECK(strcmp(param(b.params, "nothing", &found), "") == 0);
    CHECK_EQ_INT(found, 0);
    /* §4: charset and language, %XX */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"APPLICATION\" \"X-STUFF\" "
                      "(\"title*\" \"us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A\") "
                      "NIL NIL \"7BIT\" 0))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(strcmp(param(b.params, "title", &found), "This is ***fun***") == 0);
    /* §4.1: both, sections mixing encoded and plain, out of order */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"APPLICATION\" \"X-STUFF\" "
                      "(\"title*2\" \"isn't it!\" \"title*0*\" \"us-ascii'en'This%20is%20even%20more%20\" "
                      "\"title*1*\" \"%2A%2A%2Afun%2A%2A%2A%20\") NIL NIL \"7BIT\" 0))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(strcmp(param(b.params, "title", &found), "This is even more ***fun*** isn't it!") == 0);
}

TEST(file_names)
{
    const imap_value *v;
    imap_body b;
    size_t need;
    /* the disposition's filename (RFC 2231, UTF-8, across sections) wins */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"APPLICATION\" \"PDF\" (\"name\" \"type.pdf\") NIL NIL "
                      "\"BASE64\" 4 NIL (\"ATTACHMENT\" (\"filename*0*\" \"utf-8''R%C3%A9sum\" "
                      "\"filename*1*\" \"%C3%A9.pdf\")) NIL))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(imap_body_filename(&b, buf, sizeof buf, &need, NULL) == 12 &&
          strcmp(buf, "R\xc3\xa9sum\xc3\xa9.pdf") == 0);
    /* else the type's name, RFC 2047-encoded as mailers do */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"APPLICATION\" \"PDF\" "
                      "(\"name\" \"=?iso-8859-1?q?caf=E9?= =?utf-8?b?LnR4dA==?=\") NIL NIL "
                      "\"BASE64\" 4 NIL (\"ATTACHMENT\" (\"size\" \"4\")) NIL))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(imap_body_filename(&b, buf, sizeof buf, &need, NULL) == 9 &&
          strcmp(buf, "caf\xc3\xa9.txt") == 0);
    /* a Latin-1 RFC 2231 name; a name in a charset nobody knows keeps its bytes */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" "
                      "(\"name*\" \"iso-8859-1'fr'caf%E9\") NIL NIL \"7BIT\" 4 1 NIL "
                      "(\"INLINE\" (\"filename*\" \"x-unknown''a%41\")) NIL))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(imap_body_filename(&b, buf, sizeof buf, &need, NULL) == 2 && strcmp(buf, "aA") == 0);
    CHECK(strcmp(param(b.params, "name", NULL), "caf\xc3\xa9") == 0);
    /* none */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 4 1))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(imap_body_filename(&b, buf, sizeof buf, &need, NULL) == 0 && buf[0] == 0);
    /* too small: the size it needs */
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"name\" \"abcdef\") NIL NIL \"7BIT\" 4 1))\r\n");
    CHECK(v && imap_body_decode(v, &b) == 0);
    CHECK(imap_body_filename(&b, buf, 3, &need, NULL) == IMAP_E_NOMEM && need == 7);
}

/* ---- transfer encodings ---------------------------------------------- */

typedef struct acc {
    unsigned char b[8192];
    size_t n;
    int refuse_after;           /* > 0: refuse once this many bytes came */
} acc;

static int acc_fn(void *arg, const void *data, size_t len)
{
    acc *a = (acc *)arg;
    if (a->n + len > sizeof a->b) return 1;
    memcpy(a->b + a->n, data, len);
    a->n += len;
    return a->refuse_after && a->n >= (size_t)a->refuse_after;
}

/* The whole, then every two-way split and byte by byte, all equal `want`. */
static int cte_all_splits(const char *enc, const char *in, size_t n, const char *want, size_t wn)
{
    imap_str e;
    imap_cte d;
    acc a;
    size_t cut, i;
    int ok = 1;
    e.ptr = enc;
    e.len = strlen(enc);
    for (cut = 0; cut <= n; cut++) {
        a.n = 0;
        a.refuse_after = 0;
        imap_cte_init(&d, e);
        imap_cte_feed(&d, in, cut, acc_fn, &a);
        imap_cte_feed(&d, in + cut, n - cut, acc_fn, &a);
        imap_cte_finish(&d, acc_fn, &a);
        if (a.n != wn || memcmp(a.b, want, wn) != 0) ok = 0;
    }
    a.n = 0;
    imap_cte_init(&d, e);
    for (i = 0; i < n; i++) imap_cte_feed(&d, in + i, 1, acc_fn, &a);
    imap_cte_finish(&d, acc_fn, &a);
    if (a.n != wn || memcmp(a.b, want, wn) != 0) ok = 0;
    return ok;
}

#define SPLITS(enc, in, want) cte_all_splits(enc, in, sizeof in - 1, want, sizeof want - 1)

TEST(base64_mime)
{
    /* line-wrapped, CRLF and LF, junk ignored (RFC 2045 §6.8) */
    CHECK(SPLITS("BASE64", "SGVsbG8s\r\nIHdv\ncmxk\r\nIQ==\r\n", "Hello, world!"));
    CHECK(SPLITS("base64", "SGVs bG8s\t!IHdvcmxkIQ", "Hello, world!"));      /* no padding */
    CHECK(SPLITS("base64", "YQ==YmM=", "abc"));                          /* '=' ends a quantum */
    CHECK(SPLITS("base64", "", ""));
    CHECK(SPLITS("base64", "Y", ""));
    {   /* the strict decoder refuses what MIME sends; this one does not */
        const char *wrapped = "SGVsbG8s\r\nIHdvcmxkIQ==";
        char out[32];
        size_t need;
        CHECK(imap_base64_decode(wrapped, strlen(wrapped), out, sizeof out) == IMAP_E_SYNTAX);
        {
            imap_str e = {"base64", 6};
            CHECK(imap_cte_decode(e, wrapped, strlen(wrapped), out, sizeof out, &need) == 13);
            CHECK(memcmp(out, "Hello, world!", 13) == 0);
            CHECK(imap_cte_decode(e, wrapped, strlen(wrapped), out, 12, &need) == IMAP_E_NOMEM);
            CHECK_EQ_INT(need, 13);
        }
    }
    {   /* a base64 round trip of every byte value */
        unsigned char raw[256];
        char enc[400];
        char wrapped[500];
        long n, i, k = 0;
        for (i = 0; i < 256; i++) raw[i] = (unsigned char)i;
        n = imap_base64_encode(raw, 256, enc, sizeof enc);
        for (i = 0; i < n; i++) {               /* wrap at 76 as MIME does */
            wrapped[k++] = enc[i];
            if (i % 76 == 75) { wrapped[k++] = '\r'; wrapped[k++] = '\n'; }
        }
        CHECK(cte_all_splits("base64", wrapped, (size_t)k, (const char *)raw, 256));
    }
}

TEST(quoted_printable)
{
    CHECK(SPLITS("QUOTED-PRINTABLE", "caf=C3=A9 =E2=98=95=\r\net croissants\r\n",
                 "caf\xc3\xa9 \xe2\x98\x95" "et croissants\r\n"));
    CHECK(SPLITS("quoted-printable", "soft=\nbreak, lower =c3=a9", "softbreak, lower \xc3\xa9"));
    /* malformed '=' kept as it is (as Python's quopri) */
    CHECK(SPLITS("quoted-printable", "a=zz b=4 c=", "a=zz b=4 c="));
    CHECK(SPLITS("quoted-printable", "x=3D=3d\r\n", "x==\r\n"));
    CHECK(SPLITS("7bit", "as =3D is", "as =3D is"));
    {
        imap_cte d;
        imap_str e = {"x-uuencode", 10};
        CHECK(imap_cte_init(&d, e) == IMAP_E_UNSUPPORTED);
        CHECK(d.kind == IMAP_CTE_IDENTITY);
    }
}

/* The adapter as the parser's literal sink: the response split at every
   offset gives the decoded part; a literal8 passes through. */
TEST(decode_sink_through_parser)
{
    static const char resp[] =
        "* 3 FETCH (UID 9 BODY[2] {24}\r\nSGVsbG8s\r\nIHdvcmxkIQ==\r\n)\r\n"
        "* 3 FETCH (BINARY[2] ~{5}\r\nab\0cd)\r\n";
    size_t cut, ok = 1;
    for (cut = 0; cut < sizeof resp - 1; cut++) {
        imap_decode_sink ds;
        imap_str e = {"BASE64", 6};
        acc a;
        imap_response *r;
        size_t off = 0, used, parts[2];
        int k, got = 0;
        a.n = 0;
        a.refuse_after = 0;
        imap_parser_init(&P, pmem, sizeof pmem);
        imap_decode_sink_init(&ds, e, acc_fn, &a);
        ds.msgno = 3;
        imap_parser_set_sink(&P, 0, imap_decode_sink_fn, &ds);
        parts[0] = cut;
        parts[1] = sizeof resp - 1 - cut;
        for (k = 0; k < 2; k++) {
            const char *p = resp + off;
            size_t left = parts[k];
            while (left) {
                int rc = imap_parser_feed(&P, p, left, &used, &r);
                if (rc == IMAP_OK) got++;
                else if (rc != IMAP_MORE) ok = 0;
                p += used;
                left -= used;
            }
            off += parts[k];
        }
        if (got != 2 || a.n != 18 || memcmp(a.b, "Hello, world!ab\0cd", 18) != 0 ||
            ds.written != 18 || ds.error)
            ok = 0;
    }
    CHECK(ok);
    {   /* a consumer that refuses: the response is rejected, said once */
        imap_decode_sink ds;
        imap_str e = {"BASE64", 6};
        acc a;
        imap_response *r;
        size_t used;
        a.n = 0;
        a.refuse_after = 1;
        imap_parser_init(&P, pmem, sizeof pmem);
        imap_decode_sink_init(&ds, e, acc_fn, &a);
        imap_parser_set_sink(&P, 0, imap_decode_sink_fn, &ds);
        CHECK(imap_parser_feed(&P, resp, 60, &used, &r) == IMAP_E_SINK);
        CHECK(ds.error == IMAP_E_SINK);
    }
}

/* ---- the client calls over a scripted server ---------------------------- */

static const char nested_bs[] =
    "* 3 FETCH (UID 9 BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 2 1)"
    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 "
    "(NIL \"=?utf-8?q?inner_=E2=98=95?=\" NIL NIL NIL NIL NIL NIL NIL NIL) "
    "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"QUOTED-PRINTABLE\" 1 1)"
    "(\"APPLICATION\" \"OCTET-STREAM\" (\"name\" \"a.bin\") NIL NIL \"BASE64\" 4) \"MIXED\") 5) \"MIXED\"))\r\n";

TEST(section_numbers)
{
    /* RFC 3501 §6.4.5: parts of an attached message are numbered inside it */
    const imap_value *v = bodystructure(nested_bs);
    imap_body b;
    CHECK(v != NULL);
    CHECK(imap__body_at(v, "1", &b) == 0 && imap_str_is(b.subtype, "PLAIN"));
    CHECK(imap__body_at(v, "2", &b) == 0 && imap_str_is(b.subtype, "RFC822"));
    CHECK(imap__body_at(v, "2.1", &b) == 0 && imap_str_is(b.encoding, "QUOTED-PRINTABLE"));
    CHECK(imap__body_at(v, "2.2", &b) == 0 && imap_str_is(b.encoding, "BASE64"));
    CHECK(imap__body_at(v, "3", &b) == 1);
    CHECK(imap__body_at(v, "1.1", &b) == 1);
    CHECK(imap__body_at(v, "2.3", &b) == 1);
    CHECK(imap__body_at(v, "0", &b) == IMAP_E_ARGS);
    CHECK(imap__body_at(v, "2.", &b) == IMAP_E_ARGS);
    CHECK(imap__body_at(v, "2..1", &b) == IMAP_E_ARGS);
    CHECK(imap__body_at(v, "x", &b) == IMAP_E_ARGS);
    v = bodystructure("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 4 1))\r\n");
    CHECK(imap__body_at(v, "1", &b) == 0 && imap__body_at(v, "2", &b) == 1);
}

static unsigned char cmem[64 * 1024];

static int dummy_sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    (void)ctx; (void)info; (void)data; (void)len;
    return 0;
}

/* BINARY refused ([UNKNOWN-CTE], RFC 3516 §4.3): decoded here, from a
   body that came as a quoted string; the caller's sink is given back. */
TEST(fetch_part_falls_back_from_binary)
{
    static char bs_ok[sizeof nested_bs + 32];
    imap_script_step steps[] = {
        {IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 BINARY] hi\r\n", 0},
        {IMAP_SCRIPT_EXPECT, "BAAA0 UID FETCH 9 (UID BODYSTRUCTURE)\r\n", 0},
        {IMAP_SCRIPT_REPLY, bs_ok, 0},
        {IMAP_SCRIPT_EXPECT, "BAAA1 UID FETCH 9 (UID BINARY.PEEK[2.2])\r\n", 0},
        {IMAP_SCRIPT_REPLY, "BAAA1 NO [UNKNOWN-CTE] cannot\r\n", 0},
        {IMAP_SCRIPT_EXPECT, "BAAA2 UID FETCH 9 (UID BODY.PEEK[2.2])\r\n", 0},
        {IMAP_SCRIPT_REPLY, "* 3 FETCH (UID 9 BODY[2.2] \"SGVs\r\nbG8=\")\r\nBAAA2 OK done\r\n", 0},
    };
    imap_script sc;
    imap_transport t;
    imap_client c;
    imap_part_info info;
    acc a;
    strcpy(bs_ok, nested_bs);
    strcat(bs_ok, "BAAA0 OK done\r\n");
    /* a quoted string cannot hold CR LF: use the literal-free form */
    steps[6].data = "* 3 FETCH (UID 9 BODY[2.2] \"SGVsbG8=\")\r\nBAAA2 OK done\r\n";
    imap_script_init(&sc, steps, sizeof steps / sizeof steps[0], &t);
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_seed_tags(&c, 0);
    imap_client_set_timeout(&c, 2000);      /* a script that stalls fails */
    CHECK_EQ_INT(imap_client_open(&c, &t), IMAP_OK);
    imap_parser_set_sink(imap_client_parser(&c), 77, dummy_sink, &a);
    a.n = 0;
    a.refuse_after = 0;
    CHECK_EQ_INT(imap_fetch_part(&c, 9, "2.2", 0, acc_fn, &a, &info), IMAP_OK);
    CHECK(a.n == 5 && memcmp(a.b, "Hello", 5) == 0);
    CHECK_EQ_INT(info.found, 2);
    CHECK(strcmp(info.encoding, "BASE64") == 0 && strcmp(info.type, "application/octet-stream") == 0);
    CHECK_EQ_INT(info.size, 4);
    CHECK_EQ_INT(info.written, 5);
    CHECK_EQ_INT(info.server_decoded, 0);
    CHECK(imap_client_parser(&c)->sink == dummy_sink && imap_client_parser(&c)->sink_threshold == 77);
    CHECK(imap_script_done(&sc));
    if (sc.mismatch)
        printf("    script step %u: got \"%.*s\"\n", (unsigned)sc.mismatch_step,
               (int)sc.mismatch_got_len, (const char *)sc.mismatch_got);
}

/* BINARY accepted: the literal8 is the part as it is; no such part and
   no such message are told apart. */
TEST(fetch_part_binary_and_missing)
{
    static char bs_ok[sizeof nested_bs + 32], bs_ok2[sizeof nested_bs + 32];
    imap_script_step steps[] = {
        {IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 BINARY] hi\r\n", 0},
        {IMAP_SCRIPT_EXPECT, "BAAA0 UID FETCH 9 (UID BODYSTRUCTURE)\r\n", 0},
        {IMAP_SCRIPT_REPLY, bs_ok, 0},
        {IMAP_SCRIPT_EXPECT, "BAAA1 UID FETCH 9 (UID BINARY.PEEK[2.1])\r\n", 0},
        {IMAP_SCRIPT_REPLY, "* 3 FETCH (UID 9 BINARY[2.1] ~{3}\r\na=\0)\r\nBAAA1 OK done\r\n", 56},
        {IMAP_SCRIPT_EXPECT, "BAAA2 UID FETCH 9 (UID BODYSTRUCTURE)\r\n", 0},
        {IMAP_SCRIPT_REPLY, bs_ok2, 0},
        {IMAP_SCRIPT_EXPECT, "BAAA3 UID FETCH 10 (UID BODYSTRUCTURE)\r\n", 0},
        {IMAP_SCRIPT_REPLY, "BAAA3 OK nothing\r\n", 0},
    };
    imap_script sc;
    imap_transport t;
    imap_client c;
    imap_part_info info;
    acc a;
    strcpy(bs_ok, nested_bs);
    strcat(bs_ok, "BAAA0 OK done\r\n");
    strcpy(bs_ok2, nested_bs);
    strcat(bs_ok2, "BAAA2 OK done\r\n");
    imap_script_init(&sc, steps, sizeof steps / sizeof steps[0], &t);
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_seed_tags(&c, 0);
    imap_client_set_timeout(&c, 2000);      /* a script that stalls fails */
    CHECK_EQ_INT(imap_client_open(&c, &t), IMAP_OK);
    a.n = 0;
    a.refuse_after = 0;
    CHECK_EQ_INT(imap_fetch_part(&c, 9, "2.1", 0, acc_fn, &a, &info), IMAP_OK);
    CHECK(a.n == 3 && memcmp(a.b, "a=\0", 3) == 0);      /* not QP-decoded again */
    CHECK_EQ_INT(info.server_decoded, 1);
    CHECK_EQ_INT(imap_fetch_part(&c, 9, "4", 0, acc_fn, &a, &info), IMAP_E_ARGS);
    CHECK_EQ_INT(info.found, 1);
    CHECK_EQ_INT(imap_fetch_part(&c, 10, "1", 0, acc_fn, &a, &info), IMAP_E_ARGS);
    CHECK_EQ_INT(info.found, 0);
    /* a malformed section never reaches the server (no injection) */
    CHECK_EQ_INT(imap_fetch_part(&c, 9, "1..2", 0, acc_fn, &a, &info), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_fetch_part(&c, 9, "1] BODY[", 0, acc_fn, &a, &info), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_fetch_part(&c, 9, "01", 0, acc_fn, &a, &info), IMAP_E_ARGS);
    CHECK(imap_script_done(&sc));
    if (sc.mismatch)
        printf("    script step %u: got \"%.*s\"\n", (unsigned)sc.mismatch_step,
               (int)sc.mismatch_got_len, (const char *)sc.mismatch_got);
}

TEST(summary_of_a_fetch)
{
    imap_response *r = NULL;
    imap_summary s;
    size_t used;
    char small[8];
    static const char resp[] =
        "* 4 FETCH (UID 12 ENVELOPE (\"Mon, 4 Mar 2024 10:00:00 +0100\" "
        "\"=?utf-8?q?Caf=C3=A9?= =?utf-8?b?IOKYlQ==?=\" "
        "((\"=?iso-8859-1?q?Andr=E9?= Pirard\" NIL \"andre\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<x@y>\"))\r\n";
    imap_parser_init(&P, pmem, sizeof pmem);
    CHECK(imap_parser_feed(&P, resp, sizeof resp - 1, &used, &r) == IMAP_OK);
    CHECK_EQ_INT(imap_summary_decode(r, buf, sizeof buf, NULL, &s), 0);
    CHECK_EQ_INT(s.uid, 12);
    CHECK_EQ_INT(s.msgno, 4);
    CHECK(strcmp(s.subject, "Caf\xc3\xa9 \xe2\x98\x95") == 0);
    CHECK(strcmp(s.from, "Andr\xc3\xa9 Pirard <andre@example.org>") == 0);
    CHECK(strcmp(s.date, "Mon, 4 Mar 2024 10:00:00 +0100") == 0);
    CHECK_EQ_INT(imap_summary_decode(r, small, sizeof small, NULL, &s), IMAP_E_NOMEM);
    CHECK(s.needed == 30 + 1 + 33 + 1 + 9 + 1 && s.subject[0] == 0);
    CHECK_EQ_INT(imap_summary_decode(r, buf, s.needed, NULL, &s), 0);
}

int main(void)
{
    RUN(rfc2047_section8_examples);
    RUN(encoded_words);
    RUN(sizes_and_measuring);
    RUN(rfc2231_examples);
    RUN(file_names);
    RUN(base64_mime);
    RUN(quoted_printable);
    RUN(decode_sink_through_parser);
    RUN(section_numbers);
    RUN(fetch_part_falls_back_from_binary);
    RUN(fetch_part_binary_and_missing);
    RUN(summary_of_a_fetch);
    return test_summary();
}
