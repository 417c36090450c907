/* imap.h - v0.1.0 - IMAP4rev1 / IMAP4rev2 client in one file, zero allocation.
   No warranty implied; use at your own risk. License: see end of file.

   Do this:
       #define IMAP_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the
   implementation. Every other file includes it plainly for the declarations.

TABLE OF CONTENTS
   1. Config and platform      6. Command builders and quoting
   2. Results                  7. Protocol engine
   3. Arena                    8. Transports
   4. Response parser          9. Client (imaplib-shaped)
   5. Typed views              6b. MIME decoding

CONVENTIONS (in BearSSL's words, because they are the right ones)
   - imap.h performs no dynamic memory allocation. Every context and every
     buffer is supplied by the caller; there is nothing to release.
   - Structures are declared so callers know their sizes; fields whose
     names start with an underscore are private and SHALL NOT be touched.
   - Pointer parameters SHALL NOT be NULL unless the comment says so.
   - Strings are (pointer, length) pairs (imap_str) and are not
     NUL-terminated unless a comment says so: server strings may hold NUL.

COMPILE-TIME OPTIONS (define before including, in the implementation TU)
   IMAP_STATIC          make every function static (one TU uses it all)
   IMAPDEF              decoration of public functions (default extern)
   IMAP_ASSERT(x)       assertion for programming errors (default assert)
   IMAP_NO_POSIX        drop the POSIX socket and subprocess transports
                        (set by itself where neither __unix__ nor
                        __APPLE__ is defined: bare metal, Windows)
   IMAP_NO_WINSOCK      on Windows, drop the Winsock TCP transport
   IMAP_WITH_BEARSSL    TLS transport and the hash-based SASL mechanisms
   IMAP_WITH_ZLIB       COMPRESS=DEFLATE transport
   IMAP_NO_SIMD         no SSE2 fast path in the parser
   IMAP_NO_MIME         drop MIME decoding (section 6b) and the client
                        calls built on it (imap_fetch_part, summaries)
   IMAP_NO_CHARSETS     MIME decoding with UTF-8 and US-ASCII only built
                        in (no ISO-8859-1/-15, Windows-1252)
   IMAP_MIME_CONVERT_BYTES  largest piece given to a charset converter (256)
   IMAP_MAX_DEPTH       deepest list nesting the parser accepts (64)
   IMAP_MAX_PENDING     command slots inside the client (32; more in caller
                        memory: imap_client_set_queue)
   IMAP_CMD_MAX_SEGMENTS  pieces of one command: lines and literals (16)
   IMAP_CAPS_BYTES      room for the capability list (2048)
   IMAP_READ_CHUNK      bytes read from a transport at a time (4096)
   IMAP_DEBUG_LINES, IMAP_DEBUG_LINE_BYTES  the ring of recent lines (20, 120)
   IMAP_SASL_BYTES      largest SASL message (1024; raise for OAuth tokens)
   IMAP_INJECT_BYTES    room for SASL answers and DONE (2 * IMAP_SASL_BYTES)
   IMAP_SCRAM_MAX_ITERATIONS  refuse costlier SCRAM (1000000)
   IMAP_TLS_BUFSIZE     BearSSL record buffer (BR_SSL_BUFSIZE_BIDI)
   IMAP_DEFLATE_LEVEL, IMAP_DEFLATE_OUT  COMPRESS tuning (section 8e)
   Defining IMAP_MALLOC or IMAP_FREE is an error: imap.h never allocates.

MEMORY MODEL
   The parser owns one caller buffer (imap_parser_init). A response's raw
   bytes and its value tree live there until the next imap_parser_feed().
   Its high-water mark (imap_parser_high_water) tells how much a workload
   really needed. A response that does not fit is reported (IMAP_E_NOMEM)
   and skipped; the session goes on. Literals larger than a threshold go to
   a sink callback in chunks instead of the buffer.

ERROR MODEL
   Every call returns an imap_result: 0 is success, IMAP_MORE (positive)
   means "feed more input", negative values are failures. Each failure has
   a class that mirrors imaplib's exceptions: error (the caller's mistake,
   a NO/BAD, a rejected response), abort (the connection is finished) and
   readonly (the selected mailbox turned READ-ONLY). imap_result_name()
   and imap_result_str() describe a code.
*/
#ifndef IMAP_H_INCLUDED
#define IMAP_H_INCLUDED

#define IMAP_VERSION_MAJOR 0
#define IMAP_VERSION_MINOR 1
#define IMAP_VERSION_PATCH 0
#define IMAP_VERSION_STRING "0.1.0"

#include <stddef.h>

/* Under IMAP_STATIC every function is static; marked unused, so a TU
   that calls only some of them still builds under -Wall -Werror. */
#if defined(__GNUC__) || defined(__clang__)
#define IMAP__UNUSED __attribute__((unused))
#else
#define IMAP__UNUSED
#endif
#ifndef IMAPDEF
#ifdef IMAP_STATIC
#define IMAPDEF static IMAP__UNUSED
#else
#define IMAPDEF extern
#endif
#endif

#if defined(IMAP_MALLOC) || defined(IMAP_FREE) || defined(IMAP_REALLOC)
#error "imap.h never allocates: give it caller memory (imap_parser_init, imap_arena_init)"
#endif

#ifndef IMAP_MAX_DEPTH
#define IMAP_MAX_DEPTH 64
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
   1. CONFIG AND PLATFORM
   ====================================================================== */

/* The POSIX transports need a Unix: on any other target (bare metal, an
   RTOS, Windows) they are left out as if IMAP_NO_POSIX were given. */
#if !defined(IMAP_NO_POSIX) && !defined(__unix__) && !defined(__APPLE__)
#define IMAP_NO_POSIX
#endif

/* 64-bit unsigned: MODSEQ is 63-bit (RFC 7162 §7), literal sizes may pass
   4 GiB. C99 and C++11 both have long long. */
typedef unsigned long long imap_u64;

/* A byte string that points into memory someone else owns. */
typedef struct imap_str {
    const char *ptr;
    size_t len;
} imap_str;

/* ======================================================================
   2. RESULTS
   ====================================================================== */

/* X(name, value, class, description). Classes mirror imaplib's exceptions:
   NONE (not a failure), ERROR, ABORT (connection finished), READONLY. */
#define IMAP_RESULTS(X) \
    X(OK,            0, NONE,     "success") \
    X(MORE,          1, NONE,     "more input needed (not an error)") \
    X(E_ARGS,       -1, ERROR,    "invalid argument") \
    X(E_STATE,      -2, ERROR,    "not valid in the current connection state") \
    X(E_NOMEM,      -3, ERROR,    "caller buffer or arena too small") \
    X(E_SYNTAX,     -4, ERROR,    "malformed server response") \
    X(E_LIMIT,      -5, ERROR,    "line, literal or nesting over its limit") \
    X(E_NO,         -6, ERROR,    "server answered NO") \
    X(E_BAD,        -7, ERROR,    "server answered BAD") \
    X(E_CAPABILITY, -8, ERROR,    "server lacks a capability the call needs") \
    X(E_SINK,       -9, ERROR,    "literal sink refused the data") \
    X(E_AUTH,      -10, ERROR,    "authentication failed") \
    X(E_PLAINTEXT, -11, ERROR,    "refused to send credentials without TLS") \
    X(E_UNSUPPORTED,-12, ERROR,   "feature not compiled in") \
    X(E_READONLY,  -13, READONLY, "mailbox changed from READ-WRITE to READ-ONLY") \
    X(E_IO,        -14, ABORT,    "transport read or write failed") \
    X(E_CLOSED,    -15, ABORT,    "connection closed") \
    X(E_BYE,       -16, ABORT,    "server said BYE") \
    X(E_TIMEOUT,   -17, ABORT,    "server did not answer in time") \
    X(E_PROTOCOL,  -18, ABORT,    "server violated the protocol") \
    X(E_TLS,       -19, ABORT,    "TLS failure") \
    X(E_TLS_UNKNOWN_CA, -20, ABORT, "certificate not signed by a trusted CA") \
    X(E_TLS_EXPIRED,   -21, ABORT, "certificate expired or not yet valid") \
    X(E_TLS_HOSTNAME,  -22, ABORT, "certificate does not match the host name") \
    X(E_TLS_HANDSHAKE, -23, ABORT, "TLS handshake failed") \
    X(E_TLS_CLOSED,    -24, ABORT, "TLS peer closed the connection") \
    X(E_BUSY,      -25, ERROR,    "every command slot is in use: let some complete") \
    X(E_DROPPED,   -26, ERROR,    "untagged data did not fit the per-name store") \
    X(E_CAPS_CUT,      -27, ERROR, "capability list larger than IMAP_CAPS_BYTES: no credentials sent") \
    X(E_TLS_POLICY,    -28, ABORT, "certificate refused: weak key or signature, or not for servers")

typedef enum imap_result {
#define IMAP__RESULT_ENUM(name, value, cls, text) IMAP_##name = value,
    IMAP_RESULTS(IMAP__RESULT_ENUM)
#undef IMAP__RESULT_ENUM
    IMAP_RESULT_MIN = -28
} imap_result;

typedef enum imap_result_class {
    IMAP_CLASS_NONE = 0,
    IMAP_CLASS_ERROR,
    IMAP_CLASS_ABORT,
    IMAP_CLASS_READONLY
} imap_result_class;

/* "E_SYNTAX" for IMAP_E_SYNTAX; "?" for a value that is no code. */
IMAPDEF const char *imap_result_name(int r);
/* A one-line English description. */
IMAPDEF const char *imap_result_str(int r);
/* Which of imaplib's exception classes a code belongs to. */
IMAPDEF imap_result_class imap_result_class_of(int r);

/* ======================================================================
   3. ARENA
   ====================================================================== */

/* A bump allocator over caller memory. Out of room returns NULL and
   records in `needed` how many bytes the request would have taken in all,
   so a caller can size the buffer; `high` is the high-water mark. */
typedef struct imap_arena {
    unsigned char *base;
    size_t cap;
    size_t used;
    size_t high;
    size_t needed;
} imap_arena;

IMAPDEF void   imap_arena_init(imap_arena *a, void *mem, size_t cap);
/* align MUST be a power of two (1 for bytes). */
IMAPDEF void  *imap_arena_alloc(imap_arena *a, size_t size, size_t align);
IMAPDEF size_t imap_arena_mark(const imap_arena *a);
/* Pop back to a mark taken earlier; later allocations reuse the space. */
IMAPDEF void   imap_arena_release(imap_arena *a, size_t mark);

/* ======================================================================
   4. RESPONSE PARSER
   ======================================================================

   Sans-I/O and push-based: feed server bytes in chunks of any size and
   take complete responses one at a time. The same stream split any way
   gives the same responses. Each response is framed by lines and literals
   first, then parsed into a tree of imap_value; a response that does not
   parse or does not fit is reported with its offset and skipped to its
   end, and the next one parses (RFC 3501 §7, §9; RFC 9051 §7, §9).

   Nothing recurses on server input: nesting uses an explicit stack of at
   most IMAP_MAX_DEPTH levels. Every number and length is checked for
   overflow. */

typedef enum imap_value_type {
    IMAP_NIL = 0,
    IMAP_ATOM,     /* atoms, flags (\Seen), fetch names with sections */
    IMAP_NUMBER,   /* all-digit token that fits 64 bits; text kept too */
    IMAP_STRING,   /* quoted string, literal {n} or literal8 ~{n} */
    IMAP_LIST      /* ( ... ), or [ ... ] for a response code */
} imap_value_type;

/* imap_value.flags */
#define IMAP_VF_QUOTED   0x01u /* a quoted string */
#define IMAP_VF_LITERAL  0x02u /* a literal {n} */
#define IMAP_VF_BINARY   0x04u /* a literal8 ~{n} (RFC 3516) */
#define IMAP_VF_SUNK     0x08u /* literal bytes went to the sink: str is
                                  NULL, num is the literal's length (len
                                  too, saturated where size_t is 32 bits) */
#define IMAP_VF_CODE     0x10u /* the list is a response code [ ... ] */

/* One node of a parsed response. Lists keep their children as a chain:
   `child` is the first, each child's `next` the one after it. Lifetime:
   until the next imap_parser_feed() on the parser that made it. */
typedef struct imap_value {
    unsigned char type;     /* imap_value_type */
    unsigned char flags;    /* IMAP_VF_* */
    unsigned int count;     /* children of a list */
    size_t len;             /* bytes of an atom, number or string */
    const char *str;        /* those bytes (not NUL-terminated) */
    imap_u64 num;           /* value of an IMAP_NUMBER */
    struct imap_value *next;
    struct imap_value *child;
} imap_value;

typedef enum imap_response_kind {
    IMAP_RESP_UNTAGGED = 0, /* "* ..." */
    IMAP_RESP_TAGGED,       /* "A1 OK ..." */
    IMAP_RESP_CONTINUE      /* "+ ..." */
} imap_response_kind;

typedef enum imap_resp_status {
    IMAP_STATUS_NONE = 0,   /* untagged data, continuation */
    IMAP_STATUS_OK,
    IMAP_STATUS_NO,
    IMAP_STATUS_BAD,
    IMAP_STATUS_BYE,
    IMAP_STATUS_PREAUTH
} imap_resp_status;

/* A complete response. Status responses (OK/NO/BAD/BYE/PREAUTH) and
   continuations have `code` and `text`; untagged data has `items` (every
   item after "*"), with `number` set for "* 5 EXISTS"-shaped responses,
   `name` the response name ("EXISTS", "FETCH", "LIST", ...) and `args`
   the items after the name. */
typedef struct imap_response {
    int kind;               /* imap_response_kind */
    int status;             /* imap_resp_status */
    imap_str tag;           /* "A1"; "*" or "+" otherwise */
    imap_str name;          /* status word or data name, as received */
    imap_value *code;       /* response code list ([ATOM args...]) or NULL */
    imap_str text;          /* human-readable text (status, continuation) */
    imap_value *items;      /* untagged data: first item */
    imap_value *args;       /* untagged data: first item after the name */
    imap_u64 number;        /* "* 5 EXISTS": 5 */
    int has_number;
    imap_u64 offset;        /* stream offset of the response's first byte */
    size_t raw_len;         /* bytes the response held in the buffer */
} imap_response;

/* Where a sunk literal came from: passed to the sink with every chunk. */
typedef struct imap_literal_info {
    imap_u64 msgno;         /* "* 12 FETCH": 12; 0 outside FETCH */
    imap_str item;          /* attribute before the literal, as received:
                               "BODY[1.2]<0>", "RFC822"; valid in the call */
    imap_u64 offset;        /* offset of this chunk within the literal */
    imap_u64 total;         /* literal length */
    unsigned index;         /* n-th literal of the response, from 0 */
    int binary;             /* literal8 */
} imap_literal_info;

/* Receives literal bytes in order; the last call of a literal has
   info->offset + len == info->total (a zero-length literal gets one call
   with len 0). Return 0 to go on; any other value rejects the response
   with IMAP_E_SINK (its remaining bytes are skipped). */
typedef int (*imap_literal_sink)(void *ctx, const imap_literal_info *info,
                                 const void *data, size_t len);

/* Receives the numbers of SEARCH and SORT, the ALL set of ESEARCH and
   the set of VANISHED as they are read (RFC 3501 §7.2.5, RFC 5256,
   RFC 4731, RFC 7162 §3.2.10), so a million-number SEARCH needs no
   million-number buffer: one call per number or range lo..hi (lo <= hi),
   with the response's name. Return 0 to go on; any other value rejects
   the response with IMAP_E_SINK. */
typedef int (*imap_number_sink)(void *ctx, imap_str response, imap_u64 lo,
                                imap_u64 hi);

/* The parser's state: a plain struct the caller places anywhere. */
typedef struct imap_parser {
    imap_arena arena;
    /* settings (set after init; zero means the default) */
    size_t max_line;          /* longest line accepted (0: buffer size) */
    imap_u64 max_literal;     /* largest literal accepted (0xFFFFFFFF) */
    size_t sink_threshold;    /* literals longer than this go to the sink */
    imap_literal_sink sink;
    void *sink_ctx;
    imap_number_sink number_sink;
    void *number_ctx;
    /* last rejected response (valid until the next feed) */
    int error;                /* imap_result of the last rejection */
    imap_u64 error_offset;    /* absolute stream offset of the fault */
    imap_str error_line;      /* start of its first line, for a log */
    /* private */
    int _state;
    int _fail;                /* pending rejection of this response */
    int _reported;            /* _fail was already returned */
    imap_u64 _fail_off;       /* stream offsets pass 4 GiB on 32-bit size_t */
    imap_u64 _stream_off;     /* absolute offset of the next byte */
    imap_u64 _resp_off;
    size_t _line_start;       /* buffer offset of the current line */
    size_t _line_len;         /* bytes seen of the current line */
    int _first_line;
    int _no_literals;         /* first line is status/continuation */
    int _lit_mode;
    imap_u64 _lit_left;
    imap_u64 _lit_total;
    imap_u64 _msgno;
    /* the client's per-call sinks: _pick sees each response's first line
       and may name the sink for all of its literals (_resp_sink) */
    int (*_pick)(void *ctx, const unsigned char *line, size_t n,
                 imap_literal_sink *sink, void **sink_ctx);
    void *_pick_ctx;
    imap_literal_sink _resp_sink;
    void *_resp_sink_ctx;
    unsigned _lit_index;
    int _lit_binary;
    size_t _item_off;         /* the sunk literal's attribute, in the buffer */
    size_t _item_len;
    int _num_mode;            /* number streaming: 0 undecided, 1 on, 2 off */
    int _num_kind;            /* 1 SEARCH/SORT, 2 ESEARCH, 3 VANISHED */
    int _num_tok;             /* 0 between tokens, 1 in a number, 2 other */
    int _num_depth, _num_quote, _num_esc, _num_after_all, _num_have_lo;
    unsigned _num_digits, _num_wlen;
    imap_u64 _num_acc, _num_lo;
    char _num_word[4];        /* start of the token, to spot ESEARCH's ALL */
    char _num_name[12];
    size_t _num_name_len;
    unsigned char _tail[32];  /* end of a line too long to keep */
    size_t _tail_len;
    /* a response rejected for want of room: what keeping it would take */
    int _need_on, _need_tok;
    imap_u64 _need_raw, _need_nodes;
    imap_response _resp;
    imap_value *_stack[IMAP_MAX_DEPTH + 1];
} imap_parser;

/* Give the parser its buffer: raw response bytes and value trees live in
   mem[0..cap). 4 KiB holds typical responses; FETCH of ENVELOPE and
   BODYSTRUCTURE wants 16-64 KiB; see imap_parser_high_water(). */
IMAPDEF void imap_parser_init(imap_parser *p, void *mem, size_t cap);

/* Send literals longer than `threshold` bytes to `sink` instead of the
   buffer (sink NULL: never). */
IMAPDEF void imap_parser_set_sink(imap_parser *p, size_t threshold,
                                  imap_literal_sink sink, void *ctx);

/* Stream the numbers of SEARCH, SORT, ESEARCH ALL and VANISHED to `sink`
   (NULL: keep them in the tree). The response then arrives without them:
   SEARCH and SORT with no numbers, ESEARCH with ALL NIL, VANISHED with
   no set. A malformed number is IMAP_E_SYNTAX at the response start. */
IMAPDEF void imap_parser_set_number_sink(imap_parser *p, imap_number_sink sink,
                                         void *ctx);

/* Feed bytes. Returns:
     IMAP_OK    a complete response is in *out; *consumed bytes were used
                (call again with the rest);
     IMAP_MORE  all `len` bytes were consumed, no response completed yet;
     < 0        a response was rejected (p->error, p->error_offset,
                p->error_line say which and where); *consumed bytes were
                used; call again with the rest to go on.
   *out is valid until the next call. */
IMAPDEF imap_result imap_parser_feed(imap_parser *p, const void *data,
                                     size_t len, size_t *consumed,
                                     imap_response **out);

/* 1 when the parser is between responses (EOF here is clean), else 0. */
IMAPDEF int imap_parser_idle(const imap_parser *p);

/* Most buffer bytes any response has needed so far, counting those
   rejected with IMAP_E_NOMEM: a buffer this large keeps them all (for a
   rejected response an upper bound, within a few nodes). */
IMAPDEF size_t imap_parser_high_water(const imap_parser *p);

/* Forget any partial response (after a reconnect). Settings stay. */
IMAPDEF void imap_parser_reset(imap_parser *p);

/* ======================================================================
   5. TYPED VIEWS
   ======================================================================

   Decoders over the value tree. None allocates; each fills a caller
   struct whose strings point into the parser's buffer. NIL strings decode
   as {NULL, 0}. Nested structures (BODYSTRUCTURE parts, address lists)
   are walked by the caller with iterators, so nothing recurses. */

/* Case-insensitive comparison of an atom (or string) with a C string. */
IMAPDEF int imap_value_is(const imap_value *v, const char *s);
IMAPDEF int imap_str_is(imap_str s, const char *cstr);
/* Child i of a list (0-based), or NULL. */
IMAPDEF const imap_value *imap_list_at(const imap_value *list, unsigned i);
/* The bytes of an atom, number or string; NIL gives {NULL,0}. Returns 0
   on success, IMAP_E_SYNTAX for a list, IMAP_E_SINK (and {NULL,0}) for a
   literal whose bytes went to the sink (IMAP_VF_SUNK). */
IMAPDEF int imap_value_str(const imap_value *v, imap_str *out);
/* A number (also an atom of digits); IMAP_E_SYNTAX otherwise. */
IMAPDEF int imap_value_u64(const imap_value *v, imap_u64 *out);

/* Is this an untagged response named `name` ("FETCH", "LIST", ...)? */
IMAPDEF int imap_response_is(const imap_response *r, const char *name);
/* The response code's atom ("UIDNEXT"), or {NULL,0}. */
IMAPDEF imap_str imap_response_code_name(const imap_response *r);
/* The code's first argument, or NULL. */
IMAPDEF const imap_value *imap_response_code_arg(const imap_response *r);

/* CAPABILITY: is `cap` among the atoms from `first` on (case-insens.)? */
IMAPDEF int imap_caps_has(const imap_value *first, const char *cap);

/* FETCH (RFC 3501 §7.4.2, RFC 9051 §7.5.2): one attribute. */
typedef struct imap_fetch_attr {
    imap_str name;          /* "BODY", "UID", "X-GM-LABELS", ... */
    imap_str section;       /* inside [ ]: "HEADER.FIELDS (FROM TO)" */
    int has_section;
    int has_origin;         /* <origin> present */
    imap_u64 origin;
    const imap_value *key;  /* the attribute atom as received */
    const imap_value *value;
} imap_fetch_attr;

typedef struct imap_fetch_iter {
    const imap_value *_next;
} imap_fetch_iter;

/* Start iterating a "* n FETCH (...)" response; IMAP_E_SYNTAX if it is not
   one. imap_fetch_next returns 1 with *out filled, 0 at the end, or
   IMAP_E_SYNTAX for a malformed pair. */
IMAPDEF int imap_fetch_begin(const imap_response *r, imap_fetch_iter *it);
IMAPDEF int imap_fetch_next(imap_fetch_iter *it, imap_fetch_attr *out);
/* The value of attribute `name` (name with section as received, e.g.
   "BODY[TEXT]", case-insensitive), or NULL. */
IMAPDEF const imap_value *imap_fetch_get(const imap_response *r,
                                         const char *name);

/* ENVELOPE (RFC 3501 §7.4.2). Address lists are left as values: walk
   them with imap_address_next. */
typedef struct imap_envelope {
    imap_str date, subject;
    const imap_value *from, *sender, *reply_to, *to, *cc, *bcc;
    imap_str in_reply_to, message_id;
} imap_envelope;

IMAPDEF int imap_envelope_decode(const imap_value *v, imap_envelope *out);

/* One address. Group syntax (RFC 3501 §7.4.2): a group starts with an
   address whose host is NIL (mailbox holds the group name) and ends with
   one whose mailbox and host are both NIL. */
typedef struct imap_address {
    imap_str name, adl, mailbox, host;
    int group_start;
    int group_end;
} imap_address;

/* *cursor starts as the address list value (NIL is an empty list); each
   call returns 1 and fills *out, 0 at the end, IMAP_E_SYNTAX if bad. */
IMAPDEF int imap_address_next(const imap_value **cursor, imap_address *out);

/* BODYSTRUCTURE / BODY (RFC 3501 §7.4.2, RFC 9051 §7.5.2). One part; a
   multipart's children are walked from `parts` along ->next and decoded
   the same way, so nesting costs the library no stack. */
typedef struct imap_body {
    int multipart;
    imap_str type, subtype;         /* "TEXT", "PLAIN"; "MULTIPART", "MIXED" */
    const imap_value *params;       /* (name value ...) or NIL */
    imap_str id, description, encoding;
    imap_u64 size;                  /* octets */
    imap_u64 lines;                 /* TEXT and MESSAGE/RFC822 */
    int has_lines;
    const imap_value *envelope;     /* MESSAGE/RFC822 */
    const imap_value *body;         /* MESSAGE/RFC822: the inner body */
    const imap_value *parts;        /* multipart: first child part */
    unsigned nparts;
    imap_str md5;
    imap_str disposition;           /* "ATTACHMENT", {NULL,0} if none */
    const imap_value *disposition_params;
    const imap_value *language;     /* string or list or NULL */
    imap_str location;
    const imap_value *extension;    /* anything after location, or NULL */
} imap_body;

IMAPDEF int imap_body_decode(const imap_value *v, imap_body *out);
/* Walk a (name value name value ...) parameter list: *cursor starts as
   the list (NIL is empty); returns 1, 0 at the end, or IMAP_E_SYNTAX. */
IMAPDEF int imap_param_next(const imap_value **cursor, imap_str *name,
                            imap_str *value);

/* LIST / LSUB (RFC 3501 §7.2.2, RFC 5258 extended data). */
typedef struct imap_list_info {
    const imap_value *attributes;   /* (\HasNoChildren \Sent ...) */
    int delimiter;                  /* the hierarchy character, -1 NIL */
    imap_str mailbox;               /* as received: modified UTF-7 under rev1,
                                       UTF-8 once c->utf8 (imap_list_name) */
    const imap_value *extended;     /* LIST-EXTENDED items, or NULL */
} imap_list_info;

IMAPDEF int imap_list_decode(const imap_response *r, imap_list_info *out);
/* The mailbox's real name in UTF-8, NUL-terminated, to show or to pass
   back to any command: `utf8` is the client's c->utf8 (UTF-8 names in
   effect: the name is copied), else it is decoded from modified UTF-7
   (RFC 3501 §5.1.3; IMAP_E_SYNTAX when it is not valid mUTF-7). Decoding
   a rev2 name would give another mailbox ("&AOQ-" is not "\xc3\xa4").
   Returns the length, IMAP_E_NOMEM when cap is too small (out NULL
   measures), as the encodings of section 6. */
IMAPDEF long imap_list_name(const imap_list_info *li, int utf8, char *out, size_t cap);
/* Is flag `flag` ("\\Noselect") in a flag list (case-insensitive)? */
IMAPDEF int imap_flags_has(const imap_value *list, const char *flag);

/* STATUS (RFC 3501 §7.2.4, RFC 9051 §7.2.4, RFC 8438, RFC 7162). */
#define IMAP_ST_MESSAGES      0x001u
#define IMAP_ST_RECENT        0x002u
#define IMAP_ST_UIDNEXT       0x004u
#define IMAP_ST_UIDVALIDITY   0x008u
#define IMAP_ST_UNSEEN        0x010u
#define IMAP_ST_HIGHESTMODSEQ 0x020u
#define IMAP_ST_SIZE          0x040u
#define IMAP_ST_DELETED       0x080u
#define IMAP_ST_APPENDLIMIT   0x100u

typedef struct imap_status_info {
    imap_str mailbox;
    unsigned has;                   /* IMAP_ST_* present */
    imap_u64 messages, recent, uidnext, uidvalidity, unseen,
             highestmodseq, size, deleted, appendlimit;
} imap_status_info;

IMAPDEF int imap_status_decode(const imap_response *r, imap_status_info *out);

/* SEARCH, SORT (RFC 5256): numbers after the name. *cursor starts at
   r->args; returns 1 with *out, 0 at the end. A trailing (MODSEQ n) of
   RFC 7162 §3.1.5 is skipped (imap_search_modseq reads it). */
IMAPDEF int imap_numbers_next(const imap_value **cursor, imap_u64 *out);
IMAPDEF int imap_search_modseq(const imap_response *r, imap_u64 *out);

/* ESEARCH (RFC 4731, RFC 9051 §7.3.4). */
#define IMAP_ES_MIN    0x01u
#define IMAP_ES_MAX    0x02u
#define IMAP_ES_COUNT  0x04u
#define IMAP_ES_ALL    0x08u
#define IMAP_ES_MODSEQ 0x10u

typedef struct imap_esearch {
    imap_str tag;                   /* (TAG "A1"), or {NULL,0} */
    int uid;
    unsigned has;
    imap_u64 min, max, count, modseq;
    imap_str all;                   /* sequence set */
} imap_esearch;

IMAPDEF int imap_esearch_decode(const imap_response *r, imap_esearch *out);

/* NAMESPACE (RFC 2342): three values, each NIL or a list of
   (prefix delimiter ...) entries; walk one with imap_namespace_next. */
typedef struct imap_namespace_info {
    const imap_value *personal, *other, *shared;
} imap_namespace_info;

IMAPDEF int imap_namespace_decode(const imap_response *r, imap_namespace_info *out);
IMAPDEF int imap_namespace_next(const imap_value **cursor, imap_str *prefix,
                                int *delimiter);

/* CONDSTORE / QRESYNC (RFC 7162). "* VANISHED [(EARLIER)] uid-set"
   (§3.2.10): earlier is 1 for the answer to a QRESYNC SELECT or a UID
   FETCH ... VANISHED, 0 for an expunge as it happens; walk uids with
   imap_seqset_iter. With a number sink set (imap_parser_set_number_sink)
   the set went there and uids is empty. */
typedef struct imap_vanished {
    int earlier;
    imap_str uids;
} imap_vanished;

IMAPDEF int imap_vanished_decode(const imap_response *r, imap_vanished *out);
/* MODSEQ of a "* n FETCH (... MODSEQ (m) ...)" (§3.1.4.1): 0 with *out,
   IMAP_E_SYNTAX when there is none. */
IMAPDEF int imap_fetch_modseq(const imap_response *r, imap_u64 *out);
/* A status response's code [NAME number] ("HIGHESTMODSEQ", "UIDVALIDITY",
   "UIDNEXT", "UNSEEN"): 1 with *out, 0 if the code is another one (or
   none: [NOMODSEQ] is imap_response_code_name), IMAP_E_SYNTAX if the
   number is bad. */
IMAPDEF int imap_response_code_u64(const imap_response *r, const char *name, imap_u64 *out);
/* A code [NAME set] ("MODIFIED" on a STORE UNCHANGEDSINCE's tagged OK or
   NO, §3.1.3): 1 with the set's text in *set, 0 if the code is another. */
IMAPDEF int imap_response_code_set(const imap_response *r, const char *name, imap_str *set);

/* ======================================================================
   6. COMMAND BUILDERS AND QUOTING
   ====================================================================== */

/* A builder writes one complete command, tag and final CRLF included,
   into a caller buffer. Nothing here does I/O and nothing allocates.

   SEGMENTS. A command is c->seg[0 .. c->nseg): pieces sent in order.
   Line pieces point into c->buf; the payload of imap_cmd_literal() points
   at the caller's data, which is referenced, never copied (a 5 MB APPEND
   needs no 5 MB buffer). After a piece whose `wait` is set, the sender
   MUST wait for the server's "+" continuation before sending the next
   (a synchronizing literal, RFC 3501 §7.5; RFC 9051 §4.3); a tagged NO or
   BAD instead means the rest MUST NOT be sent.
   Lifetime: seg[] is valid until the next imap_cmd_begin() on the same
   imap_cmd, and only while c->buf and every imap_cmd_literal() payload
   stay in place.

   ERRORS. The first failure is kept in c->error and every later call on
   the command does nothing and returns it (until imap_cmd_begin()); a
   failed command has nseg 0, so nothing half-built can be sent.
   IMAP_E_NOMEM: c->buf or seg[] is full (raise IMAP_CMD_MAX_SEGMENTS).
   IMAP_E_ARGS: an argument that cannot be sent as asked (below), or a
   call before imap_cmd_begin() or after imap_cmd_end().

   HOW ARGUMENTS ARE WRITTEN. Every argument is preceded by one SP.
   imap_cmd_arg(s) applies the seed's rule, imaplib's:
     "..." or (...)   (2 bytes or more) passes as it is;
     '...'            loses its single quotes; the rest passes as it is;
     anything else    is written as an astring.
   An astring (imap_cmd_astring) is written as
     an atom          when it is not empty and holds no atom-special
                      (RFC 3501 §9: ( ) { SP CTL % * " \ ]) and no '['
                      (a response parser may take '[' for a section);
     a quoted string  otherwise, with \ and " escaped ("" when empty);
     a literal        when it holds CR, LF or a byte >= 0x80: {n} with
                      IMAP_LITERAL_SYNC, {n+} with IMAP_LITERAL_PLUS,
                      {n+} up to 4096 bytes else {n} with
                      IMAP_LITERAL_MINUS (RFC 7888). Such a literal is
                      copied into c->buf. Never a quoted string.
   A string (imap_cmd_string, the LOGIN password) is the same, but never
   an atom. Bytes passed as they are (pass-throughs, imap_cmd_raw) MUST NOT
   hold CR, LF or NUL and MUST NOT be empty: IMAP_E_ARGS. A NUL byte is
   refused everywhere (IMAP_E_ARGS): IMAP literals cannot carry it
   (RFC 3501 §4.3 CHAR8). imap_cmd_end() refuses a line ending in
   "{n}" that it did not write itself. So no user string can end a line
   early or make the server read the next command as literal data.

   ARGUMENT KINDS in the per-command builders below:
     arg      imap_cmd_arg: the seed's rule.
     mailbox  a name in UTF-8: encoded to modified UTF-7 (RFC 3501
              §5.1.3) unless c->utf8 (IMAP4rev2 or UTF8=ACCEPT enabled,
              RFC 9051 §5.1, RFC 6855), then written as an astring (so
              an 8-bit name goes as a literal). As in imaplib, a value
              in "...", '...' or (...) is a pass-through instead (not
              encoded). Names from LIST responses: imap_list_name()
              gives the real name in UTF-8 in both modes (it decodes
              modified UTF-7 only when c->utf8 is 0); pass that back.
     set      a sequence set: "1:3,5,7:*" or "$" (RFC 5182); '...' is
              stripped; anything that is not a valid set is IMAP_E_ARGS.
     syntax   protocol syntax that is never a string (fetch items, flag
              lists, STORE's item name, options): '...' is stripped and
              the rest passes unquoted.
     list     syntax that the grammar wants in parentheses: passed as is
              when it is already "(...)", else wrapped in "( )".
     string   always quoted (or a literal), never an atom.
   NULL stands for imaplib's None: the argument is left out, or takes the
   default the builder names. Arrays are (args, nargs); NULL entries are
   skipped like imaplib's None. */

#define IMAP_LITERAL_SYNC  0   /* {n}: the sender waits for "+" after it */
#define IMAP_LITERAL_PLUS  1   /* LITERAL+ (RFC 7888): {n+} always */
#define IMAP_LITERAL_MINUS 2   /* LITERAL- : {n+} up to 4096 bytes, else {n} */

#ifndef IMAP_CMD_MAX_SEGMENTS
#define IMAP_CMD_MAX_SEGMENTS 16
#endif

typedef struct imap_segment {
    const unsigned char *ptr;   /* bytes to send */
    size_t len;
    int wait;                   /* after sending this segment, wait for a "+" */
} imap_segment;

typedef struct imap_cmd {
    unsigned char *buf;         /* caller buffer holding the line bytes */
    size_t cap;
    size_t len;
    imap_segment seg[IMAP_CMD_MAX_SEGMENTS];
    unsigned nseg;
    int literal_mode;           /* IMAP_LITERAL_*, set from capabilities */
    int utf8;                   /* UTF-8 names in effect (rev2, UTF8=ACCEPT) */
    int rev2;                   /* IMAP4rev2 in effect: SEARCH keeps its CHARSET */
    int error;                  /* first error, sticky */
    /* private */
    size_t _line;               /* start of the open line segment */
    size_t _lit_end;            /* end of the last literal copied into buf */
    int _nosp;                  /* the next argument follows "(" */
    int _ended;                 /* no command is open */
} imap_cmd;

/* Give the builder its buffer. literal_mode and utf8 start at zero
   (synchronizing literals, modified UTF-7): set them afterwards. 256
   bytes hold most commands; arguments sent as literals are copied in. */
IMAPDEF void imap_cmd_init(imap_cmd *c, void *buf, size_t cap);

/* Start a command: forget any previous one (and its error) and write
   "tag NAME". tag: 1*ASTRING-CHAR except "+" (RFC 3501 §9); name: an atom.
   Anything else is IMAP_E_ARGS. */
IMAPDEF imap_result imap_cmd_begin(imap_cmd *c, const char *tag, const char *name);
/* SP + s by the seed's rule (see above). */
IMAPDEF imap_result imap_cmd_arg(imap_cmd *c, const char *s);
/* SP + s unquoted (imaplib's "non-string" argument). Empty, or holding
   CR, LF: IMAP_E_ARGS. */
IMAPDEF imap_result imap_cmd_raw(imap_cmd *c, const char *s);
/* SP + s[0..n) as an atom, a quoted string or a literal, as needed. */
IMAPDEF imap_result imap_cmd_astring(imap_cmd *c, const char *s, size_t n);
/* SP + s[0..n) always quoted (or a literal): passwords, nstrings. */
IMAPDEF imap_result imap_cmd_string(imap_cmd *c, const char *s, size_t n);
/* SP + a mailbox name in UTF-8: modified UTF-7 unless c->utf8, then an
   astring. Invalid UTF-8: IMAP_E_ARGS. No pass-through rules here. */
IMAPDEF imap_result imap_cmd_mailbox(imap_cmd *c, const char *name);
/* SP + "{n}" or "{n+}" CRLF, then the n bytes of data as their own
   segment. data is referenced, NOT copied: it MUST stay valid until the
   command is sent. data holding NUL: IMAP_E_ARGS. */
IMAPDEF imap_result imap_cmd_literal(imap_cmd *c, const void *data, size_t n);
/* SP + v in decimal. */
IMAPDEF imap_result imap_cmd_number(imap_cmd *c, imap_u64 v);
/* SP + "(" ; the next argument follows it without SP. */
IMAPDEF imap_result imap_cmd_paren_open(imap_cmd *c);
/* ")" */
IMAPDEF imap_result imap_cmd_paren_close(imap_cmd *c);
/* CRLF; completes seg[]. Returns IMAP_OK or the command's error. */
IMAPDEF imap_result imap_cmd_end(imap_cmd *c);

/* ---- per-command builders --------------------------------------------
   Each writes "tag NAME args CRLF" and returns IMAP_OK or the error. The
   tag is the caller's (see imap_tagger). Argument kinds: see above. */

/* "tag NAME" for any command without arguments. */
IMAPDEF imap_result imap_cmd_simple(imap_cmd *c, const char *tag, const char *name);
IMAPDEF imap_result imap_cmd_capability(imap_cmd *c, const char *tag);
IMAPDEF imap_result imap_cmd_noop(imap_cmd *c, const char *tag);
IMAPDEF imap_result imap_cmd_logout(imap_cmd *c, const char *tag);
IMAPDEF imap_result imap_cmd_starttls(imap_cmd *c, const char *tag);   /* RFC 2595 */
IMAPDEF imap_result imap_cmd_check(imap_cmd *c, const char *tag);
IMAPDEF imap_result imap_cmd_close(imap_cmd *c, const char *tag);
IMAPDEF imap_result imap_cmd_expunge(imap_cmd *c, const char *tag);
IMAPDEF imap_result imap_cmd_unselect(imap_cmd *c, const char *tag);   /* RFC 3691 */
IMAPDEF imap_result imap_cmd_namespace(imap_cmd *c, const char *tag);  /* RFC 2342 */
/* IDLE (RFC 2177): the server answers "+"; end it with imap_cmd_done. */
IMAPDEF imap_result imap_cmd_idle(imap_cmd *c, const char *tag);
/* "DONE" CRLF, no tag: ends IDLE. */
IMAPDEF imap_result imap_cmd_done(imap_cmd *c);
/* COMPRESS mechanism (RFC 4978); NULL: "DEFLATE". mech: an atom. */
IMAPDEF imap_result imap_cmd_compress(imap_cmd *c, const char *tag, const char *mech);

/* LOGIN user password: user is an arg, password always a string. */
IMAPDEF imap_result imap_cmd_login(imap_cmd *c, const char *tag,
                                   const char *user, const char *password);
/* AUTHENTICATE mech [initial-response] (RFC 3501 §6.2.2, RFC 4959).
   mech: an atom ("PLAIN"). ir: NULL for none, else base64 already encoded
   by the caller (imap_base64_encode), "=" for an empty response; anything
   that is not strict base64 is IMAP_E_ARGS. Send ir only when the server
   has SASL-IR. */
IMAPDEF imap_result imap_cmd_authenticate(imap_cmd *c, const char *tag,
                                          const char *mech, const char *ir);
/* One SASL client response line (no tag): base64 text then CRLF; NULL
   writes "*", which cancels the exchange (RFC 3501 §6.2.2). */
IMAPDEF imap_result imap_cmd_sasl_response(imap_cmd *c, const char *b64);
/* PROXYAUTH user (arg). */
IMAPDEF imap_result imap_cmd_proxyauth(imap_cmd *c, const char *tag, const char *user);
/* ENABLE caps (RFC 5161): caps is syntax, e.g. "CONDSTORE QRESYNC". */
IMAPDEF imap_result imap_cmd_enable(imap_cmd *c, const char *tag, const char *caps);
/* ID (RFC 2971). nargs 0: "ID NIL". nargs 1: args[0] is passed through
   unchanged, as imaplib2 does (syntax). Otherwise field/value pairs, each
   a string, a NULL value is NIL; at most 30 pairs, fields up to 30 bytes,
   values up to 1024 (RFC 2971 §3.3). */
IMAPDEF imap_result imap_cmd_id(imap_cmd *c, const char *tag,
                                const char *const *args, size_t nargs);

/* QRESYNC select parameter (RFC 7162 §3.2.5). */
typedef struct imap_qresync {
    imap_u64 uidvalidity;       /* 1 .. 2^32-1 */
    imap_u64 modseq;            /* last known HIGHESTMODSEQ, 1 .. 2^63-1 */
    const char *known_uids;     /* NULL or a set without "*" */
    const char *known_seqs;     /* NULL, or with known_seq_uids: message */
    const char *known_seq_uids; /*   numbers and their UIDs (seq-match-data) */
} imap_qresync;

/* SELECT mailbox, or EXAMINE when readonly (NULL mailbox: "INBOX").
   condstore adds "(CONDSTORE)" (RFC 7162 §3.1.8); qresync (NULL for
   none) adds "(QRESYNC (...))"; both give "(CONDSTORE QRESYNC (...))". */
IMAPDEF imap_result imap_cmd_select(imap_cmd *c, const char *tag, const char *mailbox,
                                    int readonly, int condstore,
                                    const imap_qresync *qresync);
IMAPDEF imap_result imap_cmd_examine(imap_cmd *c, const char *tag, const char *mailbox);
IMAPDEF imap_result imap_cmd_create(imap_cmd *c, const char *tag, const char *mailbox);
IMAPDEF imap_result imap_cmd_delete(imap_cmd *c, const char *tag, const char *mailbox);
IMAPDEF imap_result imap_cmd_rename(imap_cmd *c, const char *tag,
                                    const char *oldmailbox, const char *newmailbox);
IMAPDEF imap_result imap_cmd_subscribe(imap_cmd *c, const char *tag, const char *mailbox);
IMAPDEF imap_result imap_cmd_unsubscribe(imap_cmd *c, const char *tag, const char *mailbox);
/* LIST / LSUB reference pattern, both mailbox; NULL reference: "" and
   NULL pattern: "*" (imaplib's defaults). */
IMAPDEF imap_result imap_cmd_list(imap_cmd *c, const char *tag,
                                  const char *reference, const char *pattern);
IMAPDEF imap_result imap_cmd_lsub(imap_cmd *c, const char *tag,
                                  const char *reference, const char *pattern);
/* LIST-EXTENDED (RFC 5258): LIST [(selection)] reference patterns
   [RETURN (ret)]. selection and ret are lists or NULL to leave out,
   e.g. "SUBSCRIBED RECURSIVEMATCH" and "CHILDREN STATUS (MESSAGES
   UNSEEN)" (LIST-STATUS, RFC 5819). patterns: npatterns >= 1 mailbox
   patterns, in parentheses when more than one. */
IMAPDEF imap_result imap_cmd_list_extended(imap_cmd *c, const char *tag,
                                           const char *selection, const char *reference,
                                           const char *const *patterns, size_t npatterns,
                                           const char *ret);
/* STATUS mailbox names: names is a list, e.g. "MESSAGES UNSEEN". */
IMAPDEF imap_result imap_cmd_status(imap_cmd *c, const char *tag,
                                    const char *mailbox, const char *names);

/* APPEND mailbox [flags] [date_time] literal. mailbox NULL: "INBOX".
   flags: NULL or "" to leave out, else a list ("\\Seen" goes as
   "(\\Seen)"). date_time: NULL or "" to leave out, else an INTERNALDATE
   with or without its double quotes (imap_internaldate_format writes
   one); one that does not parse is IMAP_E_ARGS. msg is referenced, not
   copied (see imap_cmd_literal). */
IMAPDEF imap_result imap_cmd_append(imap_cmd *c, const char *tag, const char *mailbox,
                                    const char *flags, const char *date_time,
                                    const void *msg, size_t msglen);
/* One message of a MULTIAPPEND. */
typedef struct imap_append_msg {
    const char *flags;          /* as in imap_cmd_append */
    const char *date_time;
    const void *data;           /* referenced, not copied */
    size_t len;
} imap_append_msg;
/* MULTIAPPEND (RFC 3502): nmsgs >= 1 messages in one APPEND. Each
   message takes two segments: raise IMAP_CMD_MAX_SEGMENTS for more than 7. */
IMAPDEF imap_result imap_cmd_multiappend(imap_cmd *c, const char *tag, const char *mailbox,
                                         const imap_append_msg *msgs, size_t nmsgs);

/* COPY / MOVE (RFC 6851) set mailbox. */
IMAPDEF imap_result imap_cmd_copy(imap_cmd *c, const char *tag,
                                  const char *set, const char *mailbox);
IMAPDEF imap_result imap_cmd_move(imap_cmd *c, const char *tag,
                                  const char *set, const char *mailbox);
/* FETCH set items: items is syntax, "(UID BODY[TEXT])", "FLAGS" or
   "BODY.PEEK[HEADER]" alike (a fetch item is never a string). */
IMAPDEF imap_result imap_cmd_fetch(imap_cmd *c, const char *tag,
                                   const char *set, const char *items);
/* [UID] FETCH set items (CHANGEDSINCE modseq [VANISHED]) (RFC 7162
   §3.1.4, §3.2.6; VANISHED needs uid). */
IMAPDEF imap_result imap_cmd_fetch_changedsince(imap_cmd *c, const char *tag, int uid,
                                                const char *set, const char *items,
                                                imap_u64 modseq, int vanished);
/* PARTIAL msgnum part start length (RFC 1730; obsolete). msgnum, start,
   length: decimal numbers; part: syntax ("BODY[]"). */
IMAPDEF imap_result imap_cmd_partial(imap_cmd *c, const char *tag, const char *msgnum,
                                     const char *part, const char *start,
                                     const char *length);
/* STORE set command flags: command and flags are syntax ("+FLAGS.SILENT",
   "(\\Deleted)"; a bare "\\Deleted" is not quoted either). */
IMAPDEF imap_result imap_cmd_store(imap_cmd *c, const char *tag, const char *set,
                                   const char *command, const char *flags);
/* [UID] STORE set (UNCHANGEDSINCE modseq) command flags (RFC 7162 §3.1.3). */
IMAPDEF imap_result imap_cmd_store_unchangedsince(imap_cmd *c, const char *tag, int uid,
                                                  const char *set, imap_u64 modseq,
                                                  const char *command, const char *flags);
/* SEARCH [CHARSET charset] criteria: charset an arg or NULL; each
   criterion an arg ("FROM", "joe smith" -> FROM "joe smith"); at least
   one. An 8-bit criterion goes as a literal. Under c->rev2 the charset
   goes as given (RFC 9051 §6.4.4 allows it; Cyrus 3.10 reads 8-bit
   criteria as UTF-8 only with it); else under c->utf8 it is left out:
   RFC 6855 §3 forbids one once UTF8=ACCEPT is enabled. */
IMAPDEF imap_result imap_cmd_search(imap_cmd *c, const char *tag, const char *charset,
                                    const char *const *criteria, size_t ncriteria);
/* SEARCH RETURN (ret) [CHARSET charset] criteria (ESEARCH, RFC 4731):
   ret is a list, "MIN MAX COUNT"; "" gives "RETURN ()" (ALL). */
IMAPDEF imap_result imap_cmd_search_return(imap_cmd *c, const char *tag, const char *ret,
                                           const char *charset,
                                           const char *const *criteria, size_t ncriteria);
/* SORT (criteria) charset search (RFC 5256): sort_criteria a list
   ("REVERSE DATE"), charset an arg (NULL: "UTF-8"), criteria as SEARCH. */
IMAPDEF imap_result imap_cmd_sort(imap_cmd *c, const char *tag, const char *sort_criteria,
                                  const char *charset,
                                  const char *const *criteria, size_t ncriteria);
/* THREAD algorithm charset search (RFC 5256): algorithm an atom
   ("REFERENCES"), charset as SORT. */
IMAPDEF imap_result imap_cmd_thread(imap_cmd *c, const char *tag, const char *algorithm,
                                    const char *charset,
                                    const char *const *criteria, size_t ncriteria);

/* UID command args..., imaplib's uid(): command is one of COPY, FETCH,
   SEARCH, STORE, MOVE, EXPUNGE, SORT, THREAD (any case; else
   IMAP_E_ARGS). Arguments follow the typed builders: the first of COPY,
   MOVE, FETCH, STORE, EXPUNGE is a set; COPY/MOVE then take one mailbox;
   FETCH/STORE take syntax; SEARCH/SORT/THREAD take args as given
   ("CHARSET", "UTF-8", "ALL"). */
IMAPDEF imap_result imap_cmd_uid(imap_cmd *c, const char *tag, const char *command,
                                 const char *const *args, size_t nargs);
/* Typed UID variants, same arguments as the plain builders. */
IMAPDEF imap_result imap_cmd_uid_copy(imap_cmd *c, const char *tag,
                                      const char *set, const char *mailbox);
IMAPDEF imap_result imap_cmd_uid_move(imap_cmd *c, const char *tag,
                                      const char *set, const char *mailbox);
IMAPDEF imap_result imap_cmd_uid_fetch(imap_cmd *c, const char *tag,
                                       const char *set, const char *items);
IMAPDEF imap_result imap_cmd_uid_store(imap_cmd *c, const char *tag, const char *set,
                                       const char *command, const char *flags);
IMAPDEF imap_result imap_cmd_uid_expunge(imap_cmd *c, const char *tag,
                                         const char *set);      /* RFC 4315 */
IMAPDEF imap_result imap_cmd_uid_search(imap_cmd *c, const char *tag, const char *charset,
                                        const char *const *criteria, size_t ncriteria);
IMAPDEF imap_result imap_cmd_uid_sort(imap_cmd *c, const char *tag,
                                      const char *sort_criteria, const char *charset,
                                      const char *const *criteria, size_t ncriteria);
IMAPDEF imap_result imap_cmd_uid_thread(imap_cmd *c, const char *tag,
                                        const char *algorithm, const char *charset,
                                        const char *const *criteria, size_t ncriteria);
/* Any extension command: name an atom, each arg an arg. */
IMAPDEF imap_result imap_cmd_xatom(imap_cmd *c, const char *tag, const char *name,
                                   const char *const *args, size_t nargs);

/* ACL (RFC 4314): identifiers and rights are args. */
IMAPDEF imap_result imap_cmd_getacl(imap_cmd *c, const char *tag, const char *mailbox);
IMAPDEF imap_result imap_cmd_setacl(imap_cmd *c, const char *tag, const char *mailbox,
                                    const char *who, const char *what);
IMAPDEF imap_result imap_cmd_deleteacl(imap_cmd *c, const char *tag, const char *mailbox,
                                       const char *who);
IMAPDEF imap_result imap_cmd_listrights(imap_cmd *c, const char *tag, const char *mailbox,
                                        const char *who);
IMAPDEF imap_result imap_cmd_myrights(imap_cmd *c, const char *tag, const char *mailbox);

/* ANNOTATEMORE (imaplib2's getannotation/setannotation): entry an arg,
   attribute a string (or a list in parentheses). setannotation takes
   nargs >= 2, an even count of entry, attribute-value-list pairs, each
   an arg: "/comment", "(\"value.shared\" \"hello\")". */
IMAPDEF imap_result imap_cmd_getannotation(imap_cmd *c, const char *tag, const char *mailbox,
                                           const char *entry, const char *attribute);
IMAPDEF imap_result imap_cmd_setannotation(imap_cmd *c, const char *tag, const char *mailbox,
                                           const char *const *args, size_t nargs);
/* METADATA (RFC 5464). options: NULL or a list ("MAXSIZE 1024 DEPTH 1");
   mailbox "" means the server; entries: nentries >= 1 args, in
   parentheses when more than one. setmetadata takes npairs >= 2, an even
   count of entry (arg), value (string; NULL is NIL: remove). */
IMAPDEF imap_result imap_cmd_getmetadata(imap_cmd *c, const char *tag, const char *options,
                                         const char *mailbox,
                                         const char *const *entries, size_t nentries);
IMAPDEF imap_result imap_cmd_setmetadata(imap_cmd *c, const char *tag, const char *mailbox,
                                         const char *const *pairs, size_t npairs);
/* QUOTA (RFC 2087, RFC 9208): root an arg; limits a list
   ("STORAGE 512"). */
IMAPDEF imap_result imap_cmd_getquota(imap_cmd *c, const char *tag, const char *root);
IMAPDEF imap_result imap_cmd_getquotaroot(imap_cmd *c, const char *tag, const char *mailbox);
IMAPDEF imap_result imap_cmd_setquota(imap_cmd *c, const char *tag, const char *root,
                                      const char *limits);

/* ---- encodings -------------------------------------------------------
   Text outputs are NUL-terminated: cap MUST hold the length plus 1.
   out NULL (cap ignored) measures: the length is returned, nothing is
   written. Returns the output length (without the NUL), or IMAP_E_NOMEM
   when out is too small (its contents are then unspecified), or the
   error named. */

/* Modified UTF-7 (RFC 3501 §5.1.3) from UTF-8. Invalid UTF-8 (overlong
   forms, surrogates, above U+10FFFF): IMAP_E_ARGS. */
IMAPDEF long imap_utf7_encode(const char *s, size_t n, char *out, size_t cap);
/* Modified UTF-7 to UTF-8, strict: bytes outside 0x20-0x7E, an
   unterminated or empty shift, a null shift ("-&"), leftover bits,
   unpaired surrogates or an encoded printable ASCII character are
   IMAP_E_SYNTAX. So decode then encode gives back the input. */
IMAPDEF long imap_utf7_decode(const char *s, size_t n, char *out, size_t cap);
/* Base64 (RFC 4648 §4) of n bytes, with padding. */
IMAPDEF long imap_base64_encode(const void *data, size_t n, char *out, size_t cap);
/* Strict base64 to bytes (binary: NOT NUL-terminated; cap is exact).
   Length not a multiple of 4, a byte outside the alphabet, misplaced
   "=", or non-zero padding bits: IMAP_E_SYNTAX. "" decodes to 0 bytes. */
IMAPDEF long imap_base64_decode(const char *s, size_t n, void *out, size_t cap);

/* ---- sequence sets (RFC 3501 §9 sequence-set) ------------------------ */

#define IMAP_SEQ_STAR (~(imap_u64)0)   /* "*": the largest number in use */
#define IMAP_SEQ_MAX  4294967295u      /* numbers are 1 .. 2^32-1 */

/* A builder over a caller buffer; the text is kept NUL-terminated, so
   buf can be passed as the set argument of a builder. Errors are sticky
   in `error` like imap_cmd's; a failed call leaves the text as it was. */
typedef struct imap_seqset {
    char *buf;
    size_t cap;
    size_t len;
    int error;
} imap_seqset;

IMAPDEF void imap_seqset_init(imap_seqset *s, char *buf, size_t cap);
/* Append "n" (IMAP_SEQ_STAR: "*"). 0 or above IMAP_SEQ_MAX: IMAP_E_ARGS. */
IMAPDEF imap_result imap_seqset_add(imap_seqset *s, imap_u64 n);
/* Append "lo:hi" as given (either may be IMAP_SEQ_STAR); "lo" if equal. */
IMAPDEF imap_result imap_seqset_range(imap_seqset *s, imap_u64 lo, imap_u64 hi);
/* Append n ascending UIDs as ranges: {1,2,3,5,7,8,9} -> "1:3,5,7:9".
   Repeats are skipped; a descending step or an invalid number is
   IMAP_E_ARGS. */
IMAPDEF imap_result imap_seqset_compress(imap_seqset *s, const imap_u64 *uids, size_t n);

/* Parse a set back into ranges, e.g. from ESEARCH ALL or COPYUID. */
typedef struct imap_seqset_iter {
    const char *_p;
    const char *_end;
    int _state;
} imap_seqset_iter;

IMAPDEF void imap_seqset_iter_init(imap_seqset_iter *it, const char *s, size_t n);
/* Returns 1 with the next range in *lo <= *hi ("5" gives 5..5; "9:4"
   gives 4..9; "*" is IMAP_SEQ_STAR), 0 at the end, or IMAP_E_SYNTAX (an
   empty set or element, a 0, a leading zero, a number above
   IMAP_SEQ_MAX, a stray byte); after an error it keeps returning it. */
IMAPDEF int imap_seqset_next(imap_seqset_iter *it, imap_u64 *lo, imap_u64 *hi);

/* ---- the seeds' helpers ---------------------------------------------- */

/* Broken-down time with its zone, as an INTERNALDATE writes it. */
typedef struct imap_tm {
    int year;                   /* 0 .. 9999 */
    int month;                  /* 1 .. 12 */
    int day;                    /* 1 .. 31 */
    int hour, min, sec;         /* sec 60 is a leap second */
    int offset;                 /* minutes east of UTC, -5999 .. 5999 */
} imap_tm;

/* Internaldate2tuple: parse "DD-Mmm-YYYY HH:MM:SS +HHMM" (RFC 3501 §9
   date-time; the double quotes are optional; the day may be " D", "D" or
   "DD"; the month is case-insensitive). *out (may be NULL) gets the time
   as written; *utc_seconds (may be NULL) seconds since 1970-01-01 UTC,
   a leap second counted as the next minute's first. Malformed text or a
   date that does not exist (30-Feb): IMAP_E_SYNTAX. */
IMAPDEF imap_result imap_internaldate_parse(const char *s, size_t n, imap_tm *out,
                                            long long *utc_seconds);
/* The INTERNALDATE of a "* n FETCH" response, parsed as above;
   IMAP_E_SYNTAX if it has none. */
IMAPDEF imap_result imap_fetch_internaldate(const imap_response *r, imap_tm *out,
                                            long long *utc_seconds);
/* Time2Internaldate: write "\"DD-Mmm-YYYY HH:MM:SS +HHMM\"" with its
   double quotes and a NUL (29 bytes) for the instant utc_seconds seen at
   offset_minutes east of UTC. A local year outside 0..9999 or an offset
   outside -5999..5999: IMAP_E_ARGS. */
IMAPDEF imap_result imap_internaldate_format(long long utc_seconds, int offset_minutes,
                                             char out[29]);
/* The same from a broken-down time (tm->offset is its zone); fields out
   of range or a day the month lacks: IMAP_E_ARGS. */
IMAPDEF imap_result imap_internaldate_format_tm(const imap_tm *tm, char out[29]);

/* ParseFlags: iterate the flags of a FLAGS list. */
typedef struct imap_flags_iter {
    const imap_value *_v;       /* from a parsed response */
    const char *_p, *_end;      /* from text */
} imap_flags_iter;

/* From a parsed "* n FETCH (... FLAGS (...) ...)" or "* FLAGS (...)";
   IMAP_E_SYNTAX when it has no FLAGS list. */
IMAPDEF imap_result imap_parse_flags(const imap_response *r, imap_flags_iter *it);
/* From text holding "FLAGS (" ... ")" (case-insensitive; the first
   "FLAGS (" that starts a word), like imaplib's ParseFlags; IMAP_E_SYNTAX
   when there is none or it is not closed. s[0..n) MUST outlive it. */
IMAPDEF imap_result imap_parse_flags_str(const char *s, size_t n, imap_flags_iter *it);
/* Returns 1 with the next flag ("\\Seen"; pointing into the response or
   the text), 0 at the end, IMAP_E_SYNTAX for a list inside the list. */
IMAPDEF int imap_flags_next(imap_flags_iter *it, imap_str *flag);

/* Int2AP: num in base 16 with the letters A..P, NUL-terminated ("" for
   0). Returns the length, or IMAP_E_NOMEM if cap is short (17 always
   suffices). */
IMAPDEF int imap_int2ap(unsigned long num, char *out, size_t cap);

/* Tags as imaplib makes them: a prefix of four letters, Int2AP of a
   number in 4096..65535 chosen by the seed, then a counter from 0:
   "LKJM0", "LKJM1", ... Seed it with something random-ish (time, a
   counter) so two sessions' tags differ. */
typedef struct imap_tagger {
    char prefix[8];
    imap_u64 counter;           /* next number; wraps after 10^11 - 1 */
} imap_tagger;

IMAPDEF void imap_tagger_init(imap_tagger *t, unsigned long seed);
/* Write the next tag with a NUL into out; returns its length (<= 15). */
IMAPDEF int imap_tagger_next(imap_tagger *t, char out[16]);

/* (section 6 declarations end here) */

/* ======================================================================
   6b. MIME DECODING
   ======================================================================

   What a person reads: header text with RFC 2047 encoded words, MIME
   parameters in RFC 2231 form, bodies in base64 or quoted-printable,
   and the charsets they come in, all turned into UTF-8. Nothing
   allocates and nothing reads past its input.

   Text outputs follow the encodings above (section 6): NUL-terminated,
   out NULL measures, the length is returned; when out is too small the
   result is IMAP_E_NOMEM and *needed (when needed is not NULL) holds the
   cap that would have fitted, NUL included. Text that cannot be decoded
   is kept as it came: a malformed encoded word, an unknown charset.
   Bytes that are not valid in their charset become U+FFFD.

   Built-in charsets: UTF-8 (validated), US-ASCII, ISO-8859-1,
   ISO-8859-15 and Windows-1252 (with their usual aliases). Any other goes
   to the caller's converter, e.g. iconv (tests/test_mime.c shows one).
   IMAP_NO_MIME leaves this section (and the client calls that use it,
   section 9) out; IMAP_NO_CHARSETS keeps only UTF-8 and US-ASCII built
   in, for firmware that wants the smallest code. */

#ifndef IMAP_NO_MIME

/* A converter for charsets imap.h does not know. convert turns
   in[0..n) in `charset` (a name as received, not NUL-terminated) into
   UTF-8 at out[0..cap) and returns the UTF-8 length, which may be more
   than cap (then out holds nothing useful and the caller measures):
   like snprintf, the length is what counts. in NULL, n 0 asks whether
   the charset is known: return 0 if so, negative if not (the text is
   then kept undecoded). A negative return for a piece puts one U+FFFD
   in its place. Adjacent encoded words of one charset are joined before
   conversion; a run longer than IMAP_MIME_CONVERT_BYTES comes in pieces
   of that size (a multibyte character may be cut there: raise it for
   long texts in stateful charsets). */
typedef struct imap_charset_conv {
    long (*convert)(void *arg, imap_str charset, const void *in, size_t n,
                    char *out, size_t cap);
    void *arg;
} imap_charset_conv;

#ifndef IMAP_MIME_CONVERT_BYTES
#define IMAP_MIME_CONVERT_BYTES 256
#endif

/* Bytes to a consumer: return 0 to go on, anything else to stop. */
typedef int (*imap_bytes_fn)(void *arg, const void *data, size_t len);

/* Convert in[0..n) from `charset` to UTF-8. conv may be NULL (built-ins
   only). An unknown charset: IMAP_E_UNSUPPORTED. */
IMAPDEF long imap_charset_to_utf8(imap_str charset, const void *in, size_t n,
                                  char *out, size_t cap, size_t *needed,
                                  const imap_charset_conv *conv);
/* 1 when the charset is built in (or conv knows it), else 0. */
IMAPDEF int imap_charset_known(imap_str charset, const imap_charset_conv *conv);

/* A header value (or an ENVELOPE field) to UTF-8 (RFC 2047 §6): the
   B and Q encoded words decoded, whitespace between two adjacent encoded
   words dropped (§6.2), line folding (CR, LF) removed. An encoded word
   whose charset is unknown or whose text is malformed is kept as it is;
   an RFC 2231 language (=?utf-8*en?q?...?=) is accepted and dropped. */
IMAPDEF long imap_header_decode(const char *s, size_t n, char *out, size_t cap,
                                size_t *needed, const imap_charset_conv *conv);

/* A MIME parameter by name from a BODYSTRUCTURE parameter list (the
   params or disposition_params of imap_body), to UTF-8: RFC 2231
   continuations (name*0*, name*1, ...) joined in order, charset'lang'
   prefix and %XX honoured (§3-§4), else the plain value with any RFC
   2047 encoded words decoded (what mailers send in practice). *found
   (may be NULL) is 1 when the parameter is there; absent, the result is
   0 with out "" and *found 0. */
IMAPDEF long imap_param_decode(const imap_value *params, const char *name,
                               char *out, size_t cap, size_t *needed,
                               const imap_charset_conv *conv, int *found);
/* The file name of a part: the disposition's filename, else the type's
   name parameter (RFC 2183 §2.3, RFC 2045 §5), decoded as above; 0 and
   "" when it has none. */
IMAPDEF long imap_body_filename(const imap_body *b, char *out, size_t cap,
                                size_t *needed, const imap_charset_conv *conv);

/* ---- Content-Transfer-Encoding (RFC 2045 §6), incremental -------------
   A decoder takes the encoded bytes in chunks split anywhere and gives
   the same bytes as one call with the whole: base64 with any line
   breaks, characters outside the alphabet ignored (§6.8), '=' ending a
   quantum, missing padding tolerated; quoted-printable with soft line
   breaks, =XX in either case, a malformed '=' kept as it is (§6.7);
   7BIT, 8BIT, BINARY (and NIL) pass through. */
#define IMAP_CTE_IDENTITY 0
#define IMAP_CTE_BASE64   1
#define IMAP_CTE_QP       2

typedef struct imap_cte {
    int kind;                 /* IMAP_CTE_* */
    /* private */
    unsigned long _bits;
    int _n;                   /* base64: sextets held; QP: bytes held */
    unsigned char _held[2];   /* QP: "=" and maybe one hex digit */
} imap_cte;

/* Start a decoder for an encoding name as BODYSTRUCTURE gives it
   ("BASE64", "quoted-printable", NIL). An encoding imap.h does not know
   (x-uuencode) is IMAP_E_UNSUPPORTED and the decoder passes bytes
   through. */
IMAPDEF int imap_cte_init(imap_cte *d, imap_str encoding);
/* Decode a chunk; decoded bytes go to out in pieces. Returns 0, or
   IMAP_E_SINK when out refused (the decoder is then done). */
IMAPDEF int imap_cte_feed(imap_cte *d, const void *in, size_t n,
                          imap_bytes_fn out, void *arg);
/* End of input: give out what is still held (a base64 quantum without
   padding, a dangling QP "="). */
IMAPDEF int imap_cte_finish(imap_cte *d, imap_bytes_fn out, void *arg);
/* Whole buffer in, binary out (NOT NUL-terminated; cap is exact; out
   NULL measures), IMAP_E_NOMEM with *needed when it does not fit. */
IMAPDEF long imap_cte_decode(imap_str encoding, const void *in, size_t n,
                             void *out, size_t cap, size_t *needed);

/* The decoder as a literal sink (imap_parser_set_sink): each literal of
   a BODY[...] item is decoded from its first byte to its last and goes
   to out; a literal8 (BINARY[...], RFC 3516: the server decoded it)
   passes through as it is. Other literals are left out (their values
   are marked IMAP_VF_SUNK). msgno, when not 0, takes only that
   message's. error is IMAP_E_SINK once out refused. */
typedef struct imap_decode_sink {
    imap_bytes_fn out;
    void *arg;
    imap_u64 msgno;           /* 0: any message */
    imap_u64 written;         /* decoded bytes given to out */
    int error;
    imap_cte _cte;
    int _kind;
} imap_decode_sink;

/* Returns 0, or IMAP_E_UNSUPPORTED for an encoding it cannot undo
   (the bytes then pass through as they are). */
IMAPDEF int imap_decode_sink_init(imap_decode_sink *s, imap_str encoding,
                                  imap_bytes_fn out, void *arg);
/* An imap_literal_sink; ctx is the imap_decode_sink. */
IMAPDEF int imap_decode_sink_fn(void *ctx, const imap_literal_info *info,
                                const void *data, size_t len);

#endif /* IMAP_NO_MIME */

/* (section 6b declarations end here) */

/* ======================================================================
   7. PROTOCOL ENGINE
   ====================================================================== */

/* The engine keeps the session: tags, state, capabilities, a queue of
   outstanding commands (pipelining, as imaplib2's parallel commands), the
   routing of untagged responses to the command that asked for them and to
   a per-name store (imaplib's response("FLAGS")), continuations (literals,
   AUTHENTICATE, IDLE), and state-changing commands that wait for the
   pipeline to drain. It does no I/O itself: imap_client_feed() takes
   server bytes and imap_client_output() hands out bytes to send; the
   client (section 9) drives both through a transport. */

typedef enum imap_state {
    IMAP_STATE_NONAUTH = 0,   /* before the greeting, and after it: login */
    IMAP_STATE_AUTH,          /* logged in (or PREAUTH) */
    IMAP_STATE_SELECTED,      /* a mailbox is selected */
    IMAP_STATE_LOGOUT         /* closed: no further commands */
} imap_state;

#ifndef IMAP_MAX_PENDING
#define IMAP_MAX_PENDING 32   /* commands outstanding at once */
#endif
/* Room for the capability list. Dovecot 2.3 sends ~390 bytes, Cyrus 3.6
   780-924: 2048 leaves headroom. A longer list is kept cut, and then the
   client trusts nothing that gates security (imap_client_caps_cut). */
#ifndef IMAP_CAPS_BYTES
#define IMAP_CAPS_BYTES 2048
#endif
#ifndef IMAP_READ_CHUNK
#define IMAP_READ_CHUNK 4096  /* bytes read from the transport at a time */
#endif
#ifndef IMAP_SASL_BYTES
#define IMAP_SASL_BYTES 1024  /* largest SASL challenge and answer (raw) */
#endif
#ifndef IMAP_INJECT_BYTES
#define IMAP_INJECT_BYTES (2 * IMAP_SASL_BYTES) /* SASL responses and DONE */
#endif
#ifndef IMAP_DEBUG_LINES
#define IMAP_DEBUG_LINES 20   /* protocol lines kept for an error report */
#endif
#ifndef IMAP_DEBUG_LINE_BYTES
#define IMAP_DEBUG_LINE_BYTES 120
#endif

typedef struct imap_client imap_client;

/* Options of one command call; every field may be zero.
   - on_data: each untagged response routed to this command, as it
     arrives (valid only during the call). Responses that go to on_data
     are not kept in the per-name store.
   - on_done: makes the call asynchronous, like imaplib2's callback: the
     call returns IMAP_OK once the command is queued and on_done runs at
     completion with the result and the tagged response (NULL when the
     connection broke first). Without it the call blocks until the
     tagged response and returns the result. on_done runs exactly once
     for every call that returned IMAP_OK, whatever happens. Inside it the
     command's data (what went to the store, not to on_data) is at hand,
     as imaplib2's callback has it: imap_client_response and
     imap_client_pop_untagged then give only this command's entries (what
     on_done does not take stays in the store, as after a blocking call).
   - sink: every literal of this command's responses, whatever its size,
     goes to sink(sink_arg, ...) instead of the parser's buffer (the
     response then arrives with IMAP_VF_SUNK values). Saving a message
     of any size is one call:
         imap_call call = {0}; call.sink = write_to_file; call.sink_arg = fp;
         const char *a[] = { "42", "BODY.PEEK[]" };
         rc = imap_uid(c, "FETCH", a, 2, &call);
     A sink that returns nonzero makes the call IMAP_E_SINK. Literals of
     responses no call with a sink takes follow the parser's own sink and
     threshold (imap_parser_set_sink, for advanced use).
   - timeout_ms: this command's response timeout (0: the client's, see
     imap_client_set_timeout).
   What a callback (on_data, on_done, the unsolicited callback, an
   authobject, a literal sink) may do with the client: every command with
   on_done set (imaplib2's pattern: FETCH each number from the SEARCH
   callback, LOGOUT from the last on_done), imap_client_close, and the
   accessors. Anything that would block there (a command without on_done
   over a transport, imap_client_poll, wait_all, open, feed) returns
   IMAP_E_STATE at once and changes nothing: the engine is in the middle
   of a response. Commands issued from a callback go out when the
   callback returns. */
typedef struct imap_call {
    void (*on_data)(void *arg, imap_client *c, const imap_response *r);
    void (*on_done)(void *arg, imap_client *c, int result,
                    const imap_response *tagged);
    void *arg;
    long timeout_ms;
    imap_literal_sink sink;
    void *sink_arg;
} imap_call;

/* The SASL exchange of imap_authenticate (imaplib's authobject): called
   with each decoded server challenge; write the raw (not base64) answer
   into out (cap bytes) and return its length, or -1 to abort the
   exchange (the engine sends "*" and the call returns IMAP_E_AUTH).
   With SASL-IR the first call, with an empty challenge, comes before the
   command is sent; a mechanism without an initial response returns
   IMAP_AUTH_NO_IR there. When the server answers OK the fn is called once
   more with challenge NULL (out NULL, cap 0): returning IMAP_E_AUTH
   refuses a success the mechanism did not reach (SCRAM's server
   signature missing), the call returns IMAP_E_AUTH and the connection is
   aborted (IMAP_E_PROTOCOL); any other value accepts. Section 9b has
   ready-made mechanisms. */
typedef int (*imap_auth_fn)(void *arg, const unsigned char *challenge,
                            size_t len, unsigned char *out, size_t cap);
#define IMAP_AUTH_NO_IR (-2)

/* Debug levels (imaplib2's debug and debug_buf_lvl): at or above
   IMAP_DEBUG_PROTOCOL each protocol line goes to the debug sink; below
   it the last IMAP_DEBUG_LINES lines are kept in a ring and written to
   the sink when the connection aborts. Credentials are never logged. */
#define IMAP_DEBUG_OFF      0
#define IMAP_DEBUG_PROTOCOL 4

typedef void (*imap_debug_fn)(void *arg, const char *line, size_t len);

/* (section 7 declarations end here) */

/* ======================================================================
   8. TRANSPORTS
   ======================================================================

   A transport is two callbacks and a context pointer, the shape of
   BearSSL's br_sslio low-level callbacks, so one pair serves plaintext
   and TLS alike. The contract:
   - read: fill buf with 1..len bytes and return how many; return 0 when
     nothing is available now (would block, or its own wait timed out);
     return -1 on error or end of stream (EOF is an error: IMAP never
     ends a stream on purpose mid-session). len is never 0.
   - write: send 1..len bytes of buf and return how many; 0 means would
     block; -1 on error. len is never 0.
   - close: release what the transport holds (may be NULL).
   - wait: block until the transport is readable (for_write 0) or
     writable (1), or timeout_ms passes (-1: forever); return 1 ready,
     0 timed out, -1 error. May be NULL for transports whose read and
     write block by themselves. */
typedef struct imap_transport {
    int (*read)(void *ctx, unsigned char *buf, size_t len);
    int (*write)(void *ctx, const unsigned char *buf, size_t len);
    int (*close)(void *ctx);
    int (*wait)(void *ctx, int for_write, long timeout_ms);
    void *ctx;
} imap_transport;

/* ---- 8a. Scripted transport (always compiled) ------------------------

   Plays a server from a caller array of steps, for tests of what no real
   server does on demand: bytes a few at a time, would-block returns, a
   drop or a hang at an exact point. Nothing is copied: the steps and
   their bytes MUST outlive the script.

   The steps are one transcript, taken strictly in order:
   - EXPECT: the client must write exactly these bytes next. A write is
     checked whole against the EXPECT steps from the current one (several
     in a row count as one run); a byte that differs, or any byte past the
     run (say, literal data before the "+" the next REPLY holds), is a
     mismatch: it is recorded, and from then on reads and writes fail.
   - REPLY: these bytes become readable once every step before them is
     done; a read may take bytes of several REPLY steps in a row. While
     the current step is EXPECT, reads return 0 (the server waits).
   - CLOSE: reached, the connection drops: reads and writes return -1.
   - STALL: reached, the server says nothing more: reads return 0 forever.
     Writes go on matching the EXPECT steps after it (the peer's socket
     still takes bytes), so "client gives up and sends DONE" is scriptable.
   When the last step is done, reads return 0 and any write mismatches.
   wait() never sleeps: it returns 1 when the next call would make
   progress or fail at once, 0 when the script is stalled or waiting for
   the client (an engine then sees a timeout).

   With the `ahead` knob the two directions are separate streams, as on a
   real socket: writes are checked against the EXPECT steps in order,
   whatever REPLY steps lie between (a pipelining client may send before
   reading), and a REPLY becomes readable once every EXPECT before it has
   been written (the server answered what it had received). A recorded
   session replays this way whatever the client's read sizes; `step`
   then follows the reads. */
typedef enum imap_script_kind {
    IMAP_SCRIPT_EXPECT = 0,  /* the client writes these bytes */
    IMAP_SCRIPT_REPLY,       /* the server sends these bytes */
    IMAP_SCRIPT_CLOSE,       /* the connection drops */
    IMAP_SCRIPT_STALL        /* the server goes silent */
} imap_script_kind;

typedef struct imap_script_step {
    int kind;                /* imap_script_kind */
    const char *data;        /* EXPECT and REPLY bytes; NULL otherwise */
    size_t len;              /* their length; 0 means strlen(data) */
} imap_script_step;

/* imap_script.close_at: no drop by offset. */
#define IMAP_SCRIPT_NEVER ((size_t)-1)

typedef struct imap_script {
    /* knobs: imap_script_init clears them; set before the first call */
    size_t max_read;         /* most bytes a read returns (0: no limit,
                                1: a byte at a time) */
    size_t max_write;        /* most bytes a write takes (0: no limit) */
    int would_block;         /* nonzero: the 1st, 3rd, 5th... read call
                                returns 0, and likewise for writes */
    size_t close_at;         /* drop the connection once the client has
                                read this many server bytes in all (a read
                                stops there); IMAP_SCRIPT_NEVER by default */
    int ahead;               /* nonzero: writes may run ahead of REPLY
                                steps (see above) */
    /* what happened (read-only) */
    size_t step;             /* index of the current step */
    size_t step_off;         /* bytes of it already read or written */
    size_t bytes_read;       /* server bytes the client read */
    size_t bytes_written;    /* client bytes the script accepted */
    int closed;              /* dropped: a CLOSE step or close_at */
    int stalled;             /* a STALL step was reached */
    int client_closed;       /* the client called close */
    int mismatch;            /* the client wrote what was not expected */
    size_t mismatch_step;    /* step index where it happened (n: past the
                                last step) */
    size_t mismatch_offset;  /* offset of the first wrong byte in all the
                                client's output */
    imap_str mismatch_expected; /* the rest of that step from there, into
                                the step's data ({NULL,0}: nothing was
                                expected: a REPLY, CLOSE or the end) */
    unsigned char mismatch_got[64]; /* the client's bytes from there */
    size_t mismatch_got_len;
    /* private */
    const imap_script_step *_steps;
    size_t _n;
    unsigned long _reads, _writes;
    size_t _wstep, _woff;    /* ahead: the write cursor */
} imap_script;

/* Start a script over steps[0..n) and fill *out with its callbacks (read,
   write, close, wait; ctx is s). Leading CLOSE/STALL steps take effect at
   once. */
IMAPDEF void imap_script_init(imap_script *s, const imap_script_step *steps,
                              size_t n, imap_transport *out);

/* 1 when every step was consumed and no mismatch happened, else 0. */
IMAPDEF int imap_script_done(const imap_script *s);

#ifndef IMAP_NO_POSIX
/* ---- 8b. POSIX TCP ----------------------------------------------------

   A plain TCP connection (imaplib's IMAP4). The socket is always
   non-blocking underneath; "blocking" mode means each read and write
   first waits up to timeout_ms with poll() and returns 0 if nothing came,
   so a hung server costs at most the timeout per call, never forever
   (unless the timeout is -1). Non-blocking mode skips that wait, for
   event loops: poll the fd yourself, or call the transport's wait.
   SIGPIPE is never raised by a write to a dead peer (MSG_NOSIGNAL, or
   SO_NOSIGPIPE where that is the system's way); the write returns -1.
   End of stream is -1 too, with `eof` set to tell it from an error. */
typedef struct imap_tcp {
    int fd;                  /* the socket; -1 when not connected */
    long timeout_ms;         /* bound on each blocking read and write;
                                -1: wait forever */
    int nonblocking;         /* nonzero: read and write never wait */
    int eof;                 /* the peer closed its side */
    int error;               /* errno of the last failure (0: none) */
    int gai_error;           /* getaddrinfo()'s code if the name did not
                                resolve (0 otherwise) */
    char where[72];          /* after a failed connect: the name that did
                                not resolve, or the last address tried as
                                "addr:port" / "[v6]:port" (imap_error_text) */
} imap_tcp;

/* Resolve host (name, IPv4 or IPv6 literal) with getaddrinfo and connect
   to each address it gives in turn until one answers. timeout_ms bounds
   all the connecting (not the name lookup, which the system bounds): each
   address gets an equal share of the time left for the ones not yet
   tried, so one black-holed address cannot eat the time of the next.
   -1: each waits as long as the system lets it; 0: only connects that
   complete at once. The connection gets TCP_NODELAY (IMAP is small lines
   that wait on each other) and close-on-exec, and starts in blocking
   mode with timeout_ms as its read/write timeout.
   Returns:
     IMAP_OK         connected; *out is filled (ctx is t);
     IMAP_E_ARGS     host NULL or empty, or port not in 1..65535;
     IMAP_E_TIMEOUT  the last address tried did not answer in its time;
     IMAP_E_IO       the name did not resolve (t->gai_error), or every
                     address refused or failed (t->error is the last errno).
   On failure nothing is left open and *out is untouched. */
IMAPDEF imap_result imap_tcp_connect(imap_tcp *t, const char *host,
                                     unsigned port, long timeout_ms,
                                     imap_transport *out);

/* Adopt a socket the caller connected itself (through a proxy, say): it
   is made non-blocking, and *out filled. Closing the transport closes fd.
   Returns IMAP_E_ARGS for a negative fd, IMAP_E_IO if fcntl fails. */
IMAPDEF imap_result imap_tcp_attach(imap_tcp *t, int fd, long timeout_ms,
                                    imap_transport *out);

/* Set the bound on each blocking read and write (-1: none). */
IMAPDEF void imap_tcp_set_timeout(imap_tcp *t, long timeout_ms);

/* on: read and write return 0 at once instead of waiting. */
IMAPDEF void imap_tcp_set_nonblocking(imap_tcp *t, int on);

/* Close the socket (what the transport's close does). 0, or -1 if
   close() failed; either way t->fd is -1 after. */
IMAPDEF int imap_tcp_close(imap_tcp *t);

/* ---- 8c. POSIX subprocess stream ----------------------------------------

   imaplib's IMAP4_stream: talk IMAP to a command's stdin and stdout, as
   in "ssh mailhost exec /usr/lib/dovecot/imap" or "dovecot exec imap".
   The command runs through /bin/sh -c; its stderr is the caller's. Our
   pipe ends are close-on-exec and non-blocking underneath, with the same
   blocking/non-blocking modes as imap_tcp. Other descriptors the program
   opened without close-on-exec are inherited, as with any fork.

   A write to a child that has exited returns -1 and does not kill the
   program with SIGPIPE: SIGPIPE is blocked for the calling thread around
   the write, and one it caused is consumed before the mask is restored.
   (Ignoring SIGPIPE instead would change a process-wide setting under the
   feet of other threads and of the program's own handler.) Where the
   system has F_SETNOSIGPIPE the pipe is marked once instead.

   Closing closes both pipes, so the child sees end of input, and reaps
   it: waitpid for up to grace_ms, then SIGTERM and as long again, then
   SIGKILL. No zombie is left. The signals go to the shell only, and some
   shells (dash, Debian's /bin/sh) fork even a lone command: start it with
   exec ("exec ssh -q mailhost imapd") so they reach the program itself.
   (A process group of its own would let us signal everything, but would
   also stop ssh with SIGTTIN when it asks the terminal for a password.) */
typedef struct imap_stream {
    int to_child;            /* our end of the child's stdin; -1 closed */
    int from_child;          /* our end of the child's stdout; -1 closed */
    long pid;                /* the child (sh); 0 once reaped */
    long timeout_ms;         /* bound on each blocking read and write;
                                -1 (the default): wait forever */
    int nonblocking;         /* nonzero: read and write never wait */
    long grace_ms;           /* close: wait this long for the child to
                                exit before each signal (default 2000) */
    int status;              /* waitpid() status once reaped, else -1 */
    int eof;                 /* the child closed its stdout */
    int error;               /* errno of the last failure (0: none) */
} imap_stream;

/* Start `command` (a NUL-terminated shell command line) and fill *out
   (ctx is s). Returns IMAP_OK; IMAP_E_ARGS for a NULL command; IMAP_E_IO
   if pipes, fork or the exec of /bin/sh failed (s->error). A command the
   shell cannot find still opens: the shell exits 127 and the first read
   returns -1. */
IMAPDEF imap_result imap_stream_open(imap_stream *s, const char *command,
                                     imap_transport *out);

IMAPDEF void imap_stream_set_timeout(imap_stream *s, long timeout_ms);
IMAPDEF void imap_stream_set_nonblocking(imap_stream *s, int on);

/* Close the pipes and reap the child (what the transport's close does).
   Returns 0 once the child is reaped (its status in s->status), -1 if
   waitpid failed. Safe to call twice. */
IMAPDEF int imap_stream_close(imap_stream *s);
#endif /* IMAP_NO_POSIX */

#if defined(_WIN32) && !defined(IMAP_NO_WINSOCK)
/* ---- 8f. Winsock TCP ----------------------------------------------------

   imap_tcp on Windows: the calls, modes and results of 8b over Winsock 2,
   so the same program builds on both. The caller owns Winsock: call
   WSAStartup before the first connect and WSACleanup after the last
   close. Link ws2_32 (MSVC is told so by the implementation). In the TU
   with the implementation, include imap.h before <windows.h> (or define
   WIN32_LEAN_AND_MEAN first): <winsock2.h> must come before it.
   Differences from 8b: a SOCKET does not fit an int, so it is kept in a
   size_t (SOCKET's width on every Windows), IMAP_TCP_NO_SOCKET when not
   connected; `error` holds WSAGetLastError() codes; waits use select();
   Windows has no SIGPIPE; the socket is not inherited by child processes.
   Define IMAP_NO_WINSOCK to leave this out. */
#define IMAP_TCP_NO_SOCKET ((size_t)-1)

typedef struct imap_tcp {
    size_t sock;             /* the SOCKET; IMAP_TCP_NO_SOCKET when closed */
    long timeout_ms;         /* bound on each blocking read and write;
                                -1: wait forever */
    int nonblocking;         /* nonzero: read and write never wait */
    int eof;                 /* the peer closed its side */
    int error;               /* WSAGetLastError() of the last failure */
    int gai_error;           /* getaddrinfo()'s code if the name did not
                                resolve (0 otherwise) */
} imap_tcp;

/* As 8b's imap_tcp_connect: every address of host in turn, timeout_ms
   shared between them, TCP_NODELAY, blocking mode with timeout_ms.
   IMAP_OK, IMAP_E_ARGS, IMAP_E_TIMEOUT or IMAP_E_IO (t->gai_error or
   t->error says why). On failure nothing is left open. */
IMAPDEF imap_result imap_tcp_connect(imap_tcp *t, const char *host,
                                     unsigned port, long timeout_ms,
                                     imap_transport *out);

/* Adopt a SOCKET the caller connected; it is made non-blocking.
   IMAP_E_ARGS for IMAP_TCP_NO_SOCKET, IMAP_E_IO if ioctlsocket fails. */
IMAPDEF imap_result imap_tcp_attach(imap_tcp *t, size_t sock, long timeout_ms,
                                    imap_transport *out);

IMAPDEF void imap_tcp_set_timeout(imap_tcp *t, long timeout_ms);
IMAPDEF void imap_tcp_set_nonblocking(imap_tcp *t, int on);

/* closesocket (what the transport's close does): 0, or -1 if it failed;
   t->sock is IMAP_TCP_NO_SOCKET after either way. */
IMAPDEF int imap_tcp_close(imap_tcp *t);
#endif /* 8f. Winsock TCP */

#ifdef IMAP_WITH_BEARSSL
/* ---- 8d. TLS over any transport (BearSSL) ----------------------------

   imaplib's IMAP4_SSL and the STARTTLS layer: TLS 1.0-1.2 with BearSSL's
   engine API over any other transport (TCP, a stream, a test script),
   so a lower read or write that would block (0) is passed up as 0, never
   spun on. Link with -lbearssl. Everything lives in caller memory: the
   imap_tls struct (BearSSL's client and X.509 contexts and the record
   buffer) and one buffer given to imap_tls_init for the trust anchors,
   the client certificate and the copy of the server certificate that
   cert_verify_cb sees.

   Sizes (BearSSL 0.6, x86-64): the record buffer is IMAP_TLS_BUFSIZE,
   by default BR_SSL_BUFSIZE_BIDI (33178 bytes, full duplex), for a
   sizeof(imap_tls) of 41440. Define IMAP_TLS_BUFSIZE as
   BR_SSL_BUFSIZE_MONO (16709, half duplex: a write waits while received
   data is unread, which the client engine does by itself) for 24968.
   (BearSSL's client context is 3720 bytes, its X.509 engine 3168.)
   Trust anchors take sizeof(br_x509_trust_anchor) (64) plus their DN and
   key bytes each: Debian 12's bundle (143 CAs) needs 70471 bytes, one
   RSA-2048 CA 373; imap_tls_init reports the exact need.

   Use, as imaplib's IMAP4_SSL (port 993):
       static imap_tls tls;                     (large: not on a stack)
       static unsigned char anchors[80 * 1024];
       imap_tls_config cfg;                     (zeroed: system bundle,
       memset(&cfg, 0, sizeof cfg);              tls_secure, verified)
       imap_tls_init(&tls, &cfg, anchors, sizeof anchors);
       imap_tcp_connect(&tcp, "imap.example.org", 993, 10000, &plain);
       imap_client_open_tls(&client, &plain, &tls, "imap.example.org");
   or on port 143 imap_client_open_starttls(...) with the same arguments.

   Verification is on by default: the chain must end at a trust anchor,
   the dates must hold, the certificate must name server_name (a DNS
   name through BearSSL; an IPv4 or IPv6 literal, "[::1]" too, against
   its iPAddress SANs, with no SNI sent, RFC 6066 §3), and it must pass
   the policy below. Only an explicit `insecure` turns all that off.
   Every refusal says why: imap_tls.cert_problem, .cert_index and
   .detail (imap_error_text prints it).

   For OpenSSL, Mbed TLS, wolfSSL or a platform TLS, write the four
   transport callbacks around it (examples/tls_openssl.c,
   examples/tls_mbedtls.c) and use imap_starttls_begin/_finish (9). 

   tls_level and ssl_version (imaplib2's starttls arguments). BearSSL
   has neither SSLv2 nor SSLv3, so every level is TLS only:
     IMAP_TLS_SECURE  "tls_secure" (the default here, unlike imaplib2):
                      TLS 1.2 only; ECDHE key exchange with AEAD
                      encryption (ChaCha20-Poly1305, AES-GCM), RSA or
                      ECDSA certificates.
     IMAP_TLS_NO_SSL  "tls_no_ssl": TLS 1.0-1.2; every ECDHE suite
                      (forward secrecy), AEAD and CBC, no 3DES.
     IMAP_TLS_COMPAT  "tls_compat" (imaplib2's default): TLS 1.0-1.2;
                      every suite BearSSL has, static RSA/ECDH and 3DES
                      included.
   ssl_version 0 is imaplib2's "ssl23" (any version the level allows);
   BR_TLS10, BR_TLS11 or BR_TLS12 pins that one version ("tls1",
   "tls1_1", "tls1_2"); a version the level excludes is IMAP_E_ARGS. */

#ifdef __cplusplus
}
#endif
#include <bearssl.h>
#ifdef __cplusplus
extern "C" {
#endif

#ifndef IMAP_TLS_BUFSIZE
#define IMAP_TLS_BUFSIZE BR_SSL_BUFSIZE_BIDI  /* record buffer, see above */
#endif
#ifndef IMAP_TLS_MAX_CHAIN
#define IMAP_TLS_MAX_CHAIN 4      /* certificates in a client chain */
#endif
/* IMAP_TLS_BIDI (0 or 1) overrides the duplex mode, which by default is
   full when the buffer holds BR_SSL_BUFSIZE_BIDI bytes. */

typedef enum imap_tls_level {
    IMAP_TLS_SECURE = 0,
    IMAP_TLS_NO_SSL,
    IMAP_TLS_COMPAT
} imap_tls_level;

/* Certificate policy: what a browser refuses is refused by default.
   Every certificate the server sends is decoded by imap.h as well
   (bounded, no recursion) and refused when
     - it is signed with SHA-1, MD5 or MD2 (a self-issued root's own
       signature is not checked, as browsers do not);
     - its RSA key has fewer than 2048 bits, its EC key fewer than 256;
     - it is the server's and has an extended key usage without
       serverAuth (nor anyExtendedKeyUsage): a certificate for clients,
       code signing, e-mail...
   Relax each for a legacy server with imap_tls_config.relax: */
#define IMAP_TLS_RELAX_SHA1      1u  /* accept SHA-1 signatures (MD5 never:
                                        BearSSL cannot check them) */
#define IMAP_TLS_RELAX_WEAK_KEY  2u  /* RSA keys down to 1024 bits */
#define IMAP_TLS_RELAX_PURPOSE   4u  /* any extended key usage */

/* Why a certificate was refused (imap_tls.cert_problem), with the
   result code it gives; imap_tls.detail says it in words. */
typedef enum imap_cert_problem {
    IMAP_CERT_OK = 0,
    IMAP_CERT_UNKNOWN_CA,        /* UNKNOWN_CA: the chain ends at an untrusted root */
    IMAP_CERT_SELF_SIGNED,       /* UNKNOWN_CA: a lone self-signed certificate */
    IMAP_CERT_INCOMPLETE_CHAIN,  /* UNKNOWN_CA: an issuer neither sent nor trusted */
    IMAP_CERT_ISSUER_NOT_CA,     /* UNKNOWN_CA: signed by a certificate that is no CA */
    IMAP_CERT_BAD_CHAIN,         /* UNKNOWN_CA: names do not chain, bad signature */
    IMAP_CERT_EXPIRED,           /* EXPIRED */
    IMAP_CERT_NOT_YET_VALID,     /* EXPIRED */
    IMAP_CERT_WEAK_KEY,          /* POLICY */
    IMAP_CERT_WEAK_SIGNATURE,    /* POLICY */
    IMAP_CERT_WRONG_PURPOSE,     /* POLICY */
    IMAP_CERT_HOSTNAME,          /* HOSTNAME: no DNS name matches */
    IMAP_CERT_IP,                /* HOSTNAME: an IP literal without its iPAddress */
    IMAP_CERT_MALFORMED,         /* HANDSHAKE: undecodable or unsupported */
    IMAP_CERT_CALLBACK           /* HANDSHAKE: cert_verify_cb said no */
} imap_cert_problem;

#define IMAP__TLS_SEEN 8          /* certificates of a chain described */
#define IMAP__TLS_IPS 8           /* iPAddress entries of the server's kept */
#define IMAP__DER_DEPTH 10

/* private: what imap.h learnt of one certificate */
typedef struct imap__tls_cert {
    long long not_before, not_after;    /* seconds since 1970 */
    unsigned key_bits;
    unsigned char key_type;             /* 1 RSA, 2 EC, 0 other */
    unsigned char sig;                  /* 0 fine, 1 SHA-1, 2 MD5/MD2 */
    unsigned char self_issued, ca, bad, dates;
} imap__tls_cert;

/* private: the streaming DER reader over the certificate being received */
typedef struct imap__tls_der {
    unsigned long off, end[IMAP__DER_DEPTH], pleft, len;
    unsigned char sem[IMAP__DER_DEPTH], idx[IMAP__DER_DEPTH];
    unsigned depth, lenleft, blen;
    unsigned char st, tag, psem, ext, version, roots;
    unsigned char buf[20];
    unsigned long long h_issuer, h_subject;
    unsigned long nbytes;               /* RSA modulus: bytes after zeros */
    unsigned char nfirst;               /* ... and its first non-zero byte */
} imap__tls_der;

/* imaplib2's cert_verify_cb: called once the chain (and the name) have
   been checked, with the server's certificate (DER) and the name asked
   for. Return NULL to accept; any string rejects the server: the
   handshake fails with IMAP_E_TLS_HANDSHAKE and the string is copied to
   imap_tls.reason. */
typedef const char *(*imap_tls_verify_fn)(void *arg, const unsigned char *der,
                                          size_t len, const char *server_name);

/* Options; zero means the default for every field. File and directory
   options need POSIX (IMAP_E_UNSUPPORTED under IMAP_NO_POSIX). */
typedef struct imap_tls_config {
    /* Trust anchors (imaplib2's ca_certs), any mix of the three. With
       none of them (and not insecure) the system bundle is read: the
       first of /etc/ssl/certs/ca-certificates.crt (Debian),
       /etc/pki/tls/certs/ca-bundle.crt (Fedora), /etc/ssl/ca-bundle.pem
       (SUSE), /etc/ssl/cert.pem (Alpine, BSD, macOS). A CA certificate
       anchors chains; a non-CA one is trusted directly (pinning). */
    const char *ca_file;        /* a PEM file of certificates */
    const char *ca_dir;         /* every PEM file in a directory */
    const char *ca_pem;         /* PEM text in memory (firmware) */
    size_t ca_pem_len;          /* 0: strlen(ca_pem) */
    /* Client certificate (certfile, keyfile): a PEM chain, leaf first,
       and its RSA or EC key (PKCS#1, SEC1 or unencrypted PKCS#8). With
       no key file the key is looked for in the certificate file. */
    const char *cert_file, *key_file;
    const char *cert_pem, *key_pem;     /* the same, in memory */
    size_t cert_pem_len, key_pem_len;   /* 0: strlen */
    imap_tls_verify_fn cert_verify_cb;
    void *cert_verify_arg;
    size_t peer_cert_max;       /* room for the certificate the callback
                                   sees (0: 8192); a larger one fails */
    unsigned ssl_version;       /* 0, BR_TLS10, BR_TLS11 or BR_TLS12 */
    int tls_level;              /* imap_tls_level */
    int insecure;               /* nonzero: no chain, date or name check
                                   (anyone in the middle can read along) */
    long long verify_time;      /* certificate dates are checked at this
                                   time (seconds since 1970, UTC); 0: the
                                   system clock */
    long timeout_ms;            /* the handshake waits at most this long
                                   in the lower transport's wait (0:
                                   30000; -1: no limit) */
    const void *entropy;        /* mixed into BearSSL's generator; needed
                                   where it has no system source */
    size_t entropy_len;
    unsigned relax;             /* IMAP_TLS_RELAX_* (0: refuse what a
                                   browser refuses) */
} imap_tls_config;

/* One TLS connection's state. Place it anywhere (it is large: keep it
   off small stacks); it may be reused for the next connection once the
   last one is closed. Public fields may be read, not written. */
typedef struct imap_tls {
    int result;                 /* imap_result of the last failure, 0 none */
    int bearssl_error;          /* BearSSL's error number at that failure
                                   (BR_ERR_*; X.509 errors 32..63, alerts
                                   received 256+, sent 512+), 0 none */
    char reason[128];           /* cert_verify_cb's reason (NUL-terminated) */
    int cert_problem;           /* imap_cert_problem of the last failure */
    int cert_index;             /* the certificate it concerns: 0 the
                                   server's, 1 its issuer... (-1: none) */
    char detail[192];           /* the failure in words (NUL-terminated):
                                   imap_error_text prints it */
    size_t needed;              /* imap_tls_init: bytes `mem` must hold */
    size_t anchors;             /* trust anchors loaded (duplicates once) */
    unsigned version;           /* negotiated: BR_TLS12 (0x0303)... */
    unsigned suite;             /* negotiated cipher suite (BR_TLS_*) */
    br_ssl_client_context cc;   /* BearSSL's client (its own calls may read it) */
    /* private */
    const br_x509_class *_xw;   /* our X.509 engine, over _x */
    union {
        br_x509_minimal_context xc;     /* verifying */
        br_x509_decoder_context dec;    /* insecure: the server's key only */
    } _x;
    union {
        unsigned char buf[IMAP_TLS_BUFSIZE];  /* BearSSL's record buffer */
        void *_align;
    } _io;
    imap_transport _lower;
    unsigned char *_mem;
    size_t _cap, _end, _front, _nta, _peak;
    int _over, _ready, _insecure, _cb_failed, _handshaken, _cert_extra;
    imap_tls_verify_fn _cb;
    void *_cb_arg;
    unsigned char *_peer;
    size_t _peer_max, _peer_len, _ncert;
    int _peer_over;
    long _timeout_ms;
    br_x509_certificate _chain[IMAP_TLS_MAX_CHAIN];
    size_t _nchain;
    unsigned _relax;
    long long _vtime;           /* verify_time, 0: the clock */
    const char *_name;          /* server_name during the handshake */
    unsigned char _ip[16];      /* server_name as an IP literal */
    size_t _iplen;              /* 4, 16, or 0: a DNS name */
    imap__tls_der _der;
    imap__tls_cert _seen[IMAP__TLS_SEEN];
    unsigned char _sans[IMAP__TLS_IPS][16], _sanlen[IMAP__TLS_IPS];
    unsigned _nsan;
    int _eku;                   /* server's EKU: 0 none, 1 not for
                                   servers, 2 serverAuth or any */
    int _has_dns;               /* the server's certificate names hosts */
    int _rx_any, _rx_plain;     /* handshake: bytes came; the first was '*' */
    int _key_type;
    union {
        br_rsa_private_key rsa;
        br_ec_private_key ec;
    } _key;
} imap_tls;

/* Load the trust anchors and the client certificate into mem[0..cap)
   (it MUST outlive the connections made with t) and configure t. cfg
   may be NULL (all defaults). Returns:
     IMAP_OK           ready; t->anchors says how many anchors;
     IMAP_E_NOMEM      mem is too small: t->needed bytes are enough
                       (call again with as many);
     IMAP_E_ARGS       a contradictory option (ssl_version outside the
                       level, a key without a certificate...), or no
                       trust anchor at all while verifying, or a PEM
                       source that holds no usable object;
     IMAP_E_IO         a file or directory could not be read;
     IMAP_E_LIMIT      more than IMAP_TLS_MAX_CHAIN client certificates;
     IMAP_E_UNSUPPORTED  files under IMAP_NO_POSIX, an encrypted key.
   t->detail names the file and the system's reason, or the bytes needed. */
IMAPDEF imap_result imap_tls_init(imap_tls *t, const imap_tls_config *cfg,
                                  void *mem, size_t cap);

/* Handshake over `lower` (which stays the caller's until it succeeds),
   checking the certificate against server_name, which is also sent as
   SNI (NULL or "" only when insecure). On success *out is a transport
   (ctx is t) whose writes are flushed to lower at once, and whose close
   sends close_notify when it can, then closes lower. Returns IMAP_OK or:
     IMAP_E_TLS_UNKNOWN_CA  the chain ends at no trust anchor (also a
                            broken chain: bad signature, issuer not a CA);
                            cert_problem tells unknown CA, self-signed,
                            incomplete chain, issuer not a CA, bad chain
     IMAP_E_TLS_EXPIRED     a certificate is expired or not yet valid
                            (cert_problem tells which, detail the date)
     IMAP_E_TLS_HOSTNAME    the certificate does not name server_name
                            (IMAP_CERT_HOSTNAME), or has no iPAddress for
                            an IP literal (IMAP_CERT_IP)
     IMAP_E_TLS_POLICY      a weak signature (SHA-1, MD5) or key (RSA <
                            2048, EC < 256), or a server certificate not
                            for servers (EKU): see imap_tls_config.relax
     IMAP_E_TLS_HANDSHAKE   any other handshake failure: no common
                            version or suite, an alert from the server,
                            a malformed certificate, cert_verify_cb said
                            no (t->reason), ...
     IMAP_E_TIMEOUT         the handshake took longer than timeout_ms
     IMAP_E_IO              the lower transport failed or closed (some
                            servers hang up instead of sending an alert)
     IMAP_E_STATE           imap_tls_init did not succeed
     IMAP_E_ARGS            no server_name while verifying.
   t->result and t->bearssl_error keep the failure. After the handshake,
   a failed read or write returns -1 and sets them the same way (a
   close_notify from the server is IMAP_E_TLS_CLOSED; any other TLS
   error IMAP_E_TLS): the client reports IMAP_E_CLOSED or IMAP_E_IO, and
   t->result says what TLS saw. */
IMAPDEF imap_result imap_tls_start(imap_tls *t, const imap_transport *lower,
                                   const char *server_name, imap_transport *out);
#endif /* IMAP_WITH_BEARSSL */

/* (8d TLS declarations end here) */

#ifdef IMAP_WITH_ZLIB
/* ---- 8e. COMPRESS=DEFLATE (RFC 4978) -----------------------------------

   A transport layered over any other (TCP, TLS, a script): what the
   client writes is deflated, each write ending in a Z_SYNC_FLUSH so the
   server can act on it at once, and what the server sends is inflated.
   Raw deflate (zlib windowBits -15, no header), as RFC 4978 §4 asks.
   Build with zlib (link -lz); every TU that includes imap.h MUST define
   IMAP_WITH_ZLIB alike (it changes what is declared).

   MEMORY. zlib's allocations come from `mem` through an imap_arena (zlib
   gets imap.h's zalloc; it never calls malloc), taken once at set-up:
     inflate: a 32 KiB window (the server compresses with its own window,
       up to 32 KiB, and RFC 4978 gives no way to ask for less) plus
       zlib's state, ~7 KiB;
     deflate: (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes
       (zconf.h's formula) plus its state, ~6 KiB: 256 KiB for zlib's
       defaults (15, 8); our window may be smaller (RFC 4978 §4);
     two buffers of IMAP_READ_CHUNK and IMAP_DEFLATE_OUT bytes.
   The set-up takes the largest (windowBits, memLevel) that fits `cap`,
   from (15, 8) down to (9, 1); IMAP_DEFLATE_MEM(w, m) is enough for a
   given pair: IMAP_DEFLATE_MEM_DEFAULT (15, 8) is 319488 bytes (zlib
   1.2.13 on x86-64 takes 316224), IMAP_DEFLATE_MEM_MIN (9, 1) is 60416.
   Smaller settings cost compression of what the client sends (commands,
   APPENDs) only. */

#ifndef IMAP_DEFLATE_LEVEL
#define IMAP_DEFLATE_LEVEL 6      /* zlib level 1 (fast) .. 9 (small) */
#endif
#ifndef IMAP_DEFLATE_OUT
#define IMAP_DEFLATE_OUT 4096     /* compressed bytes kept for the lower write */
#endif
/* Enough memory for deflate settings (w, m); includes 16 KiB for zlib's
   two state structs and alignment. */
#define IMAP_DEFLATE_MEM(w, m) ((1ul << ((w) + 2)) + (1ul << ((m) + 9)) + 32768ul + \
                                IMAP_READ_CHUNK + IMAP_DEFLATE_OUT + 16384ul)
#define IMAP_DEFLATE_MEM_DEFAULT IMAP_DEFLATE_MEM(15, 8)
#define IMAP_DEFLATE_MEM_MIN     IMAP_DEFLATE_MEM(9, 1)

#include <zlib.h>

typedef struct imap_deflate {
    /* read-only */
    int window_bits;          /* deflate window chosen, 9..15 */
    int mem_level;            /* deflate memLevel chosen, 1..9 */
    size_t mem_used;          /* bytes of mem taken (zlib and buffers) */
    int error;                /* why the stream failed: IMAP_E_PROTOCOL
                                 (the server's data does not inflate, or
                                 its stream ended), IMAP_E_NOMEM (zlib) */
    imap_u64 in_compressed;   /* bytes read from the lower transport */
    imap_u64 in_plain;        /* ... and what they inflated to */
    imap_u64 out_plain;       /* bytes the client wrote */
    imap_u64 out_compressed;  /* ... and what went to the lower transport */
    /* private */
    imap_transport _lower;
    imap_arena _arena;
    z_stream _inf, _def;
    unsigned char *_ibuf, *_obuf;
    size_t _ioff, _ilen, _ooff, _olen, _chunk;
    int _more;                /* inflate filled the caller's buffer: it
                                 may hold more output */
    int _ended;               /* the server's stream ended */
    int _live;                /* the zlib streams are set up */
} imap_deflate;

/* Set up compression over `lower` (copied; the deflate transport owns
   it from now: closing *out closes lower) in mem[0..cap), and fill *out
   (ctx is z). Returns IMAP_OK or IMAP_E_NOMEM (cap below
   IMAP_DEFLATE_MEM_MIN); IMAP_E_ARGS for NULL mem. */
IMAPDEF imap_result imap_deflate_init(imap_deflate *z, const imap_transport *lower,
                                      void *mem, size_t cap, imap_transport *out);
/* Hand it compressed bytes that were already read from lower (what came
   after the COMPRESS OK): they are inflated before anything new is read.
   At most IMAP_READ_CHUNK bytes, before the first read: IMAP_E_NOMEM
   otherwise. */
IMAPDEF imap_result imap_deflate_input(imap_deflate *z, const void *data, size_t len);
/* End the zlib streams and close lower (what the transport's close does).
   Returns lower's close result (0 when it has none). */
IMAPDEF int imap_deflate_close(imap_deflate *z);

/* imaplib2's enable_compression: COMPRESS DEFLATE, then the session runs
   over a deflate transport in z and mem[0..cap) (see MEMORY above; both
   MUST stay valid while the connection lives). Blocking. Refused with
   IMAP_E_CAPABILITY without COMPRESS=DEFLATE (Dovecot offers it after
   login), IMAP_E_STATE without a transport (sans-I/O use: layer
   imap_deflate_init yourself) or when compression is already on
   (RFC 4978 §3), IMAP_E_NOMEM when cap is too small (nothing sent then).
   On NO or BAD the session goes on uncompressed. */
IMAPDEF int imap_enable_compression(imap_client *c, imap_deflate *z, void *mem, size_t cap);
#endif /* IMAP_WITH_ZLIB */

/* (8e deflate declarations end here) */

/* (section 8 declarations end here) */

/* ======================================================================
   9. CLIENT
   ====================================================================== */

/* One outstanding command (private). */
typedef struct imap__pending {
    unsigned long seq;            /* submission order; 0 = free slot */
    char tag[16];
    char name[24];                /* XATOM: the responses it takes */
    char set[48];                 /* FETCH/STORE: its set ("" = any) */
    int uid_set;                  /* the set holds UIDs */
    unsigned kind;                /* IMAP__K_* of the command */
    unsigned flags;               /* IMAP__F_* */
    unsigned route_extra;         /* IMAP__R_* it takes beyond its kind's */
    size_t store_bytes;           /* store bytes its data took or wanted */
    int got_caps;                 /* an untagged CAPABILITY came meanwhile */
    imap_call call;
    imap_segment seg[IMAP_CMD_MAX_SEGMENTS];
    unsigned nseg, cur_seg;
    size_t cur_off;
    int result;
    imap_auth_fn auth;
    void *auth_arg;
    long timeout_ms;              /* response timeout (0: none) */
    long idle_ms;                 /* IDLE: how long it has left to idle */
    char line[24];                /* IDLE re-issued: its command line */
} imap__pending;

/* Caller memory for more commands in flight than IMAP_MAX_PENDING (see
   imap_client_set_queue): an array of these. */
typedef imap__pending imap_queue_slot;

/* The imaplib IMAP4 object. Place it anywhere; imap_client_init gives it
   its memory. Public fields may be read; none may be written. */
struct imap_client {
    int state;                    /* imap_state */
    int protocol;                 /* 1: IMAP4rev1, 2: IMAP4rev2 announced (PROTOCOL_VERSION) */
    int rev2;                     /* IMAP4rev2 in effect: the server said ENABLED
                                     IMAP4rev2 (RFC 9051 §7.2.1); ESEARCH answers SEARCH */
    int utf8;                     /* UTF-8 mailbox names in effect: rev2 or
                                     UTF8=ACCEPT enabled (RFC 6855 §3) */
    int error;                    /* sticky abort-class result, 0 if none */
    int readonly;                 /* the selected mailbox is read-only */
    imap_u64 exists;              /* last EXISTS of the selected mailbox */
    imap_u64 recent;              /* last RECENT */
    int last_status;              /* imap_resp_status of the last tagged response */
    char last_text[256];          /* its text with its response code, as
                                     imaplib's data: "[APPENDUID 38505
                                     3955] Append completed" (NUL-
                                     terminated; a longer text is cut) */
    size_t last_text_len;         /* the whole text's length: above
                                     sizeof last_text - 1 it was cut
                                     (on_done's tagged response has all) */
    size_t store_needed;          /* IMAP_E_DROPPED: store bytes the call's
                                     data needed (see imap_client_response) */
    long timeout_ms;              /* response timeout, 0 = none */
    int debug;                    /* IMAP_DEBUG_* level */
    /* private */
    imap_transport _t;
    int _has_t;
    imap_parser _parser;
    unsigned char *_out;
    size_t _out_cap, _out_len;
    unsigned char *_store;
    size_t _store_cap, _store_len;
    unsigned long _store_dropped;   /* entries that found no room */
    unsigned long _store_evicted;   /* entries of finished calls made room */
    unsigned long _done_owner;      /* on_done running: its command's seq */
    unsigned _nsinks;               /* outstanding calls with a sink */
    unsigned long _picked_seq;      /* the call whose sink took this response */
    char _caps[IMAP_CAPS_BYTES];
    size_t _caps_len;
    size_t _caps_need;            /* 0: the list is whole; else its size */
    int _caps_stale;
    int _starttls_wait;           /* between imap_starttls_begin and _finish */
    int _plain_preauth;           /* PREAUTH came over plaintext */
    char _detail[256];            /* imap_error_text's words for our own refusals */
    int _detail_code;             /* ... and the code they explain */
    const struct imap_tls *_tls_obj; /* the BearSSL layer under us, if ours */
    int _greeted, _started;
    int _literal_mode;
    int _require_tls;
    int _tls;
    imap_tagger _tagger;
    unsigned long _seq;
    imap__pending *_q;            /* the command slots: _q_mem or caller's */
    unsigned _q_cap, _q_hi;       /* slots; slots [_q_hi, _q_cap) are free */
    imap__pending _q_mem[IMAP_MAX_PENDING];
    unsigned char _inject[IMAP_INJECT_BYTES];
    size_t _inject_len, _inject_off;
    unsigned char _rbuf[IMAP_READ_CHUNK];
    size_t _rbuf_len, _rbuf_off;
    int _stop_feed;
    int _readonly_event;
    unsigned long _wait_seq;      /* the command a blocking call waits for */
    int _wait_done, _wait_result;
    int _depth;                   /* >0: inside the engine (callbacks run) */
    long long _now;               /* the time last known (ms) */
    int _now_stale;               /* sans-I/O: _now is older than this call */
    long long _resp_start;        /* the response timer counts from here */
    long long (*_clock)(void *arg);
    void *_clock_arg;
    int (*_random)(void *arg, unsigned char *out, size_t len);
    void *_random_arg;
    struct imap_scram_cache *_scram_cache;
    long long _idle_start;        /* the IDLE in progress idles since */
    imap_debug_fn _debug_fn;
    void *_debug_arg;
    char _ring[IMAP_DEBUG_LINES][IMAP_DEBUG_LINE_BYTES];
    unsigned _ring_next, _ring_count;
    void (*_on_untagged)(void *arg, imap_client *c, const imap_response *r);
    void *_on_untagged_arg;
    unsigned _enabled;            /* ENABLED: 1 CONDSTORE, 2 QRESYNC (RFC 7162) */
    unsigned long _changes;       /* EXISTS, EXPUNGE, VANISHED, FETCH seen */
};

/* Give the client its memory, carved into the output buffer (1/8), the
   per-name store (1/8) and the parser's buffer (the rest). 64 KiB is
   comfortable; 16 KiB works for small mailboxes. Less than
   IMAP_CLIENT_MIN_MEM (or mem NULL) makes every later call fail with
   IMAP_E_NOMEM (IMAP_E_ARGS); a greeting too large for the parser's part
   fails imap_client_open with IMAP_E_NOMEM. */
#ifndef IMAP_CLIENT_MIN_MEM
#define IMAP_CLIENT_MIN_MEM 1024
#endif
IMAPDEF void imap_client_init(imap_client *c, void *mem, size_t cap);
/* Time source in milliseconds (monotonic). Without one, timeouts count
   the time the transport's wait() spent timing out (a server that
   trickles bytes is then not bounded: give a clock); a transport without
   wait() and no clock cannot measure time, and imap_client_open refuses
   a timeout there with IMAP_E_ARGS (as do imap_idle with a timeout and
   any command once a timeout is set). Sans-I/O, imap_client_tick brings
   the time. */
IMAPDEF void imap_client_set_clock(imap_client *c, long long (*now_ms)(void *arg), void *arg);
/* Entropy for what the client makes up itself: the SCRAM client nonce of
   imap_login_sasl. fn fills out with len random bytes and returns 0, or
   nonzero when it has none (the login then fails, IMAP_E_UNSUPPORTED).
   Without one: the system's source through BearSSL's seeder; firmware
   where BearSSL has no seeder MUST give one for SCRAM. */
IMAPDEF void imap_client_set_random(imap_client *c,
    int (*fn)(void *arg, unsigned char *out, size_t len), void *arg);
/* SCRAM keys for imap_login_sasl to keep between logins (9b's
   imap_scram_cache, caller memory; NULL: none, PBKDF2 every time). */
IMAPDEF void imap_client_set_scram_cache(imap_client *c, struct imap_scram_cache *cache);
IMAPDEF void imap_client_set_debug(imap_client *c, int level, imap_debug_fn fn, void *arg);
/* The response timeout (0: none; imap_call.timeout_ms sets one command's).
   It bounds the time, not the silence: the greeting must be complete
   timeout_ms after open, and each tagged response within timeout_ms of
   the later of its command being issued and the previous tagged response
   (so N pipelined commands take at most N timeouts), whatever the server
   sends meanwhile (a trickle, an endless line, continuations, untagged
   data, a refused literal being skipped). When it passes the connection
   is aborted with IMAP_E_TIMEOUT (the stream cannot be resynchronised).
   While IDLE is idling only IDLE's own timeout runs; after DONE the
   response timeout starts again. Milliseconds throughout. */
IMAPDEF void imap_client_set_timeout(imap_client *c, long timeout_ms);
/* More commands in flight than the IMAP_MAX_PENDING slots inside the
   client: n slots of caller memory (it must outlive the client; call
   before open, with nothing outstanding). When every slot is in use a
   command waits for one over a transport, and returns IMAP_E_BUSY
   sans-I/O or from a callback (nothing was queued). */
IMAPDEF int imap_client_set_queue(imap_client *c, imap_queue_slot *slots, size_t n);
/* Untagged responses no command asked for (ALERTs, EXISTS between
   commands), and those an IDLE without on_data ends on (EXISTS during a
   blocking imap_idle). */
IMAPDEF void imap_client_on_untagged(imap_client *c,
    void (*fn)(void *arg, imap_client *c, const imap_response *r), void *arg);
/* Seed the tag generator (tests want fixed tags). */
IMAPDEF void imap_client_seed_tags(imap_client *c, unsigned long seed);
/* The parser: set its literal sink or limits after imap_client_init. */
IMAPDEF imap_parser *imap_client_parser(imap_client *c);

/* Start a session over a transport: read the greeting (OK, PREAUTH; BYE
   or anything else aborts) and learn the capabilities. */
IMAPDEF int imap_client_open(imap_client *c, const imap_transport *t);
/* Close the transport; the state becomes LOGOUT. */
IMAPDEF void imap_client_close(imap_client *c);
/* Replace the transport after STARTTLS or COMPRESS; *rest (may be NULL)
   receives bytes that arrived after the command's OK. */
IMAPDEF void imap_client_set_transport(imap_client *c, const imap_transport *t, imap_str *rest);
/* One step for an event loop: send what can go, read once waiting at
   most timeout_ms, dispatch. Callbacks run from here. */
IMAPDEF int imap_client_poll(imap_client *c, long timeout_ms);
/* Block until no command is outstanding. */
IMAPDEF int imap_client_wait_all(imap_client *c);
IMAPDEF unsigned imap_client_pending(const imap_client *c);

/* Sans-I/O use, without a transport: imap_client_start() expects a
   greeting; feed server bytes; take bytes to send and acknowledge them.
   Commands then return IMAP_MORE at once (blocking needs a transport). */
IMAPDEF int imap_client_start(imap_client *c);
IMAPDEF int imap_client_feed(imap_client *c, const void *data, size_t len, size_t *consumed);
IMAPDEF int imap_client_output(imap_client *c, const unsigned char **ptr, size_t *len);
IMAPDEF void imap_client_output_ack(imap_client *c, size_t n);
/* Timers for an event loop (sans-I/O, or around imap_client_poll): tell
   the engine the time in milliseconds (ignored when a clock is set or
   over a transport: the engine has its own time then); it fires what is
   due (a response timeout aborts, IDLE's timeout sends DONE; callbacks
   may run) and returns the milliseconds until the next timer, 0 if one
   is due, -1 when none runs: how long a poll() may sleep (output still
   pending: also wait for the socket to be writable). Call it every time
   the loop wakes, after feeding what arrived; without a clock, timers
   started since the last tick count from the time the next tick brings.
   The blocking calls run on the same timers. */
IMAPDEF long imap_client_tick(imap_client *c, long long now_ms);

/* capabilities (imaplib's .capabilities), space-separated as received.
   A list longer than IMAP_CAPS_BYTES - 1 is kept cut at an atom boundary
   and the client then assumes the worst of what it could not see:
   has_cap says 1 for LOGINDISABLED and STARTTLS (so nothing skips TLS
   or sends LOGIN on a guess) and every credential-sending call
   (login, authenticate, login_sasl) fails with IMAP_E_CAPS_CUT. */
IMAPDEF int imap_client_has_cap(const imap_client *c, const char *cap);
IMAPDEF imap_str imap_client_capabilities(const imap_client *c);
/* 0 when the last capability list was kept whole; else the bytes
   IMAP_CAPS_BYTES must hold to keep it (its length plus the NUL). */
IMAPDEF size_t imap_client_caps_cut(const imap_client *c);

/* The full text of the last failure, for a person: what the code means,
   then what and where: the server's words with their response code
   ("[AUTHENTICATIONFAILED] Authentication failed."), the name that did
   not resolve or the address and port that refused (tcp), the
   certificate problem or the file that could not be read (tls), why the
   client refused (no credentials on a cut capability list, LOGINDISABLED,
   PREAUTH in plaintext). Any of c, tcp, tls may be NULL (pass what you
   have; the client knows the BearSSL layer it opened itself). Writes a
   NUL-terminated string, cut to cap, and returns its length. */
struct imap_tcp;
struct imap_tls;
IMAPDEF size_t imap_error_text(char *out, size_t cap, int code, const imap_client *c,
                               const struct imap_tcp *tcp, const struct imap_tls *tls);

/* imaplib's response(code): the oldest kept data for `name` ("FLAGS",
   "EXISTS", "UIDVALIDITY", "ALERT", "SEARCH" ...), copied NUL-terminated
   into out and removed. Returns 1, 0 if none, IMAP_E_NOMEM if cap is too
   small (*len then tells the size). The data is imaplib's string: "23"
   for "* 23 EXISTS", "1 (FLAGS (\Seen))" for "* 1 FETCH (FLAGS
   (\Seen))", a literal kept inline as "{n}" CRLF and its n bytes
   (imap_data_next splits it like imaplib's tuples).
   The store is 1/8 of the client's memory and holds everything a call
   gathers, or the call says it did not: it returns IMAP_E_DROPPED (not
   OK; what fitted is kept) and c->store_needed is the store size that
   would have held all of it (give imap_client_init 8 times that). Room
   is made by dropping the oldest entries of finished calls and
   unsolicited ones, never those of a call still outstanding. Each entry
   takes 9 bytes plus its name and data: with 64 KiB of memory (8 KiB of
   store) that is about 30 FETCH ENVELOPE responses (Dovecot's 301 took
   82,104 bytes, 273 each) or ~1,600 SEARCH numbers of four digits (the
   parser's buffer then needs ~60 bytes a number). For more, or for whole
   mailboxes, use call->on_data (each response as it arrives, nothing
   kept), call->sink for message bodies, or imap_parser_set_number_sink
   for SEARCH numbers. */
IMAPDEF int imap_client_response(imap_client *c, const char *name, char *out,
                                 size_t cap, size_t *len);
/* The numbers a SEARCH or UID SEARCH found, as imaplib's data[0] ("2 5 7";
   "" for none), whichever way the server answered: SEARCH (IMAP4rev1) or
   ESEARCH (IMAP4rev2, RFC 9051 §7.3.4: its ALL set "2,5:7" is spelled
   out; no ALL is none). Takes the oldest kept SEARCH or ESEARCH data.
   Returns 1, 0 if none, IMAP_E_NOMEM if cap is too small (*len then tells
   the size and the data stays), IMAP_E_SYNTAX for an ESEARCH it cannot
   read (dropped). */
IMAPDEF int imap_client_search_result(imap_client *c, char *out, size_t cap, size_t *len);
/* imaplib's pop_untagged_responses: the oldest kept response of any name. */
IMAPDEF int imap_client_pop_untagged(imap_client *c, char *name, size_t ncap,
                                     char *data, size_t dcap, size_t *dlen);
/* Split a data string like imaplib's (header, literal) tuples: *cursor
   starts at data[0]; each call gives the text up to and including the
   next "{n}" (or to the end) in *text and the n literal bytes after it
   in *literal ({NULL,0} when there is none). Returns 1 per part, 0 at
   the end. "1 (RFC822 {5}\r\nhello)" gives ("1 (RFC822 {5}", "hello"),
   then (")", none). A "{n}" that does not frame n bytes is text. */
IMAPDEF int imap_data_next(const char **cursor, const char *end, imap_str *text,
                           imap_str *literal);

/* ---- the commands (imaplib / imaplib2 IMAP4 methods) -----------------
   Every call takes `call` last (NULL: blocking, data kept in the store).
   Blocking, a call returns IMAP_OK for a tagged OK, IMAP_E_NO or
   IMAP_E_BAD (text in c->last_text), IMAP_E_READONLY when the mailbox
   turned read-only meanwhile, the parser's code (IMAP_E_NOMEM,
   IMAP_E_LIMIT, IMAP_E_SYNTAX, IMAP_E_SINK) when a response of its own
   was rejected (the command is complete, its data is not; the session
   goes on), IMAP_E_DROPPED when its data did not fit the store
   (c->store_needed; see imap_client_response), or an abort-class code. With
   call->on_done it returns IMAP_OK once queued (imaplib2's callback).
   Untagged data goes to call->on_data as it arrives, else to the store:
   imap_client_response(c, "SEARCH", ...) gives imaplib's data strings.
   Argument kinds (arg, mailbox, set, syntax, list, string) are those of
   section 6; NULL is imaplib's None. State-changing commands (SELECT,
   EXAMINE, CLOSE, UNSELECT, LOGIN, AUTHENTICATE, STARTTLS, COMPRESS,
   LOGOUT, IDLE) wait for the pipeline to drain and hold later commands
   until they finish. */

IMAPDEF int imap_capability(imap_client *c, const imap_call *call);      /* RFC 3501 §6.1.1 */
IMAPDEF int imap_noop(imap_client *c, const imap_call *call);            /* §6.1.2 */
IMAPDEF int imap_logout(imap_client *c, const imap_call *call);          /* §6.1.3 */
/* LOGIN (§6.2.3). Refused with IMAP_E_PLAINTEXT when the server says
   LOGINDISABLED, or when imap_client_require_tls() is on and the
   connection is not TLS. */
IMAPDEF int imap_login(imap_client *c, const char *user, const char *password,
                       const imap_call *call);
/* AUTHENTICATE mech (§6.2.2) with imaplib's authobject: `auth` answers
   each challenge. With SASL-IR (RFC 4959) the first answer (to an empty
   challenge) goes with the command. */
IMAPDEF int imap_authenticate(imap_client *c, const char *mech, imap_auth_fn auth,
                              void *auth_arg, const imap_call *call);
IMAPDEF int imap_proxyauth(imap_client *c, const char *user, const imap_call *call);
IMAPDEF int imap_enable(imap_client *c, const char *caps, const imap_call *call);  /* RFC 5161 */
IMAPDEF int imap_id(imap_client *c, const char *const *args, size_t nargs,
                    const imap_call *call);                                /* RFC 2971 */
IMAPDEF int imap_namespace(imap_client *c, const imap_call *call);       /* RFC 2342 */
/* SELECT (or EXAMINE when readonly); NULL mailbox is INBOX. The EXISTS
   count is then c->exists (imaplib returns it as data). Under IMAP4rev2
   the LIST of the mailbox (RFC 9051 §6.3.2) is its data too (on_data);
   other LIST responses meanwhile are unsolicited. */
IMAPDEF int imap_select(imap_client *c, const char *mailbox, int readonly,
                        const imap_call *call);                            /* §6.3.1 */
IMAPDEF int imap_examine(imap_client *c, const char *mailbox, const imap_call *call);
IMAPDEF int imap_create(imap_client *c, const char *mailbox, const imap_call *call);
IMAPDEF int imap_delete(imap_client *c, const char *mailbox, const imap_call *call);
IMAPDEF int imap_rename(imap_client *c, const char *oldmailbox, const char *newmailbox,
                        const imap_call *call);
IMAPDEF int imap_subscribe(imap_client *c, const char *mailbox, const imap_call *call);
IMAPDEF int imap_unsubscribe(imap_client *c, const char *mailbox, const imap_call *call);
/* LIST / LSUB: NULL directory is '""', NULL pattern '*' (imaplib). With
   c->rev2, LIST asks RETURN (CHILDREN) and takes only responses that
   carry \HasChildren, \HasNoChildren or \NoInferiors: the server's
   change notices (RFC 9051 §6.3.4-§6.3.6: created, deleted, renamed)
   go unsolicited, not counted as the LIST's data (blocking, without
   on_data, both land in the store, as in imaplib). Names: imap_list_name. */
IMAPDEF int imap_list(imap_client *c, const char *directory, const char *pattern,
                      const imap_call *call);                              /* §6.3.8 */
IMAPDEF int imap_lsub(imap_client *c, const char *directory, const char *pattern,
                      const imap_call *call);                              /* §6.3.9 */
/* STATUS mailbox names: names is a list, e.g. "(MESSAGES UNSEEN)". */
IMAPDEF int imap_status(imap_client *c, const char *mailbox, const char *names,
                        const imap_call *call);                            /* §6.3.10 */
/* APPEND (§6.3.11): flags (list) and date_time (a Time2Internaldate
   string) may be NULL; msg is sent as a literal and MUST stay valid
   until the command is sent (blocking: until the call returns). */
IMAPDEF int imap_append(imap_client *c, const char *mailbox, const char *flags,
                        const char *date_time, const void *msg, size_t msglen,
                        const imap_call *call);
IMAPDEF int imap_check(imap_client *c, const imap_call *call);           /* §6.4.1 */
IMAPDEF int imap_close(imap_client *c, const imap_call *call);           /* §6.4.2 */
IMAPDEF int imap_unselect(imap_client *c, const imap_call *call);        /* RFC 3691 */
/* EXPUNGE (§6.4.3): the EXPUNGE numbers go to on_data or the store. */
IMAPDEF int imap_expunge(imap_client *c, const imap_call *call);
/* SEARCH charset criteria... (§6.4.4): charset NULL for none. */
IMAPDEF int imap_search(imap_client *c, const char *charset, const char *const *criteria,
                        size_t ncriteria, const imap_call *call);
/* FETCH set parts (§6.4.5): parts is syntax, e.g. "(UID BODY[TEXT])". */
IMAPDEF int imap_fetch(imap_client *c, const char *set, const char *parts,
                       const imap_call *call);
/* PARTIAL (RFC 2060 §6.4.6, gone from RFC 3501): servers of today
   answer BAD; FETCH BODY[part]<start.length> is its modern form. */
IMAPDEF int imap_partial(imap_client *c, const char *num, const char *part,
                         const char *start, const char *length, const imap_call *call);
/* STORE set command flags (§6.4.6): command is syntax ("+FLAGS"). */
IMAPDEF int imap_store(imap_client *c, const char *set, const char *command,
                       const char *flags, const imap_call *call);
/* CONDSTORE / QRESYNC (RFC 7162). ENABLE QRESYNC is imap_enable(c,
   "QRESYNC", call), in the authenticated state (RFC 5161 §3.1).
   imap_select_ext: SELECT (EXAMINE when readonly) with "(CONDSTORE)"
   and/or "(QRESYNC (uidvalidity modseq [known-uids [seq-match]]))"
   (qresync NULL: none), as imap_cmd_select builds it. Like imap_select
   it sets the state to SELECTED on OK; the FETCH (UID FLAGS MODSEQ) and
   "VANISHED (EARLIER)" that answer a QRESYNC go to call->on_data (else
   the store); [HIGHESTMODSEQ n] / [NOMODSEQ] / [UIDVALIDITY n] are in
   the store (imap_client_response(c, "HIGHESTMODSEQ", ...)). */
IMAPDEF int imap_select_ext(imap_client *c, const char *mailbox, int readonly,
                            int condstore, const imap_qresync *qresync,
                            const imap_call *call);
/* [UID] FETCH set items (CHANGEDSINCE modseq [VANISHED]) (§3.1.4,
   §3.2.6; vanished needs uid and QRESYNC enabled): FETCHes and the
   VANISHED (EARLIER) go to call->on_data. */
IMAPDEF int imap_fetch_changedsince(imap_client *c, int uid, const char *set,
                                    const char *items, imap_u64 modseq, int vanished,
                                    const imap_call *call);
/* [UID] STORE set (UNCHANGEDSINCE modseq) command flags (§3.1.3). The
   messages not stored because they changed come back as [MODIFIED set]
   on the tagged response: in the store as "MODIFIED", or from on_done's
   tagged response with imap_response_code_set(t, "MODIFIED", &set). */
IMAPDEF int imap_store_unchangedsince(imap_client *c, int uid, const char *set,
                                      imap_u64 modseq, const char *command,
                                      const char *flags, const imap_call *call);
IMAPDEF int imap_copy(imap_client *c, const char *set, const char *mailbox,
                      const imap_call *call);                              /* §6.4.7 */
IMAPDEF int imap_move(imap_client *c, const char *set, const char *mailbox,
                      const imap_call *call);                              /* RFC 6851 */
/* UID command args... (§6.4.8): COPY, FETCH, SEARCH, STORE, MOVE,
   EXPUNGE, SORT, THREAD. */
IMAPDEF int imap_uid(imap_client *c, const char *command, const char *const *args,
                     size_t nargs, const imap_call *call);
/* Any extension command the server announces (imaplib's xatom). Every
   untagged data response that arrives while it is the oldest command
   outstanding goes to its on_data (or the store), whatever its name; a
   known command name (SELECT, CLOSE, ...) changes the state as it would. */
IMAPDEF int imap_xatom(imap_client *c, const char *name, const char *const *args,
                       size_t nargs, const imap_call *call);
/* Send any command made with the section 6 builders, blocking or with
   call->on_done, the engine tracking state and routing as for the
   calls above: SELECT/EXAMINE with (CONDSTORE) or (QRESYNC ...) set
   SELECTED and, with QRESYNC, take the FETCH and VANISHED (EARLIER)
   responses; FETCH ... (CHANGEDSINCE n VANISHED) takes VANISHED;
   LIST-EXTENDED takes LIST and STATUS; MULTIAPPEND is an APPEND.
       imap_cmd cmd; char tag[16];
       rc = imap_client_cmd(c, &cmd, tag);
       if (rc == IMAP_OK) rc = imap_cmd_select(&cmd, tag, "INBOX", 0, 1, NULL);
       if (rc == IMAP_OK) rc = imap_client_send(c, &cmd, tag, call);
   imap_client_cmd gives a fresh tag and the free part of the client's
   output buffer (sending what is queued first when less than half is
   free), and waits for a free slot. imap_client_send refuses a cmd not
   begun so (IMAP_E_ARGS), a builder's error (returned as it is), and
   AUTHENTICATE, STARTTLS and COMPRESS, which have calls of their own
   (IMAP_E_ARGS). */
IMAPDEF int imap_client_cmd(imap_client *c, imap_cmd *cmd, char tag[16]);
IMAPDEF int imap_client_send(imap_client *c, imap_cmd *cmd, const char *tag,
                             const imap_call *call);
IMAPDEF int imap_sort(imap_client *c, const char *sort_criteria, const char *charset,
                      const char *const *criteria, size_t ncriteria,
                      const imap_call *call);                              /* RFC 5256 */
IMAPDEF int imap_thread(imap_client *c, const char *algorithm, const char *charset,
                        const char *const *criteria, size_t ncriteria,
                        const imap_call *call);                            /* RFC 5256 */
IMAPDEF int imap_getacl(imap_client *c, const char *mailbox, const imap_call *call);  /* RFC 4314 */
IMAPDEF int imap_setacl(imap_client *c, const char *mailbox, const char *who,
                        const char *what, const imap_call *call);
IMAPDEF int imap_deleteacl(imap_client *c, const char *mailbox, const char *who,
                           const imap_call *call);
IMAPDEF int imap_listrights(imap_client *c, const char *mailbox, const char *who,
                            const imap_call *call);
IMAPDEF int imap_myrights(imap_client *c, const char *mailbox, const imap_call *call);
/* GETANNOTATION / SETANNOTATION (draft ANNOTATEMORE, as imaplib2). */
IMAPDEF int imap_getannotation(imap_client *c, const char *mailbox, const char *entry,
                               const char *attribute, const imap_call *call);
IMAPDEF int imap_setannotation(imap_client *c, const char *mailbox,
                               const char *const *args, size_t nargs,
                               const imap_call *call);
/* GETMETADATA / SETMETADATA (RFC 5464), the standard successor. */
IMAPDEF int imap_getmetadata(imap_client *c, const char *options, const char *mailbox,
                             const char *const *entries, size_t nentries,
                             const imap_call *call);
IMAPDEF int imap_setmetadata(imap_client *c, const char *mailbox,
                             const char *const *pairs, size_t npairs,
                             const imap_call *call);
IMAPDEF int imap_getquota(imap_client *c, const char *root, const imap_call *call);   /* RFC 2087 */
IMAPDEF int imap_getquotaroot(imap_client *c, const char *mailbox, const imap_call *call);
IMAPDEF int imap_setquota(imap_client *c, const char *root, const char *limits,
                          const imap_call *call);
/* IDLE (RFC 2177) until the server reports a change (EXISTS, EXPUNGE,
   FETCH, RECENT), timeout_ms passes (0: 29 minutes), or another command
   is issued (then DONE goes first). Blocking, it returns when IDLE ends. */
IMAPDEF int imap_idle(imap_client *c, long timeout_ms, const imap_call *call);
/* imaplib's recent(): the newest RECENT count kept from the server (all
   kept RECENT data is taken), else ask with NOOP. Returns 1 with *count,
   0 if the server reported none, or an error. */
IMAPDEF int imap_recent(imap_client *c, imap_u64 *count);
/* Refuse to send any credential unless the transport is TLS, and a
   PREAUTH greeting on a transport that is not (IMAP_E_PLAINTEXT). */
IMAPDEF void imap_client_require_tls(imap_client *c, int on);
/* Tell the client its transport is TLS (the TLS layer does this). */
IMAPDEF void imap_client_mark_tls(imap_client *c, int on);

/* ---- 9d. decoded mail (section 6b over the commands) -------------------
   Blocking only. */
#ifndef IMAP_NO_MIME

/* What imap_fetch_part found. */
typedef struct imap_part_info {
    int found;                /* 0 no such message, 1 no such part, 2 found */
    char type[64];            /* "image/png", NUL-terminated (cut if longer) */
    char encoding[24];        /* "BASE64" as BODYSTRUCTURE says; "" for NIL */
    imap_u64 size;            /* encoded octets, from BODYSTRUCTURE */
    imap_u64 written;         /* decoded bytes given to out */
    int server_decoded;       /* the server undid the encoding (BINARY) */
} imap_part_info;

#define IMAP_PART_CLIENT_DECODE 0x1u  /* decode here even with BINARY */

/* Save body part `section` (IMAP numbering, RFC 3501 §6.4.5: "1", "2.1";
   "" or NULL: the whole body of a one-part message is "1") of the
   message with this UID, its transfer encoding undone, to out in
   pieces. One UID FETCH of BODYSTRUCTURE gives the part's encoding and
   size; then, when the server offers BINARY (RFC 3516), BINARY.PEEK
   has the server decode it, else BODY.PEEK goes through
   imap_decode_sink (a NO or BAD to BINARY, e.g. [UNKNOWN-CTE], falls
   back to that too). The parser's literal sink is borrowed for the call and
   given back. info may be NULL. Returns IMAP_OK; IMAP_E_ARGS for a
   malformed section, no such message (info->found 0) or no such part
   (1); IMAP_E_SINK when out refused; or the command's result. */
IMAPDEF int imap_fetch_part(imap_client *c, imap_u64 uid, const char *section,
                            unsigned flags, imap_bytes_fn out, void *arg,
                            imap_part_info *info);

/* One message, decoded for people. Strings are NUL-terminated UTF-8 in
   the caller's buffer, valid as long as it is. */
typedef struct imap_summary {
    imap_u64 msgno;
    imap_u64 uid;             /* 0 when the response had none */
    const char *date;         /* ENVELOPE date as written (RFC 5322) */
    const char *from;         /* "Name <mailbox@host>", or the address alone */
    const char *subject;
    int result;               /* 0, or IMAP_E_NOMEM: fields are "" and */
    size_t needed;            /* this is the buffer size that fits */
} imap_summary;

/* From a "* n FETCH" response with ENVELOPE (and UID): RFC 2047 words
   decoded, charsets to UTF-8 (conv may be NULL). Returns 0,
   IMAP_E_SYNTAX without an ENVELOPE, or IMAP_E_NOMEM (out->needed). */
IMAPDEF int imap_summary_decode(const imap_response *r, char *buf, size_t cap,
                                const imap_charset_conv *conv, imap_summary *out);
/* FETCH set (UID FETCH when uid) (UID ENVELOPE), fn called with each
   message's summary decoded into buf. Returns the command's result, or
   IMAP_E_NOMEM when some summary did not fit (fn saw result and needed;
   1-2 KiB fits ordinary mail). */
IMAPDEF int imap_fetch_summary(imap_client *c, const char *set, int uid,
                               const imap_charset_conv *conv, char *buf, size_t cap,
                               void (*fn)(void *arg, const imap_summary *s), void *arg);

#endif /* IMAP_NO_MIME */

/* ---- 9b. SASL mechanisms (RFC 4422) ------------------------------------

   Ready-made authobjects for imap_authenticate. Each mechanism is an
   imap_auth_fn whose arg is an imap_sasl in caller memory (a local
   variable for a blocking call); the strings it points to are the
   caller's, are not copied, and MUST stay valid until the exchange ends.

       imap_sasl s;
       imap_sasl_init(&s, "alice", "password");
       rc = imap_authenticate(c, "SCRAM-SHA-256", imap_sasl_scram_sha256, &s, NULL);
       imap_sasl_wipe(&s);

   or, blocking, in one call: imap_login_sasl(c, "SCRAM-SHA-256", "alice",
   "password", NULL). A mechanism that gives up (a malformed challenge,
   an answer too large, a server that fails to prove itself) makes the
   engine send "*" and records why in s.error; imap_authenticate then
   returns IMAP_E_AUTH.

   Strings go out as the caller's UTF-8 bytes, with no SASLprep (RFC 4013)
   applied: an ASCII password without control characters is what SASLprep
   would give anyway; a password with other characters MUST be given in
   the form the server stored (NFKC-normalized, non-ASCII spaces mapped to
   U+0020), or hash-based mechanisms fail where PLAIN would pass.
   Answers are limited to IMAP_SASL_BYTES (1024) bytes: raise it for
   bearer tokens longer than about 1000 bytes.

   Mechanisms (name as in AUTH=..., fn, what the struct must hold):
     PLAIN          imap_sasl_plain        user, secret [, authzid]  RFC 4616
     LOGIN          imap_sasl_login        user, secret    draft-murchison-sasl-login
     XOAUTH2        imap_sasl_xoauth2      user, secret = bearer token (Google, Microsoft)
     OAUTHBEARER    imap_sasl_oauthbearer  secret = token [, authzid or user] [, host, port]  RFC 7628
     EXTERNAL       imap_sasl_external     [authzid]       RFC 4422 App. A
   with IMAP_WITH_BEARSSL (hashes from BearSSL, link -lbearssl):
     CRAM-MD5       imap_sasl_cram_md5     user, secret    RFC 2195
     SCRAM-SHA-1    imap_sasl_scram_sha1   user, secret [, authzid]  RFC 5802
     SCRAM-SHA-256  imap_sasl_scram_sha256 user, secret [, authzid]  RFC 7677
   SCRAM verifies the server's signature: a wrong or missing one fails the
   login with IMAP_E_AUTH even when the server says OK (the connection is
   then aborted). No channel binding ("n,," header; no -PLUS variants). */

#ifndef IMAP_SCRAM_MAX_ITERATIONS
#define IMAP_SCRAM_MAX_ITERATIONS 1000000ul /* i= above this is refused */
#endif
#define IMAP_SASL_NONCE_MAX 64             /* longest client nonce */

/* SCRAM's SaltedPassword kept from one login to the next, in caller
   memory (RFC 5802 §5.1 lets a client cache its keys): a login with the
   same hash, user, password, salt and iteration count skips PBKDF2,
   4096 HMAC rounds or more, slow on a small CPU and paid on every
   reconnect. What it holds is as good as the password to this server:
   keep it like the password; imap_scram_cache_wipe clears it. Zeroed
   memory is an empty cache. */
typedef struct imap_scram_cache {
    unsigned char _id[32];    /* SHA-256 over what the key was made from */
    unsigned char _salted[32];
    int _valid;
} imap_scram_cache;

typedef struct imap_sasl {
    /* inputs: imap_sasl_init sets user and secret, the rest is zero */
    const char *user;         /* authentication identity */
    const char *secret;       /* password, or the OAuth 2.0 bearer token */
    const char *authzid;      /* act as this user (NULL: as yourself) */
    const char *host;         /* OAUTHBEARER host= (NULL: left out) */
    unsigned port;            /* OAUTHBEARER port= (0: left out) */
    /* SCRAM client nonce: `nonce` as given (printable ASCII but ",", at
       most IMAP_SASL_NONCE_MAX; for tests), else 18 bytes from `random`
       (return 0 on success) in base64, else from the system's source
       through BearSSL's HMAC_DRBG */
    const char *nonce;
    int (*random)(void *arg, unsigned char *out, size_t len);
    void *random_arg;
    imap_scram_cache *cache;  /* SCRAM: NULL, or keys kept between logins */
    /* outputs */
    int error;                /* 0, or why the mechanism gave up:
                                 IMAP_E_SYNTAX malformed challenge,
                                 IMAP_E_AUTH server failed to prove itself
                                 or reported an error, IMAP_E_LIMIT SCRAM
                                 iteration count over the limit,
                                 IMAP_E_NOMEM answer too large,
                                 IMAP_E_ARGS missing or bad input,
                                 IMAP_E_UNSUPPORTED no random source */
    int verified;             /* SCRAM: the server proved it knows the password */
    /* private */
    int _step;
    size_t _nonce_len;
    char _nonce[IMAP_SASL_NONCE_MAX + 1];
    unsigned char _sig[32];   /* the ServerSignature we expect */
} imap_sasl;

/* Clear *s and point it at user and secret (either may be NULL where the
   mechanism needs none). */
IMAPDEF void imap_sasl_init(imap_sasl *s, const char *user, const char *secret);
/* Overwrite the nonce and expected signature (call after the exchange). */
IMAPDEF void imap_sasl_wipe(imap_sasl *s);
/* Empty a SCRAM cache, overwriting what it held. */
IMAPDEF void imap_scram_cache_wipe(imap_scram_cache *cache);

/* The mechanisms, for imap_authenticate(c, "NAME", fn, &s, call). */
IMAPDEF int imap_sasl_plain(void *s, const unsigned char *challenge, size_t len,
                            unsigned char *out, size_t cap);
IMAPDEF int imap_sasl_login(void *s, const unsigned char *challenge, size_t len,
                            unsigned char *out, size_t cap);
IMAPDEF int imap_sasl_xoauth2(void *s, const unsigned char *challenge, size_t len,
                              unsigned char *out, size_t cap);
IMAPDEF int imap_sasl_oauthbearer(void *s, const unsigned char *challenge, size_t len,
                                  unsigned char *out, size_t cap);
IMAPDEF int imap_sasl_external(void *s, const unsigned char *challenge, size_t len,
                               unsigned char *out, size_t cap);
#ifdef IMAP_WITH_BEARSSL
IMAPDEF int imap_sasl_cram_md5(void *s, const unsigned char *challenge, size_t len,
                               unsigned char *out, size_t cap);
IMAPDEF int imap_sasl_scram_sha1(void *s, const unsigned char *challenge, size_t len,
                                 unsigned char *out, size_t cap);
IMAPDEF int imap_sasl_scram_sha256(void *s, const unsigned char *challenge, size_t len,
                                   unsigned char *out, size_t cap);
#endif

/* The fn of a mechanism by name (case-insensitive), or NULL when it is
   not built in. */
IMAPDEF imap_auth_fn imap_sasl_mechanism(const char *name);

/* Blocking AUTHENTICATE with a built-in mechanism. mech NULL picks the
   strongest the server offers: SCRAM-SHA-256, SCRAM-SHA-1, then on TLS
   PLAIN, LOGIN, CRAM-MD5, and without TLS CRAM-MD5, PLAIN, LOGIN. secret
   is the password, or the token for XOAUTH2 and OAUTHBEARER. call may
   carry on_data; on_done is refused (IMAP_E_ARGS): the mechanism's state
   lives in this call, so for an asynchronous login give imap_authenticate
   an imap_sasl of your own. Returns IMAP_OK, IMAP_E_CAPABILITY (the
   server does not offer mech), IMAP_E_UNSUPPORTED (not built in),
   IMAP_E_NO / IMAP_E_BAD (the server refused), IMAP_E_AUTH (the
   exchange was cancelled or the server did not prove itself) or, when
   the mechanism gave up before anything was sent, its reason. */
IMAPDEF int imap_login_sasl(imap_client *c, const char *mech, const char *user,
                            const char *secret, const imap_call *call);
/* imaplib's login_cram_md5: imap_login_sasl(c, "CRAM-MD5", ...).
   IMAP_E_UNSUPPORTED without IMAP_WITH_BEARSSL. */
IMAPDEF int imap_login_cram_md5(imap_client *c, const char *user, const char *password,
                                const imap_call *call);

/* (9b SASL declarations end here) */

/* STARTTLS with any TLS library (OpenSSL, mbedTLS, wolfSSL, a platform
   TLS), in two steps around the caller's own handshake:
     imap_starttls_begin   checks the state (NONAUTH, not TLS yet) and
       STARTTLS in the capabilities (IMAP_E_CAPABILITY: nothing ever
       falls back to plaintext by itself), sends STARTTLS and waits for
       the answer. On OK every byte the server sent after it is dropped
       (before the handshake only an attacker writes those, CVE-2011-0411;
       RFC 2595 §3.1) with the capabilities learnt in plaintext, and the
       client takes no command until _finish. NO or BAD leave the session
       in plaintext and say so (IMAP_E_NO, IMAP_E_BAD). A session that
       PREAUTH put past login in plaintext is refused (IMAP_E_PLAINTEXT:
       anyone in the middle can send PREAUTH to skip TLS); with
       imap_client_require_tls on, imap_client_open refuses it already.
     (the caller does its TLS handshake on its own socket, which still is
       the transport's, and verifies the certificate)
     imap_starttls_finish  makes `tls` the transport (copied), marks the
       client TLS and asks for the capabilities again (RFC 3501 §6.2.1).
       IMAP_E_STATE without a successful _begin.
   Blocking only (call->on_done is IMAP_E_ARGS). If the handshake fails,
   imap_client_close(c) closes the plaintext transport. With BearSSL,
   imap_starttls does all of it. */
IMAPDEF int imap_starttls_begin(imap_client *c, const imap_call *call);
IMAPDEF int imap_starttls_finish(imap_client *c, const imap_transport *tls);

#ifdef IMAP_WITH_BEARSSL
/* STARTTLS (RFC 3501 §6.2.1, RFC 2595 §3.1), imaplib's starttls(): the
   options of imaplib2's starttls are those of imap_tls_init. Blocking
   only (call->on_done is IMAP_E_ARGS; on_data may be set). Refused with
   IMAP_E_STATE when the session is already TLS or past login, and with
   IMAP_E_CAPABILITY when the server does not offer STARTTLS: nothing
   ever falls back to plaintext by itself. A NO or BAD leaves the session
   in plaintext and says so (IMAP_E_NO, IMAP_E_BAD). After the OK, bytes
   the server sent before the handshake are discarded (they could only
   be an attacker's, CVE-2011-0411), the handshake runs (its failures
   are those of imap_tls_start, and finish the session), the client is
   marked TLS and asks for the capabilities again, as it must. */
IMAPDEF int imap_starttls(imap_client *c, imap_tls *tls, const char *server_name,
                          const imap_call *call);
/* Open a plaintext connection and require TLS on it: refuse a PREAUTH
   greeting (it would skip STARTTLS) with IMAP_E_PLAINTEXT, and a server
   without STARTTLS with IMAP_E_CAPABILITY, then do imap_starttls. Sets
   imap_client_require_tls. On any failure the session is finished;
   imap_client_close(c) closes the transports. */
IMAPDEF int imap_client_open_starttls(imap_client *c, const imap_transport *plain,
                                      imap_tls *tls, const char *server_name);
/* imaplib's IMAP4_SSL: the handshake over `lower`, then imap_client_open
   over TLS. On failure the session is finished with the TLS result and
   imap_client_close(c) closes `lower` too. */
IMAPDEF int imap_client_open_tls(imap_client *c, const imap_transport *lower,
                                 imap_tls *tls, const char *server_name);
#endif

/* (9c TLS client declarations end here) */

/* ---- 9d. keeping a mailbox in sync; resuming after a drop ----------------

   imap_sync_mailbox brings a local copy up to date (RFC 4549's steps),
   with no memory of its own: the caller keeps what it has stored (an
   imap_sync_state, and the set of UIDs it holds) and gets each change
   through callbacks. It takes the best path the server offers:
     QRESYNC    ENABLE QRESYNC, SELECT ... (QRESYNC (uidvalidity modseq
                known-uids)): the server answers with the changed
                messages' FLAGS and the expunged UIDs (RFC 7162 §3.2.5);
     CONDSTORE  SELECT ... (CONDSTORE), UID FETCH 1:* (UID FLAGS)
                (CHANGEDSINCE modseq), and UID SEARCH ALL for the
                expunges (RFC 7162 §3.1);
     PLAIN      SELECT, UID SEARCH ALL, UID FETCH 1:* (UID FLAGS).
   A first sync (uidvalidity 0), a changed UIDVALIDITY (after on_reset)
   or a mailbox with [NOMODSEQ] fetches every message's flags.

   The callbacks may see a message more than once (a sync cut short and
   run again reports it again): handle them idempotently. on_message:
   message uid exists with these flags (a FLAGS list; walk ->child);
   is_new when uid >= the stored uidnext, i.e. one the caller cannot have
   had. on_vanished: the UIDs lo..hi are gone (some may be ones the caller
   never had). on_reset: UIDVALIDITY changed (RFC 3501 §2.3.1.1): drop
   everything held for the mailbox; every message follows as new.

   On IMAP_OK *st holds the state to store, and the mailbox stays
   selected. Store it only once the callbacks' work is safe on disk: then
   a drop or a crash anywhere loses nothing and the next sync from the
   old state ends in the same place (imapcat's sync works this way). On
   any failure *st is unchanged. The SEARCH answer is streamed through the
   parser's number sink (restored after), so a mailbox of any size needs
   no buffer; the server's UIDs must come in ascending order, as every
   server we know sends them. When they do not, the sync stops with
   IMAP_E_UNSUPPORTED and UIDs reported vanished before that may be
   wrong: start over from a zero state. known_uids MUST be ascending and
   without "*". The callbacks MUST NOT issue commands on c. */
typedef struct imap_sync_state {
    imap_u64 uidvalidity;           /* 0: nothing stored (a first sync) */
    imap_u64 highestmodseq;         /* 0: none (NOMODSEQ, or unknown) */
    imap_u64 uidnext;               /* UIDs from here on are new */
} imap_sync_state;

#define IMAP_SYNC_QRESYNC   1
#define IMAP_SYNC_CONDSTORE 2
#define IMAP_SYNC_PLAIN     3

typedef struct imap_sync {
    const char *mailbox;            /* UTF-8; NULL: INBOX */
    int readonly;                   /* EXAMINE instead of SELECT */
    int max_method;                 /* 0: the best offered; else no better
                                       than IMAP_SYNC_CONDSTORE / _PLAIN */
    const char *known_uids;         /* the UIDs held: "1:40,42" (NULL: none) */
    void (*on_reset)(void *arg, imap_u64 uidvalidity);
    void (*on_message)(void *arg, imap_u64 uid, const imap_value *flags, int is_new);
    void (*on_vanished)(void *arg, imap_u64 lo, imap_u64 hi);
    void *arg;
    /* out */
    int method;                     /* IMAP_SYNC_* taken */
    imap_u64 exists;                /* messages in the mailbox */
    /* private */
    imap_sync_state _old;
    imap_seqset_iter _known;
    imap_u64 _klo, _khi, _next;
    int _kstate, _unordered, _searching;
} imap_sync;

IMAPDEF int imap_sync_mailbox(imap_client *c, imap_sync *s, imap_sync_state *st);

/* Reconnect after a drop, with exponential backoff: close what is left,
   give the client its memory again (keeping the clock, timeout, debug,
   random, SCRAM cache, require-TLS and unsolicited-response settings),
   and call connect() to open a transport, imap_client_open and log in.
   Tries until connect returns IMAP_OK (returns IMAP_OK), a failure that
   retrying cannot cure (IMAP_E_AUTH, E_NO, E_BAD, E_PLAINTEXT, E_ARGS,
   E_CAPABILITY, E_TLS_*: returned at once), or max_tries (the last
   failure). The waits double from min_ms to max_ms (defaults 500 ms and
   60 s); sleep_ms NULL sleeps with nanosleep (POSIX; firmware gives one). */
typedef struct imap_reconnect {
    int (*connect)(void *arg, imap_client *c);
    void (*sleep_ms)(void *arg, long ms);
    void *arg;
    long min_ms, max_ms;
    unsigned max_tries;             /* 0: no limit */
    unsigned tries;                 /* out: attempts of the last call */
} imap_reconnect;

IMAPDEF int imap_client_reconnect(imap_client *c, void *mem, size_t cap, imap_reconnect *r);

/* One round of a long-running watcher, the pattern that loses no change:
     connected? else imap_client_reconnect (backoff, login);
     imap_sync_mailbox from *st (re-selects with QRESYNC after a drop);
     on_synced(s->arg, st): the caller stores *st (a nonzero return
       skips the IDLE: the caller wants to stop);
     IDLE (RFC 2177) until the server reports a change or idle_ms passes;
     a change that came between the sync and the IDLE skips the IDLE.
   Call it in a loop. It returns IMAP_OK after each round, an abort-class
   code when the connection broke (the next call reconnects), or what
   imap_client_reconnect could not get past. Without IDLE it waits by
   NOOP every idle_ms (0: 29 minutes; the wait is r->sleep_ms, which
   firmware without POSIX MUST give). */
IMAPDEF int imap_watch_step(imap_client *c, void *mem, size_t cap, imap_reconnect *r,
                            imap_sync *s, imap_sync_state *st, long idle_ms,
                            int (*on_synced)(void *arg, const imap_sync_state *st));

/* (9d sync declarations end here) */

/* (section 9 declarations end here) */

#ifdef __cplusplus
}
#endif

#endif /* IMAP_H_INCLUDED */

/* ======================================================================
   IMPLEMENTATION
   ====================================================================== */
#ifdef IMAP_IMPLEMENTATION
#ifndef IMAP_IMPLEMENTATION_INCLUDED
#define IMAP_IMPLEMENTATION_INCLUDED

/* The POSIX transports need POSIX.1-2008. On Linux, when no system
   header came before us, ask for it before the first one (section 8 copes
   with the late case). */
#if !defined(IMAP_NO_POSIX) && defined(__linux__) && !defined(__GLIBC__) && \
    !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <string.h>
#if defined(__SSE2__) && defined(__GNUC__) && !defined(IMAP_NO_SIMD)
#include <emmintrin.h>
#elif (defined(__ARM_NEON) || defined(__ARM_NEON__)) && defined(__GNUC__) && \
    !defined(IMAP_NO_SIMD)
#include <arm_neon.h>
#endif

#ifndef IMAP_ASSERT
#include <assert.h>
#define IMAP_ASSERT(x) assert(x)
#endif

#define IMAP__U64_MAX (~(imap_u64)0)

/* For the few small helpers of the parser's inner loop. */
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define IMAP__HOT static __inline__ __attribute__((always_inline))
#else
#define IMAP__HOT static
#endif

/* ---- 2. results ------------------------------------------------------ */

IMAPDEF const char *imap_result_name(int r)
{
    switch (r) {
#define IMAP__RESULT_NAME(name, value, cls, text) case value: return #name;
    IMAP_RESULTS(IMAP__RESULT_NAME)
#undef IMAP__RESULT_NAME
    default: return "?";
    }
}

IMAPDEF const char *imap_result_str(int r)
{
    switch (r) {
#define IMAP__RESULT_TEXT(name, value, cls, text) case value: return text;
    IMAP_RESULTS(IMAP__RESULT_TEXT)
#undef IMAP__RESULT_TEXT
    default: return "unknown result";
    }
}

IMAPDEF imap_result_class imap_result_class_of(int r)
{
    switch (r) {
#define IMAP__RESULT_CLASS(name, value, cls, text) \
    case value: return IMAP_CLASS_##cls;
    IMAP_RESULTS(IMAP__RESULT_CLASS)
#undef IMAP__RESULT_CLASS
    default: return IMAP_CLASS_ERROR;
    }
}

/* ---- 3. arena -------------------------------------------------------- */

IMAPDEF void imap_arena_init(imap_arena *a, void *mem, size_t cap)
{
    a->base = (unsigned char *)mem;
    a->cap = mem ? cap : 0;
    a->used = 0;
    a->high = 0;
    a->needed = 0;
}

IMAPDEF void *imap_arena_alloc(imap_arena *a, size_t size, size_t align)
{
    size_t start = a->used;
    size_t mis = (size_t)(((size_t)a->base + start) & (align - 1));
    if (mis) start += align - mis;
    if (start < a->used || size > a->cap || start > a->cap - size) {
        size_t want = start + size;
        if (want < start) want = (size_t)-1;
        if (want > a->needed) a->needed = want;
        return NULL;
    }
    a->used = start + size;
    if (a->used > a->high) a->high = a->used;
    return a->base + start;
}

IMAPDEF size_t imap_arena_mark(const imap_arena *a) { return a->used; }

IMAPDEF void imap_arena_release(imap_arena *a, size_t mark)
{
    if (mark <= a->used) a->used = mark;
}

/* ---- 4. response parser ---------------------------------------------- */

enum { IMAP__P_LINE = 0, IMAP__P_LITERAL, IMAP__P_DONE };
enum { IMAP__LIT_STORE = 0, IMAP__LIT_SINK, IMAP__LIT_SKIP };

/* ASCII case-insensitive a[0..alen) == the C string b. Equal bytes go on
   (a NUL in b ends it); unequal ones match only as the two cases of one
   letter. */
static int imap__ieq(const char *a, size_t alen, const char *b)
{
    size_t i;
    for (i = 0; i < alen; i++) {
        unsigned x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x == y) {
            if (y == 0) return 0;
        } else {
            x |= 0x20;
            if (x != (y | 0x20) || x - 'a' > 25u) return 0;
        }
    }
    return b[alen] == 0;
}

IMAPDEF int imap_str_is(imap_str s, const char *cstr)
{
    /* first bytes that differ in more than the case bit: no call */
    if (s.ptr == NULL || (s.len && (((unsigned char)s.ptr[0] ^ (unsigned char)cstr[0]) & ~0x20u)))
        return 0;
    return imap__ieq(s.ptr, s.len, cstr);
}

/* Digits to a u64, refusing overflow and empty input. */
static int imap__parse_u64(const char *s, size_t n, imap_u64 *out)
{
    imap_u64 v = 0;
    size_t i;
    unsigned d;
    if (n == 0) return 0;
    while (n > 1 && *s == '0') {            /* the value counts, not the digits */
        s++;
        n--;
    }
    if (n > 20) return 0;
    /* 19 digits cannot overflow 64 bits: no check, no division */
    for (i = 0; i < n && i < 19; i++) {
        d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    if (n == 20) {
        d = (unsigned)(unsigned char)s[19] - '0';
        if (d > 9 || v > (IMAP__U64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static void imap__need_finish(imap_parser *p);

IMAPDEF void imap_parser_reset(imap_parser *p)
{
    if (p->_need_on) imap__need_finish(p);
    p->arena.used = 0;
    p->_state = IMAP__P_LINE;
    p->_fail = 0;
    p->_reported = 0;
    p->_line_start = 0;
    p->_line_len = 0;
    p->_first_line = 1;
    p->_no_literals = 0;
    p->_lit_left = 0;
    p->_lit_index = 0;
    p->_msgno = 0;
    p->_resp_sink = NULL;
    p->_tail_len = 0;
    p->_num_mode = 0;
    p->_num_tok = 0;
    p->_num_depth = p->_num_quote = p->_num_esc = p->_num_after_all = 0;
    p->_num_have_lo = 0;
    p->_num_digits = p->_num_wlen = 0;
    p->_num_acc = 0;
    p->_resp_off = p->_stream_off;
}

IMAPDEF void imap_parser_init(imap_parser *p, void *mem, size_t cap)
{
    memset(p, 0, sizeof *p);
    imap_arena_init(&p->arena, mem, cap);
    imap_parser_reset(p);
}

IMAPDEF void imap_parser_set_sink(imap_parser *p, size_t threshold,
                                  imap_literal_sink sink, void *ctx)
{
    p->sink_threshold = threshold;
    p->sink = sink;
    p->sink_ctx = ctx;
}

IMAPDEF void imap_parser_set_number_sink(imap_parser *p, imap_number_sink sink,
                                         void *ctx)
{
    p->number_sink = sink;
    p->number_ctx = ctx;
}

IMAPDEF int imap_parser_idle(const imap_parser *p)
{
    return p->_state == IMAP__P_DONE ||
           (p->_state == IMAP__P_LINE && p->_first_line && p->_line_len == 0);
}

IMAPDEF size_t imap_parser_high_water(const imap_parser *p)
{
    return p->arena.high > p->arena.needed ? p->arena.high : p->arena.needed;
}

static imap_u64 imap__max_literal(const imap_parser *p)
{
    return p->max_literal ? p->max_literal : (imap_u64)0xFFFFFFFFu;
}

static int imap__sinks(const imap_parser *p, imap_u64 n)
{
    if (p->_resp_sink) return 1;
    return p->sink != NULL && n > (imap_u64)p->sink_threshold;
}

/* Is the status word at s[0..n) one of RFC 3501 §7.1's? */
static int imap__status_word(const char *s, size_t n)
{
    /* by length first: this runs for every response */
    switch (n) {
    case 2:
        if (imap__ieq(s, n, "OK")) return IMAP_STATUS_OK;
        if (imap__ieq(s, n, "NO")) return IMAP_STATUS_NO;
        break;
    case 3:
        if (imap__ieq(s, n, "BAD")) return IMAP_STATUS_BAD;
        if (imap__ieq(s, n, "BYE")) return IMAP_STATUS_BYE;
        break;
    case 7:
        if (imap__ieq(s, n, "PREAUTH")) return IMAP_STATUS_PREAUTH;
        break;
    default:
        break;
    }
    return IMAP_STATUS_NONE;
}

/* Length of a line without its CR LF / LF. */
static size_t imap__line_body(const unsigned char *s, size_t n)
{
    if (n && s[n - 1] == '\n') n--;
    if (n && s[n - 1] == '\r') n--;
    return n;
}

/* Status responses and continuations carry text, never literals, so a
   "{5}" ending their text must not be taken for one (RFC 3501 §7.1). */
static int imap__line_is_text(const unsigned char *s, size_t n)
{
    size_t i = 0, w;
    /* continuations, and tagged responses (always status, §7.1) */
    if (n && (s[0] == '+' || s[0] != '*')) return 1;
    while (i < n && s[i] != ' ') i++;          /* "*" */
    while (i < n && s[i] == ' ') i++;
    w = i;
    while (i < n && s[i] != ' ') i++;
    return imap__status_word((const char *)s + w, i - w) != IMAP_STATUS_NONE;
}

/* Does the line end in a literal header "{n}" / "{n+}" / "~{n}"?
   Returns 1 with *n set, 0 if not, -1 if the number overflows. */
static int imap__line_literal(const unsigned char *s, size_t n,
                              imap_u64 *out, int *binary)
{
    size_t end, i;
    if (n < 3 || s[n - 1] != '}') return 0;
    end = n - 1;
    if (s[end - 1] == '+') end--;              /* LITERAL+ form, tolerated */
    i = end;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') i--;
    if (i == end) return 0;
    /* Over 20 digits (leading zeros or not) is no length we frame; past
       the buffer the line keeps only its 32-byte tail, where the '{' of
       such a run is gone: either way the answer must be the same. */
    if (end - i > 20 && (i == 0 || s[i - 1] == '{')) return -1;
    if (i == 0 || s[i - 1] != '{') return 0;
    *binary = (i >= 2 && s[i - 2] == '~');
    if (!imap__parse_u64((const char *)s + i, end - i, out)) return -1;
    return 1;
}

/* The attribute a literal belongs to: the token before " {n}" on the
   line, sections and <origin> included, for the sink's context. */
static imap_str imap__literal_item(const unsigned char *s, size_t n)
{
    imap_str r;
    size_t e, b, depth = 0;
    r.ptr = NULL;
    r.len = 0;
    e = n;
    while (e > 0 && s[e - 1] != '{') e--;
    if (e == 0) return r;
    e--;
    if (e > 0 && s[e - 1] == '~') e--;
    while (e > 0 && s[e - 1] == ' ') e--;
    b = e;
    while (b > 0) {
        unsigned char c = s[b - 1];
        if (c == ']') depth++;
        else if (c == '[') { if (depth) depth--; }
        else if (depth == 0 && (c == ' ' || c == '(' || c == ')')) break;
        b--;
    }
    r.ptr = (const char *)s + b;
    r.len = e - b;
    return r;
}

static void imap__fail(imap_parser *p, int code, imap_u64 off)
{
    if (!p->_fail) {
        p->_fail = code;
        p->_fail_off = off;
    }
}

/* ---- what a rejected response needs (imap_parser_high_water) ----------

   Once a response is rejected with IMAP_E_NOMEM its bytes are no longer
   kept, so the room it needs is counted as it passes: its raw bytes
   (lines and stored literals) plus one node per token, an upper bound of
   the nodes imap__parse would make (a section or response code counts
   each word in it). Only rejected responses pay for this. */

/* Line bytes (never literal data): count token starts. */
static void imap__need_tokens(imap_parser *p, const unsigned char *s, size_t n)
{
    int st = p->_need_tok;
    imap_u64 nodes = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (ch == '\n') {
            st = 0;
            continue;
        }
        switch (st) {
        case 0:                         /* between tokens */
            if (ch == ' ' || ch == '\r' || ch == ')') break;
            nodes++;
            if (ch == '"') st = 2;
            else if (ch == '[') { nodes++; st = 5; }
            else if (ch != '(') st = 1;
            break;
        case 1:                         /* in an atom */
            if (ch == '[') { nodes++; st = 5; }
            else if (ch == ' ' || ch == '\r' || ch == ')') st = 0;
            else if (ch == '(' || ch == '"') { nodes++; st = ch == '"' ? 2 : 0; }
            break;
        case 2:                         /* in a quoted string */
            if (ch == '\\') st = 3;
            else if (ch == '"') st = 0;
            break;
        case 3:
            st = 2;
            break;
        default:                        /* in [ ]: 4 in a word, 5 between */
            if (ch == ']') st = 1;
            else if (ch == ' ' || ch == ')') st = 5;
            else if (ch == '(') { nodes++; st = 5; }
            else if (st == 5) { nodes++; st = 4; }
            break;
        }
    }
    p->_need_tok = st;
    p->_need_nodes += nodes;
}

static void imap__need_scan(imap_parser *p, const unsigned char *s, size_t n)
{
    p->_need_raw += n;
    imap__need_tokens(p, s, n);
}

/* The first rejection for room: the response's `stored` bytes are in the
   buffer; count the tokens of [from, stored) (untouched by the tree
   builder, which unescapes in place), line by line, skipping stored
   literals, on top of `nodes` already built. */
static void imap__need_start(imap_parser *p, size_t from, size_t stored, imap_u64 nodes)
{
    const unsigned char *b = p->arena.base;
    size_t pos = from;
    int first = from == 0;
    p->_need_on = 1;
    p->_need_tok = 0;
    p->_need_raw = stored;
    p->_need_nodes = nodes;
    while (pos < stored) {
        const unsigned char *lf = (const unsigned char *)memchr(b + pos, '\n', stored - pos);
        size_t n = lf ? (size_t)(lf - (b + pos)) + 1 : stored - pos, body;
        imap_u64 lit = 0;
        int binary;
        imap__need_tokens(p, b + pos, n);
        body = imap__line_body(b + pos, n);
        pos += n;
        if (lf && !(first && imap__line_is_text(b + pos - n, body)) &&
            imap__line_literal(b + pos - n, body, &lit, &binary) == 1 && !imap__sinks(p, lit)) {
            size_t have = stored - pos;
            if ((imap_u64)have < lit) {
                p->_need_raw += lit - have;     /* the part not stored */
                pos = stored;
            } else {
                pos += (size_t)lit;
            }
        }
        first = 0;
    }
}

/* The response ended: raw bytes, the first node's alignment, the nodes. */
static void imap__need_finish(imap_parser *p)
{
    const imap_u64 align = sizeof(imap_u64) > sizeof(void *) ? sizeof(imap_u64) : sizeof(void *);
    const imap_u64 max = (imap_u64)(size_t)-1, node = sizeof(imap_value);
    imap_u64 need = p->_need_raw + align - 1;
    p->_need_on = 0;
    if (p->_need_raw > max || p->_need_nodes > (max - need) / node) need = max;
    else need += p->_need_nodes * node;
    if (need > max) need = max;
    if ((size_t)need > p->arena.needed) p->arena.needed = (size_t)need;
}

/* Hand literal bytes to the sink with their context. */
static void imap__sink(imap_parser *p, const unsigned char *data, size_t n)
{
    imap_literal_info info;
    info.msgno = p->_msgno;
    info.item.ptr = (const char *)p->arena.base + p->_item_off;
    info.item.len = p->_item_len;
    info.offset = p->_lit_total - p->_lit_left;
    info.total = p->_lit_total;
    info.index = p->_lit_index;
    info.binary = p->_lit_binary;
    if (p->_resp_sink ? p->_resp_sink(p->_resp_sink_ctx, &info, data, n) != 0
                      : p->sink(p->sink_ctx, &info, data, n) != 0) {
        imap__fail(p, IMAP_E_SINK, p->_resp_off);
        p->_lit_mode = IMAP__LIT_SKIP;
    }
}

/* A whole line has been seen (it ends at the buffer's end, or in _tail if
   it did not fit). Decide whether a literal follows. */
static void imap__line_done(imap_parser *p)
{
    const unsigned char *line;
    size_t n;
    imap_u64 lit;
    int binary = 0, k;

    if (p->_line_start + p->_line_len <= p->arena.used &&
        p->arena.used - p->_line_start == p->_line_len) {
        line = p->arena.base + p->_line_start;
        n = imap__line_body(line, p->_line_len);
    } else {
        line = p->_tail;
        n = imap__line_body(p->_tail, p->_tail_len);
    }
    if (p->_first_line) {
        size_t i;
        p->_first_line = 0;
        p->_no_literals = (line == p->_tail) ? 0 : imap__line_is_text(line, n);
        p->_resp_sink = NULL;
        if (p->_pick && line != p->_tail)
            p->_pick(p->_pick_ctx, line, n, &p->_resp_sink, &p->_resp_sink_ctx);
        /* "* 12 FETCH" gives the sink its message number. */
        if (line != p->_tail && n > 2 && line[0] == '*' && line[1] == ' ') {
            i = 2;
            while (i < n && line[i] >= '0' && line[i] <= '9') i++;
            if (i > 2 && i + 6 <= n && imap__ieq((const char *)line + i, 6, " FETCH"))
                imap__parse_u64((const char *)line + 2, i - 2, &p->_msgno);
        }
    }
    k = p->_no_literals ? 0 : imap__line_literal(line, n, &lit, &binary);
    if (k < 0) {
        /* An unframeable length: report, and take the line as the end. */
        imap__fail(p, IMAP_E_LIMIT, p->_resp_off);
        p->_state = IMAP__P_DONE;
        return;
    }
    if (k == 0) {
        p->_state = IMAP__P_DONE;
        return;
    }
    p->_lit_total = lit;
    p->_lit_left = lit;
    p->_lit_binary = binary;
    if (p->_fail) {
        if (p->_need_on && !imap__sinks(p, lit)) p->_need_raw += lit;
        p->_lit_mode = IMAP__LIT_SKIP;
    } else if (lit > imap__max_literal(p)) {
        imap__fail(p, IMAP_E_LIMIT, p->_resp_off);
        p->_lit_mode = IMAP__LIT_SKIP;
    } else if (imap__sinks(p, lit)) {
        p->_lit_mode = IMAP__LIT_SINK;
    } else if (lit > (imap_u64)(p->arena.cap - p->arena.used)) {
        imap__fail(p, IMAP_E_NOMEM, p->_resp_off);
        imap__need_start(p, 0, p->arena.used, 0);  /* counts this literal too */
        p->_lit_mode = IMAP__LIT_SKIP;
    } else {
        p->_lit_mode = IMAP__LIT_STORE;
    }
    if (p->_lit_mode == IMAP__LIT_SINK) {
        imap_str item = imap__literal_item(line, n);
        p->_item_off = item.ptr ? (size_t)((const unsigned char *)item.ptr - p->arena.base) : 0;
        p->_item_len = item.len;
    }
    p->_state = IMAP__P_LITERAL;
    if (lit == 0) {
        if (p->_lit_mode == IMAP__LIT_SINK) imap__sink(p, (const unsigned char *)"", 0);
        p->_lit_index++;
        p->_state = IMAP__P_LINE;
    }
    p->_line_start = p->arena.used;
    p->_line_len = 0;
    p->_tail_len = 0;
}

/* Append line bytes to the buffer; past its end keep only a tail, enough
   to find a literal header at the line's end. */
static void imap__line_append(imap_parser *p, const unsigned char *s, size_t n)
{
    size_t room = p->arena.cap - p->arena.used;
    size_t limit = p->max_line ? p->max_line : (size_t)-1;
    if (p->_line_len + n > limit && !p->_fail)
        imap__fail(p, IMAP_E_LIMIT, p->_resp_off);
    if (!p->_fail && n <= room && p->_line_len == p->arena.used - p->_line_start) {
        memcpy(p->arena.base + p->arena.used, s, n);
        p->arena.used += n;
        if (p->arena.used > p->arena.high) p->arena.high = p->arena.used;
    } else {
        size_t keep = sizeof p->_tail;
        if (!p->_fail) {
            size_t want = p->arena.used + n;
            if (want > p->arena.needed) p->arena.needed = want;
            imap__fail(p, IMAP_E_NOMEM, p->_resp_off);
            imap__need_start(p, 0, p->arena.used, 0);
        }
        if (p->_need_on) imap__need_scan(p, s, n);
        if (p->_tail_len == 0 && p->_line_len == p->arena.used - p->_line_start) {
            /* start the tail from what the buffer holds of this line */
            size_t have = p->_line_len < keep ? p->_line_len : keep;
            memcpy(p->_tail, p->arena.base + p->arena.used - have, have);
            p->_tail_len = have;
            if (p->_line_len == 0) {
                /* keep the line's start too: the report (error_line)
                   shows it, and a tagged response rejected whole still
                   names its command by the tag */
                size_t head = n < room ? n : room;
                if (head > limit) head = limit;
                memcpy(p->arena.base + p->arena.used, s, head);
                p->arena.used += head;
                if (p->arena.used > p->arena.high) p->arena.high = p->arena.used;
            }
        }
        if (n >= keep) {
            memcpy(p->_tail, s + n - keep, keep);
            p->_tail_len = keep;
        } else {
            size_t drop = p->_tail_len + n > keep ? p->_tail_len + n - keep : 0;
            memmove(p->_tail, p->_tail + drop, p->_tail_len - drop);
            p->_tail_len -= drop;
            memcpy(p->_tail + p->_tail_len, s, n);
            p->_tail_len += n;
        }
    }
    p->_line_len += n;
}

/* ---- number streaming (imap_parser_set_number_sink) -------------------- */

/* Once "* NAME" and the byte after it are stored, decide whether this
   response streams its numbers. */
static void imap__num_decide(imap_parser *p)
{
    static const struct { const char *name; int kind; } names[] = {
        { "SEARCH", 1 }, { "SORT", 1 }, { "ESEARCH", 2 }, { "VANISHED", 3 }
    };
    const unsigned char *l = p->arena.base + p->_line_start;
    size_t n = p->_line_len, i;
    unsigned char last;
    if (n == 0 || p->_fail) return;
    if (l[0] != '*') {
        p->_num_mode = 2;
        return;
    }
    if (n < 3) return;
    last = l[n - 1];
    if (last != ' ' && last != '\r' && last != '\n') {
        if (n > 14) p->_num_mode = 2;          /* no such name is this long */
        return;
    }
    p->_num_mode = 2;
    if (l[1] != ' ') return;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (imap__ieq((const char *)l + 2, n - 3, names[i].name)) {
            p->_num_mode = 1;
            p->_num_kind = names[i].kind;
            memcpy(p->_num_name, l + 2, n - 3);
            p->_num_name_len = n - 3;
            return;
        }
    }
}

/* How many of s[0..n) to store (the line holding `len` bytes already)
   to reach the byte imap__num_decide decides at; n if none is there. */
static size_t imap__num_probe(size_t len, const unsigned char *s, size_t n)
{
    size_t j;
    for (j = 0; j < n; j++) {
        size_t have = len + j + 1;
        if (have == 1) {
            if (s[j] != '*') return 1;
        } else if (have >= 3 && (s[j] == ' ' || s[j] == '\r' || s[j] == '\n' || have > 14)) {
            return j + 1;
        }
    }
    return n;
}

/* One number or range of a set ends: hand it to the sink. */
static void imap__num_emit(imap_parser *p)
{
    imap_u64 lo = p->_num_have_lo ? p->_num_lo : p->_num_acc, hi = p->_num_acc;
    imap_str name;
    if (p->_num_digits == 0) {
        imap__fail(p, IMAP_E_SYNTAX, p->_resp_off);
        return;
    }
    if (lo > hi) {
        imap_u64 t = lo;
        lo = hi;
        hi = t;
    }
    name.ptr = p->_num_name;
    name.len = p->_num_name_len;
    if (p->number_sink(p->number_ctx, name, lo, hi) != 0)
        imap__fail(p, IMAP_E_SINK, p->_resp_off);
    p->_num_acc = 0;
    p->_num_digits = 0;
    p->_num_have_lo = 0;
}

/* Line bytes of a response whose numbers stream: number tokens at the top
   level go to the sink digit by digit (any chunking gives the same calls);
   everything else is stored as usual. */
static void imap__line_bytes(imap_parser *p, const unsigned char *s, size_t n)
{
    size_t i = 0, run = 0;
    if (!p->number_sink || p->_num_mode == 2 || !p->_first_line || p->_fail) {
        imap__line_append(p, s, n);
        return;
    }
    while (p->_num_mode == 0 && i < n) {
        /* up to the byte imap__num_decide decides at, in one append when
           that fits (the same as appending them one by one: before that
           byte the decision changes nothing) */
        size_t m = imap__num_probe(p->_line_len, s + i, n - i);
        if (m > 1 && m <= p->arena.cap - p->arena.used &&
            p->_line_len == p->arena.used - p->_line_start &&
            (!p->max_line || p->_line_len + m <= p->max_line)) {
            imap__line_append(p, s + i, m);
            i += m;
        } else {
            imap__line_append(p, s + i, 1);
            i++;
        }
        imap__num_decide(p);
        if (p->_fail) p->_num_mode = 2;
    }
    run = i;
    if (p->_num_mode != 1) {
        if (i < n) imap__line_append(p, s + i, n - i);
        return;
    }
    for (; i < n && !p->_fail; i++) {
        unsigned ch = s[i];
        if (p->_num_tok == 1) {
            if (ch - '0' <= 9) {
                if (p->_num_acc > (IMAP__U64_MAX - (ch - '0')) / 10) {
                    imap__fail(p, IMAP_E_SYNTAX, p->_resp_off);
                    break;
                }
                p->_num_acc = p->_num_acc * 10 + (ch - '0');
                p->_num_digits++;
                run = i + 1;
                continue;
            }
            if (ch == ':' && !p->_num_have_lo && p->_num_digits) {
                p->_num_lo = p->_num_acc;
                p->_num_have_lo = 1;
                p->_num_acc = 0;
                p->_num_digits = 0;
                run = i + 1;
                continue;
            }
            if (ch == ',') {
                imap__num_emit(p);
                run = i + 1;
                continue;
            }
            if (ch != ' ' && ch != '\r' && ch != '\n') {
                imap__fail(p, IMAP_E_SYNTAX, p->_resp_off);
                break;
            }
            imap__num_emit(p);
            p->_num_tok = 0;
            if (ch == ' ' && p->_num_kind != 2) {
                /* the space before the number is kept, this one not:
                   a million numbers must not leave a million spaces
                   (ESEARCH keeps it: its set became "NIL") */
                run = i + 1;
                continue;
            }
            run = i;                            /* CR LF are kept */
        }
        if (p->_num_quote) {
            if (p->_num_esc) p->_num_esc = 0;
            else if (ch == '\\') p->_num_esc = 1;
            else if (ch == '"') p->_num_quote = 0;
            continue;
        }
        if (ch == '"') {
            p->_num_quote = 1;
            continue;
        }
        if (ch == '(') {
            p->_num_depth++;
            continue;
        }
        if (ch == ')') {
            if (p->_num_depth) p->_num_depth--;
            continue;
        }
        if (p->_num_depth) continue;
        if (ch == ' ' || ch == '\r' || ch == '\n') {
            if (p->_num_tok == 2)
                p->_num_after_all = p->_num_wlen == 3 && imap__ieq(p->_num_word, 3, "ALL");
            p->_num_tok = 0;
            continue;
        }
        if (p->_num_tok == 0 && ch - '0' <= 9 &&
            (p->_num_kind != 2 || p->_num_after_all)) {
            if (i > run) imap__line_append(p, s + run, i - run);
            if (p->_num_kind == 2) imap__line_append(p, (const unsigned char *)"NIL", 3);
            p->_num_tok = 1;
            p->_num_acc = ch - '0';
            p->_num_digits = 1;
            p->_num_have_lo = 0;
            run = i + 1;
            continue;
        }
        if (p->_num_tok == 0) {
            p->_num_tok = 2;
            p->_num_wlen = 0;
        }
        if (p->_num_wlen < sizeof p->_num_word) p->_num_word[p->_num_wlen] = (char)ch;
        p->_num_wlen++;
    }
    if (n > run) imap__line_append(p, s + run, n - run);
}

static int imap__parse(imap_parser *p);

static imap_result imap__report(imap_parser *p)
{
    size_t n = p->arena.used < 200 ? p->arena.used : 200;
    size_t i = 0;
    while (i < n && p->arena.base[i] != '\n') i++;
    p->error = p->_fail;
    p->error_offset = p->_fail_off;
    p->error_line.ptr = (const char *)p->arena.base;
    p->error_line.len = imap__line_body(p->arena.base, i);
    return (imap_result)p->_fail;
}

IMAPDEF imap_result imap_parser_feed(imap_parser *p, const void *data,
                                     size_t len, size_t *consumed,
                                     imap_response **out)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t pos = 0;
    *out = NULL;
    if (p->_state == IMAP__P_DONE) imap_parser_reset(p);
    while (pos < len) {
        if (p->_state == IMAP__P_LINE) {
            const unsigned char *lf =
                (const unsigned char *)memchr(s + pos, '\n', len - pos);
            size_t n = lf ? (size_t)(lf - (s + pos)) + 1 : len - pos;
            imap__line_bytes(p, s + pos, n);
            pos += n;
            p->_stream_off += n;
            if (!lf) break;
            if (p->_first_line && !p->_fail &&
                imap__line_body(p->arena.base + p->_line_start, p->_line_len) == 0) {
                imap_parser_reset(p);       /* empty line: nothing to say */
                continue;
            }
            imap__line_done(p);
        } else {
            size_t n = len - pos;
            if ((imap_u64)n > p->_lit_left) n = (size_t)p->_lit_left;
            if (p->_lit_mode == IMAP__LIT_STORE) {
                memcpy(p->arena.base + p->arena.used, s + pos, n);
                p->arena.used += n;
                if (p->arena.used > p->arena.high) p->arena.high = p->arena.used;
            } else if (p->_lit_mode == IMAP__LIT_SINK && !p->_fail) {
                imap__sink(p, s + pos, n);
            }
            pos += n;
            p->_stream_off += n;
            p->_lit_left -= n;
            if (p->_lit_left == 0) {
                p->_lit_index++;
                p->_state = IMAP__P_LINE;
                p->_line_start = p->arena.used;
                p->_line_len = 0;
            }
        }
        if (p->_state == IMAP__P_DONE && !p->_fail) imap__parse(p);
        if (p->_state == IMAP__P_DONE && p->_need_on) imap__need_finish(p);
        if (p->_fail && !p->_reported) {
            /* Report a rejection at once, even mid-response: a client may
               rather drop a connection than skip a 4 GiB literal. The rest
               of the response is then skipped silently. */
            *consumed = pos;
            p->_reported = 1;
            return imap__report(p);
        }
        if (p->_state == IMAP__P_DONE) {
            if (p->_fail) {
                imap_parser_reset(p);
                continue;
            }
            *consumed = pos;
            *out = &p->_resp;
            return IMAP_OK;
        }
    }
    *consumed = pos;
    return IMAP_MORE;
}

/* --- the tree builder: an explicit stack, no recursion ------------------ */

typedef struct imap__cursor {
    imap_parser *p;
    const char *base;       /* buffer start */
    const char *s;          /* current position */
    const char *end;        /* buffer end */
    imap_u64 sunk;          /* sunk literal bytes before s (for offsets) */
    unsigned lit_index;
} imap__cursor;

static int imap__err(imap__cursor *c, int code, const char *at)
{
    imap__fail(c->p, code, c->p->_resp_off + (imap_u64)(at - c->base) + c->sunk);
    return code;
}

/* imap_u64 wants 8-byte alignment on 32-bit ARM EABI too */
#define IMAP__VALIGN (sizeof(imap_u64) > sizeof(void *) ? sizeof(imap_u64) : sizeof(void *))

/* A node with every field stored (no memset call: on a Cortex-M4 that
   call was 18% of the parse). */
static void imap__node_set(imap_value *v, int type, unsigned flags)
{
    v->type = (unsigned char)type;
    v->flags = (unsigned char)flags;
    v->count = 0;
    v->len = 0;
    v->str = NULL;
    v->num = 0;
    v->next = NULL;
    v->child = NULL;
}

/* The tree ran out of room at buffer offset `at`: the nodes built so far,
   this one and what is left past `at` (+1: a response code's fallback
   atom is past the cursor). */
static void imap__tree_nomem(imap_parser *p, size_t at)
{
    size_t raw = p->_resp.raw_len;
    if (p->_fail) return;
    imap__fail(p, IMAP_E_NOMEM, p->_resp_off);
    imap__need_start(p, at, raw, (p->arena.used - raw) / sizeof(imap_value) + 1);
}

static imap_value *imap__node(imap__cursor *c, int type)
{
    imap_value *v = (imap_value *)imap_arena_alloc(&c->p->arena, sizeof(imap_value),
                                                   IMAP__VALIGN);
    if (!v) {
        imap__tree_nomem(c->p, (size_t)(c->s - c->base));
        return NULL;
    }
    imap__node_set(v, type, 0);
    return v;
}

static int imap__at_eol(const imap__cursor *c)
{
    return c->s >= c->end || *c->s == '\n' ||
           (*c->s == '\r' && (c->s + 1 >= c->end || c->s[1] == '\n'));
}

static void imap__skip_sp(imap__cursor *c)
{
    while (c->s < c->end && *c->s == ' ') c->s++;
}

/* Bytes that end an atom (RFC 3501 §9 atom-specials, less the ones real
   servers put in atoms: '%', '*', '\\', ']' outside a response code):
   class 1. ']' (class 2) ends one inside a response code; '[' (class 4)
   opens a section outside one. Class 8: the bytes that end the fast path
   of a quoted string. A table: one load per byte, and no 64-bit shifts
   on a 32-bit core. */
#define IMAP__A_STOP 1u
#define IMAP__A_RBRACKET 2u
#define IMAP__A_LBRACKET 4u
#define IMAP__Q_STOP 8u
static const unsigned char imap__atom_cls[256] = {
    9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 1, 1, 9, 1, 1,     /* CTL; NUL LF CR */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 0, 9, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0,     /* SP " ( ) */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 8, 2, 0, 0,     /* [ \ ] */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1      /* { DEL */
};

static int imap__atom_stop(unsigned char ch, int in_code)
{
    return (imap__atom_cls[ch] & (in_code ? IMAP__A_STOP | IMAP__A_RBRACKET : IMAP__A_STOP)) != 0;
}

/* The first byte in [s, e) that ends an atom run: class 1, and ']' in a
   response code or '[' outside one; e if none. The scalar path is the
   definition; the SIMD paths must give the same answer for every input
   (fuzz/fuzz_simd.c checks). */
static const char *imap__atom_end_scalar(const char *s, const char *e, int in_code)
{
    unsigned mask = IMAP__A_STOP | (in_code ? IMAP__A_RBRACKET : IMAP__A_LBRACKET);
    while (s < e && !(imap__atom_cls[(unsigned char)*s] & mask)) s++;
    return s;
}

/* The first byte in [s, e) that ends the fast path of a quoted string:
   '"', '\\', CR, LF or NUL; e if none. */
static const char *imap__quoted_stop_scalar(const char *s, const char *e)
{
    while (s < e && !(imap__atom_cls[(unsigned char)*s] & IMAP__Q_STOP)) s++;
    return s;
}

#if defined(__SSE2__) && defined(__GNUC__) && !defined(IMAP_NO_SIMD)
#define IMAP__SIMD "sse2"
/* 16 bytes at a time, never reading past e; the scalar path does the
   rest. */
IMAP__HOT const char *imap__quoted_stop(const char *s, const char *e)
{
    const __m128i dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    const __m128i nul = _mm_setzero_si128();
    while (e - s >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, dq), _mm_cmpeq_epi8(x, bs)),
                                 _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, cr),
                                                           _mm_cmpeq_epi8(x, lf)),
                                              _mm_cmpeq_epi8(x, nul)));
        int mask = _mm_movemask_epi8(m);
        if (mask) return s + __builtin_ctz((unsigned)mask);
        s += 16;
    }
    return imap__quoted_stop_scalar(s, e);
}

static const char *imap__atom_end(const char *s, const char *e, int in_code)
{
    const __m128i sp = _mm_set1_epi8(' '), paren = _mm_set1_epi8(')');
    const __m128i one = _mm_set1_epi8(1), dq = _mm_set1_epi8('"');
    const __m128i brace = _mm_set1_epi8('{'), del = _mm_set1_epi8(0x7f);
    const __m128i br = _mm_set1_epi8(in_code ? ']' : '[');
    while (e - s >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i m = _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x);            /* <= ' ' */
        m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_or_si128(x, one), paren)); /* ( ) */
        m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, dq), _mm_cmpeq_epi8(x, brace)));
        m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, br)));
        {
            int mask = _mm_movemask_epi8(m);
            if (mask) return s + __builtin_ctz((unsigned)mask);
        }
        s += 16;
    }
    return imap__atom_end_scalar(s, e, in_code);
}
#elif (defined(__ARM_NEON) || defined(__ARM_NEON__)) && defined(__GNUC__) && \
    !defined(IMAP_NO_SIMD)
#define IMAP__SIMD "neon"
/* ARMv7-A and ARMv8: 16 bytes at a time; the first match from the narrowed mask
   (4 bits a byte). */
static const char *imap__neon_first(uint8x16_t m, const char *s)
{
    uint64_t bits = vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(m), 4)), 0);
    return bits ? s + (__builtin_ctzll(bits) >> 2) : NULL;
}

static const char *imap__quoted_stop(const char *s, const char *e)
{
    while (e - s >= 16) {
        uint8x16_t x = vld1q_u8((const uint8_t *)s), m;
        const char *hit;
        m = vorrq_u8(vceqq_u8(x, vdupq_n_u8('"')), vceqq_u8(x, vdupq_n_u8('\\')));
        m = vorrq_u8(m, vorrq_u8(vceqq_u8(x, vdupq_n_u8('\r')), vceqq_u8(x, vdupq_n_u8('\n'))));
        m = vorrq_u8(m, vceqq_u8(x, vdupq_n_u8(0)));
        if ((hit = imap__neon_first(m, s)) != NULL) return hit;
        s += 16;
    }
    return imap__quoted_stop_scalar(s, e);
}

static const char *imap__atom_end(const char *s, const char *e, int in_code)
{
    const uint8x16_t br = vdupq_n_u8(in_code ? ']' : '[');
    while (e - s >= 16) {
        uint8x16_t x = vld1q_u8((const uint8_t *)s), m;
        const char *hit;
        m = vcleq_u8(x, vdupq_n_u8(' '));
        m = vorrq_u8(m, vceqq_u8(vorrq_u8(x, vdupq_n_u8(1)), vdupq_n_u8(')')));
        m = vorrq_u8(m, vorrq_u8(vceqq_u8(x, vdupq_n_u8('"')), vceqq_u8(x, vdupq_n_u8('{'))));
        m = vorrq_u8(m, vorrq_u8(vceqq_u8(x, vdupq_n_u8(0x7f)), vceqq_u8(x, br)));
        if ((hit = imap__neon_first(m, s)) != NULL) return hit;
        s += 16;
    }
    return imap__atom_end_scalar(s, e, in_code);
}
#else
#define IMAP__SIMD "none"
#define imap__quoted_stop imap__quoted_stop_scalar
#define imap__atom_end imap__atom_end_scalar
#endif

/* Scan an atom at c->s; a '[' opens a section that runs to its ']' and may
   hold spaces and lists (BODY[HEADER.FIELDS (A B)]<0>). (NIL and short
   numbers are read by imap__parse_items itself.) */
static int imap__scan_atom(imap__cursor *c, int in_code, imap_value *v)
{
    const char *b = c->s;
    const char *s = c->s, *e = c->end;
    for (;;) {
        s = imap__atom_end(s, e, in_code);
        if (s < e && *s == '[' && !in_code) {
            /* a section runs to its ']'; without one, '[' is an atom
               character like any other (a mailbox named "foo[bar") */
            const char *q = s + 1;
            while (q < e && *q != ']' && *q != '\r' && *q != '\n') q++;
            s = (q < e && *q == ']') ? q + 1 : s + 1;
            continue;
        }
        break;
    }
    if (s == b) return imap__err(c, IMAP_E_SYNTAX, s);
    c->s = s;
    v->str = b;
    v->len = (size_t)(s - b);
    if (v->len == 3 && (b[0] | 0x20) == 'n' && (b[1] | 0x20) == 'i' && (b[2] | 0x20) == 'l') {
        v->type = IMAP_NIL;
    } else if ((unsigned)(unsigned char)b[0] - '0' <= 9 && imap__parse_u64(b, v->len, &v->num)) {
        v->type = IMAP_NUMBER;           /* 20 digits, or leading zeros */
    } else {
        v->type = IMAP_ATOM;
    }
    return 0;
}

/* A quoted string (RFC 3501 §9 quoted): unescaped in place, which only
   ever shrinks it. Invalid escapes are kept as they are. */
static int imap__scan_quoted(imap__cursor *c, imap_value *v)
{
    char *w;
    const char *s = c->s + 1, *e = c->end;
    const char *b = s;
    const char *q = s;
    /* fast path: find the closing quote when there is no backslash */
    q = imap__quoted_stop(q, e);
    if (q < e && *q == '"') {
        v->str = b;
        v->len = (size_t)(q - b);
        c->s = q + 1;
        return 0;
    }
    w = (char *)q;
    s = q;
    while (s < e) {
        char ch = *s;
        if (ch == '"') break;
        if (ch == '\r' || ch == '\n' || ch == 0) return imap__err(c, IMAP_E_SYNTAX, s);
        if (ch == '\\' && s + 1 < e && (s[1] == '"' || s[1] == '\\')) {
            *w++ = s[1];
            s += 2;
            continue;
        }
        *w++ = ch;
        s++;
    }
    if (s >= e) return imap__err(c, IMAP_E_SYNTAX, s);
    v->str = b;
    v->len = (size_t)(w - b);
    c->s = s + 1;
    return 0;
}

/* A literal {n} / ~{n} / {n+}; the line must end after it. */
static int imap__scan_literal(imap__cursor *c, imap_value *v)
{
    const char *s = c->s, *e = c->end, *d;
    imap_u64 n;
    v->flags = IMAP_VF_LITERAL;
    if (*s == '~') {
        v->flags |= IMAP_VF_BINARY;
        s++;
    }
    s++;                                    /* '{' */
    d = s;
    while (s < e && *s >= '0' && *s <= '9') s++;
    if (!imap__parse_u64(d, (size_t)(s - d), &n)) return imap__err(c, IMAP_E_SYNTAX, d);
    if (s < e && *s == '+') s++;
    if (s >= e || *s != '}') return imap__err(c, IMAP_E_SYNTAX, s);
    s++;
    if (s < e && *s == '\r') s++;
    if (s >= e || *s != '\n') return imap__err(c, IMAP_E_SYNTAX, s);
    s++;
    v->type = IMAP_STRING;
    if (imap__sinks(c->p, n)) {
        v->flags |= IMAP_VF_SUNK;
        v->str = NULL;
        v->num = n;             /* a 5 GiB literal must not read as 1 GiB */
        v->len = n > (imap_u64)(size_t)-1 ? (size_t)-1 : (size_t)n;
        c->sunk += n;
    } else {
        if ((imap_u64)(e - s) < n) return imap__err(c, IMAP_E_SYNTAX, s);
        v->str = s;
        v->len = (size_t)n;
        s += (size_t)n;
    }
    c->lit_index++;
    c->s = s;
    return 0;
}

/* Every field of a node, stored once. */
IMAP__HOT void imap__set(imap_value *v, int type, unsigned flags, const char *str,
                         size_t len, imap_u64 num)
{
    v->type = (unsigned char)type;
    v->flags = (unsigned char)flags;
    v->count = 0;
    v->len = len;
    v->str = str;
    v->num = num;
    v->next = NULL;
    v->child = NULL;
}

/* Parse data items up to the end of the line, or (in_code) up to the ']'
   that closes a response code at depth 0. Appends to `parent`. The open
   lists are on p->_stack; `link` is where the next item hangs (a closed
   list is the last child of its parent, so its `next` is the link). The
   common items (lists, quoted strings without escapes, NIL, numbers of up
   to 19 digits) are read here without a call; the rest by the
   imap__scan_* above. Every loop stops at the response's final LF. */
static int imap__parse_items(imap__cursor *c, imap_value *parent, int in_code)
{
    imap_parser *p = c->p;
    imap_arena *a = &p->arena;
    const char *s = c->s, *e = c->end;
    const unsigned stop = in_code ? IMAP__A_STOP | IMAP__A_RBRACKET : IMAP__A_STOP;
    unsigned char *const base = a->base;
    const size_t cap = a->cap;
    size_t used = a->used, high = a->high;
    int depth = 0, r;
    imap_value *top = parent, *v;
    imap_value **link = &parent->child;
    p->_stack[0] = parent;
    if (s >= e) goto eol;
    for (;;) {
        unsigned char ch;
        while (*s == ' ') s++;          /* s < e here: stops at the LF */
        ch = (unsigned char)*s;
        if (ch == ')') {
            if (depth == 0) return imap__err(c, IMAP_E_SYNTAX, s);
            s++;
            link = &top->next;
            top = p->_stack[--depth];
            continue;
        }
        if (ch <= '\r' && (ch == '\n' || (ch == '\r' && (s + 1 >= e || s[1] == '\n'))))
            break;
        if (ch == ']') {
            if (in_code && depth == 0) {
                c->s = s + 1;
                return 0;
            }
        }
        /* the node, from the arena's next aligned slot (the arena's
           fields in locals: node stores could alias them otherwise) */
        if ((((size_t)base + used) & (IMAP__VALIGN - 1)) == 0 &&
            cap - used >= sizeof(imap_value)) {
            v = (imap_value *)(void *)(base + used);
            used += sizeof(imap_value);
            a->used = used;
            if (used > high) a->high = high = used;
        } else if ((v = (imap_value *)imap_arena_alloc(a, sizeof(imap_value),
                                                       IMAP__VALIGN)) == NULL) {
            imap__tree_nomem(p, (size_t)(s - c->base));
            return IMAP_E_NOMEM;
        } else {
            used = a->used;
            high = a->high;
        }
        *link = v;
        link = &v->next;
        top->count++;
        if (ch == '"') {
            const char *q = imap__quoted_stop(s + 1, e);
            if (q < e && *q == '"') {
                imap__set(v, IMAP_STRING, IMAP_VF_QUOTED, s + 1, (size_t)(q - (s + 1)), 0);
                s = q + 1;
                continue;
            }
            imap__set(v, IMAP_STRING, IMAP_VF_QUOTED, NULL, 0, 0);
            c->s = s;
            if ((r = imap__scan_quoted(c, v)) != 0) return r;
            s = c->s;
            continue;
        }
        if ((unsigned)ch - '0' <= 9u) {
            const char *d = s, *lim = e - s > 19 ? s + 19 : e;   /* no overflow */
            imap_u64 num = 0;
            unsigned dig;
            while (d < lim && (dig = (unsigned)(unsigned char)*d - '0') <= 9) {
                num = num * 10 + dig;
                d++;
            }
            if (d < e && (imap__atom_cls[(unsigned char)*d] & stop)) {
                imap__set(v, IMAP_NUMBER, 0, s, (size_t)(d - s), num);
                s = d;
                continue;
            }
        } else if ((ch | 0x20) == 'n' && (s[1] | 0x20) == 'i' && (s[2] | 0x20) == 'l' &&
                   (imap__atom_cls[(unsigned char)s[3]] & stop)) {
            imap__set(v, IMAP_NIL, 0, s, 3, 0);
            s += 3;
            continue;
        } else if (ch == '(') {
            imap__set(v, IMAP_LIST, 0, NULL, 0, 0);
            s++;
            if (depth >= IMAP_MAX_DEPTH) {
                imap__fail(p, IMAP_E_LIMIT, p->_resp_off);
                return IMAP_E_LIMIT;
            }
            p->_stack[++depth] = v;
            top = v;
            link = &v->child;
            continue;
        }
        imap__set(v, IMAP_NIL, 0, NULL, 0, 0);
        c->s = s;
        if (ch == '{' || (ch == '~' && s + 1 < e && s[1] == '{')) {
            if ((r = imap__scan_literal(c, v)) != 0) return r;
        } else if (ch < ' ' || ch == 0x7f) {
            return imap__err(c, IMAP_E_SYNTAX, s);
        } else {
            if ((r = imap__scan_atom(c, in_code, v)) != 0) return r;
        }
        s = c->s;
        if (s >= e) break;              /* a literal can end the buffer */
    }
eol:
    c->s = s;
    if (depth > 0 || in_code) return imap__err(c, IMAP_E_SYNTAX, s);
    return 0;
}

/* resp-text (RFC 3501 §9): optional "[code]", then text to end of line.
   A code whose arguments do not parse as data keeps them as one string;
   with no closing ']' on the line there is no code at all. */
static int imap__parse_resp_text(imap__cursor *c, imap_response *r)
{
    const char *eol;
    imap__skip_sp(c);
    eol = c->s;
    while (eol < c->end && *eol != '\n') eol++;
    if (eol > c->s && eol[-1] == '\r' && eol < c->end) eol--;
    else if (eol == c->end && eol > c->s && eol[-1] == '\r') eol--;
    {
        /* TEXT-CHAR (RFC 3501 §9) has no CR, LF or NUL: a bare CR in text
           is how response injection starts */
        const char *q;
        for (q = c->s; q < eol; q++)
            if (*q == '\r' || *q == 0) return imap__err(c, IMAP_E_SYNTAX, q);
    }
    if (c->s < eol && *c->s == '[' && memchr(c->s, ']', (size_t)(eol - c->s))) {
        imap_value *code = imap__node(c, IMAP_LIST);
        size_t mark = c->p->arena.used;
        imap__cursor save = *c;
        int saved_fail = c->p->_fail;
        if (!code) return IMAP_E_NOMEM;
        code->flags = IMAP_VF_CODE;
        c->s++;
        if (imap__parse_items(c, code, 1) != 0 || code->count == 0 ||
            code->child->type == IMAP_LIST) {
            /* fall back: atom + raw string up to the first ']' */
            const char *a, *close;
            imap_value *atom, *rest;
            if (c->p->_fail == IMAP_E_NOMEM) return IMAP_E_NOMEM;
            *c = save;
            c->p->_fail = saved_fail;
            c->p->arena.used = mark;
            code->count = 0;
            code->child = NULL;
            a = c->s + 1;
            close = (const char *)memchr(a, ']', (size_t)(eol - a));
            c->s = a;
            while (c->s < close && *c->s != ' ') c->s++;
            if (c->s == a) {
                code = NULL;            /* "[]" or "[ ...": no code, all text */
                c->s = save.s;
            } else {
                atom = imap__node(c, IMAP_ATOM);
                if (!atom) return IMAP_E_NOMEM;
                atom->str = a;
                atom->len = (size_t)(c->s - a);
                code->child = atom;
                code->count = 1;
                if (c->s < close) {
                    rest = imap__node(c, IMAP_STRING);
                    if (!rest) return IMAP_E_NOMEM;
                    rest->str = c->s + 1;
                    rest->len = (size_t)(close - (c->s + 1));
                    atom->next = rest;
                    code->count = 2;
                }
                c->s = close + 1;
            }
        }
        r->code = code;
        imap__skip_sp(c);
    }
    if (c->s > eol) c->s = eol;
    r->text.ptr = c->s;
    r->text.len = (size_t)(eol - c->s);
    return 0;
}

static int imap__parse(imap_parser *p)
{
    imap__cursor c;
    imap_response *r = &p->_resp;
    const char *w;
    int st;
    c.p = p;
    c.base = (const char *)p->arena.base;
    c.s = c.base;
    c.end = c.base + p->arena.used;
    c.sunk = 0;
    c.lit_index = 0;
    memset(r, 0, sizeof *r);
    r->offset = p->_resp_off;
    r->raw_len = p->arena.used;
    /* Framing ends every response with its LF; the scanners rely on it
       as a sentinel (every loop that skips spaces or digits stops there). */
    if (c.end == c.s || c.end[-1] != '\n') return imap__err(&c, IMAP_E_SYNTAX, c.s);
    if (*c.s == '+') {
        r->kind = IMAP_RESP_CONTINUE;
        r->tag.ptr = c.s;
        r->tag.len = 1;
        c.s++;
        return imap__parse_resp_text(&c, r);
    }
    r->tag.ptr = c.s;
    while (c.s < c.end && !imap__atom_stop((unsigned char)*c.s, 0) && *c.s != '+') c.s++;
    r->tag.len = (size_t)(c.s - r->tag.ptr);
    if (r->tag.len == 0 || c.s >= c.end || *c.s != ' ')
        return imap__err(&c, IMAP_E_SYNTAX, c.s);
    r->kind = (r->tag.len == 1 && r->tag.ptr[0] == '*') ? IMAP_RESP_UNTAGGED : IMAP_RESP_TAGGED;
    imap__skip_sp(&c);
    w = c.s;
    while (c.s < c.end && !imap__atom_stop((unsigned char)*c.s, 0)) c.s++;
    st = imap__status_word(w, (size_t)(c.s - w));
    if (st != IMAP_STATUS_NONE && (imap__at_eol(&c) || *c.s == ' ')) {
        if (r->kind == IMAP_RESP_TAGGED && st > IMAP_STATUS_BAD)
            return imap__err(&c, IMAP_E_SYNTAX, w);
        r->status = st;
        r->name.ptr = w;
        r->name.len = (size_t)(c.s - w);
        return imap__parse_resp_text(&c, r);
    }
    if (r->kind == IMAP_RESP_TAGGED) return imap__err(&c, IMAP_E_SYNTAX, w);
    {
        imap_value holder;
        int rc;
        memset(&holder, 0, sizeof holder);
        holder.type = IMAP_LIST;
        c.s = w;
        if ((rc = imap__parse_items(&c, &holder, 0)) != 0) return rc;
        r->items = holder.child;
    }
    if (r->items && r->items->type == IMAP_NUMBER) {
        r->has_number = 1;
        r->number = r->items->num;
        if (r->items->next && r->items->next->type == IMAP_ATOM) {
            r->name.ptr = r->items->next->str;
            r->name.len = r->items->next->len;
            r->args = r->items->next->next;
        }
    } else if (r->items && r->items->type == IMAP_ATOM) {
        r->name.ptr = r->items->str;
        r->name.len = r->items->len;
        r->args = r->items->next;
    }
    return 0;
}

/* ---- 5. typed views -------------------------------------------------- */

IMAPDEF int imap_value_is(const imap_value *v, const char *s)
{
    return v != NULL && v->type != IMAP_LIST && v->str != NULL &&
           imap__ieq(v->str, v->len, s);
}

IMAPDEF const imap_value *imap_list_at(const imap_value *list, unsigned i)
{
    const imap_value *v;
    if (!list || list->type != IMAP_LIST) return NULL;
    for (v = list->child; v && i; v = v->next) i--;
    return v;
}

IMAPDEF int imap_value_str(const imap_value *v, imap_str *out)
{
    out->ptr = NULL;
    out->len = 0;
    if (!v || v->type == IMAP_LIST) return IMAP_E_SYNTAX;
    if (v->type == IMAP_NIL) return 0;
    if (v->flags & IMAP_VF_SUNK) return IMAP_E_SINK;   /* bytes not here */
    out->ptr = v->str ? v->str : "";
    out->len = v->len;
    return 0;
}

IMAPDEF int imap_value_u64(const imap_value *v, imap_u64 *out)
{
    if (!v) return IMAP_E_SYNTAX;
    if (v->type == IMAP_NUMBER) {
        *out = v->num;
        return 0;
    }
    if (v->type == IMAP_ATOM || v->type == IMAP_STRING)
        if (v->str && imap__parse_u64(v->str, v->len, out)) return 0;
    return IMAP_E_SYNTAX;
}

IMAPDEF int imap_response_is(const imap_response *r, const char *name)
{
    return r->kind == IMAP_RESP_UNTAGGED && r->status == IMAP_STATUS_NONE &&
           imap_str_is(r->name, name);
}

IMAPDEF imap_str imap_response_code_name(const imap_response *r)
{
    imap_str s;
    s.ptr = NULL;
    s.len = 0;
    /* a sunk literal has no bytes here (str NULL, len its length) */
    if (r->code && r->code->child && r->code->child->str) {
        s.ptr = r->code->child->str;
        s.len = r->code->child->len;
    }
    return s;
}

IMAPDEF const imap_value *imap_response_code_arg(const imap_response *r)
{
    return (r->code && r->code->child) ? r->code->child->next : NULL;
}

IMAPDEF int imap_caps_has(const imap_value *first, const char *cap)
{
    for (; first; first = first->next)
        if (imap_value_is(first, cap)) return 1;
    return 0;
}

/* Split "BODY[1.2.HEADER]<0>" into name, section and origin. */
static int imap__fetch_key(const imap_value *key, imap_fetch_attr *a)
{
    const char *s = key->str, *e = key->str + key->len, *b;
    a->key = key;
    a->has_section = 0;
    a->has_origin = 0;
    a->origin = 0;
    a->section.ptr = NULL;
    a->section.len = 0;
    b = s;
    if (s < e) {
        const char *q = (const char *)memchr(s, '[', (size_t)(e - s));
        s = q ? q : e;
    }
    a->name.ptr = b;
    a->name.len = (size_t)(s - b);
    if (s < e) {
        const char *q = (const char *)memchr(s, ']', (size_t)(e - s));
        if (!q) return IMAP_E_SYNTAX;
        a->has_section = 1;
        a->section.ptr = s + 1;
        a->section.len = (size_t)(q - (s + 1));
        s = q + 1;
        if (s < e) {
            if (*s != '<' || e[-1] != '>' ||
                !imap__parse_u64(s + 1, (size_t)(e - s - 2), &a->origin))
                return IMAP_E_SYNTAX;
            a->has_origin = 1;
        }
    }
    return 0;
}

IMAPDEF int imap_fetch_begin(const imap_response *r, imap_fetch_iter *it)
{
    it->_next = NULL;
    if (!imap_response_is(r, "FETCH") || !r->has_number || !r->args ||
        r->args->type != IMAP_LIST)
        return IMAP_E_SYNTAX;
    it->_next = r->args->child;
    return 0;
}

IMAPDEF int imap_fetch_next(imap_fetch_iter *it, imap_fetch_attr *out)
{
    const imap_value *k = it->_next;
    if (!k) return 0;
    if (k->type != IMAP_ATOM || !k->next) {
        it->_next = NULL;
        return IMAP_E_SYNTAX;
    }
    if (imap__fetch_key(k, out) != 0) {
        it->_next = NULL;
        return IMAP_E_SYNTAX;
    }
    out->value = k->next;
    it->_next = k->next->next;
    return 1;
}

IMAPDEF const imap_value *imap_fetch_get(const imap_response *r, const char *name)
{
    imap_fetch_iter it;
    imap_fetch_attr a;
    if (imap_fetch_begin(r, &it) != 0) return NULL;
    while (imap_fetch_next(&it, &a) == 1)
        if (imap_value_is(a.key, name)) return a.value;
    return NULL;
}

/* nstring: a string or NIL (atoms tolerated: some servers send them). */
static int imap__nstring(const imap_value *v, imap_str *out)
{
    if (!v) return IMAP_E_SYNTAX;
    return imap_value_str(v, out);
}

/* An address list: a list of lists, or NIL. */
static int imap__addr_list(const imap_value *v, const imap_value **out)
{
    if (!v || (v->type != IMAP_LIST && v->type != IMAP_NIL)) return IMAP_E_SYNTAX;
    *out = v;
    return 0;
}

IMAPDEF int imap_envelope_decode(const imap_value *v, imap_envelope *e)
{
    const imap_value *f;
    memset(e, 0, sizeof *e);
    if (!v || v->type != IMAP_LIST || v->count < 10) return IMAP_E_SYNTAX;
    f = v->child;
    if (imap__nstring(f, &e->date)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__nstring(f, &e->subject)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__addr_list(f, &e->from)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__addr_list(f, &e->sender)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__addr_list(f, &e->reply_to)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__addr_list(f, &e->to)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__addr_list(f, &e->cc)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__addr_list(f, &e->bcc)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__nstring(f, &e->in_reply_to)) return IMAP_E_SYNTAX;
    f = f->next;
    if (imap__nstring(f, &e->message_id)) return IMAP_E_SYNTAX;
    return 0;
}

IMAPDEF int imap_address_next(const imap_value **cursor, imap_address *out)
{
    const imap_value *a = *cursor, *f;
    memset(out, 0, sizeof *out);
    if (!a) return 0;
    if (a->type == IMAP_NIL) {
        *cursor = NULL;
        return 0;
    }
    if (a->type == IMAP_LIST && (a->flags & IMAP_VF_CODE) == 0 && a->child &&
        a->child->type == IMAP_LIST)
        a = a->child;                       /* first call: the list itself */
    if (a->type == IMAP_LIST && a->count == 0) {
        *cursor = NULL;
        return 0;
    }
    if (a->type != IMAP_LIST || a->count < 4) {
        *cursor = NULL;
        return IMAP_E_SYNTAX;
    }
    f = a->child;
    if (imap__nstring(f, &out->name) || imap__nstring(f->next, &out->adl) ||
        imap__nstring(f->next->next, &out->mailbox) ||
        imap__nstring(f->next->next->next, &out->host)) {
        *cursor = NULL;
        return IMAP_E_SYNTAX;
    }
    if (out->host.ptr == NULL) {
        if (out->mailbox.ptr == NULL) out->group_end = 1;
        else out->group_start = 1;
    }
    /* mark the cursor as "inside" by pointing at the next address; a
       next address is always a list whose first child is not a list */
    *cursor = a->next ? a->next : NULL;
    return 1;
}

IMAPDEF int imap_param_next(const imap_value **cursor, imap_str *name, imap_str *value)
{
    const imap_value *v = *cursor;
    if (!v) return 0;
    if (v->type == IMAP_NIL) {
        *cursor = NULL;
        return 0;
    }
    if (v->type == IMAP_LIST && !(v->flags & IMAP_VF_CODE)) {
        /* first call: step into the list; mark with the CODE-free child */
        v = v->child;
        if (!v) {
            *cursor = NULL;
            return 0;
        }
    }
    if (!v->next || imap_value_str(v, name) || imap_value_str(v->next, value)) {
        *cursor = NULL;
        return IMAP_E_SYNTAX;
    }
    *cursor = v->next->next;
    return 1;
}

IMAPDEF int imap_body_decode(const imap_value *v, imap_body *b)
{
    const imap_value *f;
    memset(b, 0, sizeof *b);
    if (!v || v->type != IMAP_LIST || !v->child) return IMAP_E_SYNTAX;
    f = v->child;
    if (f->type == IMAP_LIST) {
        /* body-type-mpart: 1*body SP media-subtype [SP body-ext-mpart] */
        b->multipart = 1;
        b->type.ptr = "MULTIPART";
        b->type.len = 9;
        b->parts = f;
        while (f && f->type == IMAP_LIST) {
            b->nparts++;
            f = f->next;
        }
        if (!f || imap_value_str(f, &b->subtype)) return IMAP_E_SYNTAX;
        f = f->next;
        if (f) { b->params = f; f = f->next; }
    } else {
        /* body-type-1part: type subtype params id desc enc size ... */
        if (v->count < 7) return IMAP_E_SYNTAX;
        if (imap_value_str(f, &b->type)) return IMAP_E_SYNTAX;
        f = f->next;
        if (imap_value_str(f, &b->subtype)) return IMAP_E_SYNTAX;
        f = f->next;
        b->params = f;
        f = f->next;
        if (imap__nstring(f, &b->id)) return IMAP_E_SYNTAX;
        f = f->next;
        if (imap__nstring(f, &b->description)) return IMAP_E_SYNTAX;
        f = f->next;
        if (imap__nstring(f, &b->encoding)) return IMAP_E_SYNTAX;
        f = f->next;
        if (imap_value_u64(f, &b->size)) {
            if (f->type != IMAP_NIL && f->type != IMAP_ATOM) return IMAP_E_SYNTAX;
            b->size = 0;                    /* "12.5" or NIL: lenient */
        }
        f = f->next;
        if (imap_str_is(b->type, "MESSAGE") &&
            (imap_str_is(b->subtype, "RFC822") || imap_str_is(b->subtype, "GLOBAL")) &&
            f && f->type == IMAP_LIST && f->next && f->next->type == IMAP_LIST) {
            b->envelope = f;
            b->body = f->next;
            f = f->next->next;
            if (f && imap_value_u64(f, &b->lines) == 0) {
                b->has_lines = 1;
                f = f->next;
            }
        } else if (imap_str_is(b->type, "TEXT")) {
            if (f && imap_value_u64(f, &b->lines) == 0) {
                b->has_lines = 1;
                f = f->next;
            }
        }
        if (f) {
            imap__nstring(f, &b->md5);
            f = f->next;
        }
    }
    /* body-ext: disposition, language, location, extensions */
    if (f) {
        if (f->type == IMAP_LIST && f->child) {
            imap_value_str(f->child, &b->disposition);
            b->disposition_params = f->child->next;
        }
        f = f->next;
    }
    if (f) {
        b->language = f;
        f = f->next;
    }
    if (f) {
        imap__nstring(f, &b->location);
        f = f->next;
    }
    b->extension = f;
    return 0;
}

IMAPDEF int imap_flags_has(const imap_value *list, const char *flag)
{
    const imap_value *v;
    if (!list || list->type != IMAP_LIST) return 0;
    for (v = list->child; v; v = v->next)
        if (imap_value_is(v, flag)) return 1;
    return 0;
}

IMAPDEF int imap_list_decode(const imap_response *r, imap_list_info *out)
{
    const imap_value *a = r->args;
    imap_str d;
    memset(out, 0, sizeof *out);
    if (!(imap_response_is(r, "LIST") || imap_response_is(r, "LSUB") ||
          imap_response_is(r, "XLIST")))
        return IMAP_E_SYNTAX;
    if (!a || a->type != IMAP_LIST || !a->next || !a->next->next) return IMAP_E_SYNTAX;
    out->attributes = a;
    a = a->next;
    if (a->type == IMAP_NIL) {
        out->delimiter = -1;
    } else if (imap_value_str(a, &d) == 0 && d.len == 1) {
        out->delimiter = (unsigned char)d.ptr[0];
    } else {
        return IMAP_E_SYNTAX;
    }
    a = a->next;
    if (a->type == IMAP_LIST || imap_value_str(a, &out->mailbox)) return IMAP_E_SYNTAX;
    if (a->type == IMAP_NIL) return IMAP_E_SYNTAX;
    out->extended = a->next;
    return 0;
}

IMAPDEF long imap_list_name(const imap_list_info *li, int utf8, char *out, size_t cap)
{
    size_t n = li->mailbox.len;
    if (!utf8) return imap_utf7_decode(li->mailbox.ptr, n, out, cap);
    if (n >= (size_t)(~0ul >> 1)) return IMAP_E_LIMIT;          /* as a long */
    if (out) {
        if (n >= cap) return IMAP_E_NOMEM;
        if (n) memcpy(out, li->mailbox.ptr, n);
        out[n] = 0;
    }
    return (long)n;
}

IMAPDEF int imap_status_decode(const imap_response *r, imap_status_info *out)
{
    static const char *const names[] = { "MESSAGES", "RECENT", "UIDNEXT",
        "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED", "APPENDLIMIT" };
    const imap_value *a = r->args, *k;
    memset(out, 0, sizeof *out);
    if (!imap_response_is(r, "STATUS") || !a || a->type == IMAP_LIST ||
        imap_value_str(a, &out->mailbox) || !a->next || a->next->type != IMAP_LIST)
        return IMAP_E_SYNTAX;
    for (k = a->next->child; k; k = k->next ? k->next->next : NULL) {
        imap_u64 n;
        unsigned i;
        if (!k->next) return IMAP_E_SYNTAX;
        if (imap_value_u64(k->next, &n)) {
            if (k->next->type == IMAP_NIL) continue;   /* APPENDLIMIT NIL */
            return IMAP_E_SYNTAX;
        }
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (imap_value_is(k, names[i])) {
                imap_u64 *slots[9];
                slots[0] = &out->messages; slots[1] = &out->recent;
                slots[2] = &out->uidnext; slots[3] = &out->uidvalidity;
                slots[4] = &out->unseen; slots[5] = &out->highestmodseq;
                slots[6] = &out->size; slots[7] = &out->deleted;
                slots[8] = &out->appendlimit;
                *slots[i] = n;
                out->has |= 1u << i;
                break;
            }
        }
    }
    return 0;
}

IMAPDEF int imap_numbers_next(const imap_value **cursor, imap_u64 *out)
{
    const imap_value *v = *cursor;
    while (v && v->type == IMAP_LIST) v = v->next;    /* (MODSEQ n) */
    if (!v) {
        *cursor = NULL;
        return 0;
    }
    if (imap_value_u64(v, out)) {
        *cursor = NULL;
        return IMAP_E_SYNTAX;
    }
    *cursor = v->next;
    return 1;
}

IMAPDEF int imap_search_modseq(const imap_response *r, imap_u64 *out)
{
    const imap_value *v;
    for (v = r->args; v; v = v->next)
        if (v->type == IMAP_LIST && imap_value_is(v->child, "MODSEQ"))
            return imap_value_u64(v->child->next, out);
    return IMAP_E_SYNTAX;
}

IMAPDEF int imap_esearch_decode(const imap_response *r, imap_esearch *out)
{
    const imap_value *a = r->args;
    memset(out, 0, sizeof *out);
    if (!imap_response_is(r, "ESEARCH")) return IMAP_E_SYNTAX;
    if (a && a->type == IMAP_LIST) {
        /* search-correlator: (TAG "A1") */
        if (imap_value_is(a->child, "TAG") && a->child->next)
            imap_value_str(a->child->next, &out->tag);
        a = a->next;
    }
    if (a && imap_value_is(a, "UID")) {
        out->uid = 1;
        a = a->next;
    }
    for (; a; a = a->next ? a->next->next : NULL) {
        const imap_value *v = a->next;
        if (!v) return IMAP_E_SYNTAX;
        if (imap_value_is(a, "MIN")) {
            if (imap_value_u64(v, &out->min)) return IMAP_E_SYNTAX;
            out->has |= IMAP_ES_MIN;
        } else if (imap_value_is(a, "MAX")) {
            if (imap_value_u64(v, &out->max)) return IMAP_E_SYNTAX;
            out->has |= IMAP_ES_MAX;
        } else if (imap_value_is(a, "COUNT")) {
            if (imap_value_u64(v, &out->count)) return IMAP_E_SYNTAX;
            out->has |= IMAP_ES_COUNT;
        } else if (imap_value_is(a, "MODSEQ")) {
            if (imap_value_u64(v, &out->modseq)) return IMAP_E_SYNTAX;
            out->has |= IMAP_ES_MODSEQ;
        } else if (imap_value_is(a, "ALL")) {
            if (imap_value_str(v, &out->all)) return IMAP_E_SYNTAX;
            out->has |= IMAP_ES_ALL;
        }
    }
    return 0;
}

IMAPDEF int imap_namespace_decode(const imap_response *r, imap_namespace_info *out)
{
    const imap_value *a = r->args;
    memset(out, 0, sizeof *out);
    if (!imap_response_is(r, "NAMESPACE") || !a || !a->next || !a->next->next)
        return IMAP_E_SYNTAX;
    out->personal = a;
    out->other = a->next;
    out->shared = a->next->next;
    return 0;
}

IMAPDEF int imap_namespace_next(const imap_value **cursor, imap_str *prefix, int *delimiter)
{
    const imap_value *v = *cursor;
    imap_str d;
    if (!v) return 0;
    if (v->type == IMAP_NIL) {
        *cursor = NULL;
        return 0;
    }
    if (v->type == IMAP_LIST && v->child && v->child->type == IMAP_LIST)
        v = v->child;                       /* first call */
    if (v->type != IMAP_LIST || !v->child || !v->child->next ||
        imap_value_str(v->child, prefix)) {
        *cursor = NULL;
        return IMAP_E_SYNTAX;
    }
    if (v->child->next->type == IMAP_NIL) {
        *delimiter = -1;
    } else if (imap_value_str(v->child->next, &d) == 0 && d.len == 1) {
        *delimiter = (unsigned char)d.ptr[0];
    } else {
        *cursor = NULL;
        return IMAP_E_SYNTAX;
    }
    *cursor = v->next;
    return 1;
}

IMAPDEF int imap_vanished_decode(const imap_response *r, imap_vanished *out)
{
    const imap_value *v;
    out->earlier = 0;
    out->uids.ptr = NULL;
    out->uids.len = 0;
    if (!imap_response_is(r, "VANISHED")) return IMAP_E_SYNTAX;
    v = r->args;
    if (v && v->type == IMAP_LIST) {
        if (!imap_value_is(v->child, "EARLIER")) return IMAP_E_SYNTAX;
        out->earlier = 1;
        v = v->next;
    }
    if (!v) return 0;                       /* the set went to a number sink */
    if (v->type != IMAP_ATOM && v->type != IMAP_NUMBER) return IMAP_E_SYNTAX;
    return imap_value_str(v, &out->uids);
}

IMAPDEF int imap_fetch_modseq(const imap_response *r, imap_u64 *out)
{
    const imap_value *v = imap_fetch_get(r, "MODSEQ");
    /* MODSEQ (n): a list of one number (RFC 7162 §3.1.4.1) */
    if (!v || v->type != IMAP_LIST || v->count != 1) return IMAP_E_SYNTAX;
    return imap_value_u64(v->child, out) ? IMAP_E_SYNTAX : 0;
}

IMAPDEF int imap_response_code_u64(const imap_response *r, const char *name, imap_u64 *out)
{
    const imap_value *a;
    if (!imap_str_is(imap_response_code_name(r), name)) return 0;
    a = imap_response_code_arg(r);
    if (!a || a->next || imap_value_u64(a, out)) return IMAP_E_SYNTAX;
    return 1;
}

IMAPDEF int imap_response_code_set(const imap_response *r, const char *name, imap_str *set)
{
    const imap_value *a;
    if (!imap_str_is(imap_response_code_name(r), name)) return 0;
    a = imap_response_code_arg(r);
    if (!a || (a->type != IMAP_ATOM && a->type != IMAP_NUMBER) || imap_value_str(a, set))
        return IMAP_E_SYNTAX;
    return 1;
}

/* ---- 6. command builders and quoting --------------------------------- */

#define IMAP__LONG_MAX ((long)(~0ul >> 1))
#define IMAP__MODSEQ_MAX 9223372036854775807ull     /* RFC 7162 §7: 63 bits */

/* -- output that measures when it has no buffer -------------------------- */

typedef struct imap__out {
    unsigned char *p;
    size_t cap, len;
} imap__out;

static void imap__out_init(imap__out *o, void *p, size_t cap)
{
    o->p = (unsigned char *)p;
    o->cap = p ? cap : 0;
    o->len = 0;
}

static void imap__out_c(imap__out *o, unsigned ch)
{
    if (o->p && o->len < o->cap) o->p[o->len] = (unsigned char)ch;
    if (o->len < (size_t)-1) o->len++;
}

static long imap__out_end(imap__out *o, int r, int nul)
{
    if (r < 0) return r;
    if (o->len >= (size_t)IMAP__LONG_MAX) return IMAP_E_LIMIT;
    if (o->p) {
        if (o->len > o->cap || (nul && o->len == o->cap)) return IMAP_E_NOMEM;
        if (nul) o->p[o->len] = 0;
    }
    return (long)o->len;
}

/* Decimal digits of v into out (20 bytes suffice); returns the count. */
static size_t imap__fmt_u64(char *out, imap_u64 v)
{
    char t[20];
    size_t n = 0, i;
    do {
        t[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++) out[i] = t[n - 1 - i];
    return n;
}

/* -- UTF-8, base64, modified UTF-7 --------------------------------------- */

/* One code point of strict UTF-8 (no overlongs, surrogates or values
   above U+10FFFF); returns 0 on a bad sequence. */
static int imap__utf8_next(const unsigned char *s, size_t n, size_t *pos, unsigned long *out)
{
    size_t i = *pos, len, k;
    unsigned long c = s[i], min;
    if (c < 0x80) {
        *out = c;
        *pos = i + 1;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; c &= 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; c &= 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; c &= 0x07; min = 0x10000; }
    else return 0;
    if (len > n - i) return 0;
    for (k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i + k] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *out = c;
    *pos = i + len;
    return 1;
}

static int imap__utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    unsigned long cp;
    while (i < n)
        if (!imap__utf8_next(s, n, &i, &cp)) return 0;
    return 1;
}

static void imap__utf8_put(imap__out *o, unsigned long cp)
{
    if (cp < 0x80) {
        imap__out_c(o, (unsigned)cp);
    } else if (cp < 0x800) {
        imap__out_c(o, (unsigned)(0xC0 | (cp >> 6)));
        imap__out_c(o, (unsigned)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        imap__out_c(o, (unsigned)(0xE0 | (cp >> 12)));
        imap__out_c(o, (unsigned)(0x80 | ((cp >> 6) & 0x3F)));
        imap__out_c(o, (unsigned)(0x80 | (cp & 0x3F)));
    } else {
        imap__out_c(o, (unsigned)(0xF0 | (cp >> 18)));
        imap__out_c(o, (unsigned)(0x80 | ((cp >> 12) & 0x3F)));
        imap__out_c(o, (unsigned)(0x80 | ((cp >> 6) & 0x3F)));
        imap__out_c(o, (unsigned)(0x80 | (cp & 0x3F)));
    }
}

/* Base64 alphabet; modified BASE64 (RFC 3501 §5.1.3) has ',' for '/'. */
static unsigned imap__b64_chr(unsigned long v, int mod)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    v &= 63;
    return (mod && v == 63) ? ',' : (unsigned char)a[v];
}

static int imap__b64_val(unsigned ch, int mod)
{
    if (ch >= 'A' && ch <= 'Z') return (int)(ch - 'A');
    if (ch >= 'a' && ch <= 'z') return (int)(ch - 'a') + 26;
    if (ch >= '0' && ch <= '9') return (int)(ch - '0') + 52;
    if (ch == '+') return 62;
    if (ch == (mod ? ',' : '/')) return 63;
    return -1;
}

static void imap__utf7_flush(imap__out *o, unsigned long bits, int nbits)
{
    if (nbits) imap__out_c(o, imap__b64_chr(bits << (6 - nbits), 1));
    imap__out_c(o, '-');
}

static int imap__utf7_enc(const unsigned char *s, size_t n, imap__out *o)
{
    size_t i = 0;
    unsigned long bits = 0, cp;
    int nbits = 0, shifted = 0;
    while (i < n) {
        if (!imap__utf8_next(s, n, &i, &cp)) return IMAP_E_ARGS;
        if (cp >= 0x20 && cp <= 0x7E) {
            if (shifted) imap__utf7_flush(o, bits, nbits);
            shifted = 0;
            nbits = 0;
            bits = 0;
            imap__out_c(o, (unsigned)cp);
            if (cp == '&') imap__out_c(o, '-');
        } else {
            unsigned long u[2];
            int k, nu = 1;
            if (!shifted) imap__out_c(o, '&');
            shifted = 1;
            u[0] = cp;
            if (cp >= 0x10000) {            /* UTF-16 surrogate pair */
                u[0] = 0xD800 + ((cp - 0x10000) >> 10);
                u[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
                nu = 2;
            }
            for (k = 0; k < nu; k++) {
                bits = (bits << 16) | u[k];
                nbits += 16;
                while (nbits >= 6) {
                    nbits -= 6;
                    imap__out_c(o, imap__b64_chr(bits >> nbits, 1));
                }
                bits &= (1ul << nbits) - 1;
            }
        }
    }
    if (shifted) imap__utf7_flush(o, bits, nbits);
    return 0;
}

static int imap__utf7_dec(const unsigned char *s, size_t n, imap__out *o)
{
    size_t i = 0;
    int after_shift = 0;
    while (i < n) {
        unsigned long bits = 0, high = 0;
        int nbits = 0, units = 0;
        unsigned ch = s[i++];
        if (ch < 0x20 || ch > 0x7E) return IMAP_E_SYNTAX;
        if (ch != '&') {
            imap__out_c(o, ch);
            after_shift = 0;
            continue;
        }
        if (i < n && s[i] == '-') {
            imap__out_c(o, '&');
            i++;
            after_shift = 0;
            continue;
        }
        if (after_shift) return IMAP_E_SYNTAX;     /* null shift "-&" */
        for (;;) {
            int v;
            if (i >= n) return IMAP_E_SYNTAX;      /* names end in US-ASCII */
            ch = s[i++];
            if (ch == '-') break;
            if ((v = imap__b64_val(ch, 1)) < 0) return IMAP_E_SYNTAX;
            bits = (bits << 6) | (unsigned long)v;
            nbits += 6;
            if (nbits >= 16) {
                unsigned long u;
                nbits -= 16;
                u = (bits >> nbits) & 0xFFFF;
                bits &= (1ul << nbits) - 1;
                units++;
                if (high) {
                    if (u < 0xDC00 || u > 0xDFFF) return IMAP_E_SYNTAX;
                    imap__utf8_put(o, 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
                    high = 0;
                } else if (u >= 0xD800 && u <= 0xDBFF) {
                    high = u;
                } else if ((u >= 0xDC00 && u <= 0xDFFF) || (u >= 0x20 && u <= 0x7E)) {
                    return IMAP_E_SYNTAX;          /* lone low half; ASCII that can stand for itself */
                } else {
                    imap__utf8_put(o, u);
                }
            }
        }
        if (units == 0 || high || nbits >= 6 || bits != 0) return IMAP_E_SYNTAX;
        after_shift = 1;
    }
    return 0;
}

IMAPDEF long imap_utf7_encode(const char *s, size_t n, char *out, size_t cap)
{
    imap__out o;
    imap__out_init(&o, out, cap);
    return imap__out_end(&o, imap__utf7_enc((const unsigned char *)s, n, &o), 1);
}

IMAPDEF long imap_utf7_decode(const char *s, size_t n, char *out, size_t cap)
{
    imap__out o;
    imap__out_init(&o, out, cap);
    return imap__out_end(&o, imap__utf7_dec((const unsigned char *)s, n, &o), 1);
}

IMAPDEF long imap_base64_encode(const void *data, size_t n, char *out, size_t cap)
{
    const unsigned char *d = (const unsigned char *)data;
    imap__out o;
    size_t i;
    unsigned long v;
    imap__out_init(&o, out, cap);
    for (i = 0; n - i >= 3; i += 3) {
        v = ((unsigned long)d[i] << 16) | ((unsigned long)d[i + 1] << 8) | d[i + 2];
        imap__out_c(&o, imap__b64_chr(v >> 18, 0));
        imap__out_c(&o, imap__b64_chr(v >> 12, 0));
        imap__out_c(&o, imap__b64_chr(v >> 6, 0));
        imap__out_c(&o, imap__b64_chr(v, 0));
    }
    if (n - i) {
        v = (unsigned long)d[i] << 16;
        if (n - i == 2) v |= (unsigned long)d[i + 1] << 8;
        imap__out_c(&o, imap__b64_chr(v >> 18, 0));
        imap__out_c(&o, imap__b64_chr(v >> 12, 0));
        imap__out_c(&o, n - i == 2 ? imap__b64_chr(v >> 6, 0) : '=');
        imap__out_c(&o, '=');
    }
    return imap__out_end(&o, 0, 1);
}

IMAPDEF long imap_base64_decode(const char *s, size_t n, void *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    imap__out o;
    size_t i;
    imap__out_init(&o, out, cap);
    if (n % 4) return IMAP_E_SYNTAX;
    for (i = 0; i < n; i += 4) {
        int last = (i + 4 == n);
        int a = imap__b64_val(u[i], 0), b = imap__b64_val(u[i + 1], 0), c, d;
        if (a < 0 || b < 0) return IMAP_E_SYNTAX;
        imap__out_c(&o, (unsigned)((a << 2) | (b >> 4)));
        if (last && u[i + 2] == '=' && u[i + 3] == '=') {
            if (b & 15) return IMAP_E_SYNTAX;     /* canonical: spare bits are 0 */
            break;
        }
        if ((c = imap__b64_val(u[i + 2], 0)) < 0) return IMAP_E_SYNTAX;
        imap__out_c(&o, (unsigned)(((b & 15) << 4) | (c >> 2)));
        if (last && u[i + 3] == '=') {
            if (c & 3) return IMAP_E_SYNTAX;
            break;
        }
        if ((d = imap__b64_val(u[i + 3], 0)) < 0) return IMAP_E_SYNTAX;
        imap__out_c(&o, (unsigned)(((c & 3) << 6) | d));
    }
    return imap__out_end(&o, 0, 0);
}

/* -- sequence sets ------------------------------------------------------- */

static int imap__seq_ok(imap_u64 v)
{
    return v == IMAP_SEQ_STAR || (v >= 1 && v <= IMAP_SEQ_MAX);
}

static void imap__seq_put(imap_seqset *s, const char *p, size_t n)
{
    if (s->error) return;
    if (s->cap <= s->len || n >= s->cap - s->len) {   /* the NUL needs room too */
        s->error = IMAP_E_NOMEM;
        return;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
}

static void imap__seq_num(imap_seqset *s, imap_u64 v)
{
    char t[20];
    if (v == IMAP_SEQ_STAR) imap__seq_put(s, "*", 1);
    else imap__seq_put(s, t, imap__fmt_u64(t, v));
}

/* Append ",lo" or ",lo:hi"; a failure rolls the text back to `mark`. */
static imap_result imap__seq_item(imap_seqset *s, imap_u64 lo, imap_u64 hi)
{
    size_t mark = s->len;
    if (s->error) return (imap_result)s->error;
    if (!imap__seq_ok(lo) || !imap__seq_ok(hi)) {
        s->error = IMAP_E_ARGS;
        return IMAP_E_ARGS;
    }
    if (s->len) imap__seq_put(s, ",", 1);
    imap__seq_num(s, lo);
    if (hi != lo) {
        imap__seq_put(s, ":", 1);
        imap__seq_num(s, hi);
    }
    if (s->error) {
        s->len = mark;
        if (s->cap) s->buf[mark] = 0;
    }
    return (imap_result)s->error;
}

IMAPDEF void imap_seqset_init(imap_seqset *s, char *buf, size_t cap)
{
    s->buf = buf;
    s->cap = buf ? cap : 0;
    s->len = 0;
    s->error = 0;
    if (s->cap) buf[0] = 0;
}

IMAPDEF imap_result imap_seqset_add(imap_seqset *s, imap_u64 n)
{
    return imap__seq_item(s, n, n);
}

IMAPDEF imap_result imap_seqset_range(imap_seqset *s, imap_u64 lo, imap_u64 hi)
{
    return imap__seq_item(s, lo, hi);
}

IMAPDEF imap_result imap_seqset_compress(imap_seqset *s, const imap_u64 *uids, size_t n)
{
    size_t i = 0, mark = s->len;
    while (i < n && !s->error) {
        imap_u64 lo = uids[i], hi = lo;
        if (lo == IMAP_SEQ_STAR) {
            s->error = IMAP_E_ARGS;
            break;
        }
        for (i++; i < n && (uids[i] == hi || (uids[i] == hi + 1 && uids[i] <= IMAP_SEQ_MAX)); i++)
            hi = uids[i];
        if (i < n && uids[i] < hi) s->error = IMAP_E_ARGS;    /* not ascending */
        else imap__seq_item(s, lo, hi);
    }
    if (s->error && s->len != mark) {
        s->len = mark;
        s->buf[mark] = 0;
    }
    return (imap_result)s->error;
}

IMAPDEF void imap_seqset_iter_init(imap_seqset_iter *it, const char *s, size_t n)
{
    it->_p = s;
    it->_end = s ? s + n : s;
    it->_state = 0;
}

/* seq-number: nz-number (no leading zero, at most 2^32-1) or "*". */
static const char *imap__seq_scan(const char *p, const char *e, imap_u64 *v)
{
    const char *b = p;
    if (p < e && *p == '*') {
        *v = IMAP_SEQ_STAR;
        return p + 1;
    }
    if (p >= e || *p < '1' || *p > '9') return NULL;
    while (p < e && *p >= '0' && *p <= '9') p++;
    if (!imap__parse_u64(b, (size_t)(p - b), v) || *v > IMAP_SEQ_MAX) return NULL;
    return p;
}

IMAPDEF int imap_seqset_next(imap_seqset_iter *it, imap_u64 *lo, imap_u64 *hi)
{
    const char *p = it->_p, *e = it->_end;
    imap_u64 a = 0, b;
    if (it->_state < 0) return IMAP_E_SYNTAX;
    if (it->_state == 1) {
        if (p == e) return 0;
        if (*p++ != ',') p = NULL;
    }
    if (p) p = imap__seq_scan(p, e, &a);
    b = a;
    if (p && p < e && *p == ':') p = imap__seq_scan(p + 1, e, &b);
    if (!p) {
        it->_state = -1;
        return IMAP_E_SYNTAX;
    }
    it->_p = p;
    it->_state = 1;
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
    return 1;
}

/* A set argument: "$" (RFC 5182) or a valid set; star_ok 0 for the
   QRESYNC sets, where "*" is not allowed (RFC 7162 §7). */
static int imap__set_valid(const char *s, size_t n, int star_ok)
{
    imap_seqset_iter it;
    imap_u64 lo, hi;
    int r;
    if (n == 1 && s[0] == '$') return star_ok;
    imap_seqset_iter_init(&it, s, n);
    while ((r = imap_seqset_next(&it, &lo, &hi)) == 1)
        if (!star_ok && hi == IMAP_SEQ_STAR) return 0;
    return r == 0;
}

/* -- the command buffer -------------------------------------------------- */

enum { IMAP__ATOM = 0, IMAP__QUOTED, IMAP__LITERAL, IMAP__REFUSE };

/* RFC 3501 §9 atom-specials (CTL includes 0x7F). */
static int imap__atom_special(unsigned ch)
{
    return ch < 0x20 || ch == 0x7F || ch == ' ' || ch == '(' || ch == ')' ||
           ch == '{' || ch == '%' || ch == '*' || ch == '"' || ch == '\\' || ch == ']';
}

/* How an astring must go; *esc counts the bytes a quoted form escapes. */
static int imap__classify(const unsigned char *s, size_t n, size_t *esc)
{
    size_t i, e = 0;
    int k = n ? IMAP__ATOM : IMAP__QUOTED;
    for (i = 0; i < n; i++) {
        unsigned ch = s[i];
        if (ch == 0) return IMAP__REFUSE;             /* not even a literal (CHAR8) */
        if (ch == '\r' || ch == '\n' || ch >= 0x80) k = IMAP__LITERAL;
        else if ((imap__atom_special(ch) || ch == '[') && k == IMAP__ATOM) k = IMAP__QUOTED;
        if (ch == '"' || ch == '\\') e++;
    }
    *esc = e;
    return k;
}

static int imap__atom_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!u || !*u) return 0;
    for (; *u; u++)
        if (*u >= 0x80 || imap__atom_special(*u)) return 0;
    return 1;
}

/* tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 §9). */
static int imap__tag_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!u || !*u) return 0;
    for (; *u; u++)
        if (*u >= 0x80 || *u == '+' || (imap__atom_special(*u) && *u != ']')) return 0;
    return 1;
}

static imap_result imap__cmd_fail(imap_cmd *c, int code)
{
    if (!c->error) {
        c->error = code;
        c->nseg = 0;
    }
    return (imap_result)c->error;
}

/* Room for n more bytes in an open command, or the command fails. */
static int imap__cmd_room(imap_cmd *c, size_t n)
{
    if (!c->error && c->_ended) imap__cmd_fail(c, IMAP_E_ARGS);
    if (!c->error && n > c->cap - c->len) imap__cmd_fail(c, IMAP_E_NOMEM);
    return !c->error;
}

static void imap__cmd_put(imap_cmd *c, const void *p, size_t n)
{
    if (!imap__cmd_room(c, n)) return;
    if (n) memcpy(c->buf + c->len, p, n);
    c->len += n;
}

/* Room for an argument of n bytes and its separator (SP, none after "(");
   returns where the argument's bytes go, or NULL. */
static unsigned char *imap__cmd_reserve(imap_cmd *c, size_t n)
{
    size_t sp = c->_nosp ? 0 : 1;
    unsigned char *w;
    if (n > (size_t)-1 - sp || !imap__cmd_room(c, n + sp)) return NULL;
    w = c->buf + c->len;
    if (sp) *w++ = ' ';
    c->_nosp = 0;
    c->len += sp + n;
    return w;
}

static void imap__cmd_seg(imap_cmd *c, const unsigned char *p, size_t n, int wait)
{
    if (c->error) return;
    if (c->nseg >= IMAP_CMD_MAX_SEGMENTS) {
        imap__cmd_fail(c, IMAP_E_NOMEM);
        return;
    }
    c->seg[c->nseg].ptr = p;
    c->seg[c->nseg].len = n;
    c->seg[c->nseg].wait = wait;
    c->nseg++;
}

/* Close the open line segment here. */
static void imap__cmd_cut(imap_cmd *c, int wait)
{
    imap__cmd_seg(c, c->buf + c->_line, c->len - c->_line, wait);
    c->_line = c->len;
}

/* " {n}" / " {n+}" CRLF by the literal mode (RFC 7888 §4, §5); returns
   1 when the sender must wait for "+" after it. */
static int imap__cmd_lit_head(imap_cmd *c, size_t n)
{
    char num[20];
    size_t k = imap__fmt_u64(num, (imap_u64)n);
    int plus = c->literal_mode == IMAP_LITERAL_PLUS ||
               (c->literal_mode == IMAP_LITERAL_MINUS && n <= 4096);
    unsigned char *w = imap__cmd_reserve(c, k + (plus ? 5 : 4));
    if (!w) return 0;
    *w++ = '{';
    memcpy(w, num, k);
    w += k;
    if (plus) *w++ = '+';
    memcpy(w, "}\r\n", 3);
    return !plus;
}

static void imap__cmd_rawn(imap_cmd *c, const char *s, size_t n)
{
    unsigned char *w;
    if (c->error) return;
    if (n == 0 || memchr(s, '\r', n) || memchr(s, '\n', n) || memchr(s, 0, n)) {
        imap__cmd_fail(c, IMAP_E_ARGS);
        return;
    }
    if ((w = imap__cmd_reserve(c, n)) != NULL) memcpy(w, s, n);
}

static void imap__cmd_word(imap_cmd *c, const char *s)
{
    imap__cmd_rawn(c, s, strlen(s));
}

/* Turn s[0..n) into a quoted string in place (s has room for n+esc+2):
   writing from the end never overtakes the bytes still to be read. */
static void imap__quote_in_place(unsigned char *s, size_t n, size_t esc)
{
    size_t r = n, w = n + esc + 2;
    s[--w] = '"';
    while (r > 0) {
        unsigned char ch = s[--r];
        s[--w] = ch;
        if (ch == '"' || ch == '\\') s[--w] = '\\';
    }
    s[0] = '"';
}

/* An astring (never_atom 0) or a string (1). */
static void imap__cmd_str(imap_cmd *c, const char *s, size_t n, int never_atom)
{
    size_t esc = 0;
    unsigned char *w;
    int k;
    if (c->error) return;
    k = imap__classify((const unsigned char *)s, n, &esc);
    if (k == IMAP__REFUSE) {
        imap__cmd_fail(c, IMAP_E_ARGS);
        return;
    }
    if (k == IMAP__ATOM && never_atom) k = IMAP__QUOTED;
    if (k == IMAP__ATOM) {
        if ((w = imap__cmd_reserve(c, n)) != NULL) memcpy(w, s, n);
    } else if (k == IMAP__QUOTED) {
        if (n > (size_t)-1 / 2 - 2) {               /* n + esc + 2 would wrap */
            imap__cmd_fail(c, IMAP_E_NOMEM);
            return;
        }
        if ((w = imap__cmd_reserve(c, n + esc + 2)) != NULL) {
            memcpy(w, s, n);
            imap__quote_in_place(w, n, esc);
        }
    } else {
        /* copied, so the caller's string may go away; a synchronizing
           literal ends a segment: the sender waits for "+" there */
        if (imap__cmd_lit_head(c, n)) imap__cmd_cut(c, 1);
        imap__cmd_put(c, s, n);
        if (!c->error) c->_lit_end = c->len;
    }
}

/* imaplib's _checkquote pass-throughs: "..." and (...) as they are, '...'
   without its quotes. Returns 1 when s was one. */
static int imap__enclosed(const char *s, size_t n, char open, char close)
{
    return n >= 2 && s[0] == open && s[n - 1] == close;
}

static int imap__cmd_pass(imap_cmd *c, const char *s, size_t n)
{
    if (imap__enclosed(s, n, '"', '"') || imap__enclosed(s, n, '(', ')')) {
        imap__cmd_rawn(c, s, n);
        return 1;
    }
    if (imap__enclosed(s, n, '\'', '\'')) {
        imap__cmd_rawn(c, s + 1, n - 2);
        return 1;
    }
    return 0;
}

static void imap__cmd_mbox(imap_cmd *c, const char *name, size_t n)
{
    imap__out o;
    size_t sp, m, esc = 0;
    int r;
    if (!imap__cmd_room(c, 0)) return;
    if (c->utf8) {
        /* RFC 6855 §3: names go as UTF-8, which must be valid */
        if (!imap__utf8_valid((const unsigned char *)name, n)) imap__cmd_fail(c, IMAP_E_ARGS);
        imap__cmd_str(c, name, n, 0);
        return;
    }
    /* encode into the free space, then quote there if needed */
    sp = c->_nosp ? 0 : 1;
    if (c->cap - c->len < sp) {
        imap__cmd_fail(c, IMAP_E_NOMEM);
        return;
    }
    imap__out_init(&o, c->buf + c->len + sp, c->cap - c->len - sp);
    if ((r = imap__utf7_enc((const unsigned char *)name, n, &o)) != 0) {
        imap__cmd_fail(c, r);
        return;
    }
    m = o.len;
    if (m > o.cap) {
        imap__cmd_fail(c, IMAP_E_NOMEM);
        return;
    }
    /* modified UTF-7 is printable ASCII: an atom or a quoted string */
    if (imap__classify(o.p, m, &esc) != IMAP__ATOM) {
        if (esc + 2 > o.cap - m) {
            imap__cmd_fail(c, IMAP_E_NOMEM);
            return;
        }
        imap__quote_in_place(o.p, m, esc);
        m += esc + 2;
    }
    if (sp) c->buf[c->len] = ' ';
    c->_nosp = 0;
    c->len += sp + m;
}

IMAPDEF void imap_cmd_init(imap_cmd *c, void *buf, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->buf = (unsigned char *)buf;
    c->cap = buf ? cap : 0;
    c->_ended = 1;
}

static void imap__cmd_reset(imap_cmd *c)
{
    c->len = 0;
    c->nseg = 0;
    c->error = 0;
    c->_line = 0;
    c->_lit_end = 0;
    c->_nosp = 0;
    c->_ended = 0;
}

IMAPDEF imap_result imap_cmd_begin(imap_cmd *c, const char *tag, const char *name)
{
    imap__cmd_reset(c);
    if (!imap__tag_ok(tag) || !imap__atom_ok(name)) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_put(c, tag, strlen(tag));
    imap__cmd_word(c, name);
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_arg(imap_cmd *c, const char *s)
{
    size_t n;
    if (!s) return imap__cmd_fail(c, IMAP_E_ARGS);
    n = strlen(s);
    if (!imap__cmd_pass(c, s, n)) imap__cmd_str(c, s, n, 0);
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_raw(imap_cmd *c, const char *s)
{
    if (!s) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_rawn(c, s, strlen(s));
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_astring(imap_cmd *c, const char *s, size_t n)
{
    if (!s && n) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_str(c, s ? s : "", n, 0);
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_string(imap_cmd *c, const char *s, size_t n)
{
    if (!s && n) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_str(c, s ? s : "", n, 1);
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_mailbox(imap_cmd *c, const char *name)
{
    if (!name) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_mbox(c, name, strlen(name));
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_literal(imap_cmd *c, const void *data, size_t n)
{
    int wait;
    if (!c->error && n && (!data || memchr(data, 0, n))) imap__cmd_fail(c, IMAP_E_ARGS);
    wait = imap__cmd_lit_head(c, n);
    imap__cmd_cut(c, wait);
    if (n) imap__cmd_seg(c, (const unsigned char *)data, n, 0);
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_number(imap_cmd *c, imap_u64 v)
{
    char t[20];
    imap__cmd_rawn(c, t, imap__fmt_u64(t, v));
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_paren_open(imap_cmd *c)
{
    unsigned char *w = imap__cmd_reserve(c, 1);
    if (w) {
        *w = '(';
        c->_nosp = 1;
    }
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_paren_close(imap_cmd *c)
{
    imap__cmd_put(c, ")", 1);
    c->_nosp = 0;
    return (imap_result)c->error;
}

/* Does s[0..n) end in "{digits}" or "{digits+}"? */
static int imap__ends_in_literal(const unsigned char *s, size_t n)
{
    size_t i, j;
    if (n < 3 || s[n - 1] != '}') return 0;
    i = n - 1;
    if (s[i - 1] == '+') i--;
    for (j = i; j > 0 && s[j - 1] >= '0' && s[j - 1] <= '9'; j--) {}
    return j < i && j > 0 && s[j - 1] == '{';
}

IMAPDEF imap_result imap_cmd_end(imap_cmd *c)
{
    size_t from;
    if (!imap__cmd_room(c, 0)) return (imap_result)c->error;
    /* a line ending in "{n}" would make the server take what comes next
       as literal data (RFC 3501 §4.3); only our own headers may do that */
    from = c->_line > c->_lit_end ? c->_line : c->_lit_end;
    if (imap__ends_in_literal(c->buf + from, c->len - from)) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_put(c, "\r\n", 2);
    imap__cmd_cut(c, 0);
    if (!c->error) c->_ended = 1;
    return (imap_result)c->error;
}

/* -- argument kinds of the per-command builders -------------------------- */

static void imap__mbox_arg(imap_cmd *c, const char *name, const char *dflt)
{
    size_t n;
    if (!name) name = dflt;
    if (!name) {
        imap__cmd_fail(c, IMAP_E_ARGS);
        return;
    }
    n = strlen(name);
    if (!imap__cmd_pass(c, name, n)) imap__cmd_mbox(c, name, n);
}

static void imap__set_arg(imap_cmd *c, const char *s, int star_ok)
{
    size_t n;
    if (c->error) return;
    n = s ? strlen(s) : 0;
    if (imap__enclosed(s, n, '\'', '\'')) {
        s++;
        n -= 2;
    }
    if (!s || !imap__set_valid(s, n, star_ok)) {
        imap__cmd_fail(c, IMAP_E_ARGS);
        return;
    }
    imap__cmd_rawn(c, s, n);
}

static void imap__syntax_arg(imap_cmd *c, const char *s)
{
    size_t n;
    if (!s) {
        imap__cmd_fail(c, IMAP_E_ARGS);
        return;
    }
    n = strlen(s);
    if (imap__enclosed(s, n, '\'', '\'')) imap__cmd_rawn(c, s + 1, n - 2);
    else imap__cmd_rawn(c, s, n);
}

static void imap__list_arg(imap_cmd *c, const char *s)
{
    size_t n;
    if (!s) {
        imap__cmd_fail(c, IMAP_E_ARGS);
        return;
    }
    n = strlen(s);
    if (imap__enclosed(s, n, '(', ')')) {
        imap__cmd_rawn(c, s, n);
        return;
    }
    imap_cmd_paren_open(c);
    if (n) imap__cmd_rawn(c, s, n);
    imap_cmd_paren_close(c);
}

static void imap__atom_arg(imap_cmd *c, const char *s)
{
    if (!imap__atom_ok(s)) imap__cmd_fail(c, IMAP_E_ARGS);
    else imap__cmd_word(c, s);
}

static void imap__string_arg(imap_cmd *c, const char *s)
{
    if (!s) imap__cmd_fail(c, IMAP_E_ARGS);
    else imap__cmd_str(c, s, strlen(s), 1);
}

/* A decimal number argument given as text (PARTIAL). */
static void imap__num_arg(imap_cmd *c, const char *s)
{
    imap_u64 v;
    if (!s || !imap__parse_u64(s, strlen(s), &v) || v > IMAP_SEQ_MAX) imap__cmd_fail(c, IMAP_E_ARGS);
    else imap_cmd_number(c, v);
}

/* args[0..n) by the seed's rule, NULL skipped; need: at least one. */
static void imap__args(imap_cmd *c, const char *const *args, size_t n, int need)
{
    size_t i, k = 0;
    for (i = 0; args && i < n; i++)
        if (args[i]) {
            imap_cmd_arg(c, args[i]);
            k++;
        }
    if (need && !k) imap__cmd_fail(c, IMAP_E_ARGS);
}

static size_t imap__count(const char *const *args, size_t n)
{
    size_t i, k = 0;
    for (i = 0; args && i < n; i++) k += args[i] != NULL;
    return k;
}

static void imap__begin_uid(imap_cmd *c, const char *tag, int uid, const char *name)
{
    if (uid) {
        imap_cmd_begin(c, tag, "UID");
        imap__cmd_word(c, name);
    } else {
        imap_cmd_begin(c, tag, name);
    }
}

/* -- per-command builders ------------------------------------------------ */

IMAPDEF imap_result imap_cmd_simple(imap_cmd *c, const char *tag, const char *name)
{
    imap_cmd_begin(c, tag, name);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_capability(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "CAPABILITY"); }
IMAPDEF imap_result imap_cmd_noop(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "NOOP"); }
IMAPDEF imap_result imap_cmd_logout(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "LOGOUT"); }
IMAPDEF imap_result imap_cmd_starttls(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "STARTTLS"); }
IMAPDEF imap_result imap_cmd_check(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "CHECK"); }
IMAPDEF imap_result imap_cmd_close(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "CLOSE"); }
IMAPDEF imap_result imap_cmd_expunge(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "EXPUNGE"); }
IMAPDEF imap_result imap_cmd_unselect(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "UNSELECT"); }
IMAPDEF imap_result imap_cmd_namespace(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "NAMESPACE"); }
IMAPDEF imap_result imap_cmd_idle(imap_cmd *c, const char *tag) { return imap_cmd_simple(c, tag, "IDLE"); }

/* A line without a tag: DONE, or a SASL response. */
static imap_result imap__cmd_bare(imap_cmd *c, const char *s, size_t n)
{
    imap__cmd_reset(c);
    imap__cmd_put(c, s, n);
    imap__cmd_put(c, "\r\n", 2);
    imap__cmd_cut(c, 0);
    if (!c->error) c->_ended = 1;
    return (imap_result)c->error;
}

IMAPDEF imap_result imap_cmd_done(imap_cmd *c)
{
    return imap__cmd_bare(c, "DONE", 4);
}

IMAPDEF imap_result imap_cmd_sasl_response(imap_cmd *c, const char *b64)
{
    size_t n;
    if (!b64) return imap__cmd_bare(c, "*", 1);
    n = strlen(b64);
    if (imap_base64_decode(b64, n, NULL, 0) < 0) {
        imap__cmd_reset(c);
        return imap__cmd_fail(c, IMAP_E_ARGS);
    }
    return imap__cmd_bare(c, b64, n);
}

IMAPDEF imap_result imap_cmd_compress(imap_cmd *c, const char *tag, const char *mech)
{
    imap_cmd_begin(c, tag, "COMPRESS");
    imap__atom_arg(c, mech ? mech : "DEFLATE");
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_login(imap_cmd *c, const char *tag,
                                   const char *user, const char *password)
{
    imap_cmd_begin(c, tag, "LOGIN");
    imap_cmd_arg(c, user);
    imap__string_arg(c, password);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_authenticate(imap_cmd *c, const char *tag,
                                          const char *mech, const char *ir)
{
    imap_cmd_begin(c, tag, "AUTHENTICATE");
    imap__atom_arg(c, mech);
    if (ir) {
        /* RFC 4959 §3: base64, or "=" for an empty response */
        size_t n = strlen(ir);
        if (n == 0 || (!(n == 1 && ir[0] == '=') && imap_base64_decode(ir, n, NULL, 0) < 0))
            imap__cmd_fail(c, IMAP_E_ARGS);
        else
            imap__cmd_rawn(c, ir, n);
    }
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_proxyauth(imap_cmd *c, const char *tag, const char *user)
{
    imap_cmd_begin(c, tag, "PROXYAUTH");
    imap_cmd_arg(c, user);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_enable(imap_cmd *c, const char *tag, const char *caps)
{
    imap_cmd_begin(c, tag, "ENABLE");
    imap__syntax_arg(c, caps);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_id(imap_cmd *c, const char *tag,
                                const char *const *args, size_t nargs)
{
    size_t i;
    imap_cmd_begin(c, tag, "ID");
    if (nargs == 0 || (nargs == 1 && !args[0])) {
        imap__cmd_word(c, "NIL");
    } else if (nargs == 1) {
        imap__syntax_arg(c, args[0]);
    } else if (nargs % 2 || nargs > 60) {
        imap__cmd_fail(c, IMAP_E_ARGS);
    } else {
        /* RFC 2971 §3.3: fields up to 30 octets, values up to 1024 */
        imap_cmd_paren_open(c);
        for (i = 0; i < nargs; i += 2) {
            if (!args[i] || strlen(args[i]) > 30 || (args[i + 1] && strlen(args[i + 1]) > 1024))
                imap__cmd_fail(c, IMAP_E_ARGS);
            imap__string_arg(c, args[i]);
            if (args[i + 1]) imap__string_arg(c, args[i + 1]);
            else imap__cmd_word(c, "NIL");
        }
        imap_cmd_paren_close(c);
    }
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_select(imap_cmd *c, const char *tag, const char *mailbox,
                                    int readonly, int condstore,
                                    const imap_qresync *q)
{
    imap_cmd_begin(c, tag, readonly ? "EXAMINE" : "SELECT");
    imap__mbox_arg(c, mailbox, "INBOX");
    if (condstore || q) {
        imap_cmd_paren_open(c);
        if (condstore) imap__cmd_word(c, "CONDSTORE");
        if (q) {
            /* RFC 7162 §3.2.5 */
            if (q->uidvalidity < 1 || q->uidvalidity > IMAP_SEQ_MAX ||
                q->modseq < 1 || q->modseq > IMAP__MODSEQ_MAX ||
                (!q->known_seqs != !q->known_seq_uids))
                imap__cmd_fail(c, IMAP_E_ARGS);
            imap__cmd_word(c, "QRESYNC");
            imap_cmd_paren_open(c);
            imap_cmd_number(c, q->uidvalidity);
            imap_cmd_number(c, q->modseq);
            if (q->known_uids) imap__set_arg(c, q->known_uids, 0);
            if (q->known_seqs) {
                imap_cmd_paren_open(c);
                imap__set_arg(c, q->known_seqs, 0);
                imap__set_arg(c, q->known_seq_uids, 0);
                imap_cmd_paren_close(c);
            }
            imap_cmd_paren_close(c);
        }
        imap_cmd_paren_close(c);
    }
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_examine(imap_cmd *c, const char *tag, const char *mailbox)
{
    return imap_cmd_select(c, tag, mailbox, 1, 0, NULL);
}

static imap_result imap__cmd_mbox1(imap_cmd *c, const char *tag, const char *name,
                                   const char *mailbox)
{
    imap_cmd_begin(c, tag, name);
    imap__mbox_arg(c, mailbox, NULL);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_create(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "CREATE", mailbox); }
IMAPDEF imap_result imap_cmd_delete(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "DELETE", mailbox); }
IMAPDEF imap_result imap_cmd_subscribe(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "SUBSCRIBE", mailbox); }
IMAPDEF imap_result imap_cmd_unsubscribe(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "UNSUBSCRIBE", mailbox); }
IMAPDEF imap_result imap_cmd_getacl(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "GETACL", mailbox); }
IMAPDEF imap_result imap_cmd_myrights(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "MYRIGHTS", mailbox); }
IMAPDEF imap_result imap_cmd_getquotaroot(imap_cmd *c, const char *tag, const char *mailbox) { return imap__cmd_mbox1(c, tag, "GETQUOTAROOT", mailbox); }

IMAPDEF imap_result imap_cmd_rename(imap_cmd *c, const char *tag,
                                    const char *oldmailbox, const char *newmailbox)
{
    imap_cmd_begin(c, tag, "RENAME");
    imap__mbox_arg(c, oldmailbox, NULL);
    imap__mbox_arg(c, newmailbox, NULL);
    return imap_cmd_end(c);
}

static imap_result imap__cmd_list(imap_cmd *c, const char *tag, const char *name,
                                  const char *reference, const char *pattern)
{
    imap_cmd_begin(c, tag, name);
    imap__mbox_arg(c, reference, "");
    imap__mbox_arg(c, pattern, "*");
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_list(imap_cmd *c, const char *tag,
                                  const char *reference, const char *pattern)
{
    return imap__cmd_list(c, tag, "LIST", reference, pattern);
}

IMAPDEF imap_result imap_cmd_lsub(imap_cmd *c, const char *tag,
                                  const char *reference, const char *pattern)
{
    return imap__cmd_list(c, tag, "LSUB", reference, pattern);
}

IMAPDEF imap_result imap_cmd_list_extended(imap_cmd *c, const char *tag,
                                           const char *selection, const char *reference,
                                           const char *const *patterns, size_t npatterns,
                                           const char *ret)
{
    size_t i, k = imap__count(patterns, npatterns);
    imap_cmd_begin(c, tag, "LIST");
    if (selection) imap__list_arg(c, selection);
    imap__mbox_arg(c, reference, "");
    if (k == 0) imap__cmd_fail(c, IMAP_E_ARGS);
    if (k > 1) imap_cmd_paren_open(c);
    for (i = 0; i < npatterns; i++)
        if (patterns[i]) imap__mbox_arg(c, patterns[i], NULL);
    if (k > 1) imap_cmd_paren_close(c);
    if (ret) {
        imap__cmd_word(c, "RETURN");
        imap__list_arg(c, ret);
    }
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_status(imap_cmd *c, const char *tag,
                                    const char *mailbox, const char *names)
{
    imap_cmd_begin(c, tag, "STATUS");
    imap__mbox_arg(c, mailbox, NULL);
    imap__list_arg(c, names);
    return imap_cmd_end(c);
}

/* [flags] [date-time] literal of one message (RFC 3501 §6.3.11). */
static void imap__append_msg(imap_cmd *c, const char *flags, const char *date_time,
                             const void *data, size_t len)
{
    if (flags && *flags) imap__list_arg(c, flags);
    if (date_time && *date_time && !c->error) {
        /* re-written canonically: date-day-fixed wants " 1" or "01" */
        size_t n = strlen(date_time);
        imap_tm tm;
        char out[29];
        if (imap_internaldate_parse(date_time, n, &tm, NULL) != IMAP_OK ||
            imap_internaldate_format_tm(&tm, out) != IMAP_OK)
            imap__cmd_fail(c, IMAP_E_ARGS);
        else
            imap__cmd_rawn(c, out, 28);
    }
    imap_cmd_literal(c, data, len);
}

IMAPDEF imap_result imap_cmd_append(imap_cmd *c, const char *tag, const char *mailbox,
                                    const char *flags, const char *date_time,
                                    const void *msg, size_t msglen)
{
    imap_cmd_begin(c, tag, "APPEND");
    imap__mbox_arg(c, mailbox, "INBOX");
    imap__append_msg(c, flags, date_time, msg, msglen);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_multiappend(imap_cmd *c, const char *tag, const char *mailbox,
                                         const imap_append_msg *msgs, size_t nmsgs)
{
    size_t i;
    imap_cmd_begin(c, tag, "APPEND");
    imap__mbox_arg(c, mailbox, "INBOX");
    if (nmsgs == 0 || !msgs) imap__cmd_fail(c, IMAP_E_ARGS);
    for (i = 0; i < nmsgs && !c->error; i++)
        imap__append_msg(c, msgs[i].flags, msgs[i].date_time, msgs[i].data, msgs[i].len);
    return imap_cmd_end(c);
}

static imap_result imap__cmd_copy(imap_cmd *c, const char *tag, int uid, const char *name,
                                  const char *set, const char *mailbox)
{
    imap__begin_uid(c, tag, uid, name);
    imap__set_arg(c, set, 1);
    imap__mbox_arg(c, mailbox, NULL);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_copy(imap_cmd *c, const char *tag, const char *set, const char *mailbox) { return imap__cmd_copy(c, tag, 0, "COPY", set, mailbox); }
IMAPDEF imap_result imap_cmd_move(imap_cmd *c, const char *tag, const char *set, const char *mailbox) { return imap__cmd_copy(c, tag, 0, "MOVE", set, mailbox); }
IMAPDEF imap_result imap_cmd_uid_copy(imap_cmd *c, const char *tag, const char *set, const char *mailbox) { return imap__cmd_copy(c, tag, 1, "COPY", set, mailbox); }
IMAPDEF imap_result imap_cmd_uid_move(imap_cmd *c, const char *tag, const char *set, const char *mailbox) { return imap__cmd_copy(c, tag, 1, "MOVE", set, mailbox); }

static void imap__fetch_args(imap_cmd *c, int uid, const char *tag,
                             const char *set, const char *items)
{
    imap__begin_uid(c, tag, uid, "FETCH");
    imap__set_arg(c, set, 1);
    imap__syntax_arg(c, items);
}

IMAPDEF imap_result imap_cmd_fetch(imap_cmd *c, const char *tag, const char *set, const char *items)
{
    imap__fetch_args(c, 0, tag, set, items);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_uid_fetch(imap_cmd *c, const char *tag, const char *set, const char *items)
{
    imap__fetch_args(c, 1, tag, set, items);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_fetch_changedsince(imap_cmd *c, const char *tag, int uid,
                                                const char *set, const char *items,
                                                imap_u64 modseq, int vanished)
{
    imap__fetch_args(c, uid, tag, set, items);
    /* RFC 7162 §3.1.4.1 (mod-sequence-value), §3.2.6 (UID FETCH only) */
    if (modseq < 1 || modseq > IMAP__MODSEQ_MAX || (vanished && !uid))
        imap__cmd_fail(c, IMAP_E_ARGS);
    imap_cmd_paren_open(c);
    imap__cmd_word(c, "CHANGEDSINCE");
    imap_cmd_number(c, modseq);
    if (vanished) imap__cmd_word(c, "VANISHED");
    imap_cmd_paren_close(c);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_partial(imap_cmd *c, const char *tag, const char *msgnum,
                                     const char *part, const char *start,
                                     const char *length)
{
    imap_cmd_begin(c, tag, "PARTIAL");
    imap__num_arg(c, msgnum);
    imap__syntax_arg(c, part);
    imap__num_arg(c, start);
    imap__num_arg(c, length);
    return imap_cmd_end(c);
}

static imap_result imap__cmd_store(imap_cmd *c, const char *tag, int uid, const char *set,
                                   int unchanged, imap_u64 modseq,
                                   const char *command, const char *flags)
{
    imap__begin_uid(c, tag, uid, "STORE");
    imap__set_arg(c, set, 1);
    if (unchanged) {
        /* RFC 7162 §3.1.3: mod-sequence-valzer, 0 allowed */
        if (modseq > IMAP__MODSEQ_MAX) imap__cmd_fail(c, IMAP_E_ARGS);
        imap_cmd_paren_open(c);
        imap__cmd_word(c, "UNCHANGEDSINCE");
        imap_cmd_number(c, modseq);
        imap_cmd_paren_close(c);
    }
    imap__syntax_arg(c, command);
    imap__syntax_arg(c, flags);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_store(imap_cmd *c, const char *tag, const char *set,
                                   const char *command, const char *flags)
{
    return imap__cmd_store(c, tag, 0, set, 0, 0, command, flags);
}

IMAPDEF imap_result imap_cmd_uid_store(imap_cmd *c, const char *tag, const char *set,
                                       const char *command, const char *flags)
{
    return imap__cmd_store(c, tag, 1, set, 0, 0, command, flags);
}

IMAPDEF imap_result imap_cmd_store_unchangedsince(imap_cmd *c, const char *tag, int uid,
                                                  const char *set, imap_u64 modseq,
                                                  const char *command, const char *flags)
{
    return imap__cmd_store(c, tag, uid, set, 1, modseq, command, flags);
}

IMAPDEF imap_result imap_cmd_uid_expunge(imap_cmd *c, const char *tag, const char *set)
{
    imap__begin_uid(c, tag, 1, "EXPUNGE");
    imap__set_arg(c, set, 1);
    return imap_cmd_end(c);
}

/* [RETURN (ret)] [CHARSET charset] criteria (RFC 4466 search, RFC 4731). */
static imap_result imap__cmd_search(imap_cmd *c, const char *tag, int uid, const char *ret,
                                    const char *charset,
                                    const char *const *criteria, size_t n)
{
    imap__begin_uid(c, tag, uid, "SEARCH");
    if (ret) {
        imap__cmd_word(c, "RETURN");
        imap__list_arg(c, ret);
    }
    if (charset && (c->rev2 || !c->utf8)) {
        imap__cmd_word(c, "CHARSET");
        imap_cmd_arg(c, charset);
    }
    imap__args(c, criteria, n, 1);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_search(imap_cmd *c, const char *tag, const char *charset,
                                    const char *const *criteria, size_t n)
{
    return imap__cmd_search(c, tag, 0, NULL, charset, criteria, n);
}

IMAPDEF imap_result imap_cmd_uid_search(imap_cmd *c, const char *tag, const char *charset,
                                        const char *const *criteria, size_t n)
{
    return imap__cmd_search(c, tag, 1, NULL, charset, criteria, n);
}

IMAPDEF imap_result imap_cmd_search_return(imap_cmd *c, const char *tag, const char *ret,
                                           const char *charset,
                                           const char *const *criteria, size_t n)
{
    if (!ret) {
        imap_cmd_begin(c, tag, "SEARCH");
        return imap__cmd_fail(c, IMAP_E_ARGS);
    }
    return imap__cmd_search(c, tag, 0, ret, charset, criteria, n);
}

/* SORT / THREAD: first (criteria list or algorithm atom), then charset
   (RFC 5256 requires one), then the search keys. */
static imap_result imap__cmd_sort(imap_cmd *c, const char *tag, int uid, int thread,
                                  const char *first, const char *charset,
                                  const char *const *criteria, size_t n)
{
    imap__begin_uid(c, tag, uid, thread ? "THREAD" : "SORT");
    if (thread) imap__atom_arg(c, first);
    else imap__list_arg(c, first);
    imap_cmd_arg(c, charset ? charset : "UTF-8");
    imap__args(c, criteria, n, 1);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_sort(imap_cmd *c, const char *tag, const char *sort_criteria,
                                  const char *charset, const char *const *criteria, size_t n)
{
    return imap__cmd_sort(c, tag, 0, 0, sort_criteria, charset, criteria, n);
}

IMAPDEF imap_result imap_cmd_uid_sort(imap_cmd *c, const char *tag, const char *sort_criteria,
                                      const char *charset, const char *const *criteria, size_t n)
{
    return imap__cmd_sort(c, tag, 1, 0, sort_criteria, charset, criteria, n);
}

IMAPDEF imap_result imap_cmd_thread(imap_cmd *c, const char *tag, const char *algorithm,
                                    const char *charset, const char *const *criteria, size_t n)
{
    return imap__cmd_sort(c, tag, 0, 1, algorithm, charset, criteria, n);
}

IMAPDEF imap_result imap_cmd_uid_thread(imap_cmd *c, const char *tag, const char *algorithm,
                                        const char *charset, const char *const *criteria,
                                        size_t n)
{
    return imap__cmd_sort(c, tag, 1, 1, algorithm, charset, criteria, n);
}

IMAPDEF imap_result imap_cmd_uid(imap_cmd *c, const char *tag, const char *command,
                                 const char *const *args, size_t nargs)
{
    static const char *const names[] = { "COPY", "MOVE", "FETCH", "STORE", "EXPUNGE",
                                         "SEARCH", "SORT", "THREAD" };
    size_t i, k = 0;
    imap_cmd_begin(c, tag, "UID");
    while (command && k < 8 && !imap__ieq(command, strlen(command), names[k])) k++;
    if (k == 8) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap__cmd_word(c, names[k]);
    if (k <= 4) {
        /* a set first; COPY/MOVE then one mailbox, FETCH/STORE syntax */
        if (nargs == 0 || !args || (k <= 1 && nargs != 2) || (k == 4 && nargs != 1) ||
            ((k == 2 || k == 3) && imap__count(args + 1, nargs - 1) < (size_t)(k == 2 ? 1 : 2)))
            return imap__cmd_fail(c, IMAP_E_ARGS);
        imap__set_arg(c, args[0], 1);
        for (i = 1; i < nargs; i++) {
            if (k <= 1) imap__mbox_arg(c, args[i], NULL);
            else if (args[i]) imap__syntax_arg(c, args[i]);
        }
    } else {
        imap__args(c, args, nargs, 1);
    }
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_xatom(imap_cmd *c, const char *tag, const char *name,
                                   const char *const *args, size_t nargs)
{
    imap_cmd_begin(c, tag, name);
    imap__args(c, args, nargs, 0);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_setacl(imap_cmd *c, const char *tag, const char *mailbox,
                                    const char *who, const char *what)
{
    imap_cmd_begin(c, tag, "SETACL");
    imap__mbox_arg(c, mailbox, NULL);
    imap_cmd_arg(c, who);
    imap_cmd_arg(c, what);
    return imap_cmd_end(c);
}

static imap_result imap__cmd_acl_who(imap_cmd *c, const char *tag, const char *name,
                                     const char *mailbox, const char *who)
{
    imap_cmd_begin(c, tag, name);
    imap__mbox_arg(c, mailbox, NULL);
    imap_cmd_arg(c, who);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_deleteacl(imap_cmd *c, const char *tag, const char *mailbox, const char *who) { return imap__cmd_acl_who(c, tag, "DELETEACL", mailbox, who); }
IMAPDEF imap_result imap_cmd_listrights(imap_cmd *c, const char *tag, const char *mailbox, const char *who) { return imap__cmd_acl_who(c, tag, "LISTRIGHTS", mailbox, who); }

IMAPDEF imap_result imap_cmd_getannotation(imap_cmd *c, const char *tag, const char *mailbox,
                                           const char *entry, const char *attribute)
{
    imap_cmd_begin(c, tag, "GETANNOTATION");
    imap__mbox_arg(c, mailbox, NULL);
    imap_cmd_arg(c, entry);
    if (!attribute) imap__cmd_fail(c, IMAP_E_ARGS);
    else if (!imap__cmd_pass(c, attribute, strlen(attribute))) imap__string_arg(c, attribute);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_setannotation(imap_cmd *c, const char *tag, const char *mailbox,
                                           const char *const *args, size_t nargs)
{
    imap_cmd_begin(c, tag, "SETANNOTATION");
    imap__mbox_arg(c, mailbox, NULL);
    if (nargs < 2 || nargs % 2 || imap__count(args, nargs) != nargs) imap__cmd_fail(c, IMAP_E_ARGS);
    imap__args(c, args, nargs, 1);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_getmetadata(imap_cmd *c, const char *tag, const char *options,
                                         const char *mailbox,
                                         const char *const *entries, size_t nentries)
{
    size_t k = imap__count(entries, nentries);
    imap_cmd_begin(c, tag, "GETMETADATA");
    if (options) imap__list_arg(c, options);
    imap__mbox_arg(c, mailbox, NULL);
    if (k == 0) imap__cmd_fail(c, IMAP_E_ARGS);
    if (k > 1) imap_cmd_paren_open(c);
    imap__args(c, entries, nentries, 1);
    if (k > 1) imap_cmd_paren_close(c);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_setmetadata(imap_cmd *c, const char *tag, const char *mailbox,
                                         const char *const *pairs, size_t npairs)
{
    size_t i;
    imap_cmd_begin(c, tag, "SETMETADATA");
    imap__mbox_arg(c, mailbox, NULL);
    if (npairs < 2 || npairs % 2 || !pairs) return imap__cmd_fail(c, IMAP_E_ARGS);
    imap_cmd_paren_open(c);
    for (i = 0; i < npairs; i += 2) {
        imap_cmd_arg(c, pairs[i]);
        if (pairs[i + 1]) imap__string_arg(c, pairs[i + 1]);
        else imap__cmd_word(c, "NIL");          /* RFC 5464 §4.3: NIL removes */
    }
    imap_cmd_paren_close(c);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_getquota(imap_cmd *c, const char *tag, const char *root)
{
    imap_cmd_begin(c, tag, "GETQUOTA");
    imap_cmd_arg(c, root);
    return imap_cmd_end(c);
}

IMAPDEF imap_result imap_cmd_setquota(imap_cmd *c, const char *tag, const char *root,
                                      const char *limits)
{
    imap_cmd_begin(c, tag, "SETQUOTA");
    imap_cmd_arg(c, root);
    imap__list_arg(c, limits);
    return imap_cmd_end(c);
}

/* -- dates (RFC 3501 §9 date-time), calendar math without libc ---------- */

static const char imap__month_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int imap__mdays(long y, int m)
{
    static const unsigned char d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d[m - 1] + (m == 2 && leap);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the era-based
   algorithm of H. Hinnant's "chrono-Compatible Low-Level Date
   Algorithms"). */
static long long imap__days_from_civil(long long y, int m, int d)
{
    long long era;
    long long yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void imap__civil_from_days(long long z, long *y, int *m, int *d)
{
    long long era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (long)(yoe + era * 400 + (*m <= 2));
}

static int imap__digits(const char *s, size_t n, int *v)
{
    size_t i;
    int x = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 1;
}

static int imap__tm_valid(const imap_tm *t, int max_sec)
{
    return t->year >= 0 && t->year <= 9999 && t->month >= 1 && t->month <= 12 &&
           t->day >= 1 && t->day <= imap__mdays(t->year, t->month) &&
           t->hour >= 0 && t->hour <= 23 && t->min >= 0 && t->min <= 59 &&
           t->sec >= 0 && t->sec <= max_sec && t->offset >= -5999 && t->offset <= 5999;
}

IMAPDEF imap_result imap_internaldate_parse(const char *s, size_t n, imap_tm *out,
                                            long long *utc_seconds)
{
    imap_tm t;
    const char *p;
    size_t i = 0, k;
    int zh, zm, m;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    /* date-day-fixed " D" / "DD", and date-day "D" */
    if (n > 0 && s[0] == ' ') i = 1;
    k = (n > i + 1 && s[i + 1] >= '0' && s[i + 1] <= '9') ? 2 : 1;
    if ((i == 1 && k == 2) || n != i + k + 24) return IMAP_E_SYNTAX;
    p = s + i + k;
    if (!imap__digits(s + i, k, &t.day) || p[0] != '-' || p[4] != '-' || p[9] != ' ' ||
        p[12] != ':' || p[15] != ':' || p[18] != ' ' || (p[19] != '+' && p[19] != '-') ||
        !imap__digits(p + 5, 4, &t.year) || !imap__digits(p + 10, 2, &t.hour) ||
        !imap__digits(p + 13, 2, &t.min) || !imap__digits(p + 16, 2, &t.sec) ||
        !imap__digits(p + 20, 2, &zh) || !imap__digits(p + 22, 2, &zm) || zm > 59)
        return IMAP_E_SYNTAX;
    for (m = 0; m < 12; m++) {
        char name[4];
        memcpy(name, imap__month_names + 3 * m, 3);
        name[3] = 0;
        if (imap__ieq(p + 1, 3, name)) break;
    }
    t.month = m + 1;
    t.offset = (p[19] == '-' ? -1 : 1) * (zh * 60 + zm);
    if (m == 12 || !imap__tm_valid(&t, 60)) return IMAP_E_SYNTAX;
    if (out) *out = t;
    if (utc_seconds)
        *utc_seconds = imap__days_from_civil(t.year, t.month, t.day) * 86400 +
                       t.hour * 3600L + t.min * 60L + t.sec - t.offset * 60L;
    return IMAP_OK;
}

IMAPDEF imap_result imap_fetch_internaldate(const imap_response *r, imap_tm *out,
                                            long long *utc_seconds)
{
    imap_str s;
    const imap_value *v = imap_fetch_get(r, "INTERNALDATE");
    if (!v || imap_value_str(v, &s) != 0 || !s.ptr) return IMAP_E_SYNTAX;
    return imap_internaldate_parse(s.ptr, s.len, out, utc_seconds);
}

static void imap__put2(char *w, int v)
{
    w[0] = (char)('0' + v / 10);
    w[1] = (char)('0' + v % 10);
}

IMAPDEF imap_result imap_internaldate_format_tm(const imap_tm *t, char out[29])
{
    int a = t->offset < 0 ? -t->offset : t->offset;
    if (!imap__tm_valid(t, 60)) return IMAP_E_ARGS;
    out[0] = '"';
    imap__put2(out + 1, t->day);
    out[3] = '-';
    memcpy(out + 4, imap__month_names + 3 * (t->month - 1), 3);
    out[7] = '-';
    imap__put2(out + 8, t->year / 100);
    imap__put2(out + 10, t->year % 100);
    out[12] = ' ';
    imap__put2(out + 13, t->hour);
    out[15] = ':';
    imap__put2(out + 16, t->min);
    out[18] = ':';
    imap__put2(out + 19, t->sec);
    out[21] = ' ';
    out[22] = t->offset < 0 ? '-' : '+';
    imap__put2(out + 23, a / 60);
    imap__put2(out + 25, a % 60);
    out[27] = '"';
    out[28] = 0;
    return IMAP_OK;
}

IMAPDEF imap_result imap_internaldate_format(long long utc_seconds, int offset_minutes,
                                             char out[29])
{
    imap_tm t;
    long long local, days, secs;
    long y;
    /* years 0..9999 span -62167219200 .. 253402300799; the bound also
       keeps the sums below from overflowing */
    if (offset_minutes < -5999 || offset_minutes > 5999 ||
        utc_seconds < -62167219200LL - 360000 || utc_seconds > 253402300799LL + 360000)
        return IMAP_E_ARGS;
    local = utc_seconds + offset_minutes * 60LL;
    days = local / 86400;
    secs = local % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    imap__civil_from_days(days, &y, &t.month, &t.day);
    if (y < 0 || y > 9999) return IMAP_E_ARGS;
    t.year = (int)y;
    t.hour = (int)(secs / 3600);
    t.min = (int)(secs / 60 % 60);
    t.sec = (int)(secs % 60);
    t.offset = offset_minutes;
    return imap_internaldate_format_tm(&t, out);
}

/* -- flags, Int2AP, tags --------------------------------------------------- */

IMAPDEF imap_result imap_parse_flags(const imap_response *r, imap_flags_iter *it)
{
    const imap_value *v = imap_response_is(r, "FLAGS") ? r->args : imap_fetch_get(r, "FLAGS");
    it->_v = NULL;
    it->_p = it->_end = NULL;
    if (!v || v->type != IMAP_LIST) return IMAP_E_SYNTAX;
    it->_v = v->child;
    return IMAP_OK;
}

IMAPDEF imap_result imap_parse_flags_str(const char *s, size_t n, imap_flags_iter *it)
{
    size_t i;
    it->_v = NULL;
    it->_p = it->_end = NULL;
    for (i = 0; n >= 7 && i <= n - 7; i++) {
        if ((i == 0 || s[i - 1] == ' ' || s[i - 1] == '(') && imap__ieq(s + i, 7, "FLAGS (")) {
            const char *e = (const char *)memchr(s + i + 7, ')', n - i - 7);
            if (!e) return IMAP_E_SYNTAX;
            it->_p = s + i + 7;
            it->_end = e;
            return IMAP_OK;
        }
    }
    return IMAP_E_SYNTAX;
}

IMAPDEF int imap_flags_next(imap_flags_iter *it, imap_str *flag)
{
    const char *b;
    if (it->_v) {
        const imap_value *v = it->_v;
        it->_v = v->next;
        if (v->type == IMAP_LIST || !v->str) {
            it->_v = NULL;
            return IMAP_E_SYNTAX;
        }
        flag->ptr = v->str;
        flag->len = v->len;
        return 1;
    }
    while (it->_p < it->_end && (*it->_p == ' ' || *it->_p == '\t')) it->_p++;
    if (it->_p >= it->_end) return 0;
    b = it->_p;
    while (it->_p < it->_end && *it->_p != ' ' && *it->_p != '\t') it->_p++;
    flag->ptr = b;
    flag->len = (size_t)(it->_p - b);
    return 1;
}

IMAPDEF int imap_int2ap(unsigned long num, char *out, size_t cap)
{
    char t[sizeof(unsigned long) * 2];
    size_t n = 0, i;
    for (; num; num >>= 4) t[n++] = (char)('A' + (int)(num & 15));
    if (n + 1 > cap) return IMAP_E_NOMEM;
    for (i = 0; i < n; i++) out[i] = t[n - 1 - i];
    out[n] = 0;
    return (int)n;
}

IMAPDEF void imap_tagger_init(imap_tagger *t, unsigned long seed)
{
    /* imaplib: Int2AP(random.randint(4096, 65535)), four letters */
    memset(t, 0, sizeof *t);
    imap_int2ap(4096 + seed % 61440, t->prefix, sizeof t->prefix);
}

IMAPDEF int imap_tagger_next(imap_tagger *t, char out[16])
{
    size_t k, n;
    for (k = 0; k < 4 && t->prefix[k]; k++) out[k] = t->prefix[k];
    if (t->counter >= 100000000000ull) t->counter = 0;   /* 4 + 11 digits fit */
    n = imap__fmt_u64(out + k, t->counter++);
    out[k + n] = 0;
    return (int)(k + n);
}

/* (section 6 implementation ends here) */

/* ---- 6b. MIME decoding ----------------------------------------------- */
#ifndef IMAP_NO_MIME

enum {
    IMAP__CS_NONE = 0, IMAP__CS_UTF8, IMAP__CS_ASCII, IMAP__CS_LATIN1,
    IMAP__CS_LATIN9, IMAP__CS_CP1252, IMAP__CS_CONV
};

static int imap__mime_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int imap__hexval(unsigned ch)
{
    if (ch >= '0' && ch <= '9') return (int)(ch - '0');
    ch |= 0x20;                             /* lowercase hex is tolerated */
    if (ch >= 'a' && ch <= 'f') return (int)(ch - 'a') + 10;
    return -1;
}

static int imap__cs_builtin(imap_str cs)
{
    static const struct { const char *name; int id; } t[] = {
        {"utf-8", IMAP__CS_UTF8}, {"utf8", IMAP__CS_UTF8},
        {"us-ascii", IMAP__CS_ASCII}, {"ascii", IMAP__CS_ASCII},
        {"ansi_x3.4-1968", IMAP__CS_ASCII}, {"us", IMAP__CS_ASCII},
#ifndef IMAP_NO_CHARSETS
        {"iso-8859-1", IMAP__CS_LATIN1}, {"iso8859-1", IMAP__CS_LATIN1},
        {"iso_8859-1", IMAP__CS_LATIN1}, {"latin1", IMAP__CS_LATIN1},
        {"latin-1", IMAP__CS_LATIN1}, {"l1", IMAP__CS_LATIN1},
        {"cp819", IMAP__CS_LATIN1},
        {"iso-8859-15", IMAP__CS_LATIN9}, {"iso8859-15", IMAP__CS_LATIN9},
        {"iso_8859-15", IMAP__CS_LATIN9}, {"latin-9", IMAP__CS_LATIN9},
        {"latin9", IMAP__CS_LATIN9}, {"l9", IMAP__CS_LATIN9},
        {"windows-1252", IMAP__CS_CP1252}, {"cp1252", IMAP__CS_CP1252},
        {"x-cp1252", IMAP__CS_CP1252},
#endif
        {NULL, 0}
    };
    int k;
    if (!cs.ptr) return IMAP__CS_NONE;
    for (k = 0; t[k].name; k++)
        if (imap__ieq(cs.ptr, cs.len, t[k].name)) return t[k].id;
    return IMAP__CS_NONE;
}

static int imap__cs_find(imap_str cs, const imap_charset_conv *conv)
{
    int id = imap__cs_builtin(cs);
    if (id == IMAP__CS_NONE && conv && conv->convert && cs.len &&
        conv->convert(conv->arg, cs, NULL, 0, NULL, 0) == 0)
        id = IMAP__CS_CONV;
    return id;
}

IMAPDEF int imap_charset_known(imap_str charset, const imap_charset_conv *conv)
{
    return imap__cs_find(charset, conv) != IMAP__CS_NONE;
}

/* A charset decoder over imap__out: bytes in, UTF-8 out. */
typedef struct imap__csd {
    int id;
    imap_str name;
    const imap_charset_conv *conv;
    unsigned char pend[4];          /* UTF-8: a sequence in progress */
    int npend, need;
    unsigned char buf[IMAP_MIME_CONVERT_BYTES];   /* converter input */
    size_t nbuf;
} imap__csd;

static void imap__csd_init(imap__csd *d, int id, imap_str name, const imap_charset_conv *conv)
{
    d->id = id;
    d->name = name;
    d->conv = conv;
    d->npend = d->need = 0;
    d->nbuf = 0;
}

static void imap__csd_conv_flush(imap__csd *d, imap__out *o)
{
    size_t room = (o->p && o->len < o->cap) ? o->cap - o->len : 0;
    long r;
    if (!d->nbuf) return;
    r = d->conv->convert(d->conv->arg, d->name, d->buf, d->nbuf,
                         room ? (char *)o->p + o->len : NULL, room);
    d->nbuf = 0;
    if (r < 0) {
        imap__utf8_put(o, 0xFFFD);
        return;
    }
    if ((size_t)r > (size_t)-1 - o->len) o->len = (size_t)-1;
    else o->len += (size_t)r;
}

#ifndef IMAP_NO_CHARSETS
/* Windows-1252 0x80-0x9F; the five holes map to the C1 controls, as
   browsers do (WHATWG Encoding). */
static const unsigned short imap__cp1252[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178
};

/* ISO-8859-15 is ISO-8859-1 but for eight positions. */
static unsigned long imap__latin9(unsigned b)
{
    switch (b) {
    case 0xA4: return 0x20AC;
    case 0xA6: return 0x0160;
    case 0xA8: return 0x0161;
    case 0xB4: return 0x017D;
    case 0xB8: return 0x017E;
    case 0xBC: return 0x0152;
    case 0xBD: return 0x0153;
    case 0xBE: return 0x0178;
    default: return b;
    }
}
#endif

/* UTF-8, validated as it streams: a bad sequence becomes one U+FFFD per
   maximal invalid subpart (Unicode §3.9), as Python's "replace" does. */
static void imap__csd_utf8(imap__csd *d, imap__out *o, unsigned b)
{
    for (;;) {
        if (d->npend == 0) {
            if (b < 0x80) { imap__out_c(o, b); return; }
            if (b >= 0xC2 && b <= 0xDF) d->need = 2;
            else if (b >= 0xE0 && b <= 0xEF) d->need = 3;
            else if (b >= 0xF0 && b <= 0xF4) d->need = 4;
            else { imap__utf8_put(o, 0xFFFD); return; }
            d->pend[d->npend++] = (unsigned char)b;
            return;
        } else {
            unsigned lo = 0x80, hi = 0xBF, lead = d->pend[0];
            if (d->npend == 1) {
                if (lead == 0xE0) lo = 0xA0;
                else if (lead == 0xED) hi = 0x9F;
                else if (lead == 0xF0) lo = 0x90;
                else if (lead == 0xF4) hi = 0x8F;
            }
            if (b < lo || b > hi) {
                d->npend = 0;
                imap__utf8_put(o, 0xFFFD);
                continue;                   /* b starts afresh */
            }
            d->pend[d->npend++] = (unsigned char)b;
            if (d->npend == d->need) {
                int k;
                for (k = 0; k < d->npend; k++) imap__out_c(o, d->pend[k]);
                d->npend = 0;
            }
            return;
        }
    }
}

static void imap__csd_put(imap__csd *d, imap__out *o, unsigned b)
{
    switch (d->id) {
    case IMAP__CS_UTF8:
        imap__csd_utf8(d, o, b);
        break;
    case IMAP__CS_ASCII:
        if (b < 0x80) imap__out_c(o, b);
        else imap__utf8_put(o, 0xFFFD);
        break;
#ifndef IMAP_NO_CHARSETS
    case IMAP__CS_LATIN1:
        imap__utf8_put(o, b);
        break;
    case IMAP__CS_LATIN9:
        imap__utf8_put(o, imap__latin9(b));
        break;
    case IMAP__CS_CP1252:
        imap__utf8_put(o, (b >= 0x80 && b < 0xA0) ? imap__cp1252[b - 0x80] : b);
        break;
#endif
    case IMAP__CS_CONV:
        if (d->nbuf == sizeof d->buf) imap__csd_conv_flush(d, o);
        d->buf[d->nbuf++] = (unsigned char)b;
        break;
    default:
        imap__out_c(o, b);
        break;
    }
}

/* End of a run: what is held comes out. */
static void imap__csd_flush(imap__csd *d, imap__out *o)
{
    if (d->id == IMAP__CS_UTF8 && d->npend) {
        d->npend = 0;
        imap__utf8_put(o, 0xFFFD);
    }
    if (d->id == IMAP__CS_CONV) imap__csd_conv_flush(d, o);
}

/* Switch the decoder to a charset (flushing the old one when it differs). */
static void imap__csd_use(imap__csd *d, imap__out *o, int id, imap_str name,
                          const imap_charset_conv *conv)
{
    size_t k;
    int same = d->id == id;
    if (same && id == IMAP__CS_CONV) {
        same = d->name.len == name.len;
        for (k = 0; same && k < name.len; k++)
            same = imap__mime_lower((unsigned char)d->name.ptr[k]) == imap__mime_lower((unsigned char)name.ptr[k]);
    }
    if (same) return;
    imap__csd_flush(d, o);
    imap__csd_init(d, id, name, conv);
}

static long imap__out_end_needed(imap__out *o, int r, int nul, size_t *needed)
{
    long k = imap__out_end(o, r, nul);
    if (needed) *needed = o->len + (nul ? 1 : 0);
    return k;
}

/* Parse "=?charset[*lang]?e?text?=" at s[i] (RFC 2047 §2, RFC 2231 §5).
   Returns the index after it, or 0 when it is not one. */
static size_t imap__ew_parse(const unsigned char *s, size_t n, size_t i, imap_str *cs,
                             int *enc, size_t *t0, size_t *t1)
{
    size_t j = i + 2, c0 = j;
    while (j < n && s[j] != '?') {
        if (s[j] <= ' ' || s[j] >= 0x7F) return 0;
        j++;
    }
    if (j >= n || j == c0 || n - j < 5) return 0;
    cs->ptr = (const char *)s + c0;
    cs->len = j - c0;
    {   /* drop an RFC 2231 language */
        size_t k;
        for (k = 0; k < cs->len; k++)
            if (cs->ptr[k] == '*') break;
        cs->len = k;
    }
    if (!cs->len) return 0;
    *enc = s[j + 1] | 0x20;
    if ((*enc != 'b' && *enc != 'q') || s[j + 2] != '?') return 0;
    j += 3;
    *t0 = j;
    for (; j < n; j++) {
        if (s[j] == '?') {
            if (j + 1 < n && s[j + 1] == '=') {
                *t1 = j;
                return j + 2;
            }
            return 0;
        }
        if (s[j] <= ' ' || s[j] >= 0x7F) return 0;
    }
    return 0;
}

/* B text: the alphabet, then at most two '='; a lone sextet is not a
   byte. Padding may be missing (Python and most readers accept it). */
static int imap__ew_b_ok(const unsigned char *t, size_t n)
{
    size_t i = 0, m, pad = 0;
    while (i < n && imap__b64_val(t[i], 0) >= 0) i++;
    m = i;
    while (i < n && t[i] == '=') { i++; pad++; }
    return i == n && m % 4 != 1 && pad <= 2;
}

static void imap__ew_text(const unsigned char *t, size_t n, int enc, imap__csd *d, imap__out *o)
{
    size_t i;
    if (enc == 'b') {
        unsigned long bits = 0;
        int nb = 0;
        for (i = 0; i < n; i++) {
            int v = imap__b64_val(t[i], 0);
            if (v < 0) break;
            bits = (bits << 6) | (unsigned long)v;
            nb += 6;
            if (nb >= 8) {
                nb -= 8;
                imap__csd_put(d, o, (unsigned)(bits >> nb) & 0xFF);
            }
            bits &= 0xFF;                   /* never more than 14 bits live */
        }
        return;
    }
    for (i = 0; i < n; i++) {               /* Q (RFC 2047 §4.2) */
        unsigned ch = t[i];
        int hi, lo;
        if (ch == '_') ch = ' ';
        else if (ch == '=' && n - i >= 3 && (hi = imap__hexval(t[i + 1])) >= 0 &&
                 (lo = imap__hexval(t[i + 2])) >= 0) {
            ch = (unsigned)(hi * 16 + lo);
            i += 2;
        }
        imap__csd_put(d, o, ch);
    }
}

static void imap__hdr_dec(const unsigned char *s, size_t n, imap__out *o,
                          const imap_charset_conv *conv)
{
    imap__csd d;
    imap_str none = {NULL, 0};
    size_t i = 0, ws0 = 0, k;
    int have_ws = 0, after_ew = 0;
    imap__csd_init(&d, IMAP__CS_UTF8, none, NULL);
    while (i < n) {
        unsigned ch = s[i];
        if (ch == '=' && i + 1 < n && s[i + 1] == '?') {
            imap_str cs;
            int enc, id;
            size_t t0, t1, end = imap__ew_parse(s, n, i, &cs, &enc, &t0, &t1);
            if (end && (enc == 'q' || imap__ew_b_ok(s + t0, t1 - t0)) &&
                (id = imap__cs_find(cs, conv)) != IMAP__CS_NONE) {
                if (have_ws && !after_ew) {     /* text, space, word: keep it */
                    imap__csd_use(&d, o, IMAP__CS_UTF8, none, NULL);
                    for (k = ws0; k < i; k++)
                        if (s[k] == ' ' || s[k] == '\t') imap__csd_put(&d, o, s[k]);
                }
                have_ws = 0;                    /* word, space, word: dropped (§6.2) */
                imap__csd_use(&d, o, id, cs, conv);
                imap__ew_text(s + t0, t1 - t0, enc, &d, o);
                after_ew = 1;
                i = end;
                continue;
            }
        }
        if (ch == '\r' || ch == '\n') {         /* unfold (RFC 5322 §2.2.3) */
            i++;
            continue;
        }
        if (ch == ' ' || ch == '\t') {
            if (!have_ws) ws0 = i;
            have_ws = 1;
            i++;
            continue;
        }
        imap__csd_use(&d, o, IMAP__CS_UTF8, none, NULL);
        if (have_ws)
            for (k = ws0; k < i; k++)
                if (s[k] == ' ' || s[k] == '\t') imap__csd_put(&d, o, s[k]);
        have_ws = 0;
        imap__csd_put(&d, o, ch);
        after_ew = 0;
        i++;
    }
    imap__csd_use(&d, o, IMAP__CS_UTF8, none, NULL);
    if (have_ws)
        for (k = ws0; k < n; k++)
            if (s[k] == ' ' || s[k] == '\t') imap__csd_put(&d, o, s[k]);
    imap__csd_flush(&d, o);
}

IMAPDEF long imap_header_decode(const char *s, size_t n, char *out, size_t cap,
                                size_t *needed, const imap_charset_conv *conv)
{
    imap__out o;
    imap__out_init(&o, out, cap);
    if (s) imap__hdr_dec((const unsigned char *)s, n, &o, conv);
    return imap__out_end_needed(&o, 0, 1, needed);
}

IMAPDEF long imap_charset_to_utf8(imap_str charset, const void *in, size_t n,
                                  char *out, size_t cap, size_t *needed,
                                  const imap_charset_conv *conv)
{
    const unsigned char *s = (const unsigned char *)in;
    imap__csd d;
    imap__out o;
    size_t i;
    int id = imap__cs_find(charset, conv);
    if (needed) *needed = 0;
    if (id == IMAP__CS_NONE) return IMAP_E_UNSUPPORTED;
    imap__out_init(&o, out, cap);
    imap__csd_init(&d, id, charset, conv);
    for (i = 0; i < n; i++) imap__csd_put(&d, &o, s[i]);
    imap__csd_flush(&d, &o);
    return imap__out_end_needed(&o, 0, 1, needed);
}

/* "name", "name*", "name*N" or "name*N*" (RFC 2231 §3-§4): returns 0
   for another name, 1 plain, 2 extended ("name*", *sect -1), 3 a section
   (*ext when it ends in '*'). */
static int imap__param_match(imap_str p, const char *name, long *sect, int *ext)
{
    size_t nl = strlen(name), i;
    long v = 0;
    *sect = -1;
    *ext = 0;
    if (p.len < nl || !imap__ieq(p.ptr, nl, name)) return 0;
    if (p.len == nl) return 1;
    if (p.ptr[nl] != '*') return 0;
    if (p.len == nl + 1) {
        *ext = 1;
        return 2;
    }
    for (i = nl + 1; i < p.len && p.ptr[i] >= '0' && p.ptr[i] <= '9'; i++) {
        if (i - nl > 6) return 0;               /* no more than 999999 sections */
        v = v * 10 + (p.ptr[i] - '0');
    }
    if (i == nl + 1 || (p.ptr[nl + 1] == '0' && i > nl + 2)) return 0;
    if (i + 1 == p.len && p.ptr[i] == '*') *ext = 1;
    else if (i != p.len) return 0;
    *sect = v;
    return 3;
}

/* One extended value's bytes: %XX decoded (RFC 2231 §4). */
static void imap__pct_put(const char *s, size_t n, int ext, imap__csd *d, imap__out *o)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned ch = (unsigned char)s[i];
        int hi, lo;
        if (ext && ch == '%' && n - i >= 3 &&
            (hi = imap__hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = imap__hexval((unsigned char)s[i + 2])) >= 0) {
            ch = (unsigned)(hi * 16 + lo);
            i += 2;
        }
        imap__csd_put(d, o, ch);
    }
}

/* charset'language'text: charset set, *v advanced past the second
   quote; without two quotes, nothing taken. */
static void imap__2231_prefix(imap_str *v, imap_str *cs)
{
    size_t q1, q2;
    cs->ptr = NULL;
    cs->len = 0;
    for (q1 = 0; q1 < v->len && v->ptr[q1] != '\''; q1++) {}
    if (q1 >= v->len) return;
    for (q2 = q1 + 1; q2 < v->len && v->ptr[q2] != '\''; q2++) {}
    if (q2 >= v->len) return;
    cs->ptr = v->ptr;
    cs->len = q1;
    v->ptr += q2 + 1;
    v->len -= q2 + 1;
}

/* Find the value of parameter name in form `want` (1, 2 or section k). */
static int imap__param_find(const imap_value *params, const char *name, int want, long k,
                            imap_str *value, int *ext)
{
    const imap_value *cur = params;
    imap_str pn, pv;
    long sect;
    int e, m;
    while (imap_param_next(&cur, &pn, &pv) == 1) {
        m = imap__param_match(pn, name, &sect, &e);
        if (m == want && (want != 3 || sect == k)) {
            *value = pv;
            *ext = e;
            return 1;
        }
    }
    return 0;
}

static int imap__param_dec(const imap_value *params, const char *name, imap__out *o,
                           const imap_charset_conv *conv)
{
    imap_str v, cs = {NULL, 0};
    imap__csd d;
    int ext, id;
    long k;
    if (!params || !name) return 0;
    if (imap__param_find(params, name, 2, 0, &v, &ext) ||
        imap__param_find(params, name, 3, 0, &v, &ext)) {
        if (ext) imap__2231_prefix(&v, &cs);
        id = cs.len ? imap__cs_find(cs, conv) : IMAP__CS_UTF8;
        /* an unknown charset: its bytes as UTF-8, bad ones U+FFFD */
        imap__csd_init(&d, id == IMAP__CS_NONE ? IMAP__CS_UTF8 : id, cs, conv);
        imap__pct_put(v.ptr, v.len, ext, &d, o);
        for (k = 1; k < 1000000 && imap__param_find(params, name, 3, k, &v, &ext); k++)
            imap__pct_put(v.ptr, v.len, ext, &d, o);
        imap__csd_flush(&d, o);
        return 1;
    }
    if (imap__param_find(params, name, 1, 0, &v, &ext)) {
        imap__hdr_dec((const unsigned char *)v.ptr, v.len, o, conv);
        return 1;
    }
    return 0;
}

IMAPDEF long imap_param_decode(const imap_value *params, const char *name,
                               char *out, size_t cap, size_t *needed,
                               const imap_charset_conv *conv, int *found)
{
    imap__out o;
    int f;
    imap__out_init(&o, out, cap);
    f = imap__param_dec(params, name, &o, conv);
    if (found) *found = f;
    return imap__out_end_needed(&o, 0, 1, needed);
}

IMAPDEF long imap_body_filename(const imap_body *b, char *out, size_t cap,
                                size_t *needed, const imap_charset_conv *conv)
{
    imap__out o;
    imap__out_init(&o, out, cap);
    if (!imap__param_dec(b->disposition_params, "filename", &o, conv))
        imap__param_dec(b->params, "name", &o, conv);
    return imap__out_end_needed(&o, 0, 1, needed);
}

/* -- transfer encodings -------------------------------------------------- */

IMAPDEF int imap_cte_init(imap_cte *d, imap_str e)
{
    memset(d, 0, sizeof *d);
    d->kind = IMAP_CTE_IDENTITY;
    if (!e.ptr || !e.len || imap__ieq(e.ptr, e.len, "7bit") ||
        imap__ieq(e.ptr, e.len, "8bit") || imap__ieq(e.ptr, e.len, "binary"))
        return 0;
    if (imap__ieq(e.ptr, e.len, "base64")) d->kind = IMAP_CTE_BASE64;
    else if (imap__ieq(e.ptr, e.len, "quoted-printable")) d->kind = IMAP_CTE_QP;
    else return IMAP_E_UNSUPPORTED;
    return 0;
}

typedef struct imap__cte_buf {
    unsigned char b[256];
    size_t n;
    imap_bytes_fn out;
    void *arg;
    int err;
} imap__cte_buf;

static void imap__cte_put(imap__cte_buf *w, unsigned ch)
{
    if (w->n == sizeof w->b) {
        if (!w->err && w->out(w->arg, w->b, w->n)) w->err = IMAP_E_SINK;
        w->n = 0;
    }
    w->b[w->n++] = (unsigned char)ch;
}

static int imap__cte_done(imap__cte_buf *w)
{
    if (w->n && !w->err && w->out(w->arg, w->b, w->n)) w->err = IMAP_E_SINK;
    w->n = 0;
    return w->err;
}

/* Base64: a quantum cut short by '=' or by the end gives its whole bytes. */
static void imap__b64_tail(imap_cte *d, imap__cte_buf *w)
{
    if (d->_n == 2) imap__cte_put(w, (unsigned)(d->_bits >> 4) & 0xFF);
    if (d->_n == 3) {
        imap__cte_put(w, (unsigned)(d->_bits >> 10) & 0xFF);
        imap__cte_put(w, (unsigned)(d->_bits >> 2) & 0xFF);
    }
    d->_n = 0;
    d->_bits = 0;
}

IMAPDEF int imap_cte_feed(imap_cte *d, const void *in, size_t n,
                          imap_bytes_fn out, void *arg)
{
    const unsigned char *s = (const unsigned char *)in;
    imap__cte_buf w;
    size_t i = 0;
    if (d->kind == IMAP_CTE_IDENTITY || (d->kind != IMAP_CTE_BASE64 && d->kind != IMAP_CTE_QP))
        return (n && out(arg, in, n)) ? IMAP_E_SINK : 0;
    w.n = 0;
    w.out = out;
    w.arg = arg;
    w.err = 0;
    while (i < n && !w.err) {
        unsigned ch = s[i];
        if (d->kind == IMAP_CTE_BASE64) {
            int v = imap__b64_val(ch, 0);
            i++;
            if (v >= 0) {
                d->_bits = (d->_bits << 6) | (unsigned long)v;
                if (++d->_n == 4) {
                    imap__cte_put(&w, (unsigned)(d->_bits >> 16) & 0xFF);
                    imap__cte_put(&w, (unsigned)(d->_bits >> 8) & 0xFF);
                    imap__cte_put(&w, (unsigned)d->_bits & 0xFF);
                    d->_n = 0;
                    d->_bits = 0;
                }
            } else if (ch == '=') {
                imap__b64_tail(d, &w);
            }                               /* anything else: ignored (§6.8) */
            continue;
        }
        /* quoted-printable (§6.7): _n 0 text, 1 after '=', 2 after '=' and
           a hex digit, 3 after "=\r" */
        switch (d->_n) {
        case 0:
            if (ch == '=') d->_n = 1;
            else imap__cte_put(&w, ch);
            i++;
            break;
        case 1:
            if (imap__hexval(ch) >= 0) { d->_held[1] = (unsigned char)ch; d->_n = 2; i++; }
            else if (ch == '\n') { d->_n = 0; i++; }       /* soft line break */
            else if (ch == '\r') { d->_n = 3; i++; }
            else { imap__cte_put(&w, '='); d->_n = 0; }    /* kept; ch again */
            break;
        case 2:
            if (imap__hexval(ch) >= 0) {
                imap__cte_put(&w, (unsigned)(imap__hexval(d->_held[1]) * 16 + imap__hexval(ch)));
                i++;
            } else {
                imap__cte_put(&w, '=');
                imap__cte_put(&w, d->_held[1]);
            }
            d->_n = 0;
            break;
        default:
            if (ch == '\n') i++;
            d->_n = 0;
            break;
        }
    }
    return imap__cte_done(&w);
}

IMAPDEF int imap_cte_finish(imap_cte *d, imap_bytes_fn out, void *arg)
{
    imap__cte_buf w;
    w.n = 0;
    w.out = out;
    w.arg = arg;
    w.err = 0;
    if (d->kind == IMAP_CTE_BASE64) {
        imap__b64_tail(d, &w);
    } else if (d->kind == IMAP_CTE_QP) {
        if (d->_n == 1 || d->_n == 2) imap__cte_put(&w, '=');
        if (d->_n == 2) imap__cte_put(&w, d->_held[1]);
        d->_n = 0;
    }
    return imap__cte_done(&w);
}

static int imap__out_bytes(void *arg, const void *data, size_t len)
{
    imap__out *o = (imap__out *)arg;
    const unsigned char *s = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < len; i++) imap__out_c(o, s[i]);
    return 0;
}

IMAPDEF long imap_cte_decode(imap_str encoding, const void *in, size_t n,
                             void *out, size_t cap, size_t *needed)
{
    imap_cte d;
    imap__out o;
    int r = imap_cte_init(&d, encoding);
    if (needed) *needed = 0;
    if (r < 0) return r;
    imap__out_init(&o, out, cap);
    imap_cte_feed(&d, in, n, imap__out_bytes, &o);
    imap_cte_finish(&d, imap__out_bytes, &o);
    return imap__out_end_needed(&o, 0, 0, needed);
}

static int imap__dsink_out(void *arg, const void *data, size_t len)
{
    imap_decode_sink *s = (imap_decode_sink *)arg;
    s->written += len;
    return s->out(s->arg, data, len);
}

IMAPDEF int imap_decode_sink_init(imap_decode_sink *s, imap_str encoding,
                                  imap_bytes_fn out, void *arg)
{
    int r;
    memset(s, 0, sizeof *s);
    s->out = out;
    s->arg = arg;
    r = imap_cte_init(&s->_cte, encoding);
    s->_kind = s->_cte.kind;
    return r;
}

IMAPDEF int imap_decode_sink_fn(void *ctx, const imap_literal_info *info,
                                const void *data, size_t len)
{
    imap_decode_sink *s = (imap_decode_sink *)ctx;
    imap_str it = info->item;
    int r;
    if (s->error) return 1;
    if (s->msgno && info->msgno != s->msgno) return 0;
    if (!((it.len >= 5 && imap__ieq(it.ptr, 5, "BODY[")) ||
          (it.len >= 7 && imap__ieq(it.ptr, 7, "BINARY[")) ||
          (it.len >= 6 && imap__ieq(it.ptr, 6, "RFC822"))))
        return 0;                           /* not a body: left out */
    if (info->offset == 0) {
        memset(&s->_cte, 0, sizeof s->_cte);
        /* a literal8 holds what the server decoded (RFC 3516 §4.2) */
        s->_cte.kind = info->binary ? IMAP_CTE_IDENTITY : s->_kind;
    }
    r = imap_cte_feed(&s->_cte, data, len, imap__dsink_out, s);
    if (r == 0 && info->offset + len == info->total)
        r = imap_cte_finish(&s->_cte, imap__dsink_out, s);
    if (r) {
        s->error = IMAP_E_SINK;
        return 1;
    }
    return 0;
}

#endif /* IMAP_NO_MIME */

/* (section 6b implementation ends here) */


/* ---- 7. protocol engine ---------------------------------------------- */

/* Which untagged responses a command takes (RFC 3501 §6-§7 and the
   extensions' command/response pairs). A response goes to the oldest
   sent command whose mask has its bit, else it is unsolicited. */
#define IMAP__R_CAPABILITY 0x0000001u
#define IMAP__R_LIST       0x0000002u
#define IMAP__R_LSUB       0x0000004u
#define IMAP__R_STATUS     0x0000008u
#define IMAP__R_SEARCH     0x0000010u
#define IMAP__R_SORT       0x0000020u
#define IMAP__R_THREAD     0x0000040u
#define IMAP__R_FETCH      0x0000080u
#define IMAP__R_EXPUNGE    0x0000100u
#define IMAP__R_FLAGS      0x0000200u
#define IMAP__R_EXISTS     0x0000400u
#define IMAP__R_RECENT     0x0000800u
#define IMAP__R_NAMESPACE  0x0001000u
#define IMAP__R_ID         0x0002000u
#define IMAP__R_ENABLED    0x0004000u
#define IMAP__R_ACL        0x0008000u
#define IMAP__R_LISTRIGHTS 0x0010000u
#define IMAP__R_MYRIGHTS   0x0020000u
#define IMAP__R_QUOTA      0x0040000u
#define IMAP__R_QUOTAROOT  0x0080000u
#define IMAP__R_METADATA   0x0100000u
#define IMAP__R_ANNOTATION 0x0200000u
#define IMAP__R_BYE        0x0400000u
#define IMAP__R_ESEARCH    0x0800000u
#define IMAP__R_OTHER      0x1000000u

/* command flags */
#define IMAP__F_BARRIER  0x01u  /* waits for the pipeline, holds later ones */
#define IMAP__F_SECRET   0x02u  /* never log its lines */
#define IMAP__F_WAITING  0x04u  /* sent up to a synchronizing literal */
#define IMAP__F_IDLE     0x08u
#define IMAP__F_IDLING   0x10u  /* the server said "+" to IDLE */
#define IMAP__F_DONE_SENT 0x20u
#define IMAP__F_AUTH     0x40u  /* AUTHENTICATE continuation loop */
#define IMAP__F_INTERNAL 0x80u  /* queued by the engine itself */
#define IMAP__F_CANCELLED 0x100u /* AUTHENTICATE: the client sent "*" */
#define IMAP__F_REISSUE  0x200u  /* IDLE: DONE at 29 minutes, then again */

/* RFC 2177 §3: re-issue IDLE at least every 29 minutes */
#define IMAP__IDLE_MAX (29L * 60 * 1000)
/* a timer started when the time was not known (sans-I/O between ticks) */
#define IMAP__UNSTAMPED (-0x7fffffffffffffffLL)

enum {
    IMAP__K_OTHER = 0, IMAP__K_CAPABILITY, IMAP__K_NOOP, IMAP__K_LOGOUT,
    IMAP__K_STARTTLS, IMAP__K_AUTHENTICATE, IMAP__K_LOGIN, IMAP__K_SELECT,
    IMAP__K_EXAMINE, IMAP__K_MAILBOX, IMAP__K_LIST, IMAP__K_LSUB,
    IMAP__K_STATUS, IMAP__K_CLOSE, IMAP__K_EXPUNGE, IMAP__K_SEARCH,
    IMAP__K_SORT, IMAP__K_THREAD, IMAP__K_FETCH, IMAP__K_NAMESPACE,
    IMAP__K_ID, IMAP__K_ENABLE, IMAP__K_GETACL, IMAP__K_LISTRIGHTS,
    IMAP__K_MYRIGHTS, IMAP__K_GETQUOTA, IMAP__K_GETQUOTAROOT,
    IMAP__K_METADATA, IMAP__K_ANNOTATION, IMAP__K_IDLE, IMAP__K_COMPRESS,
    IMAP__K_XATOM, IMAP__K_FETCH_VANISHED, IMAP__K_LISTC, IMAP__K_COUNT
};

static const struct imap__kind_info {
    unsigned route;
    unsigned flags;
} imap__kinds[IMAP__K_COUNT] = {
    { 0, 0 },                                                   /* OTHER */
    { IMAP__R_CAPABILITY, 0 },                                  /* CAPABILITY */
    { IMAP__R_EXISTS | IMAP__R_RECENT | IMAP__R_EXPUNGE | IMAP__R_FETCH, 0 },
    { IMAP__R_BYE, IMAP__F_BARRIER },                           /* LOGOUT */
    { 0, IMAP__F_BARRIER },                                     /* STARTTLS */
    { IMAP__R_CAPABILITY, IMAP__F_BARRIER | IMAP__F_SECRET | IMAP__F_AUTH },
    { IMAP__R_CAPABILITY, IMAP__F_BARRIER | IMAP__F_SECRET },   /* LOGIN */
    /* SELECT, EXAMINE; with QRESYNC they also answer with FETCH and
       VANISHED (EARLIER) (RFC 7162 §3.2.5); and the LIST of RFC 9051 §6.3.2 */
    { IMAP__R_FLAGS | IMAP__R_EXISTS | IMAP__R_RECENT | IMAP__R_FETCH | IMAP__R_EXPUNGE |
      IMAP__R_LIST, IMAP__F_BARRIER },
    { IMAP__R_FLAGS | IMAP__R_EXISTS | IMAP__R_RECENT | IMAP__R_FETCH | IMAP__R_EXPUNGE |
      IMAP__R_LIST, IMAP__F_BARRIER },
    { 0, 0 },                                                   /* CREATE... */
    { IMAP__R_LIST | IMAP__R_STATUS, 0 },
    { IMAP__R_LSUB, 0 },
    { IMAP__R_STATUS, 0 },
    { 0, IMAP__F_BARRIER },                                     /* CLOSE */
    { IMAP__R_EXPUNGE, 0 },                                     /* EXPUNGE, MOVE */
    { IMAP__R_SEARCH | IMAP__R_ESEARCH, 0 },
    { IMAP__R_SORT | IMAP__R_ESEARCH, 0 },
    { IMAP__R_THREAD, 0 },
    { IMAP__R_FETCH, 0 },                                       /* FETCH, STORE */
    { IMAP__R_NAMESPACE, 0 },
    { IMAP__R_ID, 0 },
    { IMAP__R_ENABLED, 0 },
    { IMAP__R_ACL, 0 },
    { IMAP__R_LISTRIGHTS, 0 },
    { IMAP__R_MYRIGHTS, 0 },
    { IMAP__R_QUOTA, 0 },
    { IMAP__R_QUOTAROOT | IMAP__R_QUOTA, 0 },
    { IMAP__R_METADATA, 0 },
    { IMAP__R_ANNOTATION, 0 },
    { IMAP__R_EXISTS | IMAP__R_RECENT | IMAP__R_EXPUNGE | IMAP__R_FETCH,
      IMAP__F_BARRIER | IMAP__F_IDLE },                         /* IDLE */
    { 0, IMAP__F_BARRIER },                                     /* COMPRESS */
    { IMAP__R_OTHER, 0 },                                       /* XATOM */
    { IMAP__R_FETCH | IMAP__R_EXPUNGE, 0 },     /* UID FETCH ... VANISHED */
    { IMAP__R_LIST | IMAP__R_STATUS, 0 }        /* LIST RETURN (CHILDREN) */
};

static unsigned imap__route_bit(imap_str name)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "CAPABILITY", IMAP__R_CAPABILITY }, { "LIST", IMAP__R_LIST },
        { "XLIST", IMAP__R_LIST }, { "LSUB", IMAP__R_LSUB },
        { "STATUS", IMAP__R_STATUS }, { "SEARCH", IMAP__R_SEARCH },
        { "ESEARCH", IMAP__R_ESEARCH }, { "SORT", IMAP__R_SORT },
        { "THREAD", IMAP__R_THREAD }, { "FETCH", IMAP__R_FETCH },
        { "EXPUNGE", IMAP__R_EXPUNGE }, { "VANISHED", IMAP__R_EXPUNGE },
        { "FLAGS", IMAP__R_FLAGS }, { "EXISTS", IMAP__R_EXISTS },
        { "RECENT", IMAP__R_RECENT }, { "NAMESPACE", IMAP__R_NAMESPACE },
        { "ID", IMAP__R_ID }, { "ENABLED", IMAP__R_ENABLED },
        { "ACL", IMAP__R_ACL }, { "LISTRIGHTS", IMAP__R_LISTRIGHTS },
        { "MYRIGHTS", IMAP__R_MYRIGHTS }, { "QUOTA", IMAP__R_QUOTA },
        { "QUOTAROOT", IMAP__R_QUOTAROOT }, { "METADATA", IMAP__R_METADATA },
        { "ANNOTATION", IMAP__R_ANNOTATION }
    };
    unsigned i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (imap_str_is(name, names[i].name)) return names[i].bit;
    return IMAP__R_OTHER;
}

/* ---- debug: a ring of the last protocol lines, credentials masked ----- */

static void imap__log(imap_client *c, char dir, const unsigned char *s, size_t n)
{
    char *line = c->_ring[c->_ring_next];
    size_t i, k = 0;
    line[k++] = dir;
    line[k++] = ':';
    line[k++] = ' ';
    for (i = 0; i < n && k + 1 < IMAP_DEBUG_LINE_BYTES; i++) {
        unsigned char ch = s[i];
        if (ch == '\r' || ch == '\n') break;
        line[k++] = (char)(ch >= 0x20 && ch < 0x7f ? ch : '.');
    }
    line[k] = 0;
    c->_ring_next = (c->_ring_next + 1) % IMAP_DEBUG_LINES;
    if (c->_ring_count < IMAP_DEBUG_LINES) c->_ring_count++;
    if (c->debug >= IMAP_DEBUG_PROTOCOL && c->_debug_fn) c->_debug_fn(c->_debug_arg, line, k);
}

/* A command line that carries credentials: log the tag and name only. */
static void imap__log_secret(imap_client *c, const imap__pending *p)
{
    static const char hidden[] = " [credentials hidden]";
    unsigned char line[64];
    size_t n = 0, i;
    const unsigned char *s = p->seg[0].ptr;
    int spaces = 0;
    for (i = 0; i < p->seg[0].len && n + sizeof hidden < sizeof line; i++) {
        if (s[i] == ' ' && ++spaces == 2) break;
        if (s[i] == '\r' || s[i] == '\n') break;
        line[n++] = s[i];
    }
    memcpy(line + n, hidden, sizeof hidden - 1);
    imap__log(c, 'C', line, n + sizeof hidden - 1);
}

/* On an abort, replay the ring to the debug sink (imaplib2 prints the
   last 20 lines on error). */
static void imap__dump_ring(imap_client *c)
{
    unsigned i, start;
    if (!c->_debug_fn || c->debug >= IMAP_DEBUG_PROTOCOL) return;
    start = (c->_ring_next + IMAP_DEBUG_LINES - c->_ring_count) % IMAP_DEBUG_LINES;
    for (i = 0; i < c->_ring_count; i++) {
        const char *l = c->_ring[(start + i) % IMAP_DEBUG_LINES];
        c->_debug_fn(c->_debug_arg, l, strlen(l));
    }
}

/* ---- words for imap_error_text ---------------------------------------- */

#define IMAP__STR(x) #x
#define IMAP__XSTR(x) IMAP__STR(x)

/* Append slen bytes of s (then, below, a decimal number) to the
   NUL-terminated string in buf[0..cap), cutting what does not fit. */
static void imap__cat(char *buf, size_t cap, const char *s, size_t slen)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    if (slen > cap - 1 - n) slen = cap - 1 - n;
    memcpy(buf + n, s, slen);
    buf[n + slen] = 0;
}

static void imap__cat_num(char *buf, size_t cap, imap_u64 v)
{
    char d[24];
    size_t k = sizeof d;
    do {
        d[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k);
    imap__cat(buf, cap, d + k, sizeof d - k);
}

/* Say why the client refused with `code`: a, then num (unless ~0), then b. */
static int imap__refuse(imap_client *c, int code, const char *a, imap_u64 num, const char *b)
{
    c->_detail[0] = 0;
    c->_detail_code = code;
    imap__cat(c->_detail, sizeof c->_detail, a, strlen(a));
    if (num != ~(imap_u64)0) imap__cat_num(c->_detail, sizeof c->_detail, num);
    if (b) imap__cat(c->_detail, sizeof c->_detail, b, strlen(b));
    return code;
}

/* ---- capabilities ---------------------------------------------------- */

/* Keep the capability atoms from `first` on, space-separated. One that
   does not fit is not dropped quietly: the size the whole list needs is
   kept (_caps_need), and the gates below assume the worst. */
static void imap__set_caps(imap_client *c, const imap_value *first)
{
    size_t n = 0, need = 0, add;
    int cut = 0;
    for (; first; first = first->next) {
        if (first->type == IMAP_LIST || !first->str) continue;
        add = (need ? 1 : 0) + first->len;
        need = add <= (size_t)-1 - need ? need + add : (size_t)-1;
        if (cut || n + (n ? 1 : 0) + first->len + 1 > sizeof c->_caps) {
            cut = 1;                    /* counted, not kept */
            continue;
        }
        if (n) c->_caps[n++] = ' ';
        memcpy(c->_caps + n, first->str, first->len);
        n += first->len;
    }
    c->_caps[n] = 0;
    c->_caps_len = n;
    c->_caps_need = !cut ? 0 : need < (size_t)-1 ? need + 1 : need;
    c->_caps_stale = 0;
    c->protocol = imap_client_has_cap(c, "IMAP4rev2") ? 2 : 1;
    if (imap_client_has_cap(c, "LITERAL+")) c->_literal_mode = IMAP_LITERAL_PLUS;
    else if (imap_client_has_cap(c, "LITERAL-")) c->_literal_mode = IMAP_LITERAL_MINUS;
    else c->_literal_mode = IMAP_LITERAL_SYNC;
}

IMAPDEF int imap_client_has_cap(const imap_client *c, const char *cap)
{
    const char *s = c->_caps, *e = c->_caps + c->_caps_len;
    while (s < e) {
        const char *w = s;
        while (s < e && *s != ' ') s++;
        if (imap__ieq(w, (size_t)(s - w), cap)) return 1;
        s++;
    }
    /* a cut list may hold these past the cut: assume they are there */
    if (c->_caps_need && (imap__ieq(cap, strlen(cap), "LOGINDISABLED") ||
                          imap__ieq(cap, strlen(cap), "STARTTLS")))
        return 1;
    return 0;
}

IMAPDEF size_t imap_client_caps_cut(const imap_client *c) { return c ? c->_caps_need : 0; }

IMAPDEF imap_str imap_client_capabilities(const imap_client *c)
{
    imap_str s;
    s.ptr = c->_caps;
    s.len = c->_caps_len;
    return s;
}

/* ---- the per-name store (imaplib's untagged_responses) ----------------- */

/* Entries: 1 byte name length, 4 bytes data length, 4 bytes owner (the
   low 32 bits of the gathering command's seq, 0 for none), name, data. */
#define IMAP__ENTRY_HDR 9u

static size_t imap__entry_dlen(const unsigned char *e)
{
    return (size_t)e[1] << 24 | (size_t)e[2] << 16 | (size_t)e[3] << 8 | (size_t)e[4];
}

static unsigned long imap__entry_owner(const unsigned char *e)
{
    return (unsigned long)e[5] << 24 | (unsigned long)e[6] << 16 |
           (unsigned long)e[7] << 8 | (unsigned long)e[8];
}

static size_t imap__entry_len(const unsigned char *e)
{
    return IMAP__ENTRY_HDR + e[0] + imap__entry_dlen(e);
}

/* Is `owner` (32 bits of a seq) a command still outstanding? */
static int imap__owner_live(const imap_client *c, unsigned long owner)
{
    unsigned i;
    if (!owner) return 0;
    for (i = 0; i < c->_q_hi; i++)
        if (c->_q[i].seq && (c->_q[i].seq & 0xffffffffu) == owner) return 1;
    return 0;
}

static void imap__store_remove(imap_client *c, size_t off)
{
    size_t elen = imap__entry_len(c->_store + off);
    memmove(c->_store + off, c->_store + off + elen, c->_store_len - off - elen);
    c->_store_len -= elen;
}

/* Keep data a..alen, then " " and b..blen when both are there, under
   `name` for command `owner` (NULL: unsolicited). Room is made from the
   oldest entries of commands no longer outstanding; what still does not
   fit is dropped and its command ends IMAP_E_DROPPED, never OK. */
static void imap__store_put(imap_client *c, imap__pending *owner, const char *name,
                            size_t nlen, const char *a, size_t alen,
                            const char *b, size_t blen)
{
    size_t dlen, need, off;
    unsigned long own = owner ? (owner->seq & 0xffffffffu) : 0;
    if (nlen > 255) return;
    dlen = alen + (alen && blen ? 1 : 0) + blen;
    need = IMAP__ENTRY_HDR + nlen + dlen;
    if (owner) owner->store_bytes += need;
    if (dlen > 0xffffffffu || need > c->_store_cap) goto drop;
    while (c->_store_len + need > c->_store_cap) {
        off = 0;
        while (off < c->_store_len && imap__owner_live(c, imap__entry_owner(c->_store + off)))
            off += imap__entry_len(c->_store + off);
        if (off >= c->_store_len) goto drop;
        imap__store_remove(c, off);
        c->_store_evicted++;
    }
    {
        unsigned char *w = c->_store + c->_store_len;
        w[0] = (unsigned char)nlen;
        w[1] = (unsigned char)(dlen >> 24);
        w[2] = (unsigned char)(dlen >> 16);
        w[3] = (unsigned char)(dlen >> 8);
        w[4] = (unsigned char)dlen;
        w[5] = (unsigned char)(own >> 24);
        w[6] = (unsigned char)(own >> 16);
        w[7] = (unsigned char)(own >> 8);
        w[8] = (unsigned char)own;
        w += IMAP__ENTRY_HDR;
        memcpy(w, name, nlen);
        w += nlen;
        if (alen) memcpy(w, a, alen);
        w += alen;
        if (alen && blen) *w++ = ' ';
        if (blen) memcpy(w, b, blen);
        c->_store_len += need;
    }
    return;
drop:
    c->_store_dropped++;
    if (owner && owner->result == 0) owner->result = IMAP_E_DROPPED;
}

/* Find the first entry named `name` (any when NULL); copy it out and drop
   it. Inside an on_done only that command's entries count. Returns 1
   found, 0 none, IMAP_E_NOMEM if `cap` is too small (the entry stays). */
static int imap__store_take(imap_client *c, const char *name, char *nout, size_t ncap,
                            char *out, size_t cap, size_t *len)
{
    size_t off = 0;
    while (off < c->_store_len) {
        unsigned char *e = c->_store + off;
        size_t nlen = e[0];
        size_t dlen = imap__entry_dlen(e);
        const unsigned char *en = e + IMAP__ENTRY_HDR;
        if ((!c->_done_owner || imap__entry_owner(e) == (c->_done_owner & 0xffffffffu)) &&
            (!name || imap__ieq((const char *)en, nlen, name))) {
            if (len) *len = dlen;
            if ((out && dlen >= cap) || (nout && nlen >= ncap)) return IMAP_E_NOMEM;
            if (out) {
                memcpy(out, en + nlen, dlen);
                out[dlen] = 0;
            }
            if (nout) {
                memcpy(nout, en, nlen);
                nout[nlen] = 0;
            }
            imap__store_remove(c, off);
            return 1;
        }
        off += imap__entry_len(e);
    }
    return 0;
}

IMAPDEF int imap_client_response(imap_client *c, const char *name, char *out,
                                 size_t cap, size_t *len)
{
    return imap__store_take(c, name, NULL, 0, out, cap, len);
}

IMAPDEF int imap_client_pop_untagged(imap_client *c, char *name, size_t ncap,
                                     char *data, size_t dcap, size_t *dlen)
{
    return imap__store_take(c, NULL, name, ncap, data, dcap, dlen);
}

/* ESEARCH data "(TAG "A1") UID COUNT 2 ALL 4:5": the ALL value, or
   {NULL,0} when there is none. -1 when it cannot be read. */
static int imap__esearch_all(const char *d, size_t n, imap_str *all)
{
    size_t i = 0, w;
    int value = 0, is_all = 0;
    all->ptr = NULL;
    all->len = 0;
    while (i < n) {
        while (i < n && d[i] == ' ') i++;
        if (i == n) break;
        w = i;
        if (d[i] == '(') {
            /* (TAG "..."), or a value in parentheses: skip it */
            int depth = 0, q = 0;
            for (; i < n; i++) {
                if (q) {
                    if (d[i] == '\\' && i + 1 < n) i++;
                    else if (d[i] == '"') q = 0;
                } else if (d[i] == '"') q = 1;
                else if (d[i] == '(') depth++;
                else if (d[i] == ')' && --depth == 0) break;
            }
            if (i == n) return -1;
            i++;
        } else {
            while (i < n && d[i] != ' ') i++;
        }
        if (w == 0 && d[0] == '(') continue;                  /* the tag */
        if (value) {
            if (is_all) {
                all->ptr = d + w;
                all->len = i - w;
                return 0;
            }
            value = 0;
        } else if (!imap__ieq(d + w, i - w, "UID")) {
            is_all = imap__ieq(d + w, i - w, "ALL");
            value = 1;
        }
    }
    return value ? -1 : 0;
}

IMAPDEF int imap_client_search_result(imap_client *c, char *out, size_t cap, size_t *len)
{
    size_t off = 0;
    while (off < c->_store_len) {
        unsigned char *e = c->_store + off;
        size_t nlen = e[0];
        size_t dlen = imap__entry_dlen(e);
        const char *en = (const char *)e + IMAP__ENTRY_HDR, *d = en + nlen;
        imap_str all;
        imap_seqset_iter it;
        imap_u64 lo, hi, total = 0;
        int k;
        /* inside an on_done only that command's entries count */
        if ((c->_done_owner && imap__entry_owner(e) != (c->_done_owner & 0xffffffffu)) ||
            !(imap__ieq(en, nlen, "SEARCH") || imap__ieq(en, nlen, "ESEARCH"))) {
            off += imap__entry_len(e);
            continue;
        }
        if (imap__ieq(en, nlen, "SEARCH"))
            return imap__store_take(c, "SEARCH", NULL, 0, out, cap, len);
        /* measure, then write: "lo lo+1 ... hi" per range */
        k = imap__esearch_all(d, dlen, &all);
        if (k == 0 && all.len) {
            imap_seqset_iter_init(&it, all.ptr, all.len);
            while ((k = imap_seqset_next(&it, &lo, &hi)) == 1) {
                imap_u64 p10 = 1, digits = 1;
                if (hi == IMAP_SEQ_STAR) {
                    k = IMAP_E_SYNTAX;
                    break;
                }
                /* the numbers of lo..hi with each count of digits */
                for (; lo <= hi && digits <= 20; digits++, p10 *= 10) {
                    imap_u64 top = digits == 20 ? hi : p10 * 10 - 1;
                    if (top < lo) continue;
                    if (top > hi) top = hi;
                    total += (top - lo + 1) * (digits + 1);
                    if (total > (imap_u64)(size_t)-1 / 2) break;
                    if (top == hi) break;
                    lo = top + 1;
                }
                if (total > (imap_u64)(size_t)-1 / 2) {
                    k = IMAP_E_LIMIT;
                    break;
                }
            }
        }
        if (k < 0) {
            imap__store_remove(c, off);
            return k == IMAP_E_LIMIT ? IMAP_E_LIMIT : IMAP_E_SYNTAX;
        }
        if (total) total--;                     /* no space after the last */
        if (len) *len = (size_t)total;
        if (out && (size_t)total >= cap) return IMAP_E_NOMEM;
        if (out) {
            size_t w = 0;
            if (all.len) {
                imap_seqset_iter_init(&it, all.ptr, all.len);
                while (imap_seqset_next(&it, &lo, &hi) == 1)
                    for (;; lo++) {
                        if (w) out[w++] = ' ';
                        w += imap__fmt_u64(out + w, lo);
                        if (lo == hi) break;
                    }
            }
            out[w] = 0;
        }
        imap__store_remove(c, off);
        return 1;
    }
    return 0;
}

IMAPDEF int imap_data_next(const char **cursor, const char *end, imap_str *text,
                           imap_str *literal)
{
    const char *s = *cursor, *p;
    text->ptr = s;
    text->len = 0;
    literal->ptr = NULL;
    literal->len = 0;
    if (!s || s >= end) return 0;
    for (p = s; p < end; p++) {
        const char *d = p + 1, *q;
        imap_u64 n;
        if (*p != '{') continue;
        q = d;
        while (q < end && *q >= '0' && *q <= '9') q++;
        if (q == d || q >= end || *q != '}' || !imap__parse_u64(d, (size_t)(q - d), &n))
            continue;
        /* a literal only where its line ends: "{n}" CRLF */
        if ((size_t)(end - q) < 3 || q[1] != '\r' || q[2] != '\n') continue;
        if (n > (imap_u64)(size_t)(end - (q + 3))) continue;
        text->len = (size_t)(q + 1 - s);
        literal->ptr = q + 3;
        literal->len = (size_t)n;
        *cursor = q + 3 + (size_t)n;
        return 1;
    }
    text->len = (size_t)(end - s);
    *cursor = end;
    return 1;
}

/* Keep an untagged data response as imaplib does: the name, and the
   number then the bytes after the name ("* 23 EXISTS": "23"; "* 1 FETCH
   (...)": "1 (...)"). A response whose literals went to a sink is kept
   without their bytes. */
static void imap__store_response(imap_client *c, imap__pending *owner,
                                 const imap_response *r)
{
    const char *raw = (const char *)c->_parser.arena.base;
    const char *start, *end = raw + r->raw_len;
    imap_str name = r->name;
    if (!name.ptr) return;
    start = name.ptr + name.len;
    while (start < end && *start == ' ') start++;
    while (end > start && (end[-1] == '\n' || end[-1] == '\r')) end--;
    if (r->has_number && r->items && r->items->str)
        imap__store_put(c, owner, name.ptr, name.len, r->items->str, r->items->len,
                        start, (size_t)(end - start));
    else
        imap__store_put(c, owner, name.ptr, name.len, start, (size_t)(end - start), NULL, 0);
}

/* Keep a status response's code: [UIDVALIDITY 3857529045] is stored as
   UIDVALIDITY -> "3857529045"; [ALERT] as ALERT -> its text. */
static void imap__store_code(imap_client *c, imap__pending *owner, const imap_response *r)
{
    const imap_value *atom;
    const char *s, *e;
    if (!r->code || !r->code->child || !r->code->child->str) return;
    atom = r->code->child;
    if (atom->next) {
        s = atom->str + atom->len;
        while (*s == ' ') s++;
        e = s;
        /* the code's bytes end at its ']' before the text */
        e = r->text.ptr;
        while (e > s && (e[-1] == ' ')) e--;
        if (e > s && e[-1] == ']') e--;
        if (e < s) e = s;
    } else {
        s = r->text.ptr;
        e = s + r->text.len;
    }
    imap__store_put(c, owner, atom->str, atom->len, s, (size_t)(e - s), NULL, 0);
}

static void imap__idle_done(imap_client *c, imap__pending *p);
static void imap__auth_step(imap_client *c, imap__pending *p, const imap_response *r);
static void imap__abort(imap_client *c, int code);
static int imap__reissue(imap_client *c, imap__pending *p);

/* ---- time ------------------------------------------------------------

   One set of timers for the blocking calls and for an event loop
   (imap_client_tick): the response timer counts from _resp_start and
   bounds the wait for the greeting and each tagged response; IDLE's own
   timer counts from _idle_start. Neither restarts on bytes received, so
   a trickle, an endless line or a skipped literal cannot hold a call. */

/* The time a timer starts: the clock's, else the time last known
   (waits counted over a transport, or the last tick); sans-I/O without a
   clock, between ticks, the next tick stamps it. */
static long long imap__stamp(const imap_client *c)
{
    return c->_now_stale && !c->_clock ? IMAP__UNSTAMPED : c->_now;
}

/* Read the clock: once per call into the engine and once per wait, so
   what the engine does in between takes no time of its own. */
static void imap__refresh(imap_client *c)
{
    if (c->_clock) c->_now = c->_clock(c->_clock_arg);
}

/* Does p wait for a response (an IDLE that idles waits for nothing)? */
static int imap__awaits(const imap__pending *p)
{
    return p->seq && !((p->flags & IMAP__F_IDLING) && !(p->flags & IMAP__F_DONE_SENT));
}

/* The response timeout running now: the greeting's, else that of the
   oldest command waiting for its answer; -1 when none runs. */
static long imap__resp_timeout(const imap_client *c)
{
    const imap__pending *o = NULL;
    unsigned i;
    if (!c->_greeted) return c->timeout_ms > 0 && c->_started ? c->timeout_ms : -1;
    for (i = 0; i < c->_q_hi; i++)
        if (imap__awaits(&c->_q[i]) && (!o || c->_q[i].seq < o->seq)) o = &c->_q[i];
    return o && o->timeout_ms > 0 ? o->timeout_ms : -1;
}

/* Something starts waiting for an answer: the response timer starts now
   unless it already runs for an older command. */
static void imap__arm(imap_client *c)
{
    unsigned i;
    for (i = 0; i < c->_q_hi; i++)
        if (imap__awaits(&c->_q[i])) return;
    c->_resp_start = imap__stamp(c);
}

/* Fire what is due at c->_now (unless peek); return the milliseconds to
   the next timer (0: due), -1 if none runs. */
static long imap__timers_(imap_client *c, int peek)
{
    long long now, due = -1;
    long t;
    unsigned i;
    now = c->_now;
    if (c->error) return -1;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        long seg;
        long long end;
        if (!p->seq || !(p->flags & IMAP__F_IDLING) || (p->flags & IMAP__F_DONE_SENT) ||
            c->_idle_start == IMAP__UNSTAMPED) continue;
        seg = p->idle_ms < IMAP__IDLE_MAX ? p->idle_ms : IMAP__IDLE_MAX;
        end = c->_idle_start + seg;
        if (now >= end && peek) {
            due = now;
        } else if (now >= end) {
            if (p->idle_ms > seg) {
                p->idle_ms -= seg;
                p->flags |= IMAP__F_REISSUE;
            }
            imap__idle_done(c, p);
        } else if (due < 0 || end < due) {
            due = end;
        }
    }
    t = imap__resp_timeout(c);
    if (t > 0 && c->_resp_start != IMAP__UNSTAMPED) {
        long long end = c->_resp_start + t;
        if (now >= end && peek) return 0;
        if (now >= end) {
            imap__abort(c, IMAP_E_TIMEOUT);
            return -1;
        }
        if (due < 0 || end < due) due = end;
    }
    if (due < 0) return -1;
    if (due <= now) return 0;
    return due - now > 0x7fffffffL ? 0x7fffffffL : (long)(due - now);
}

static long imap__timers(imap_client *c) { return imap__timers_(c, 0); }

IMAPDEF long imap_client_tick(imap_client *c, long long now_ms)
{
    long next;
    if (!c || c->_depth) return -1;     /* not from a callback */
    if (c->_clock || c->_has_t) {
        /* the engine's own time: the clock's, or the transport's waits */
        imap__refresh(c);
    } else {
        c->_now = now_ms;
        c->_now_stale = 0;
        if (c->_resp_start == IMAP__UNSTAMPED) c->_resp_start = now_ms;
        if (c->_idle_start == IMAP__UNSTAMPED) c->_idle_start = now_ms;
    }
    next = imap__timers(c);
    /* the caller sleeps now: what starts before the next tick is stamped
       by it (sans-I/O has no other time) */
    if (!c->_clock && !c->_has_t) c->_now_stale = 1;
    return next;
}

/* ---- the queue ------------------------------------------------------- */

/* A free slot (the lowest: slots in use stay below _q_hi, and every walk
   stops there, so its cost follows the commands in flight). */
static imap__pending *imap__free_slot(imap_client *c)
{
    unsigned i;
    for (i = 0; i < c->_q_cap; i++)
        if (!c->_q[i].seq) return &c->_q[i];
    return NULL;
}

IMAPDEF int imap_client_set_queue(imap_client *c, imap_queue_slot *slots, size_t n)
{
    if (!c || !slots || n == 0 || n > 0xffffffu) return IMAP_E_ARGS;
    if (c->_q_hi) return IMAP_E_STATE;
    memset(slots, 0, n * sizeof *slots);
    c->_q = slots;
    c->_q_cap = (unsigned)n;
    return IMAP_OK;
}

static imap__pending *imap__slot_by_tag(imap_client *c, imap_str tag)
{
    unsigned i;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (p->seq && strlen(p->tag) == tag.len && memcmp(p->tag, tag.ptr, tag.len) == 0)
            return p;
    }
    return NULL;
}

/* The oldest outstanding command that has bytes left to send. */
static imap__pending *imap__next_unsent(imap_client *c)
{
    imap__pending *best = NULL;
    unsigned i;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (p->seq && p->cur_seg < p->nseg && (!best || p->seq < best->seq)) best = p;
    }
    return best;
}

/* May `p` be sent now? A barrier goes only when nothing older is
   outstanding; nothing goes past an outstanding barrier (imaplib2's
   state-changing commands). */
static int imap__may_send(const imap_client *c, const imap__pending *p)
{
    unsigned i;
    if (p->flags & IMAP__F_WAITING) return 0;
    for (i = 0; i < c->_q_hi; i++) {
        const imap__pending *o = &c->_q[i];
        if (!o->seq || o->seq >= p->seq) continue;
        if (p->flags & IMAP__F_BARRIER) return 0;
        if (o->flags & IMAP__F_BARRIER) return 0;
    }
    return 1;
}

static unsigned imap__outstanding(const imap_client *c)
{
    unsigned i, n = 0;
    for (i = 0; i < c->_q_hi; i++)
        if (c->_q[i].seq) n++;
    return n;
}

IMAPDEF unsigned imap_client_pending(const imap_client *c)
{
    return imap__outstanding(c);
}

/* An IDLE in progress ends (DONE) when a later command waits behind it. */
static void imap__idle_yield(imap_client *c)
{
    unsigned i;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (p->seq && (p->flags & IMAP__F_IDLING) && !(p->flags & IMAP__F_DONE_SENT)) {
            unsigned j;
            for (j = 0; j < c->_q_hi; j++)
                if (c->_q[j].seq > p->seq) break;
            if (j < c->_q_hi) imap__idle_done(c, p);
        }
    }
}

static void imap__idle_done(imap_client *c, imap__pending *p)
{
    if (p->flags & IMAP__F_DONE_SENT) return;
    if (c->_inject_len + 6 > sizeof c->_inject) return;
    imap__arm(c);                   /* IDLE's answer is due from now */
    memcpy(c->_inject + c->_inject_len, "DONE\r\n", 6);
    c->_inject_len += 6;
    p->flags |= IMAP__F_DONE_SENT;
    imap__log(c, 'C', (const unsigned char *)"DONE", 4);
}

IMAPDEF int imap_client_output(imap_client *c, const unsigned char **ptr, size_t *len)
{
    imap__pending *p;
    *ptr = NULL;
    *len = 0;
    /* after STARTTLS's or COMPRESS's OK nothing goes out until the new
       transport is in place (it would go out in plaintext) */
    if (c->error || c->_stop_feed) return 0;
    /* RFC 3501 §7.1: the server speaks first; commands wait for it */
    if (!c->_greeted) return 0;
    imap__idle_yield(c);
    if (c->_inject_off < c->_inject_len) {
        *ptr = c->_inject + c->_inject_off;
        *len = c->_inject_len - c->_inject_off;
        return 1;
    }
    p = imap__next_unsent(c);
    if (!p || !imap__may_send(c, p)) return 0;
    *ptr = p->seg[p->cur_seg].ptr + p->cur_off;
    *len = p->seg[p->cur_seg].len - p->cur_off;
    return 1;
}

IMAPDEF void imap_client_output_ack(imap_client *c, size_t n)
{
    imap__pending *p;
    if (c->_inject_off < c->_inject_len) {
        c->_inject_off += n;
        if (c->_inject_off >= c->_inject_len) {
            /* SASL answers may carry a password: not kept once sent */
            memset(c->_inject, 0, c->_inject_len);
            c->_inject_off = c->_inject_len = 0;
        }
        return;
    }
    p = imap__next_unsent(c);
    if (!p) return;
    /* logged once its first bytes are taken (output may be asked twice) */
    if (n && p->cur_off == 0 && p->cur_seg == 0) {
        if (p->flags & IMAP__F_SECRET) imap__log_secret(c, p);
        else imap__log(c, 'C', p->seg[0].ptr, p->seg[0].len);
    }
    p->cur_off += n;
    if (p->cur_off >= p->seg[p->cur_seg].len) {
        const imap_segment *sg = &p->seg[p->cur_seg];
        size_t at = (size_t)sg->ptr - (size_t)c->_out;
        /* nor LOGIN's and AUTHENTICATE's lines in the output buffer */
        if ((p->flags & IMAP__F_SECRET) && (size_t)sg->ptr >= (size_t)c->_out &&
            at <= c->_out_cap && sg->len <= c->_out_cap - at)
            memset(c->_out + at, 0, sg->len);
        if (p->seg[p->cur_seg].wait) p->flags |= IMAP__F_WAITING;
        p->cur_seg++;
        p->cur_off = 0;
        if (p->cur_seg == p->nseg && (p->flags & IMAP__F_IDLE)) p->flags |= IMAP__F_WAITING;
    }
    /* once every queued byte is out, the output buffer starts over */
    if (!imap__next_unsent(c)) c->_out_len = 0;
}

/* ---- completion and aborts ------------------------------------------- */

/* A SASL answer or DONE still queued belongs to a command that has just
   finished: sending it now would put a stray line before the next command
   (a hostile server answers before reading it). A line already begun is
   finished, or the stream would break mid-line. */
static void imap__drop_inject(imap_client *c)
{
    size_t e = c->_inject_off;
    while (e > 0 && e < c->_inject_len && c->_inject[e - 1] != '\n') e++;
    c->_inject_len = e;
    if (c->_inject_off >= c->_inject_len) c->_inject_off = c->_inject_len = 0;
}

static void imap__finish(imap_client *c, imap__pending *p, int result,
                         const imap_response *tagged)
{
    imap_call call = p->call;
    unsigned long seq = p->seq, outer;
    if (p->flags & (IMAP__F_AUTH | IMAP__F_IDLE)) imap__drop_inject(c);
    if (result == IMAP_E_DROPPED) c->store_needed = p->store_bytes;
    if (call.sink && c->_nsinks) c->_nsinks--;
    if (p->seq == c->_wait_seq) {
        c->_wait_done = 1;
        c->_wait_result = result;
    }
    p->seq = 0;
    p->flags = 0;
    p->result = result;
    while (c->_q_hi && !c->_q[c->_q_hi - 1].seq) c->_q_hi--;
    if (!call.on_done) return;
    /* imaplib2's callback has the command's data: inside on_done the
       store shows this command's entries only */
    outer = c->_done_owner;
    c->_done_owner = seq;
    c->_depth++;
    call.on_done(call.arg, c, result, tagged);
    c->_depth--;
    c->_done_owner = outer;
}

/* The connection is finished: every outstanding command fails with
   `code`, state LOGOUT, and the debug ring is written out. */
static void imap__abort(imap_client *c, int code)
{
    unsigned i;
    if (c->error) return;
    c->error = code;
    c->state = IMAP_STATE_LOGOUT;
    imap__dump_ring(c);
    for (i = 0; i < c->_q_hi; i++)
        if (c->_q[i].seq) imap__finish(c, &c->_q[i], code, NULL);
}

/* last_text: the text after the status word, response code included,
   as imaplib returns it ("[APPENDUID 38505 3955] Append completed"). */
static void imap__copy_text(imap_client *c, const imap_response *r)
{
    const char *s = r->text.ptr, *e = r->text.ptr + r->text.len;
    size_t n;
    if (r->code && r->name.ptr && (!s || s >= r->name.ptr + r->name.len)) {
        const char *raw = (const char *)c->_parser.arena.base;
        const char *w = r->name.ptr + r->name.len;
        if (!s) {
            /* no text: the code runs to the line's end */
            e = raw + r->raw_len;
            while (e > w && (e[-1] == '\n' || e[-1] == '\r')) e--;
        }
        while (w < e && *w == ' ') w++;
        s = w;
    }
    n = s && e > s ? (size_t)(e - s) : 0;
    c->last_text_len = n;
    if (n > sizeof c->last_text - 1) n = sizeof c->last_text - 1;
    if (n) memcpy(c->last_text, s, n);
    c->last_text[n] = 0;
}

/* A server answers a command once it has read all of it, or refuses a
   synchronizing literal instead of sending "+" (RFC 3501 §7.5). An answer
   to a command not wholly sent would leave the rest of its bytes unsent
   or glued to the next command: such a tag was never (fully) sent. */
static int imap__answerable(const imap__pending *p)
{
    return p->cur_seg == p->nseg || (p->flags & IMAP__F_WAITING);
}

static void imap__tagged(imap_client *c, const imap_response *r)
{
    imap__pending *p = imap__slot_by_tag(c, r->tag);
    int result, distrust = 0;
    unsigned kind;
    imap_str code = imap_response_code_name(r);
    if (!p || !imap__answerable(p)) {
        /* RFC 3501 §2.2.2: a tag we never sent. */
        imap__abort(c, IMAP_E_PROTOCOL);
        return;
    }
    kind = p->kind;
    c->_resp_start = imap__stamp(c);        /* an answer: the next is due */
    if ((p->flags & IMAP__F_REISSUE) && r->status == IMAP_STATUS_OK && imap__reissue(c, p))
        return;
    c->last_status = r->status;
    imap__copy_text(c, r);
    if (imap_str_is(code, "CAPABILITY")) imap__set_caps(c, r->code->child->next);
    /* APPENDUID, COPYUID (RFC 4315) and friends ride on the tagged OK */
    imap__store_code(c, p, r);
    result = r->status == IMAP_STATUS_OK ? IMAP_OK :
             r->status == IMAP_STATUS_NO ? IMAP_E_NO : IMAP_E_BAD;
    if (kind == IMAP__K_AUTHENTICATE) {
        /* the mechanism has the last word on a success: SCRAM's server
           signature (RFC 5802 §5.1) may be missing; after our "*" an OK
           is no success either */
        int refused = (p->flags & IMAP__F_CANCELLED) != 0;
        if (result == IMAP_OK && !refused && p->auth &&
            p->auth(p->auth_arg, NULL, 0, NULL, 0) == IMAP_E_AUTH) refused = 1;
        if (refused) {
            distrust = result == IMAP_OK;
            result = IMAP_E_AUTH;
        }
    }
    if (result == IMAP_OK) {
        switch (kind) {
        case IMAP__K_LOGIN:
        case IMAP__K_AUTHENTICATE:
            c->state = IMAP_STATE_AUTH;
            /* RFC 3501 §6.2.2/§6.2.3: capabilities may change at login;
               an untagged CAPABILITY meanwhile told them already */
            if (!imap_str_is(code, "CAPABILITY") && !p->got_caps) c->_caps_stale = 1;
            break;
        case IMAP__K_SELECT:
        case IMAP__K_EXAMINE:
            c->state = IMAP_STATE_SELECTED;
            c->readonly = kind == IMAP__K_EXAMINE || imap_str_is(code, "READ-ONLY");
            break;
        case IMAP__K_CLOSE:
            c->state = IMAP_STATE_AUTH;
            c->readonly = 0;
            break;
        case IMAP__K_LOGOUT:
            c->state = IMAP_STATE_LOGOUT;
            break;
        case IMAP__K_STARTTLS:
        case IMAP__K_COMPRESS:
            /* the transport changes right after this response: stop
               feeding (bytes after it are not plaintext IMAP) */
            c->_stop_feed = 1;
            break;
        default:
            break;
        }
    } else if (kind == IMAP__K_SELECT || kind == IMAP__K_EXAMINE) {
        /* RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected */
        if (c->state == IMAP_STATE_SELECTED) c->state = IMAP_STATE_AUTH;
    }
    if (result == IMAP_OK && c->_readonly_event) result = IMAP_E_READONLY;
    if (result == IMAP_OK && p->result < 0) result = p->result;   /* imap__lost */
    c->_readonly_event = 0;
    imap__finish(c, p, result, r);
    /* the server says we are in but could not prove who it is */
    if (distrust) imap__abort(c, IMAP_E_PROTOCOL);
}

/* IDLE's 29 minutes are up and its own timeout is not (RFC 2177 §3):
   IDLE again in the same slot, the call goes on. Not when a command
   waits behind it. */
static int imap__reissue(imap_client *c, imap__pending *p)
{
    unsigned i;
    char tag[16];
    size_t n;
    for (i = 0; i < c->_q_hi; i++)
        if (c->_q[i].seq > p->seq) return 0;
    imap_tagger_next(&c->_tagger, tag);
    n = strlen(tag);
    memcpy(p->tag, tag, n + 1);
    memcpy(p->line, tag, n);
    memcpy(p->line + n, " IDLE\r\n", 7);
    p->seg[0].ptr = (const unsigned char *)p->line;
    p->seg[0].len = n + 7;
    p->seg[0].wait = 0;
    p->nseg = 1;
    p->cur_seg = 0;
    p->cur_off = 0;
    p->flags = imap__kinds[IMAP__K_IDLE].flags;
    return 1;
}

/* A "+": the command waiting at a synchronizing literal goes on; IDLE
   starts idling; AUTHENTICATE's exchange gets the challenge. */
static void imap__continuation(imap_client *c, const imap_response *r)
{
    unsigned i;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (!p->seq || !(p->flags & IMAP__F_WAITING)) continue;
        p->flags &= ~IMAP__F_WAITING;
        if (p->flags & IMAP__F_IDLE) {
            p->flags |= IMAP__F_IDLING;
            c->_idle_start = imap__stamp(c);
        }
        return;
    }
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (p->seq && (p->flags & IMAP__F_AUTH) && p->cur_seg == p->nseg) {
            imap__auth_step(c, p, r);
            return;
        }
    }
    /* a "+" nobody asked for: RFC 3501 §7.5 allows none; ignore it */
}

/* One round of AUTHENTICATE: decode, ask the authobject, send base64. */
static void imap__auth_step(imap_client *c, imap__pending *p, const imap_response *r)
{
    unsigned char challenge[IMAP_SASL_BYTES], answer[IMAP_SASL_BYTES];
    long clen;
    int alen;
    size_t room;
    clen = imap_base64_decode(r->text.ptr, r->text.len, challenge, sizeof challenge);
    if (clen < 0 || !p->auth) {
        alen = -1;
    } else {
        alen = p->auth(p->auth_arg, challenge, (size_t)clen, answer, sizeof answer);
        if (alen > (int)sizeof answer) alen = -1;
    }
    room = sizeof c->_inject - c->_inject_len;
    if (alen < 0) {
        /* RFC 3501 §6.2.2: "*" cancels the exchange */
        p->flags |= IMAP__F_CANCELLED;
        if (room >= 3) {
            memcpy(c->_inject + c->_inject_len, "*\r\n", 3);
            c->_inject_len += 3;
        }
    } else {
        long n = imap_base64_encode(answer, (size_t)alen,
                                    (char *)c->_inject + c->_inject_len, room > 2 ? room - 2 : 0);
        if (n < 0 || (size_t)n + 2 > room) {
            imap__abort(c, IMAP_E_NOMEM);
            return;
        }
        c->_inject_len += (size_t)n;
        c->_inject[c->_inject_len++] = '\r';
        c->_inject[c->_inject_len++] = '\n';
    }
    memset(answer, 0, sizeof answer);
    imap__log(c, 'C', (const unsigned char *)"[SASL response hidden]", 22);
}

/* Does a FETCH response fall in the set of command p? A command without
   a known set takes any; a UID set needs the response's UID item (r NULL,
   before the response is parsed: the UID seen on its first line, if
   any, else any for a UID set; msgno for a number set). */
static int imap__fetch_in_set(const imap_response *r, imap_u64 msgno, int has_msgno,
                              imap_u64 uid, int has_uid, const imap__pending *p)
{
    imap_seqset_iter it;
    imap_u64 n, lo, hi;
    int k;
    /* a SELECT's set is its mailbox (for its LIST): its FETCHes are any */
    if (!p->set[0] || p->kind == IMAP__K_SELECT || p->kind == IMAP__K_EXAMINE) return 1;
    if (p->uid_set) {
        const imap_value *u;
        if (!r && !has_uid) return 1;
        if (r) {
            u = imap_fetch_get(r, "UID");
            if (!u || imap_value_u64(u, &n) != 0) return 0;
        } else {
            n = uid;
        }
    } else {
        if (!has_msgno) return 0;
        n = msgno;
    }
    imap_seqset_iter_init(&it, p->set, strlen(p->set));
    while ((k = imap_seqset_next(&it, &lo, &hi)) == 1) {
        /* "*" is the largest number in use: treat n:* as n and above */
        if (hi == IMAP_SEQ_STAR && lo == IMAP_SEQ_STAR) return 1;
        if (n >= lo && n <= hi) return 1;
        if (hi == IMAP_SEQ_STAR && n >= lo) return 1;
        if (lo == IMAP_SEQ_STAR && n >= hi) return 1;
    }
    return k < 0;                           /* an unparsable set takes any */
}

/* Is LIST response r the answer of command p? A server may announce
   created, renamed and deleted mailboxes with unsolicited LIST responses
   at any time (RFC 9051 §6.3.4-§6.3.6, §6.3.9.7; Cyrus 3.10 does so
   for the session's own changes, at the start of a later command). So
   SELECT/EXAMINE take only the LIST of the mailbox they select
   (§6.3.2; a name too long to keep: any), and a LIST sent with RETURN
   (CHILDREN) only responses with \HasChildren or \HasNoChildren, which
   §6.3.9.5 makes it carry (\NoInferiors implies the latter, §6.3.9.4).
   The rest are unsolicited: the store and on_untagged. */
static int imap__list_is_answer(const imap_response *r, const imap__pending *p)
{
    const imap_value *a = r->args;
    if (p->kind == IMAP__K_SELECT || p->kind == IMAP__K_EXAMINE) {
        imap_list_info li;
        size_t n = strlen(p->set);
        if (!n) return 1;
        if (imap_list_decode(r, &li) != 0) return 0;
        if (li.mailbox.len == n && memcmp(li.mailbox.ptr, p->set, n) == 0) return 1;
        return imap__ieq(li.mailbox.ptr, li.mailbox.len, "INBOX") && imap__ieq(p->set, n, "INBOX");
    }
    if (p->kind != IMAP__K_LISTC) return 1;
    return a && a->type == IMAP_LIST &&
           (imap_flags_has(a, "\\HasChildren") || imap_flags_has(a, "\\HasNoChildren") ||
            imap_flags_has(a, "\\NoInferiors"));
}

/* "* VANISHED uids" without EARLIER: those messages are gone now
   (RFC 7162 §3.2.10), as that many EXPUNGEs would say. */
static void imap__vanished_now(imap_client *c, const imap_response *r)
{
    imap_vanished v;
    imap_seqset_iter it;
    imap_u64 lo, hi;
    if (imap_vanished_decode(r, &v) != 0 || v.earlier || !v.uids.ptr) return;
    imap_seqset_iter_init(&it, v.uids.ptr, v.uids.len);
    while (imap_seqset_next(&it, &lo, &hi) == 1 && hi != IMAP_SEQ_STAR) {
        imap_u64 n = hi - lo + 1;
        c->exists = n < c->exists ? c->exists - n : 0;
    }
}

/* The untagged responses command p takes. */
static unsigned imap__routes(const imap__pending *p)
{
    return imap__kinds[p->kind].route | p->route_extra;
}

/* The oldest command sent (at least in part), or NULL. */
static imap__pending *imap__oldest_sent(imap_client *c)
{
    imap__pending *to = NULL;
    unsigned i;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (p->seq && p->cur_seg > 0 && (!to || p->seq < to->seq)) to = p;
    }
    return to;
}

/* Which command an untagged response with route bit `bit` answers: the
   oldest sent one that takes it. Pipelined FETCHes may be answered
   interleaved (Dovecot runs them in parallel): a FETCH goes to the
   oldest command whose set holds its number or UID, when that can be
   told, else (a flag change the server volunteered) to the oldest that
   takes FETCH at all. */
static imap__pending *imap__route(imap_client *c, unsigned bit, const imap_response *r,
                                  imap_u64 msgno, int has_msgno, imap_u64 uid, int has_uid)
{
    imap__pending *to = NULL, *any = NULL;
    unsigned i;
    for (i = 0; i < c->_q_hi; i++) {
        imap__pending *p = &c->_q[i];
        if (!p->seq || p->cur_seg == 0) continue;            /* not sent yet */
        if (!(imap__routes(p) & bit)) continue;
        if (!any || p->seq < any->seq) any = p;
        if (bit == IMAP__R_FETCH && !imap__fetch_in_set(r, msgno, has_msgno, uid, has_uid, p))
            continue;
        if (bit == IMAP__R_LIST && r && !imap__list_is_answer(r, p)) continue;
        if (!to || p->seq < to->seq) to = p;
    }
    return to ? to : bit == IMAP__R_FETCH ? any : NULL;
}

/* The name (and number) at the start of an untagged line: "* 12 FETCH",
   "* SEARCH 1 2". Returns 0 when the line is not untagged data. */
static int imap__line_name(const char *s, size_t n, imap_str *name, imap_u64 *num,
                           int *has_num)
{
    size_t i = 2, b;
    *has_num = 0;
    if (n < 3 || s[0] != '*' || s[1] != ' ') return 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i > 2 && i < n && s[i] == ' ') {
        *has_num = imap__parse_u64(s + 2, i - 2, num);
        i++;
    } else {
        i = 2;
    }
    b = i;
    while (i < n && s[i] != ' ' && s[i] != '(' && s[i] != '[' && s[i] != '\r' && s[i] != '\n')
        i++;
    name->ptr = s + b;
    name->len = i - b;
    return name->len > 0;
}

/* The parser asks, at each response's first line, whether a call's sink
   takes its literals (imap_call.sink). */
static int imap__pick_sink(void *ctx, const unsigned char *line, size_t n,
                           imap_literal_sink *sink, void **sink_ctx)
{
    imap_client *c = (imap_client *)ctx;
    imap_str name;
    imap_u64 num = 0, uid = 0;
    int has_num, has_uid = 0;
    size_t i;
    imap__pending *to;
    c->_picked_seq = 0;
    if (!c->_nsinks || !imap__line_name((const char *)line, n, &name, &num, &has_num))
        return 0;
    /* a UID before the literal tells which UID FETCH it answers */
    for (i = 1; i + 5 < n && !has_uid; i++) {
        size_t d = i + 4, e = d;
        if ((line[i - 1] != '(' && line[i - 1] != ' ') || !imap__ieq((const char *)line + i, 4, "UID "))
            continue;
        while (e < n && line[e] >= '0' && line[e] <= '9') e++;
        if (e > d) has_uid = imap__parse_u64((const char *)line + d, e - d, &uid);
    }
    to = imap__route(c, imap__route_bit(name), NULL, num, has_num, uid, has_uid);
    if (!to || !to->call.sink) return 0;
    /* the response then goes to the command whose sink took its bytes */
    c->_picked_seq = to->seq;
    *sink = to->call.sink;
    *sink_ctx = to->call.sink_arg;
    return 1;
}

/* Untagged data: state first, then the command that asked, else the
   store and the unsolicited callback. */
static void imap__untagged_data(imap_client *c, const imap_response *r)
{
    unsigned bit = imap__route_bit(r->name);
    imap__pending *to;
    unsigned i;
    switch (bit) {
    case IMAP__R_CAPABILITY:
        imap__set_caps(c, r->args);
        for (i = 0; i < c->_q_hi; i++)
            if (c->_q[i].seq && c->_q[i].cur_seg > 0) c->_q[i].got_caps = 1;
        break;
    case IMAP__R_EXISTS: c->exists = r->number; break;
    case IMAP__R_RECENT: c->recent = r->number; break;
    case IMAP__R_EXPUNGE:
        if (r->has_number && c->exists) c->exists--;
        else if (!r->has_number) imap__vanished_now(c, r);
        break;
    case IMAP__R_ENABLED:
        /* RFC 7162 §3.2.3: QRESYNC implies CONDSTORE */
        if (imap_caps_has(r->args, "CONDSTORE")) c->_enabled |= 1u;
        if (imap_caps_has(r->args, "QRESYNC")) c->_enabled |= 3u;
        if (imap_caps_has(r->args, "IMAP4rev2")) {
            c->protocol = 2;
            c->rev2 = 1;
            c->utf8 = 1;
        }
        if (imap_caps_has(r->args, "UTF8=ACCEPT")) c->utf8 = 1;
        break;
    default:
        break;
    }
    /* IDLE ends when the server reports a change (imaplib2) */
    if (bit & (IMAP__R_EXISTS | IMAP__R_EXPUNGE | IMAP__R_FETCH | IMAP__R_RECENT)) {
        for (i = 0; i < c->_q_hi; i++) {
            imap__pending *p = &c->_q[i];
            if (p->seq && (p->flags & IMAP__F_IDLING)) imap__idle_done(c, p);
        }
    }
    to = NULL;
    if (c->_picked_seq) {
        for (i = 0; i < c->_q_hi; i++)
            if (c->_q[i].seq == c->_picked_seq && (imap__routes(&c->_q[i]) & bit)) to = &c->_q[i];
        c->_picked_seq = 0;
    }
    if (!to) to = imap__route(c, bit, r, r->number, r->has_number, 0, 0);
    /* a change no command took: imap_watch_step syncs again before IDLE */
    if (!to && (bit & (IMAP__R_EXISTS | IMAP__R_EXPUNGE | IMAP__R_FETCH))) c->_changes++;
    if (to && to->call.on_data) {
        to->call.on_data(to->call.arg, c, r);
        return;
    }
    imap__store_response(c, to, r);
    /* what IDLE waits for is news to the caller too (the header says so) */
    if ((!to || to->kind == IMAP__K_IDLE) && c->_on_untagged)
        c->_on_untagged(c->_on_untagged_arg, c, r);
}

static void imap__untagged_status(imap_client *c, const imap_response *r)
{
    imap_str code = imap_response_code_name(r);
    if (imap_str_is(code, "CAPABILITY")) imap__set_caps(c, r->code->child->next);
    if (imap_str_is(code, "READ-ONLY") && c->state == IMAP_STATE_SELECTED && !c->readonly) {
        /* imaplib's readonly: a writable mailbox lost write access,
           unless this is the answer to a SELECT/EXAMINE in flight */
        unsigned i, selecting = 0;
        for (i = 0; i < c->_q_hi; i++)
            if (c->_q[i].seq && (c->_q[i].kind == IMAP__K_SELECT || c->_q[i].kind == IMAP__K_EXAMINE))
                selecting = 1;
        if (!selecting) c->_readonly_event = 1;
        c->readonly = 1;
    }
    imap__store_code(c, imap__oldest_sent(c), r);
    if (r->status == IMAP_STATUS_BYE) {
        unsigned i, logging_out = 0;
        imap__store_put(c, NULL, "BYE", 3, r->text.ptr, r->text.len, NULL, 0);
        for (i = 0; i < c->_q_hi; i++)
            if (c->_q[i].seq && c->_q[i].kind == IMAP__K_LOGOUT) logging_out = 1;
        c->state = IMAP_STATE_LOGOUT;
        if (!logging_out) imap__abort(c, IMAP_E_BYE);
        return;
    }
    if (c->_on_untagged) c->_on_untagged(c->_on_untagged_arg, c, r);
}

static void imap__greeting(imap_client *c, const imap_response *r)
{
    c->_greeted = 1;
    if (r->kind != IMAP_RESP_UNTAGGED ||
        (r->status != IMAP_STATUS_OK && r->status != IMAP_STATUS_PREAUTH &&
         r->status != IMAP_STATUS_BYE)) {
        imap__abort(c, IMAP_E_PROTOCOL);        /* not an IMAP server */
        return;
    }
    imap__copy_text(c, r);
    c->last_status = r->status;
    if (r->status == IMAP_STATUS_BYE) {
        imap__abort(c, IMAP_E_BYE);
        return;
    }
    if (r->status == IMAP_STATUS_PREAUTH && c->_require_tls && !c->_tls) {
        /* PREAUTH in plaintext skips STARTTLS (RFC 2595 §3.1): anyone in
           the middle can send it, so with TLS required it ends here */
        imap__refuse(c, IMAP_E_PLAINTEXT, "PREAUTH greeting on a plaintext connection "
                     "while TLS is required (RFC 2595 3.1)", ~(imap_u64)0, NULL);
        imap__abort(c, IMAP_E_PLAINTEXT);
        return;
    }
    if (imap_str_is(imap_response_code_name(r), "CAPABILITY"))
        imap__set_caps(c, r->code->child->next);
    else
        c->_caps_stale = 1;
    c->state = r->status == IMAP_STATUS_PREAUTH ? IMAP_STATE_AUTH : IMAP_STATE_NONAUTH;
    c->_plain_preauth = r->status == IMAP_STATUS_PREAUTH && !c->_tls;
    imap__store_code(c, NULL, r);
}

/* Untagged data that was rejected (too large, over a limit, malformed)
   belonged to some command: it completes with that code instead of OK,
   so a caller never takes a partial answer for a whole one. The name is
   read from the start of the line ("* 12 FETCH ...", "* SEARCH ..."). */
static void imap__lost(imap_client *c, imap_str line, int rc)
{
    imap_str name;
    imap_u64 num = 0;
    int has_num;
    imap__pending *to;
    if (!imap__line_name(line.ptr, line.len, &name, &num, &has_num)) return;
    to = imap__route(c, imap__route_bit(name), NULL, num, has_num, 0, 0);
    if (c->_picked_seq) {
        unsigned i;
        for (i = 0; i < c->_q_hi; i++)
            if (c->_q[i].seq == c->_picked_seq) to = &c->_q[i];
        c->_picked_seq = 0;
    }
    if (to && to->result == 0) to->result = rc;
}

static void imap__dispatch(imap_client *c, const imap_response *r)
{
    {
        /* log the response's first line */
        const unsigned char *s = (const unsigned char *)c->_parser.arena.base;
        imap__log(c, 'S', s, r->raw_len);
    }
    if (!c->_greeted) {
        imap__greeting(c, r);
        return;
    }
    if (r->kind == IMAP_RESP_CONTINUE) imap__continuation(c, r);
    else if (r->kind == IMAP_RESP_TAGGED) imap__tagged(c, r);
    else if (r->status != IMAP_STATUS_NONE) imap__untagged_status(c, r);
    else imap__untagged_data(c, r);
}

IMAPDEF int imap_client_feed(imap_client *c, const void *data, size_t len, size_t *consumed)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t off = 0;
    if (consumed) *consumed = 0;
    if (!c || (!data && len)) return IMAP_E_ARGS;
    if (c->_depth) return IMAP_E_STATE;     /* from a callback */
    imap__refresh(c);
    c->_depth++;
    while (off < len && !c->error && !c->_stop_feed) {
        size_t used = 0;
        imap_response *r;
        imap_result rc = imap_parser_feed(&c->_parser, s + off, len - off, &used, &r);
        off += used;
        if (rc == IMAP_OK) {
            imap__dispatch(c, r);
        } else if (rc < 0) {
            imap_str line = c->_parser.error_line;
            size_t t = 0;
            imap__log(c, 'S', (const unsigned char *)line.ptr, line.len);
            if (!c->_greeted) {
                /* a greeting too big for the client's memory is the
                   caller's to fix, not the server's fault */
                imap__abort(c, rc == IMAP_E_NOMEM ? IMAP_E_NOMEM : IMAP_E_PROTOCOL);
                break;
            }
            /* a rejected tagged response still ends its command */
            while (t < line.len && line.ptr[t] != ' ') t++;
            {
                imap_str tag;
                imap__pending *p;
                tag.ptr = line.ptr;
                tag.len = t;
                p = t ? imap__slot_by_tag(c, tag) : NULL;
                if (p && imap__answerable(p)) imap__finish(c, p, rc, NULL);
                else if (t == 1 && line.ptr[0] == '*') imap__lost(c, line, rc);
            }
        }
    }
    c->_depth--;
    if (consumed) *consumed = off;
    return c->error ? c->error : IMAP_OK;
}

/* (section 7 implementation ends here) */

/* ---- 8. transports --------------------------------------------------- */

#include <limits.h>

/* -- 8a. scripted transport -- */

static size_t imap__step_len(const imap_script_step *st)
{
    if (st->data == NULL) return 0;
    return st->len ? st->len : strlen(st->data);
}

/* Take the faults and empty steps at the cursor. A CLOSE ends it all; a
   STALL only silences reads, so the cursor moves on for writes. */
static void imap__script_settle(imap_script *s)
{
    while (s->step < s->_n && !s->closed) {
        const imap_script_step *st = &s->_steps[s->step];
        if (s->ahead && st->kind == IMAP_SCRIPT_EXPECT) {
            /* reads pass an EXPECT step once it has been written whole */
            if (s->step >= s->_wstep && imap__step_len(st) != 0) break;
        } else if (st->kind == IMAP_SCRIPT_CLOSE) {
            s->closed = 1;
        } else if (st->kind == IMAP_SCRIPT_STALL) {
            s->stalled = 1;
        } else if (imap__step_len(st) != 0) {
            break;
        }
        s->step++;
        s->step_off = 0;
    }
}

static int imap__script_read(void *ctx, unsigned char *buf, size_t len)
{
    imap_script *s = (imap_script *)ctx;
    size_t got = 0, room = len;
    if (s->closed || s->client_closed || s->mismatch) return -1;
    if (s->would_block && (s->_reads++ & 1u) == 0) return 0;
    if (s->close_at != IMAP_SCRIPT_NEVER && s->bytes_read >= s->close_at) {
        s->closed = 1;
        return -1;
    }
    if (s->stalled) return 0;
    if (room > (size_t)INT_MAX) room = (size_t)INT_MAX;
    if (s->max_read && room > s->max_read) room = s->max_read;
    if (s->close_at != IMAP_SCRIPT_NEVER && room > s->close_at - s->bytes_read)
        room = s->close_at - s->bytes_read;
    while (got < room && !s->closed && !s->stalled && s->step < s->_n &&
           s->_steps[s->step].kind == IMAP_SCRIPT_REPLY) {
        const imap_script_step *st = &s->_steps[s->step];
        size_t k = imap__step_len(st) - s->step_off;
        if (k > room - got) k = room - got;
        memcpy(buf + got, st->data + s->step_off, k);
        got += k;
        s->step_off += k;
        if (s->step_off == imap__step_len(st)) {
            s->step++;
            s->step_off = 0;
            imap__script_settle(s);
        }
    }
    s->bytes_read += got;
    if (got == 0) return s->closed ? -1 : 0;
    return (int)got;
}

static void imap__script_mismatch(imap_script *s, size_t step, const char *exp,
                                  size_t exp_len, const unsigned char *got,
                                  size_t got_len, size_t at)
{
    s->mismatch = 1;
    s->mismatch_step = step;
    s->mismatch_offset = s->bytes_written + at;
    s->mismatch_expected.ptr = exp;
    s->mismatch_expected.len = exp_len;
    if (got_len > sizeof s->mismatch_got) got_len = sizeof s->mismatch_got;
    memcpy(s->mismatch_got, got, got_len);
    s->mismatch_got_len = got_len;
}

/* Move a cursor (the one cursor, or with `ahead` the write cursor, which
   steps over all but EXPECT) past n bytes the client wrote. */
static void imap__script_take(imap_script *s, size_t *step, size_t *off, size_t n)
{
    while (n > 0) {
        const imap_script_step *st = &s->_steps[*step];
        size_t k = imap__step_len(st) - *off;
        if (s->ahead && (st->kind != IMAP_SCRIPT_EXPECT || k == 0)) {
            (*step)++;
            *off = 0;
            continue;
        }
        if (k > n) k = n;
        *off += k;
        n -= k;
        if (*off == imap__step_len(st)) {
            (*step)++;
            *off = 0;
            if (!s->ahead) imap__script_settle(s);
        }
    }
}

static int imap__script_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_script *s = (imap_script *)ctx;
    size_t i = 0, step, off, take;
    if (s->closed || s->client_closed || s->mismatch) return -1;
    if (s->would_block && (s->_writes++ & 1u) == 0) return 0;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    /* Check the bytes offered past the ones taken too: bytes handed over
       before the server asked for them are the bug to catch. 4 KiB past
       is enough to see them, and keeps a 5 MB literal written a byte at
       a time from costing 5 MB of compares per byte. */
    if (s->max_write && len > s->max_write && len - s->max_write > 4096)
        len = s->max_write + 4096;
    step = s->ahead ? s->_wstep : s->step;
    off = s->ahead ? s->_woff : s->step_off;
    while (i < len) {
        const imap_script_step *st = step < s->_n ? &s->_steps[step] : NULL;
        size_t sl, k, j;
        if (st && (st->kind == IMAP_SCRIPT_STALL || imap__step_len(st) == 0 ||
                   (s->ahead && st->kind != IMAP_SCRIPT_EXPECT))) {
            step++;
            off = 0;
            continue;
        }
        if (!st || st->kind != IMAP_SCRIPT_EXPECT) {
            imap__script_mismatch(s, step, NULL, 0, buf + i, len - i, i);
            return -1;
        }
        sl = imap__step_len(st);
        k = sl - off < len - i ? sl - off : len - i;
        for (j = memcmp(st->data + off, buf + i, k) == 0 ? k : 0; j < k; j++) {
            if ((unsigned char)st->data[off + j] != buf[i + j]) {
                imap__script_mismatch(s, step, st->data + off + j, sl - off - j,
                                      buf + i + j, len - i - j, i + j);
                return -1;
            }
        }
        i += k;
        off += k;
        if (off == sl) {
            step++;
            off = 0;
        }
    }
    take = len;
    if (s->max_write && take > s->max_write) take = s->max_write;
    s->bytes_written += take;
    if (s->ahead) {
        /* the read cursor may pass what was written */
        imap__script_take(s, &s->_wstep, &s->_woff, take);
        imap__script_settle(s);
    } else {
        imap__script_take(s, &s->step, &s->step_off, take);
    }
    return (int)take;
}

static int imap__script_close(void *ctx)
{
    ((imap_script *)ctx)->client_closed = 1;
    return 0;
}

static int imap__script_wait(void *ctx, int for_write, long timeout_ms)
{
    imap_script *s = (imap_script *)ctx;
    (void)timeout_ms;
    if (s->client_closed) return -1;
    if (s->closed || s->mismatch || for_write) return 1;
    if (s->close_at != IMAP_SCRIPT_NEVER && s->bytes_read >= s->close_at) return 1;
    if (s->stalled) return 0;
    return s->step < s->_n && s->_steps[s->step].kind == IMAP_SCRIPT_REPLY;
}

IMAPDEF void imap_script_init(imap_script *s, const imap_script_step *steps,
                              size_t n, imap_transport *out)
{
    memset(s, 0, sizeof *s);
    s->_steps = steps;
    s->_n = steps ? n : 0;
    s->close_at = IMAP_SCRIPT_NEVER;
    imap__script_settle(s);
    out->read = imap__script_read;
    out->write = imap__script_write;
    out->close = imap__script_close;
    out->wait = imap__script_wait;
    out->ctx = s;
}

IMAPDEF int imap_script_done(const imap_script *s)
{
    /* ahead: the read cursor passes an EXPECT step only once written */
    return s->step >= s->_n && !s->mismatch;
}

#ifndef IMAP_NO_POSIX
/* -- POSIX feature macros --
   With -std=c99 and no feature macro, glibc hides POSIX; it decided what
   to show when <string.h> came in above, so ask its <features.h> again
   for POSIX.1-2008 (it starts from a clean slate each time). musl reads
   the macros at every include, so defining one is enough there. Headers
   the TU included before us stay as they were: say so plainly rather
   than fail on a missing sigset_t. */
#if defined(__GLIBC__) && !defined(__USE_XOPEN2K8) && \
    !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE)
#define IMAP__LATE_POSIX 1
#define _POSIX_C_SOURCE 200809L
#undef _FEATURES_H
#include <features.h>
#elif defined(__linux__) && !defined(__GLIBC__) && !defined(_POSIX_C_SOURCE) && \
    !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) && \
    !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE)
#define IMAP__LATE_POSIX 1
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(IMAP__LATE_POSIX) && (defined(_SIGNAL_H) || defined(_TIME_H) || defined(_NETDB_H))
#error "imap.h: under strict -std=c99/c11, <signal.h>, <time.h> or <netdb.h> came before the implementation and hid POSIX; include imap.h first, or build with -D_POSIX_C_SOURCE=200809L, or define IMAP_NO_POSIX"
#endif
#if defined(__GLIBC__) && !defined(__USE_XOPEN2K)
#error "imap.h: the POSIX transports need _POSIX_C_SOURCE >= 200112L; or define IMAP_NO_POSIX"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <poll.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <errno.h>
#include <time.h>

#ifndef WNOHANG
/* glibc's <sys/wait.h> leaves it to a <stdlib.h> that came first, which
   under -std=c99 did not define it; it is 1 on every system */
#define WNOHANG 1
#endif

static long long imap__now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int imap__again(int e)
{
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    if (e == EWOULDBLOCK) return 1;
#endif
    return e == EAGAIN;
}

/* Wait for one fd: 1 ready (or hung up: the next call says which), 0 timed
   out, -1 error. Signals do not cut the wait short: a SIGCHLD or SIGPROF
   must not look like a timeout to the engine. */
static int imap__poll(int fd, int for_write, long timeout_ms, int *err)
{
    long long deadline = timeout_ms >= 0 ? imap__now_ms() + timeout_ms : 0;
    for (;;) {
        struct pollfd p;
        int ms = -1, r;
        if (timeout_ms >= 0) {
            long long left = deadline - imap__now_ms();
            if (left < 0) left = 0;
            ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        p.fd = fd;
        p.events = (short)(for_write ? POLLOUT : POLLIN);
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0) {
            if (p.revents & POLLNVAL) {
                *err = EBADF;
                return -1;
            }
            return 1;
        }
        if (r == 0) {
            if (ms < INT_MAX) return 0;     /* poll never wakes early */
            continue;
        }
        if (errno != EINTR) {
            *err = errno;
            return -1;
        }
    }
}

static int imap__set_flags(int fd, int cloexec)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    if (cloexec) {
        fl = fcntl(fd, F_GETFD);
        if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return -1;
    }
    return 0;
}

/* One read: after waiting up to timeout_ms (0: not at all). EOF is -1
   with *eof set; EAGAIN is 0 ("nothing now"). */
static int imap__fd_read(int fd, int sock, unsigned char *buf, size_t len,
                         long timeout_ms, int *eof, int *err)
{
    if (fd < 0) return -1;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    if (timeout_ms != 0) {
        int r = imap__poll(fd, 0, timeout_ms, err);
        if (r <= 0) return r;
    }
    for (;;) {
        ssize_t n = sock ? recv(fd, buf, len, 0) : read(fd, buf, len);
        if (n > 0) return (int)n;
        if (n == 0) {
            *eof = 1;
            return -1;
        }
        if (errno == EINTR) continue;
        if (imap__again(errno)) return 0;
        *err = errno;
        return -1;
    }
}

#if defined(MSG_NOSIGNAL)
#define IMAP__SEND_FLAGS MSG_NOSIGNAL
#else
#define IMAP__SEND_FLAGS 0
#endif

/* A write that cannot raise SIGPIPE where no flag or fd mark prevents it:
   block SIGPIPE for this thread only, and if our write raised one (it was
   not pending before), take it off the pending set before unblocking.
   Thread-safe, and the program's own SIGPIPE handling is left alone. */
static ssize_t imap__write_masked(int fd, int sock, const unsigned char *buf,
                                  size_t len)
{
    sigset_t pipe_set, old, pending;
    int was_pending, e;
    ssize_t n;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE) == 1;
    sigprocmask(SIG_BLOCK, &pipe_set, &old);
    n = sock ? send(fd, buf, len, IMAP__SEND_FLAGS) : write(fd, buf, len);
    e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        int sig;
        sigemptyset(&pending);
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
            sigwait(&pipe_set, &sig);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

/* One write, after waiting up to timeout_ms for room. `masked`: the fd
   needs imap__write_masked to stay clear of SIGPIPE. */
static int imap__fd_write(int fd, int sock, int masked,
                          const unsigned char *buf, size_t len,
                          long timeout_ms, int *err)
{
    if (fd < 0) return -1;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    if (timeout_ms != 0) {
        int r = imap__poll(fd, 1, timeout_ms, err);
        if (r <= 0) return r;
    }
    for (;;) {
        ssize_t n;
        if (masked) n = imap__write_masked(fd, sock, buf, len);
        else if (sock) n = send(fd, buf, len, IMAP__SEND_FLAGS);
        else n = write(fd, buf, len);
        if (n >= 0) return (int)n;
        if (errno == EINTR) continue;
        if (imap__again(errno)) return 0;
        *err = errno;
        return -1;
    }
}

/* -- 8b. TCP -- */

/* A socket needs the masked write only where neither MSG_NOSIGNAL nor
   SO_NOSIGPIPE exists. */
#if defined(MSG_NOSIGNAL) || defined(SO_NOSIGPIPE)
#define IMAP__TCP_MASKED 0
#else
#define IMAP__TCP_MASKED 1
#endif

static int imap__tcp_read(void *ctx, unsigned char *buf, size_t len)
{
    imap_tcp *t = (imap_tcp *)ctx;
    return imap__fd_read(t->fd, 1, buf, len, t->nonblocking ? 0 : t->timeout_ms,
                         &t->eof, &t->error);
}

static int imap__tcp_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_tcp *t = (imap_tcp *)ctx;
    return imap__fd_write(t->fd, 1, IMAP__TCP_MASKED, buf, len,
                          t->nonblocking ? 0 : t->timeout_ms, &t->error);
}

static int imap__tcp_wait(void *ctx, int for_write, long timeout_ms)
{
    imap_tcp *t = (imap_tcp *)ctx;
    if (t->fd < 0) return -1;
    return imap__poll(t->fd, for_write, timeout_ms, &t->error);
}

static int imap__tcp_close_cb(void *ctx) { return imap_tcp_close((imap_tcp *)ctx); }

static void imap__tcp_transport(imap_tcp *t, imap_transport *out)
{
    out->read = imap__tcp_read;
    out->write = imap__tcp_write;
    out->close = imap__tcp_close_cb;
    out->wait = imap__tcp_wait;
    out->ctx = t;
}

static void imap__tcp_reset(imap_tcp *t, long timeout_ms)
{
    t->fd = -1;
    t->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
    t->nonblocking = 0;
    t->eof = 0;
    t->error = 0;
    t->gai_error = 0;
}

/* Connect one address within budget_ms (-1: the system's own limit). */
static imap_result imap__tcp_try(imap_tcp *t, const struct addrinfo *ai,
                                 long budget_ms)
{
    int fd, r, one = 1, soerr = 0, type = ai->ai_socktype;
    socklen_t sl = (socklen_t)sizeof soerr;
#ifdef SOCK_CLOEXEC
    type |= SOCK_CLOEXEC;              /* no window for a fork to leak it */
#endif
    fd = socket(ai->ai_family, type, ai->ai_protocol);
    if (fd < 0) {
        t->error = errno;
        return IMAP_E_IO;
    }
    if (imap__set_flags(fd, 1) != 0) {
        t->error = errno;
        close(fd);
        return IMAP_E_IO;
    }
#ifdef SO_NOSIGPIPE
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, (socklen_t)sizeof one);
#endif
    r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno != EINPROGRESS && errno != EINTR) {
        t->error = errno;
        close(fd);
        return IMAP_E_IO;
    }
    if (r != 0) {
        /* EINTR too: the connect goes on in the background */
        r = imap__poll(fd, 1, budget_ms, &t->error);
        if (r <= 0) {
            if (r == 0) t->error = ETIMEDOUT;
            close(fd);
            return r == 0 ? IMAP_E_TIMEOUT : IMAP_E_IO;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) soerr = errno;
        if (soerr != 0) {
            t->error = soerr;
            close(fd);
            return IMAP_E_IO;
        }
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof one);
    t->fd = fd;
    t->error = 0;
    return IMAP_OK;
}

IMAPDEF imap_result imap_tcp_connect(imap_tcp *t, const char *host,
                                     unsigned port, long timeout_ms,
                                     imap_transport *out)
{
    struct addrinfo hints, *list = NULL, *ai;
    char serv[8];
    unsigned p = port;
    int i = (int)sizeof serv - 1, rc;
    long count = 0;
    long long deadline;
    imap_result res = IMAP_E_IO;
    imap__tcp_reset(t, timeout_ms);
    if (host == NULL || host[0] == 0 || port == 0 || port > 65535) return IMAP_E_ARGS;
    serv[i] = 0;
    do {
        serv[--i] = (char)('0' + p % 10);
        p /= 10;
    } while (p);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, serv + i, &hints, &list);
    t->where[0] = 0;
    if (rc != 0) {
        imap__cat(t->where, sizeof t->where, host, strlen(host));
        t->gai_error = rc;
#ifdef EAI_SYSTEM
        if (rc == EAI_SYSTEM) t->error = errno;
#endif
        return IMAP_E_IO;
    }
    for (ai = list; ai; ai = ai->ai_next) count++;
    deadline = imap__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (ai = list; ai; ai = ai->ai_next, count--) {
        long budget = -1;
        if (timeout_ms >= 0) {
            long long left = deadline - imap__now_ms();
            if (left <= 0 && ai != list) break;  /* res holds the last error */
            if (left < 0) left = 0;
            budget = (long)(left / count);
            if (budget < 1 && left > 0) budget = 1;
        }
        res = imap__tcp_try(t, ai, budget);
        if (res == IMAP_OK) break;
        {
            /* where it failed, numeric (imap_error_text) */
            char h[INET6_ADDRSTRLEN + 2];
            t->where[0] = 0;
            if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof h, NULL, 0,
                            NI_NUMERICHOST) == 0) {
                int v6 = ai->ai_family == AF_INET6;
                if (v6) imap__cat(t->where, sizeof t->where, "[", 1);
                imap__cat(t->where, sizeof t->where, h, strlen(h));
                imap__cat(t->where, sizeof t->where, v6 ? "]:" : ":", v6 ? 2 : 1);
                imap__cat(t->where, sizeof t->where, serv + i, strlen(serv + i));
            }
        }
    }
    freeaddrinfo(list);
    if (res != IMAP_OK) return res;
    imap__tcp_transport(t, out);
    return IMAP_OK;
}

IMAPDEF imap_result imap_tcp_attach(imap_tcp *t, int fd, long timeout_ms,
                                    imap_transport *out)
{
    imap__tcp_reset(t, timeout_ms);
    if (fd < 0) return IMAP_E_ARGS;
    if (imap__set_flags(fd, 0) != 0) {
        t->error = errno;
        return IMAP_E_IO;
    }
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, (socklen_t)sizeof one);
    }
#endif
    t->fd = fd;
    imap__tcp_transport(t, out);
    return IMAP_OK;
}

IMAPDEF void imap_tcp_set_timeout(imap_tcp *t, long timeout_ms)
{
    t->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

IMAPDEF void imap_tcp_set_nonblocking(imap_tcp *t, int on) { t->nonblocking = on != 0; }

IMAPDEF int imap_tcp_close(imap_tcp *t)
{
    int rc = 0;
    /* no retry on EINTR: Linux frees the fd anyway, and a retry could
       close one another thread just opened */
    if (t->fd >= 0 && close(t->fd) != 0) {
        t->error = errno;
        rc = -1;
    }
    t->fd = -1;
    return rc;
}

/* -- 8c. subprocess stream -- */

#ifdef F_SETNOSIGPIPE
#define IMAP__PIPE_MASKED 0
#else
#define IMAP__PIPE_MASKED 1
#endif

static int imap__stream_read(void *ctx, unsigned char *buf, size_t len)
{
    imap_stream *s = (imap_stream *)ctx;
    return imap__fd_read(s->from_child, 0, buf, len,
                         s->nonblocking ? 0 : s->timeout_ms, &s->eof, &s->error);
}

static int imap__stream_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_stream *s = (imap_stream *)ctx;
    return imap__fd_write(s->to_child, 0, IMAP__PIPE_MASKED, buf, len,
                          s->nonblocking ? 0 : s->timeout_ms, &s->error);
}

static int imap__stream_wait(void *ctx, int for_write, long timeout_ms)
{
    imap_stream *s = (imap_stream *)ctx;
    int fd = for_write ? s->to_child : s->from_child;
    if (fd < 0) return -1;
    return imap__poll(fd, for_write, timeout_ms, &s->error);
}

static int imap__stream_close_cb(void *ctx) { return imap_stream_close((imap_stream *)ctx); }

/* A pipe whose ends are both above 2 (so the child's dup2 onto 0 and 1
   can never hit one of them, even when the program runs with stdin
   closed) and close-on-exec. */
static int imap__pipe(int p[2])
{
    int i;
    if (pipe(p) != 0) return -1;
    for (i = 0; i < 2; i++) {
        if (p[i] < 3) {
            int hi = fcntl(p[i], F_DUPFD, 3);
            int e = errno;
            close(p[i]);
            p[i] = hi;
            errno = e;
        }
    }
    if (p[0] < 0 || p[1] < 0 ||
        fcntl(p[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(p[1], F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;
        if (p[0] >= 0) close(p[0]);
        if (p[1] >= 0) close(p[1]);
        p[0] = p[1] = -1;
        errno = e;
        return -1;
    }
    return 0;
}

static void imap__close_pair(int p[2])
{
    if (p[0] >= 0) close(p[0]);
    if (p[1] >= 0) close(p[1]);
    p[0] = p[1] = -1;
}

IMAPDEF imap_result imap_stream_open(imap_stream *s, const char *command,
                                     imap_transport *out)
{
    int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    int e = 0;
    ssize_t n;
    pid_t pid;
    s->to_child = -1;
    s->from_child = -1;
    s->pid = 0;
    s->timeout_ms = -1;
    s->nonblocking = 0;
    s->grace_ms = 2000;
    s->status = -1;
    s->eof = 0;
    s->error = 0;
    if (command == NULL) return IMAP_E_ARGS;
    if (imap__pipe(in) != 0 || imap__pipe(outp) != 0 || imap__pipe(errp) != 0) {
        s->error = errno;
        imap__close_pair(in);
        imap__close_pair(outp);
        return IMAP_E_IO;
    }
    pid = fork();
    if (pid < 0) {
        s->error = errno;
        imap__close_pair(in);
        imap__close_pair(outp);
        imap__close_pair(errp);
        return IMAP_E_IO;
    }
    if (pid == 0) {
        /* The child: async-signal-safe calls only. dup2 clears
           close-on-exec on 0 and 1; every other end of ours closes at
           exec. SIGPIPE back to default, so the command dies of a closed
           pipe as it would in a shell even if we ignore it. */
        if (dup2(in[0], 0) >= 0 && dup2(outp[1], 1) >= 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = SIG_DFL;
            sigaction(SIGPIPE, &sa, NULL);
            execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        }
        e = errno;
        if (write(errp[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    close(errp[1]);
    /* exec failure arrives on errp; success closes it (close-on-exec), so
       open returns only once the shell really runs */
    do {
        n = read(errp[0], &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    close(errp[0]);
    if (n == (ssize_t)sizeof e || imap__set_flags(in[1], 0) != 0 ||
        imap__set_flags(outp[0], 0) != 0) {
        int st;
        s->error = n == (ssize_t)sizeof e ? e : errno;
        close(in[1]);
        close(outp[0]);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        return IMAP_E_IO;
    }
#ifdef F_SETNOSIGPIPE
    fcntl(in[1], F_SETNOSIGPIPE, 1);
#endif
    s->to_child = in[1];
    s->from_child = outp[0];
    s->pid = (long)pid;
    out->read = imap__stream_read;
    out->write = imap__stream_write;
    out->close = imap__stream_close_cb;
    out->wait = imap__stream_wait;
    out->ctx = s;
    return IMAP_OK;
}

IMAPDEF void imap_stream_set_timeout(imap_stream *s, long timeout_ms)
{
    s->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

IMAPDEF void imap_stream_set_nonblocking(imap_stream *s, int on) { s->nonblocking = on != 0; }

/* waitpid until grace_ms passes, then SIGTERM, then SIGKILL. Naps grow
   from 1 ms so a child that exits at once costs no 50 ms. */
static int imap__reap(imap_stream *s)
{
    pid_t pid = (pid_t)s->pid;
    int phase;
    for (phase = 0; phase < 3; phase++) {
        long long deadline = imap__now_ms() + (s->grace_ms > 0 ? s->grace_ms : 0);
        int nap = 1;
        if (phase == 1) kill(pid, SIGTERM);
        if (phase == 2) kill(pid, SIGKILL);
        for (;;) {
            int st = 0;
            long long left;
            pid_t r = waitpid(pid, &st, phase == 2 ? 0 : WNOHANG);
            if (r == pid) {
                s->status = st;
                return 0;
            }
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                /* ECHILD: reaped elsewhere (SIGCHLD ignored); no zombie */
                s->error = errno;
                return errno == ECHILD ? 0 : -1;
            }
            left = deadline - imap__now_ms();
            if (left <= 0) break;
            poll(NULL, 0, nap < left ? nap : (int)left);
            if (nap < 50) nap *= 2;
        }
    }
    return -1;
}

IMAPDEF int imap_stream_close(imap_stream *s)
{
    int rc = 0;
    /* both pipes first: the child sees end of input, and one still
       writing gets EPIPE instead of blocking on a full pipe */
    if (s->to_child >= 0) close(s->to_child);
    if (s->from_child >= 0) close(s->from_child);
    s->to_child = -1;
    s->from_child = -1;
    if (s->pid > 0) {
        rc = imap__reap(s);
        s->pid = 0;
    }
    return rc;
}
#endif /* IMAP_NO_POSIX */

#if defined(_WIN32) && !defined(IMAP_NO_WINSOCK)
/* -- 8f. Winsock TCP -- */
#include <winsock2.h>
#include <ws2tcpip.h>
#ifdef _MSC_VER
#pragma comment(lib, "ws2_32.lib")
#endif

/* Wait for one socket: 1 ready (or failed: the next call says which), 0
   timed out, -1 error. A failed connect shows in select's exception set,
   not the write set, so a write wait watches both. GetTickCount wraps
   after 49 days: only differences of it are used. */
static int imap__ws_wait(SOCKET s, int for_write, long timeout_ms, int *err)
{
    DWORD start = GetTickCount();
    for (;;) {
        fd_set rs, ws, es;
        struct timeval tv, *tvp = NULL;
        int r;
        if (timeout_ms >= 0) {
            DWORD spent = GetTickCount() - start;
            long left = spent >= (DWORD)timeout_ms ? 0 : timeout_ms - (long)spent;
            tv.tv_sec = left / 1000;
            tv.tv_usec = left % 1000 * 1000;
            tvp = &tv;
        }
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_ZERO(&es);
        if (for_write) {
            FD_SET(s, &ws);
            FD_SET(s, &es);
        } else {
            FD_SET(s, &rs);
        }
        r = select(0, &rs, &ws, &es, tvp);
        if (r > 0) return 1;
        if (r < 0) {
            *err = WSAGetLastError();
            return -1;
        }
        /* select may wake a tick early: only a spent timeout is one */
        if (tvp && (long)(GetTickCount() - start) >= timeout_ms) return 0;
    }
}

static int imap__ws_read(void *ctx, unsigned char *buf, size_t len)
{
    imap_tcp *t = (imap_tcp *)ctx;
    SOCKET s = (SOCKET)t->sock;
    long wait_ms = t->nonblocking ? 0 : t->timeout_ms;
    int n, e;
    if (t->sock == IMAP_TCP_NO_SOCKET) return -1;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    if (wait_ms != 0) {
        int r = imap__ws_wait(s, 0, wait_ms, &t->error);
        if (r <= 0) return r;
    }
    n = recv(s, (char *)buf, (int)len, 0);
    if (n > 0) return n;
    if (n == 0) {
        t->eof = 1;
        return -1;
    }
    e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK) return 0;
    t->error = e;
    return -1;
}

static int imap__ws_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_tcp *t = (imap_tcp *)ctx;
    SOCKET s = (SOCKET)t->sock;
    long wait_ms = t->nonblocking ? 0 : t->timeout_ms;
    int n, e;
    if (t->sock == IMAP_TCP_NO_SOCKET) return -1;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    if (wait_ms != 0) {
        int r = imap__ws_wait(s, 1, wait_ms, &t->error);
        if (r <= 0) return r;
    }
    n = send(s, (const char *)buf, (int)len, 0);
    if (n >= 0) return n;
    e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK) return 0;
    t->error = e;
    return -1;
}

static int imap__ws_wait_cb(void *ctx, int for_write, long timeout_ms)
{
    imap_tcp *t = (imap_tcp *)ctx;
    if (t->sock == IMAP_TCP_NO_SOCKET) return -1;
    return imap__ws_wait((SOCKET)t->sock, for_write, timeout_ms, &t->error);
}

static int imap__ws_close_cb(void *ctx) { return imap_tcp_close((imap_tcp *)ctx); }

static void imap__ws_transport(imap_tcp *t, imap_transport *out)
{
    out->read = imap__ws_read;
    out->write = imap__ws_write;
    out->close = imap__ws_close_cb;
    out->wait = imap__ws_wait_cb;
    out->ctx = t;
}

static void imap__ws_reset(imap_tcp *t, long timeout_ms)
{
    t->sock = IMAP_TCP_NO_SOCKET;
    t->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
    t->nonblocking = 0;
    t->eof = 0;
    t->error = 0;
    t->gai_error = 0;
}

/* Connect one address within budget_ms (-1: the system's own limit). */
static imap_result imap__ws_try(imap_tcp *t, const struct addrinfo *ai, long budget_ms)
{
    SOCKET s;
    u_long on = 1;
    int one = 1, soerr = 0, sl = (int)sizeof soerr, r;
    s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s == INVALID_SOCKET) {
        t->error = WSAGetLastError();
        return IMAP_E_IO;
    }
    /* close-on-exec's counterpart: no child process inherits it */
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    if (ioctlsocket(s, (long)FIONBIO, &on) != 0) {
        t->error = WSAGetLastError();
        closesocket(s);
        return IMAP_E_IO;
    }
    if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        int e = WSAGetLastError();
        if (e != WSAEWOULDBLOCK && e != WSAEINPROGRESS) {
            t->error = e;
            closesocket(s);
            return IMAP_E_IO;
        }
        r = imap__ws_wait(s, 1, budget_ms, &t->error);
        if (r <= 0) {
            if (r == 0) t->error = WSAETIMEDOUT;
            closesocket(s);
            return r == 0 ? IMAP_E_TIMEOUT : IMAP_E_IO;
        }
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &sl) != 0)
            soerr = WSAGetLastError();
        if (soerr != 0) {
            t->error = soerr;
            closesocket(s);
            return IMAP_E_IO;
        }
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, (int)sizeof one);
    t->sock = (size_t)s;
    t->error = 0;
    return IMAP_OK;
}

IMAPDEF imap_result imap_tcp_connect(imap_tcp *t, const char *host,
                                     unsigned port, long timeout_ms,
                                     imap_transport *out)
{
    struct addrinfo hints, *list = NULL, *ai;
    char serv[24];
    int rc;
    long count = 0;
    DWORD start;
    imap_result res = IMAP_E_IO;
    imap__ws_reset(t, timeout_ms);
    if (host == NULL || host[0] == 0 || port == 0 || port > 65535) return IMAP_E_ARGS;
    serv[imap__fmt_u64(serv, port)] = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
#ifdef AI_NUMERICSERV
    hints.ai_flags = AI_NUMERICSERV;
#endif
    rc = getaddrinfo(host, serv, &hints, &list);
    if (rc != 0) {
        t->gai_error = rc;
        return IMAP_E_IO;
    }
    for (ai = list; ai; ai = ai->ai_next) count++;
    start = GetTickCount();
    for (ai = list; ai; ai = ai->ai_next, count--) {
        long budget = -1;
        if (timeout_ms >= 0) {
            DWORD spent = GetTickCount() - start;
            long left = spent >= (DWORD)timeout_ms ? 0 : timeout_ms - (long)spent;
            if (left <= 0 && ai != list) break;  /* res holds the last error */
            budget = left / count;
            if (budget < 1 && left > 0) budget = 1;
        }
        res = imap__ws_try(t, ai, budget);
        if (res == IMAP_OK) break;
    }
    freeaddrinfo(list);
    if (res != IMAP_OK) return res;
    imap__ws_transport(t, out);
    return IMAP_OK;
}

IMAPDEF imap_result imap_tcp_attach(imap_tcp *t, size_t sock, long timeout_ms,
                                    imap_transport *out)
{
    u_long on = 1;
    imap__ws_reset(t, timeout_ms);
    if (sock == IMAP_TCP_NO_SOCKET) return IMAP_E_ARGS;
    if (ioctlsocket((SOCKET)sock, (long)FIONBIO, &on) != 0) {
        t->error = WSAGetLastError();
        return IMAP_E_IO;
    }
    t->sock = sock;
    imap__ws_transport(t, out);
    return IMAP_OK;
}

IMAPDEF void imap_tcp_set_timeout(imap_tcp *t, long timeout_ms)
{
    t->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

IMAPDEF void imap_tcp_set_nonblocking(imap_tcp *t, int on) { t->nonblocking = on != 0; }

IMAPDEF int imap_tcp_close(imap_tcp *t)
{
    int rc = 0;
    if (t->sock != IMAP_TCP_NO_SOCKET && closesocket((SOCKET)t->sock) != 0) {
        t->error = WSAGetLastError();
        rc = -1;
    }
    t->sock = IMAP_TCP_NO_SOCKET;
    return rc;
}
#endif /* 8f. Winsock TCP */

#ifdef IMAP_WITH_BEARSSL
/* -- 8d. TLS (BearSSL) -- */

#ifndef IMAP_NO_POSIX
#include <dirent.h>
#include <sys/stat.h>
#endif

#ifndef IMAP_TLS_BIDI
#define IMAP_TLS_BIDI (IMAP_TLS_BUFSIZE >= BR_SSL_BUFSIZE_BIDI)
#endif
#define IMAP__TLS_ALIGN 16u
#define IMAP__TLS_PEER_MAX 8192u
#define IMAP__TLS_FILE_MAX (64L << 20)   /* a PEM file larger is a mistake */

/* What a PEM source is read for. */
#define IMAP__TLS_WANT_ANCHORS 1
#define IMAP__TLS_WANT_CHAIN   2
#define IMAP__TLS_WANT_KEY     4

/* The object being decoded. */
enum { IMAP__TLS_OBJ_NONE = 0, IMAP__TLS_OBJ_ANCHOR, IMAP__TLS_OBJ_CERT, IMAP__TLS_OBJ_KEY };

/* Scratch space of imap_tls_init, laid over the record buffer, which is
   not in use before the first handshake. */
typedef struct imap__tls_load {
    br_pem_decoder_context pem;
    br_x509_decoder_context dec;
    br_skey_decoder_context sk;
    int want;                 /* IMAP__TLS_WANT_* */
    int obj;                  /* IMAP__TLS_OBJ_* */
    size_t mark;              /* t->_front when the object began */
    size_t found;             /* objects this source gave */
    int err;                  /* a hard failure (imap_result), 0 none */
    int extra;                /* bytes came after the object's DER */
    unsigned char chunk[512];
#ifndef IMAP_NO_POSIX
    char path[1024];
#endif
} imap__tls_load;

typedef char imap__tls_load_fits[sizeof(imap__tls_load) <= IMAP_TLS_BUFSIZE ? 1 : -1];

static const uint16_t imap__tls_secure_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
};

static const uint16_t imap__tls_no_ssl_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
};

static void imap__tls_cat(imap_tls *t, const char *s);

static imap_result imap__tls_fail(imap_tls *t, int result, int bearssl_error)
{
    if (!t->result) {
        t->result = result;
        t->bearssl_error = bearssl_error;
        /* words for what the certificate checks did not explain */
        if (!t->detail[0] && !t->_handshaken && t->_rx_plain &&
            (result == IMAP_E_TLS_HANDSHAKE || result == IMAP_E_IO || result == IMAP_E_TLS)) {
            imap__tls_cat(t, "the server answered in plaintext (\"* ...\"): this port does not "
                             "speak TLS (use STARTTLS, or the TLS port, 993)");
        } else if (!t->detail[0] && result == IMAP_E_TLS_HANDSHAKE && bearssl_error >= 256) {
            imap__tls_cat(t, bearssl_error >= 512 ? "we sent the TLS alert " : "the server sent the TLS alert ");
            imap__cat_num(t->detail, sizeof t->detail, (imap_u64)(bearssl_error & 255));
            if ((bearssl_error & 255) == 40 || (bearssl_error & 255) == 70)
                imap__tls_cat(t, " (no TLS version or cipher suite in common)");
        } else if (!t->detail[0] && (result == IMAP_E_TLS_HANDSHAKE || result == IMAP_E_TLS)) {
            imap__tls_cat(t, "TLS failed (BearSSL error ");
            imap__cat_num(t->detail, sizeof t->detail, (imap_u64)bearssl_error);
            imap__tls_cat(t, ")");
        } else if (!t->detail[0] && result == IMAP_E_IO && !t->_handshaken) {
            imap__tls_cat(t, "the connection failed or closed during the TLS handshake");
        } else if (!t->detail[0] && result == IMAP_E_TIMEOUT) {
            imap__tls_cat(t, "the TLS handshake took longer than timeout_ms");
        }
    }
    return (imap_result)t->result;
}

/* BearSSL's error number to a result code. */
static int imap__tls_map(const imap_tls *t, int err)
{
    if (t->_cb_failed) return IMAP_E_TLS_HANDSHAKE;
    if (err >= 32 && err < 64) {
        switch (t->cert_problem) {
        case IMAP_CERT_UNKNOWN_CA: case IMAP_CERT_SELF_SIGNED: case IMAP_CERT_INCOMPLETE_CHAIN:
        case IMAP_CERT_ISSUER_NOT_CA: case IMAP_CERT_BAD_CHAIN:
            return IMAP_E_TLS_UNKNOWN_CA;
        case IMAP_CERT_EXPIRED: case IMAP_CERT_NOT_YET_VALID:
            return IMAP_E_TLS_EXPIRED;
        case IMAP_CERT_WEAK_KEY: case IMAP_CERT_WEAK_SIGNATURE: case IMAP_CERT_WRONG_PURPOSE:
            return IMAP_E_TLS_POLICY;
        case IMAP_CERT_HOSTNAME: case IMAP_CERT_IP:
            return IMAP_E_TLS_HOSTNAME;
        case IMAP_CERT_MALFORMED: case IMAP_CERT_CALLBACK:
            return IMAP_E_TLS_HANDSHAKE;
        default:
            break;
        }
    }
    switch (err) {
    case BR_ERR_OK:
        return IMAP_E_TLS_CLOSED;               /* close_notify */
    case BR_ERR_X509_NOT_TRUSTED:
    case BR_ERR_X509_DN_MISMATCH:               /* the chain is broken */
    case BR_ERR_X509_BAD_SIGNATURE:
    case BR_ERR_X509_NOT_CA:
        return IMAP_E_TLS_UNKNOWN_CA;
    case BR_ERR_X509_EXPIRED:
        return IMAP_E_TLS_EXPIRED;
    case BR_ERR_X509_BAD_SERVER_NAME:
        return IMAP_E_TLS_HOSTNAME;
    default:
        return t->_handshaken ? IMAP_E_TLS : IMAP_E_TLS_HANDSHAKE;
    }
}

/* The engine is closed: say why. */
static imap_result imap__tls_closed(imap_tls *t)
{
    int err = br_ssl_engine_last_error(&t->cc.eng);
    return imap__tls_fail(t, imap__tls_map(t, err), err);
}

/* ---- caller memory: bytes grow up from the start (_front), the anchor
   array grows down from the aligned end (_nta entries), so the array is
   contiguous whatever the count. Once something does not fit, nothing
   more is written and only the need is counted (_over). */

static br_x509_trust_anchor *imap__tls_anchors(imap_tls *t)
{
    if (!t->_mem) return NULL;
    return (br_x509_trust_anchor *)(void *)(t->_mem + t->_end) - t->_nta;
}

/* The most the front and the anchors took at once: an object dropped
   after it was written still needed its room (`needed` counts it). */
static void imap__tls_peak(imap_tls *t)
{
    size_t a = t->_nta * sizeof(br_x509_trust_anchor);
    size_t u = t->_front <= (size_t)-1 - a ? t->_front + a : (size_t)-1;
    if (u > t->_peak) t->_peak = u;
}

static unsigned char *imap__tls_take(imap_tls *t, size_t len)
{
    size_t used = t->_nta * sizeof(br_x509_trust_anchor);
    size_t limit = used <= t->_end ? t->_end - used : 0;
    unsigned char *p = NULL;
    if (!t->_over && t->_mem && t->_front <= limit && len <= limit - t->_front)
        p = t->_mem + t->_front;
    else
        t->_over = 1;
    t->_front = len <= (size_t)-1 - t->_front ? t->_front + len : (size_t)-1;
    imap__tls_peak(t);
    return p;
}

static unsigned char *imap__tls_put(imap_tls *t, const void *src, size_t len)
{
    unsigned char *p = imap__tls_take(t, len);
    if (p && len) memcpy(p, src, len);
    return p;
}

/* PEM data callbacks */
static void imap__tls_put_cb(void *ctx, const void *buf, size_t len)
{
    imap__tls_put((imap_tls *)ctx, buf, len);
}

/* The decoders stop at the end of their DER object or at an error, and
   must not be pushed more (BearSSL's machine has nowhere to go: a PEM
   body with bytes after its certificate crashed it; fuzz_tls). Bytes
   after the end make the object damaged, however the lines fell. */
static void imap__tls_dec_cb(void *ctx, const void *buf, size_t len)
{
    imap__tls_load *L = (imap__tls_load *)ctx;
    if (br_x509_decoder_last_error(&L->dec) == BR_ERR_X509_TRUNCATED)
        br_x509_decoder_push(&L->dec, buf, len);
    else if (len)
        L->extra = 1;
}

static void imap__tls_skey_cb(void *ctx, const void *buf, size_t len)
{
    imap__tls_load *L = (imap__tls_load *)ctx;
    if (br_skey_decoder_last_error(&L->sk) == BR_ERR_X509_TRUNCATED)
        br_skey_decoder_push(&L->sk, buf, len);
    else if (len)
        L->extra = 1;
}

/* A decoded certificate becomes an anchor: its DN is already at
   L->mark (the decoder streamed it there), the key follows. Certificates
   BearSSL cannot use (an unknown key type) are skipped, and one already
   loaded is not loaded twice (a directory often holds a bundle and its
   parts). */
static void imap__tls_add_anchor(imap_tls *t, imap__tls_load *L)
{
    br_x509_pkey *pk = br_x509_decoder_get_pkey(&L->dec);
    br_x509_trust_anchor ta;
    size_t i, used;
    if (!pk || L->extra) {
        t->_front = L->mark;
        return;
    }
    memset(&ta, 0, sizeof ta);
    ta.dn.len = t->_front - L->mark;
    ta.flags = br_x509_decoder_isCA(&L->dec) ? BR_X509_TA_CA : 0;
    ta.pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta.pkey.key.rsa.n = imap__tls_put(t, pk->key.rsa.n, pk->key.rsa.nlen);
        ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta.pkey.key.rsa.e = imap__tls_put(t, pk->key.rsa.e, pk->key.rsa.elen);
        ta.pkey.key.rsa.elen = pk->key.rsa.elen;
    } else {
        ta.pkey.key.ec.curve = pk->key.ec.curve;
        ta.pkey.key.ec.q = imap__tls_put(t, pk->key.ec.q, pk->key.ec.qlen);
        ta.pkey.key.ec.qlen = pk->key.ec.qlen;
    }
    L->found++;
    used = (t->_nta + 1) * sizeof ta;
    if (!t->_over && (used > t->_end || t->_front > t->_end - used)) t->_over = 1;
    if (t->_over) {
        t->_nta++;                      /* counted for `needed` */
        imap__tls_peak(t);
        return;
    }
    ta.dn.data = t->_mem + L->mark;
    for (i = 0; i < t->_nta; i++) {
        const br_x509_trust_anchor *o = imap__tls_anchors(t) + i;
        int same = o->dn.len == ta.dn.len && o->pkey.key_type == ta.pkey.key_type &&
                   memcmp(o->dn.data, ta.dn.data, ta.dn.len) == 0;
        if (same && ta.pkey.key_type == BR_KEYTYPE_RSA)
            same = o->pkey.key.rsa.nlen == ta.pkey.key.rsa.nlen &&
                   o->pkey.key.rsa.elen == ta.pkey.key.rsa.elen &&
                   memcmp(o->pkey.key.rsa.n, ta.pkey.key.rsa.n, ta.pkey.key.rsa.nlen) == 0 &&
                   memcmp(o->pkey.key.rsa.e, ta.pkey.key.rsa.e, ta.pkey.key.rsa.elen) == 0;
        else if (same)
            same = o->pkey.key.ec.curve == ta.pkey.key.ec.curve &&
                   o->pkey.key.ec.qlen == ta.pkey.key.ec.qlen &&
                   memcmp(o->pkey.key.ec.q, ta.pkey.key.ec.q, ta.pkey.key.ec.qlen) == 0;
        if (same) {
            t->_front = L->mark;
            return;
        }
    }
    t->_nta++;
    imap__tls_peak(t);
    *imap__tls_anchors(t) = ta;
}

/* A decoded private key: copy its parts next to the chain. */
static void imap__tls_add_key(imap_tls *t, imap__tls_load *L)
{
    const br_rsa_private_key *rk = br_skey_decoder_get_rsa(&L->sk);
    const br_ec_private_key *ek = br_skey_decoder_get_ec(&L->sk);
    if (rk) {
        br_rsa_private_key *k = &t->_key.rsa;
        k->n_bitlen = rk->n_bitlen;
        k->p = imap__tls_put(t, rk->p, rk->plen);
        k->plen = rk->plen;
        k->q = imap__tls_put(t, rk->q, rk->qlen);
        k->qlen = rk->qlen;
        k->dp = imap__tls_put(t, rk->dp, rk->dplen);
        k->dplen = rk->dplen;
        k->dq = imap__tls_put(t, rk->dq, rk->dqlen);
        k->dqlen = rk->dqlen;
        k->iq = imap__tls_put(t, rk->iq, rk->iqlen);
        k->iqlen = rk->iqlen;
        t->_key_type = BR_KEYTYPE_RSA;
    } else if (ek) {
        t->_key.ec.curve = ek->curve;
        t->_key.ec.x = imap__tls_put(t, ek->x, ek->xlen);
        t->_key.ec.xlen = ek->xlen;
        t->_key_type = BR_KEYTYPE_EC;
    } else {
        L->err = IMAP_E_ARGS;           /* not a key BearSSL can use */
        return;
    }
    L->found++;
}

static void imap__tls_obj_begin(imap_tls *t, imap__tls_load *L, const char *name)
{
    int cert = strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0 ||
               strcmp(name, "TRUSTED CERTIFICATE") == 0;
    int key = strcmp(name, "RSA PRIVATE KEY") == 0 || strcmp(name, "EC PRIVATE KEY") == 0 ||
              strcmp(name, "PRIVATE KEY") == 0;
    L->obj = IMAP__TLS_OBJ_NONE;
    L->mark = t->_front;
    L->extra = 0;
    if (cert && (L->want & IMAP__TLS_WANT_ANCHORS)) {
        br_x509_decoder_init(&L->dec, imap__tls_put_cb, t);
        br_pem_decoder_setdest(&L->pem, imap__tls_dec_cb, L);
        L->obj = IMAP__TLS_OBJ_ANCHOR;
    } else if (cert && (L->want & IMAP__TLS_WANT_CHAIN)) {
        if (t->_nchain >= IMAP_TLS_MAX_CHAIN) {
            L->err = IMAP_E_LIMIT;
        } else {
            br_pem_decoder_setdest(&L->pem, imap__tls_put_cb, t);
            L->obj = IMAP__TLS_OBJ_CERT;
        }
    } else if (key && (L->want & IMAP__TLS_WANT_KEY) && !t->_key_type) {
        br_skey_decoder_init(&L->sk);
        br_pem_decoder_setdest(&L->pem, imap__tls_skey_cb, L);
        L->obj = IMAP__TLS_OBJ_KEY;
    } else if ((L->want & IMAP__TLS_WANT_KEY) && !t->_key_type &&
               strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
        L->err = IMAP_E_UNSUPPORTED;     /* we hold no passphrase */
    }
    if (L->obj == IMAP__TLS_OBJ_NONE) br_pem_decoder_setdest(&L->pem, 0, 0);
}

static void imap__tls_obj_end(imap_tls *t, imap__tls_load *L)
{
    switch (L->obj) {
    case IMAP__TLS_OBJ_ANCHOR:
        imap__tls_add_anchor(t, L);
        break;
    case IMAP__TLS_OBJ_CERT:
        t->_chain[t->_nchain].data = t->_over ? NULL : t->_mem + L->mark;
        t->_chain[t->_nchain].data_len = t->_front - L->mark;
        t->_nchain++;
        L->found++;
        break;
    case IMAP__TLS_OBJ_KEY:
        if (br_skey_decoder_last_error(&L->sk) == 0 && !L->extra) imap__tls_add_key(t, L);
        else L->err = IMAP_E_ARGS;
        break;
    default:
        break;
    }
    L->obj = IMAP__TLS_OBJ_NONE;
}

/* A damaged object is dropped with what it had written. */
static void imap__tls_obj_drop(imap_tls *t, imap__tls_load *L)
{
    if (L->obj != IMAP__TLS_OBJ_NONE) t->_front = L->mark;
    L->obj = IMAP__TLS_OBJ_NONE;
}

static void imap__tls_pem_begin(imap__tls_load *L)
{
    br_pem_decoder_init(&L->pem);
    L->obj = IMAP__TLS_OBJ_NONE;
}

static void imap__tls_pem_feed(imap_tls *t, imap__tls_load *L, const void *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    while (len > 0 && !L->err) {
        size_t k = br_pem_decoder_push(&L->pem, s, len);
        s += k;
        len -= k;
        switch (br_pem_decoder_event(&L->pem)) {
        case BR_PEM_BEGIN_OBJ:
            imap__tls_obj_begin(t, L, br_pem_decoder_name(&L->pem));
            break;
        case BR_PEM_END_OBJ:
            imap__tls_obj_end(t, L);
            break;
        case BR_PEM_ERROR:
            imap__tls_obj_drop(t, L);
            break;
        default:
            if (k == 0) return;          /* no progress and no event */
            break;
        }
    }
}

/* The end of a source: a last line break lets an unterminated END line
   count; an object still open is truncated. */
static void imap__tls_pem_end(imap_tls *t, imap__tls_load *L)
{
    imap__tls_pem_feed(t, L, "\n", 1);
    imap__tls_obj_drop(t, L);
}

static int imap__tls_load_mem(imap_tls *t, imap__tls_load *L, const char *pem,
                              size_t len, int want)
{
    L->want = want;
    L->found = 0;
    L->err = 0;
    imap__tls_pem_begin(L);
    imap__tls_pem_feed(t, L, pem, len ? len : strlen(pem));
    imap__tls_pem_end(t, L);
    if (L->err) return L->err;
    return L->found ? IMAP_OK : IMAP_E_ARGS;
}

#ifndef IMAP_NO_POSIX
/* Feed one file; L->found accumulates. */
static int imap__tls_feed_file(imap_tls *t, imap__tls_load *L, const char *path)
{
    long total = 0;
    int fd, flags = O_RDONLY;
#ifdef O_CLOEXEC
    flags |= O_CLOEXEC;
#endif
    fd = open(path, flags);
    if (fd < 0) {
        int e = errno;
        t->detail[0] = 0;
        imap__tls_cat(t, "cannot read ");
        imap__tls_cat(t, path);
        imap__tls_cat(t, ": ");
        imap__tls_cat(t, strerror(e));
        return IMAP_E_IO;
    }
    imap__tls_pem_begin(L);
    for (;;) {
        ssize_t n = read(fd, L->chunk, sizeof L->chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            close(fd);
            return IMAP_E_IO;
        }
        if (n == 0) break;
        total += (long)n;
        if (total > IMAP__TLS_FILE_MAX) {
            close(fd);
            return IMAP_E_LIMIT;
        }
        imap__tls_pem_feed(t, L, L->chunk, (size_t)n);
        if (L->err) break;
    }
    close(fd);
    imap__tls_pem_end(t, L);
    return L->err;
}

static int imap__tls_load_file(imap_tls *t, imap__tls_load *L, const char *path, int want)
{
    int rc;
    L->want = want;
    L->found = 0;
    L->err = 0;
    rc = imap__tls_feed_file(t, L, path);
    if (rc) return rc;
    return L->found ? IMAP_OK : IMAP_E_ARGS;
}

/* Every regular file of a directory (not dot files); files without a
   certificate, or unreadable, add nothing. */
static int imap__tls_load_dir(imap_tls *t, imap__tls_load *L, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t dl = strlen(dir);
    if (!d) {
        int er = errno;
        t->detail[0] = 0;
        imap__tls_cat(t, "cannot read the directory ");
        imap__tls_cat(t, dir);
        imap__tls_cat(t, ": ");
        imap__tls_cat(t, strerror(er));
        return IMAP_E_IO;
    }
    L->want = IMAP__TLS_WANT_ANCHORS;
    L->found = 0;
    L->err = 0;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        size_t nl = strlen(e->d_name);
        int rc;
        if (e->d_name[0] == '.' || dl + 1 + nl + 1 > sizeof L->path) continue;
        memcpy(L->path, dir, dl);
        L->path[dl] = '/';
        memcpy(L->path + dl + 1, e->d_name, nl + 1);
        if (stat(L->path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        rc = imap__tls_feed_file(t, L, L->path);
        if (rc == IMAP_E_IO) continue;
        if (rc) {
            closedir(d);
            return rc;
        }
    }
    closedir(d);
    return L->found ? IMAP_OK : IMAP_E_ARGS;
}
#endif

/* ---- what a browser checks and BearSSL's minimal engine does not: each
   certificate is also read by this small DER reader as it streams past
   (no copy, no recursion: an explicit stack of IMAP__DER_DEPTH ends, and
   only the elements that matter are entered; anything else is skipped
   by its length). It learns the signature algorithm, the key size, the
   dates, whether the issuer is the subject, basicConstraints, and for
   the server's certificate the EKU and the iPAddress SANs (RFC 5280
   §4.1, §4.2.1.6, §4.2.1.9, §4.2.1.12). Anything it cannot follow marks
   the certificate bad, which refuses it: a hostile certificate must not
   escape the checks by being odd. */

enum {
    IMAP__D_SKIP = 0, IMAP__D_CERT, IMAP__D_TBS, IMAP__D_SIGALG, IMAP__D_SIG_OID,
    IMAP__D_ISSUER, IMAP__D_VALIDITY, IMAP__D_NB, IMAP__D_NA, IMAP__D_SUBJECT,
    IMAP__D_SPKI, IMAP__D_SPKI_ALG, IMAP__D_SPKI_OID, IMAP__D_CURVE, IMAP__D_RSA_BITS,
    IMAP__D_RSA_SEQ, IMAP__D_RSA_N, IMAP__D_EXTS_WRAP, IMAP__D_EXTS, IMAP__D_EXT,
    IMAP__D_EXT_ID, IMAP__D_EXT_VAL, IMAP__D_EKU, IMAP__D_EKU_OID, IMAP__D_SAN,
    IMAP__D_SAN_IP, IMAP__D_SAN_DNS, IMAP__D_BC, IMAP__D_BC_CA
};
/* the extensions entered */
enum { IMAP__X_NONE = 0, IMAP__X_EKU, IMAP__X_SAN, IMAP__X_BC };
/* reader states */
enum { IMAP__DS_TAG = 0, IMAP__DS_LEN, IMAP__DS_LENN, IMAP__DS_BODY, IMAP__DS_UNUSED, IMAP__DS_DONE };

static int imap__oid_is(const imap__tls_der *d, const char *der, size_t n)
{
    return d->blen == n && memcmp(d->buf, der, n) == 0;
}

/* Which element a child is, from its parent, its index and its tag.
   A container is entered; anything else is read (or skipped) whole. */
static int imap__der_sem(imap_tls *t, int parent, unsigned idx, unsigned tag, int *container)
{
    imap__tls_der *d = &t->_der;
    *container = 0;
    switch (parent) {
    case -1:
        *container = 1;
        return tag == 0x30 ? IMAP__D_CERT : -1;
    case IMAP__D_CERT:
        if (idx == 0 || idx == 1) {
            *container = 1;
            if (tag != 0x30) return -1;
            return idx == 0 ? IMAP__D_TBS : IMAP__D_SIGALG;
        }
        return IMAP__D_SKIP;
    case IMAP__D_TBS:
        if (idx == 0 && tag == 0xa0) {
            d->version = 1;
            return IMAP__D_SKIP;
        }
        switch (idx - d->version) {
        case 2: return IMAP__D_ISSUER;
        case 3: *container = 1; return tag == 0x30 ? IMAP__D_VALIDITY : -1;
        case 4: return IMAP__D_SUBJECT;
        case 5: *container = 1; return tag == 0x30 ? IMAP__D_SPKI : -1;
        default:
            if (tag == 0xa3) {
                *container = 1;
                return IMAP__D_EXTS_WRAP;
            }
            return IMAP__D_SKIP;
        }
    case IMAP__D_SIGALG:
        return idx == 0 ? (tag == 0x06 ? IMAP__D_SIG_OID : -1) : IMAP__D_SKIP;
    case IMAP__D_VALIDITY:
        if (idx > 1 || (tag != 0x17 && tag != 0x18)) return -1;
        return idx == 0 ? IMAP__D_NB : IMAP__D_NA;
    case IMAP__D_SPKI:
        if (idx == 0) {
            *container = 1;
            return tag == 0x30 ? IMAP__D_SPKI_ALG : -1;
        }
        if (idx == 1 && t->_seen[t->_ncert].key_type == 1) {
            *container = 1;
            return tag == 0x03 ? IMAP__D_RSA_BITS : -1;
        }
        return IMAP__D_SKIP;
    case IMAP__D_SPKI_ALG:
        if (idx == 0) return tag == 0x06 ? IMAP__D_SPKI_OID : -1;
        return idx == 1 && tag == 0x06 ? IMAP__D_CURVE : IMAP__D_SKIP;
    case IMAP__D_RSA_BITS:
        *container = idx == 0;
        return idx == 0 && tag == 0x30 ? IMAP__D_RSA_SEQ : -1;
    case IMAP__D_RSA_SEQ:
        return idx == 0 ? (tag == 0x02 ? IMAP__D_RSA_N : -1) : IMAP__D_SKIP;
    case IMAP__D_EXTS_WRAP:
        *container = 1;
        return idx == 0 && tag == 0x30 ? IMAP__D_EXTS : -1;
    case IMAP__D_EXTS:
        *container = 1;
        d->ext = IMAP__X_NONE;
        return tag == 0x30 ? IMAP__D_EXT : -1;
    case IMAP__D_EXT:
        if (idx == 0) return tag == 0x06 ? IMAP__D_EXT_ID : -1;
        if (tag == 0x04 && d->ext != IMAP__X_NONE) {
            *container = 1;
            return IMAP__D_EXT_VAL;
        }
        return IMAP__D_SKIP;
    case IMAP__D_EXT_VAL:
        *container = 1;
        if (idx != 0 || tag != 0x30) return -1;
        return d->ext == IMAP__X_EKU ? IMAP__D_EKU : d->ext == IMAP__X_SAN ? IMAP__D_SAN : IMAP__D_BC;
    case IMAP__D_EKU:
        return tag == 0x06 ? IMAP__D_EKU_OID : -1;
    case IMAP__D_SAN:
        if (tag == 0x87) return IMAP__D_SAN_IP;
        if (tag == 0x82) return IMAP__D_SAN_DNS;
        return IMAP__D_SKIP;
    case IMAP__D_BC:
        return idx == 0 && tag == 0x01 ? IMAP__D_BC_CA : IMAP__D_SKIP;
    default:
        return -1;
    }
}

/* Seconds since 1970 of a UTCTime or GeneralizedTime (RFC 5280
   §4.1.2.5: Z, seconds present); -1 if malformed. */
static long long imap__der_time(const unsigned char *s, size_t n, unsigned tag)
{
    int v[7], i, k = 0;
    long long y, m, days;
    size_t dig = tag == 0x17 ? 12 : 14;
    if (n != dig + 1 || s[dig] != 'Z') return -1;
    for (i = 0; (size_t)i < dig; i++)
        if (s[i] < '0' || s[i] > '9') return -1;
    if (tag == 0x17) {
        y = (s[0] - '0') * 10 + (s[1] - '0');
        y += y < 50 ? 2000 : 1900;
        k = 2;
    } else {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        k = 4;
    }
    for (i = 0; i < 5; i++) v[i] = (s[k + 2 * i] - '0') * 10 + (s[k + 2 * i + 1] - '0');
    if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 31 || v[2] > 23 || v[3] > 59 || v[4] > 60)
        return -1;
    /* days from civil (proleptic Gregorian) */
    m = v[0];
    if (m <= 2) y--;
    {
        long long era = (y >= 0 ? y : y - 399) / 400;
        long long yoe = y - era * 400;
        long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + v[1] - 1;
        long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        days = era * 146097 + doe - 719468;
    }
    return days * 86400 + v[2] * 3600 + v[3] * 60 + v[4];
}

/* A primitive's content bytes as they arrive. */
static void imap__der_content(imap_tls *t, const unsigned char *p, size_t n)
{
    imap__tls_der *d = &t->_der;
    size_t i;
    switch (d->psem) {
    case IMAP__D_ISSUER:
    case IMAP__D_SUBJECT: {
        unsigned long long *h = d->psem == IMAP__D_ISSUER ? &d->h_issuer : &d->h_subject;
        for (i = 0; i < n; i++) *h = (*h ^ p[i]) * 1099511628211ull;    /* FNV-1a */
        break;
    }
    case IMAP__D_RSA_N:
        for (i = 0; i < n; i++) {
            if (d->nbytes == 0 && p[i] == 0) continue;
            if (d->nbytes == 0) d->nfirst = p[i];
            if (d->nbytes < 0x10000000ul) d->nbytes++;
        }
        break;
    case IMAP__D_SKIP:
    case IMAP__D_SAN_DNS:
        break;
    default:
        for (i = 0; i < n; i++) {
            if (d->blen < sizeof d->buf) d->buf[d->blen] = p[i];
            d->blen++;
        }
        break;
    }
}

/* A primitive is complete. */
static void imap__der_prim_end(imap_tls *t)
{
    imap__tls_der *d = &t->_der;
    imap__tls_cert *c = &t->_seen[t->_ncert];
    int leaf = t->_ncert == 0;
    size_t n = d->blen;
    if (n > sizeof d->buf) {
        /* longer than anything we compare: an unknown OID, a bad time */
        if (d->psem == IMAP__D_NB || d->psem == IMAP__D_NA || d->psem == IMAP__D_SAN_IP ||
            d->psem == IMAP__D_BC_CA) c->bad = 1;
        d->blen = 0;
        return;
    }
    switch (d->psem) {
    case IMAP__D_SIG_OID:
        /* sha1WithRSAEncryption, ecdsa-with-SHA1, dsa-with-sha1; md5, md2 with RSA */
        if (imap__oid_is(d, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05", 9) ||
            imap__oid_is(d, "\x2a\x86\x48\xce\x3d\x04\x01", 7) ||
            imap__oid_is(d, "\x2a\x86\x48\xce\x38\x04\x03", 7) ||
            imap__oid_is(d, "\x2b\x0e\x03\x02\x1d", 5))
            c->sig = 1;
        else if (imap__oid_is(d, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04", 9) ||
                 imap__oid_is(d, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x02", 9) ||
                 imap__oid_is(d, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x03", 9))
            c->sig = 2;
        break;
    case IMAP__D_NB:
    case IMAP__D_NA: {
        long long v = imap__der_time(d->buf, n, d->tag);
        if (v == -1) c->bad = 1;
        if (d->psem == IMAP__D_NB) c->not_before = v;
        else c->not_after = v;
        c->dates = 1;
        break;
    }
    case IMAP__D_SPKI_OID:
        if (imap__oid_is(d, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 9)) c->key_type = 1;
        else if (imap__oid_is(d, "\x2a\x86\x48\xce\x3d\x02\x01", 7)) c->key_type = 2;
        break;
    case IMAP__D_CURVE:
        if (c->key_type != 2) break;
        if (imap__oid_is(d, "\x2a\x86\x48\xce\x3d\x03\x01\x07", 8)) c->key_bits = 256;
        else if (imap__oid_is(d, "\x2b\x81\x04\x00\x22", 5)) c->key_bits = 384;
        else if (imap__oid_is(d, "\x2b\x81\x04\x00\x23", 5)) c->key_bits = 521;
        else if (imap__oid_is(d, "\x2a\x86\x48\xce\x3d\x03\x01\x01", 8)) c->key_bits = 192;
        else if (imap__oid_is(d, "\x2b\x81\x04\x00\x21", 5)) c->key_bits = 224;
        break;
    case IMAP__D_RSA_N: {
        unsigned long bits = d->nbytes * 8;
        unsigned char f = d->nfirst;
        while (bits && !(f & 0x80)) {
            f = (unsigned char)(f << 1);
            bits--;
        }
        c->key_bits = bits > 0xffffu ? 0xffffu : (unsigned)bits;
        break;
    }
    case IMAP__D_EXT_ID:
        d->ext = imap__oid_is(d, "\x55\x1d\x25", 3) && leaf ? IMAP__X_EKU :
                 imap__oid_is(d, "\x55\x1d\x11", 3) && leaf ? IMAP__X_SAN :
                 imap__oid_is(d, "\x55\x1d\x13", 3) ? IMAP__X_BC : IMAP__X_NONE;
        if (d->ext == IMAP__X_EKU) t->_eku = 1;
        break;
    case IMAP__D_EKU_OID:
        /* id-kp-serverAuth (1.3.6.1.5.5.7.3.1), anyExtendedKeyUsage */
        if (imap__oid_is(d, "\x2b\x06\x01\x05\x05\x07\x03\x01", 8) ||
            imap__oid_is(d, "\x55\x1d\x25\x00", 4))
            t->_eku = 2;
        break;
    case IMAP__D_SAN_IP:
        if (n != 4 && n != 16) c->bad = 1;
        else if (t->_nsan < IMAP__TLS_IPS) {
            memcpy(t->_sans[t->_nsan], d->buf, n);
            t->_sanlen[t->_nsan++] = (unsigned char)n;
        }
        break;
    case IMAP__D_BC_CA:
        c->ca = n == 1 && d->buf[0] != 0;
        break;
    default:
        break;
    }
    if (d->psem == IMAP__D_SAN_DNS) t->_has_dns = 1;
    d->blen = 0;
}

/* Close every element that ends here. */
static void imap__der_pop(imap_tls *t)
{
    imap__tls_der *d = &t->_der;
    while (d->depth && d->off == d->end[d->depth - 1]) {
        if (d->sem[d->depth - 1] == IMAP__D_EXT) d->ext = IMAP__X_NONE;
        d->depth--;
    }
    d->st = d->depth ? IMAP__DS_TAG : IMAP__DS_DONE;
}

/* A header is read: enter, read or skip the element. */
static void imap__der_header(imap_tls *t)
{
    imap__tls_der *d = &t->_der;
    imap__tls_cert *c = &t->_seen[t->_ncert];
    int container, sem, parent = d->depth ? d->sem[d->depth - 1] : -1;
    unsigned idx = d->depth ? d->idx[d->depth - 1] : d->roots;
    /* the root is bounded by start_cert's length, kept in end[0] */
    unsigned long limit = d->end[d->depth ? d->depth - 1 : 0];
    if (d->depth) {
        if (d->idx[d->depth - 1] < 255) d->idx[d->depth - 1]++;
    } else {
        d->roots++;
    }
    if (d->len > limit - d->off) {
        c->bad = 1;
        return;
    }
    sem = imap__der_sem(t, parent, idx, d->tag, &container);
    if (sem < 0 || (!d->depth && idx > 0)) {
        c->bad = 1;
        return;
    }
    if (container) {
        if (d->depth >= IMAP__DER_DEPTH) {
            c->bad = 1;
            return;
        }
        d->end[d->depth] = d->off + d->len;
        d->sem[d->depth] = (unsigned char)sem;
        d->idx[d->depth] = 0;
        d->depth++;
        if (sem == IMAP__D_RSA_BITS) {
            /* a BIT STRING's first byte counts its unused bits: 0 here */
            if (d->len == 0) c->bad = 1;
            d->st = IMAP__DS_UNUSED;
            return;
        }
        if (d->len == 0) imap__der_pop(t);
        else d->st = IMAP__DS_TAG;
        return;
    }
    d->psem = (unsigned char)sem;
    d->pleft = d->len;
    d->blen = 0;
    d->nbytes = 0;
    if (d->len == 0) {
        imap__der_prim_end(t);
        imap__der_pop(t);
    } else {
        d->st = IMAP__DS_BODY;
    }
}

static void imap__der_push(imap_tls *t, const unsigned char *p, size_t n)
{
    imap__tls_der *d = &t->_der;
    imap__tls_cert *c;
    if (t->_ncert >= IMAP__TLS_SEEN) return;
    c = &t->_seen[t->_ncert];
    while (n && !c->bad) {
        unsigned char b;
        if (d->st == IMAP__DS_BODY) {
            size_t k = d->pleft < n ? (size_t)d->pleft : n;
            imap__der_content(t, p, k);
            p += k;
            n -= k;
            d->off += (unsigned long)k;
            d->pleft -= (unsigned long)k;
            if (!d->pleft) {
                imap__der_prim_end(t);
                imap__der_pop(t);
            }
            continue;
        }
        if (d->st == IMAP__DS_DONE) {
            c->bad = 1;                 /* bytes after the certificate */
            break;
        }
        b = *p++;
        n--;
        d->off++;
        switch (d->st) {
        case IMAP__DS_TAG:
            d->tag = b;
            if ((b & 0x1f) == 0x1f) c->bad = 1;    /* no high tag numbers in X.509 */
            d->st = IMAP__DS_LEN;
            break;
        case IMAP__DS_LEN:
            if (b < 0x80) {
                d->len = b;
                imap__der_header(t);
            } else if (b >= 0x81 && b <= 0x83) {
                d->len = 0;
                d->lenleft = b & 0x7fu;
                d->st = IMAP__DS_LENN;
            } else {
                c->bad = 1;             /* indefinite, or over 16 MiB */
            }
            break;
        case IMAP__DS_LENN:
            d->len = d->len << 8 | b;
            if (--d->lenleft == 0) imap__der_header(t);
            break;
        case IMAP__DS_UNUSED:
            if (b != 0) c->bad = 1;
            if (d->off == d->end[d->depth - 1]) imap__der_pop(t);
            else d->st = IMAP__DS_TAG;
            break;
        default:
            c->bad = 1;
            break;
        }
    }
}

static void imap__der_start(imap_tls *t, uint32_t length)
{
    imap__tls_der *d = &t->_der;
    memset(d, 0, sizeof *d);
    d->end[0] = length;
    d->h_issuer = d->h_subject = 14695981039346656037ull;
    if (t->_ncert < IMAP__TLS_SEEN) memset(&t->_seen[t->_ncert], 0, sizeof t->_seen[0]);
}

static void imap__der_end(imap_tls *t)
{
    imap__tls_der *d = &t->_der;
    imap__tls_cert *c;
    if (t->_ncert >= IMAP__TLS_SEEN) return;
    c = &t->_seen[t->_ncert];
    if (d->st != IMAP__DS_DONE || !c->dates) c->bad = 1;
    c->self_issued = d->h_issuer == d->h_subject;
}

/* A dotted IPv4 address in s[0..n): 1 and out[0..4), or 0. */
static int imap__ip4_parse(const char *s, size_t n, unsigned char out[4])
{
    size_t i, k = 0;
    unsigned v = 0;
    int dots = 0;
    for (i = 0; i <= n; i++) {
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            if (k && v == 0) return 0;          /* leading zero */
            v = v * 10 + (unsigned)(s[i] - '0');
            if (v > 255 || ++k > 3) return 0;
        } else if ((i == n || s[i] == '.') && k && dots < 4) {
            out[dots++] = (unsigned char)v;
            v = 0;
            k = 0;
        } else {
            return 0;
        }
    }
    return dots == 4;
}

static int imap__hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* An IPv4 or IPv6 literal (RFC 3986 §3.2.2 brackets allowed) into
   out[16]: 4 or 16, or 0 when s is a DNS name. */
static size_t imap__ip_parse(const char *s, unsigned char out[16])
{
    size_t n = strlen(s), i = 0;
    int gap = -1, groups = 0;
    unsigned char w[16];
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n > 45) return 0;
    if (imap__ip4_parse(s, n, out)) return 4;
    /* IPv6 (RFC 4291 §2.2): groups of 1-4 hex digits, one "::", an IPv4 tail */
    memset(w, 0, sizeof w);
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (s[0] == ':') {
        return 0;
    }
    while (i < n) {
        size_t j = i;
        unsigned v = 0;
        while (j < n && j - i < 5 && imap__hex(s[j]) >= 0) v = v * 16 + (unsigned)imap__hex(s[j++]);
        if (j < n && s[j] == '.') {
            if (groups > 6 || !imap__ip4_parse(s + i, n - i, w + 2 * groups)) return 0;
            groups += 2;
            break;
        }
        if (j == i || j - i > 4 || groups >= 8) return 0;
        w[2 * groups] = (unsigned char)(v >> 8);
        w[2 * groups + 1] = (unsigned char)v;
        groups++;
        i = j;
        if (i == n) break;
        if (s[i] != ':') return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0) return 0;
            gap = groups;
            i++;
        } else if (i == n) {
            return 0;
        }
    }
    if (gap < 0 ? groups != 8 : groups > 7) return 0;
    memset(out, 0, 16);
    if (gap < 0) {
        memcpy(out, w, 16);
    } else {
        size_t tail = (size_t)(groups - gap) * 2;
        memcpy(out, w, (size_t)gap * 2);
        memcpy(out + 16 - tail, w + 2 * gap, tail);
    }
    return 16;
}

/* ---- the verdict in words (imap_tls.detail) ---- */

static void imap__tls_cat(imap_tls *t, const char *s) { imap__cat(t->detail, sizeof t->detail, s, strlen(s)); }

/* "certificate 1 (the issuer of the server's) " */
static void imap__tls_which(imap_tls *t, int i)
{
    imap__tls_cat(t, "certificate ");
    imap__cat_num(t->detail, sizeof t->detail, (imap_u64)i);
    imap__tls_cat(t, i == 0 ? " (the server's)" : " of the chain");
}

static void imap__tls_date(imap_tls *t, long long v)
{
    /* civil from days (proleptic Gregorian) */
    long long z = (v >= 0 ? v : v - 86399) / 86400 + 719468, era, doe, yoe, y, doy, mp, d, m;
    char b[24];
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    if (y < 0 || y > 9999) {
        imap__tls_cat(t, "a date out of range");
        return;
    }
    b[0] = (char)('0' + y / 1000);
    b[1] = (char)('0' + y / 100 % 10);
    b[2] = (char)('0' + y / 10 % 10);
    b[3] = (char)('0' + y % 10);
    b[4] = '-';
    b[5] = (char)('0' + m / 10);
    b[6] = (char)('0' + m % 10);
    b[7] = '-';
    b[8] = (char)('0' + d / 10);
    b[9] = (char)('0' + d % 10);
    b[10] = 0;
    imap__tls_cat(t, b);
}

static void imap__tls_problem(imap_tls *t, int problem, int index)
{
    t->cert_problem = problem;
    t->cert_index = index;
    t->detail[0] = 0;
    if (index >= 0) imap__tls_which(t, index);
}

static long long imap__tls_now(const imap_tls *t)
{
    if (t->_vtime) return t->_vtime;
#ifndef IMAP_NO_POSIX
    return (long long)time(NULL);
#else
    return 0;                           /* unknown: dates are not told apart */
#endif
}

/* BearSSL refused the chain: say which way, from what we read of it. */
static void imap__tls_explain(imap_tls *t, unsigned err)
{
    int n = (int)(t->_ncert < IMAP__TLS_SEEN ? t->_ncert : IMAP__TLS_SEEN), i;
    long long now = imap__tls_now(t);
    const imap__tls_cert *last = n ? &t->_seen[n - 1] : NULL;
    switch (err) {
    case BR_ERR_X509_EXPIRED:
        for (i = 0; i < n && now; i++) {
            if (t->_seen[i].not_before > now) {
                imap__tls_problem(t, IMAP_CERT_NOT_YET_VALID, i);
                imap__tls_cat(t, " is not valid before ");
                imap__tls_date(t, t->_seen[i].not_before);
                return;
            }
            if (t->_seen[i].not_after < now) {
                imap__tls_problem(t, IMAP_CERT_EXPIRED, i);
                imap__tls_cat(t, " expired on ");
                imap__tls_date(t, t->_seen[i].not_after);
                return;
            }
        }
        imap__tls_problem(t, IMAP_CERT_EXPIRED, -1);
        imap__tls_cat(t, "a certificate is expired or not yet valid");
        return;
    case BR_ERR_X509_NOT_TRUSTED:
        if (n == 1 && last->self_issued) {
            imap__tls_problem(t, IMAP_CERT_SELF_SIGNED, 0);
            imap__tls_cat(t, " is self-signed and not among the trust anchors (--cafile)");
        } else if (last && last->self_issued) {
            imap__tls_problem(t, IMAP_CERT_UNKNOWN_CA, n - 1);
            imap__tls_cat(t, " is a root CA that is not trusted (unknown CA)");
        } else {
            imap__tls_problem(t, IMAP_CERT_INCOMPLETE_CHAIN, n - 1);
            imap__tls_cat(t, " has an issuer that was not sent and is not a trust "
                             "anchor (incomplete chain, or an unknown CA)");
        }
        return;
    case BR_ERR_X509_NOT_CA:
        imap__tls_problem(t, IMAP_CERT_ISSUER_NOT_CA, -1);
        imap__tls_cat(t, "a certificate was signed by one that is not a CA");
        for (i = 1; i < n; i++)
            if (!t->_seen[i].ca) {
                imap__tls_problem(t, IMAP_CERT_ISSUER_NOT_CA, i);
                imap__tls_cat(t, " signed the one before it but is not a CA");
                break;
            }
        return;
    case BR_ERR_X509_DN_MISMATCH:
        imap__tls_problem(t, IMAP_CERT_BAD_CHAIN, -1);
        imap__tls_cat(t, "the certificates sent do not chain (an issuer name does not "
                         "match the next subject)");
        return;
    case BR_ERR_X509_BAD_SIGNATURE:
        imap__tls_problem(t, IMAP_CERT_BAD_CHAIN, -1);
        imap__tls_cat(t, "a certificate's signature does not verify");
        return;
    case BR_ERR_X509_BAD_SERVER_NAME:
        imap__tls_problem(t, IMAP_CERT_HOSTNAME, 0);
        imap__tls_cat(t, " does not name the host ");
        if (t->_name) imap__tls_cat(t, t->_name);
        return;
    case BR_ERR_X509_WEAK_PUBLIC_KEY:
        imap__tls_problem(t, IMAP_CERT_WEAK_KEY, -1);
        imap__tls_cat(t, "a certificate has an RSA key under ");
        imap__cat_num(t->detail, sizeof t->detail, (t->_relax & IMAP_TLS_RELAX_WEAK_KEY) ? 1024 : 2048);
        imap__tls_cat(t, " bits");
        for (i = 0; i < n; i++)
            if (t->_seen[i].key_type == 1 && t->_seen[i].key_bits < 2048) {
                imap__tls_problem(t, IMAP_CERT_WEAK_KEY, i);
                imap__tls_cat(t, " has a ");
                imap__cat_num(t->detail, sizeof t->detail, t->_seen[i].key_bits);
                imap__tls_cat(t, "-bit RSA key: 2048 required (IMAP_TLS_RELAX_WEAK_KEY: 1024)");
                break;
            }
        return;
    default:
        /* BearSSL has no curve under P-256: such a key fails as unsupported */
        for (i = 0; i < n; i++)
            if (t->_seen[i].key_type == 2 && t->_seen[i].key_bits && t->_seen[i].key_bits < 256) {
                imap__tls_problem(t, IMAP_CERT_WEAK_KEY, i);
                imap__tls_cat(t, " has a ");
                imap__cat_num(t->detail, sizeof t->detail, t->_seen[i].key_bits);
                imap__tls_cat(t, "-bit EC key: 256 required");
                return;
            }
        for (i = 0; i < n; i++)
            if (t->_seen[i].sig == 2) {
                imap__tls_problem(t, IMAP_CERT_WEAK_SIGNATURE, i);
                imap__tls_cat(t, " is signed with MD5 or MD2 (broken; never accepted)");
                return;
            }
        imap__tls_problem(t, IMAP_CERT_MALFORMED, -1);
        imap__tls_cat(t, "the certificate chain is malformed or uses what BearSSL lacks "
                         "(BearSSL error ");
        imap__cat_num(t->detail, sizeof t->detail, err);
        imap__tls_cat(t, ")");
        return;
    }
}

/* BearSSL accepted the chain; what a browser also checks. 0 or the
   error end_chain returns (cert_problem says which). */
static unsigned imap__tls_policy(imap_tls *t)
{
    int n = (int)t->_ncert, i;
    unsigned min_rsa = (t->_relax & IMAP_TLS_RELAX_WEAK_KEY) ? 1024 : 2048;
    if (n > IMAP__TLS_SEEN) {
        imap__tls_problem(t, IMAP_CERT_MALFORMED, -1);
        imap__tls_cat(t, "the chain is longer than " IMAP__XSTR(IMAP__TLS_SEEN) " certificates");
        return BR_ERR_X509_LIMIT_EXCEEDED;
    }
    for (i = 0; i < n; i++) {
        const imap__tls_cert *c = &t->_seen[i];
        if (c->bad) {
            imap__tls_problem(t, IMAP_CERT_MALFORMED, i);
            imap__tls_cat(t, " could not be decoded by imap.h's checks");
            return BR_ERR_X509_UNSUPPORTED;
        }
        /* a root's signature on itself proves nothing: not judged */
        if (c->sig && !(c->self_issued && i > 0) &&
            (c->sig == 2 || !(t->_relax & IMAP_TLS_RELAX_SHA1))) {
            imap__tls_problem(t, IMAP_CERT_WEAK_SIGNATURE, i);
            imap__tls_cat(t, c->sig == 2 ? " is signed with MD5 or MD2 (broken; never accepted)"
                                         : " is signed with SHA-1 (IMAP_TLS_RELAX_SHA1 accepts it)");
            return BR_ERR_X509_NOT_TRUSTED;
        }
        if ((c->key_type == 1 && c->key_bits < min_rsa) ||
            (c->key_type == 2 && c->key_bits && c->key_bits < 256)) {
            imap__tls_problem(t, IMAP_CERT_WEAK_KEY, i);
            imap__tls_cat(t, " has a ");
            imap__cat_num(t->detail, sizeof t->detail, c->key_bits);
            imap__tls_cat(t, c->key_type == 1 ? "-bit RSA key: 2048 required "
                                                "(IMAP_TLS_RELAX_WEAK_KEY: 1024)"
                                              : "-bit EC key: 256 required");
            return BR_ERR_X509_WEAK_PUBLIC_KEY;
        }
    }
    if (t->_eku == 1 && !(t->_relax & IMAP_TLS_RELAX_PURPOSE)) {
        imap__tls_problem(t, IMAP_CERT_WRONG_PURPOSE, 0);
        imap__tls_cat(t, " is not for servers: its extended key usage lacks serverAuth");
        return BR_ERR_X509_FORBIDDEN_KEY_USAGE;
    }
    if (t->_iplen) {
        unsigned k;
        for (k = 0; k < t->_nsan; k++)
            if (t->_sanlen[k] == t->_iplen && memcmp(t->_sans[k], t->_ip, t->_iplen) == 0)
                return 0;
        imap__tls_problem(t, IMAP_CERT_IP, 0);
        imap__tls_cat(t, t->_nsan ? " lists IP addresses, but not " : " has no iPAddress entry for ");
        if (t->_name) imap__tls_cat(t, t->_name);
        if (t->_has_dns) imap__tls_cat(t, " (connect by the host name it names)");
        return BR_ERR_X509_BAD_SERVER_NAME;
    }
    return 0;
}

/* ---- our X.509 engine: BearSSL's minimal engine (or, insecure, just
   the certificate decoder for the server's key), plus a copy of the
   server's certificate and imaplib2's cert_verify_cb at the end. */

static imap_tls *imap__tls_of(const br_x509_class *const *ctx)
{
    return (imap_tls *)(void *)((char *)ctx - offsetof(imap_tls, _xw));
}

static void imap__tls_x_start_chain(const br_x509_class **ctx, const char *server_name)
{
    imap_tls *t = imap__tls_of(ctx);
    t->_ncert = 0;
    t->_peer_len = 0;
    t->_cert_extra = 0;
    t->_peer_over = 0;
    t->_cb_failed = 0;
    t->_nsan = 0;
    t->_eku = 0;
    t->_has_dns = 0;
    /* an IP literal is matched here, against iPAddress SANs: BearSSL
       gets no name (it would match it as a DNS name) */
    if (t->_insecure) br_x509_decoder_init(&t->_x.dec, 0, 0);
    else t->_x.xc.vtable->start_chain(&t->_x.xc.vtable, t->_iplen ? NULL : server_name);
}

static void imap__tls_x_start_cert(const br_x509_class **ctx, uint32_t length)
{
    imap_tls *t = imap__tls_of(ctx);
    if (!t->_insecure) {
        imap__der_start(t, length);
        t->_x.xc.vtable->start_cert(&t->_x.xc.vtable, length);
    }
}

static void imap__tls_x_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    imap_tls *t = imap__tls_of(ctx);
    if (t->_ncert == 0) {
        /* the server's own certificate comes first (RFC 5246 §7.4.2) */
        if (t->_peer && !t->_peer_over && len <= t->_peer_max - t->_peer_len) {
            memcpy(t->_peer + t->_peer_len, buf, len);
            t->_peer_len += len;
        } else {
            t->_peer_over = 1;
        }
        /* not past its end (a DER shorter than the record's length for
           it crashed BearSSL's decoder: a hostile server's; fuzz_tls);
           such bytes fail the chain as the verifying engine does */
        if (t->_insecure && br_x509_decoder_last_error(&t->_x.dec) == BR_ERR_X509_TRUNCATED)
            br_x509_decoder_push(&t->_x.dec, buf, len);
        else if (t->_insecure && len)
            t->_cert_extra = 1;
    }
    if (!t->_insecure) {
        imap__der_push(t, buf, len);
        t->_x.xc.vtable->append(&t->_x.xc.vtable, buf, len);
    }
}

static void imap__tls_x_end_cert(const br_x509_class **ctx)
{
    imap_tls *t = imap__tls_of(ctx);
    if (!t->_insecure) {
        imap__der_end(t);
        t->_x.xc.vtable->end_cert(&t->_x.xc.vtable);
    }
    t->_ncert++;
}

static unsigned imap__tls_x_end_chain(const br_x509_class **ctx)
{
    imap_tls *t = imap__tls_of(ctx);
    const char *why = NULL;
    unsigned err;
    if (t->_insecure)
        err = t->_ncert == 0 ? (unsigned)BR_ERR_X509_EMPTY_CHAIN :
              t->_cert_extra ? (unsigned)BR_ERR_X509_EXTRA_ELEMENT :
              (unsigned)br_x509_decoder_last_error(&t->_x.dec);
    else
        err = t->_x.xc.vtable->end_chain(&t->_x.xc.vtable);
    if (!t->_insecure && err) imap__tls_explain(t, err);
    else if (!t->_insecure) err = imap__tls_policy(t);
    if (err || !t->_cb) return err;
    if (t->_peer_over) why = "server certificate larger than peer_cert_max";
    else why = t->_cb(t->_cb_arg, t->_peer, t->_peer_len, t->_name ? t->_name : "");
    if (!why) return 0;
    {
        size_t n = strlen(why);
        if (n >= sizeof t->reason) n = sizeof t->reason - 1;
        memcpy(t->reason, why, n);
        t->reason[n] = 0;
    }
    imap__tls_problem(t, IMAP_CERT_CALLBACK, 0);
    imap__tls_cat(t, " was refused by cert_verify_cb: ");
    imap__tls_cat(t, t->reason);
    t->_cb_failed = 1;
    return BR_ERR_X509_NOT_TRUSTED;
}

static const br_x509_pkey *imap__tls_x_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    imap_tls *t = imap__tls_of(ctx);
    if (!t->_insecure) return t->_x.xc.vtable->get_pkey(&t->_x.xc.vtable, usages);
    if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return br_x509_decoder_get_pkey(&t->_x.dec);
}

static const br_x509_class imap__tls_x509_vtable = {
    sizeof(imap_tls),
    imap__tls_x_start_chain,
    imap__tls_x_start_cert,
    imap__tls_x_append,
    imap__tls_x_end_cert,
    imap__tls_x_end_chain,
    imap__tls_x_get_pkey
};

IMAPDEF imap_result imap_tls_init(imap_tls *t, const imap_tls_config *cfg,
                                  void *mem, size_t cap)
{
    imap_tls_config none;
    imap__tls_load *L = (imap__tls_load *)(void *)t->_io.buf;
    unsigned vmin = BR_TLS10, vmax = BR_TLS12;
    int rc = IMAP_OK;
    memset(t, 0, sizeof *t);
    if (!cfg) {
        memset(&none, 0, sizeof none);
        cfg = &none;
    }
    if (cfg->tls_level == IMAP_TLS_SECURE) vmin = BR_TLS12;
    else if (cfg->tls_level != IMAP_TLS_NO_SSL && cfg->tls_level != IMAP_TLS_COMPAT)
        return imap__tls_fail(t, IMAP_E_ARGS, 0);
    if (cfg->ssl_version) {
        if (cfg->ssl_version < vmin || cfg->ssl_version > vmax)
            return imap__tls_fail(t, IMAP_E_ARGS, 0);
        vmin = vmax = cfg->ssl_version;
    }
    if (cfg->verify_time < 0) return imap__tls_fail(t, IMAP_E_ARGS, 0);
    if ((cfg->key_pem || cfg->key_file) && !cfg->cert_pem && !cfg->cert_file)
        return imap__tls_fail(t, IMAP_E_ARGS, 0);
    if (mem && cap) {
        size_t mis = (size_t)((uintptr_t)((unsigned char *)mem + cap) % IMAP__TLS_ALIGN);
        t->_mem = (unsigned char *)mem;
        t->_cap = cap;
        t->_end = cap >= mis ? cap - mis : 0;
    }
    t->_insecure = cfg->insecure != 0;
    t->_relax = cfg->relax;
    t->_vtime = cfg->verify_time;
    t->cert_index = -1;
    t->_cb = cfg->cert_verify_cb;
    t->_cb_arg = cfg->cert_verify_arg;
    t->_timeout_ms = cfg->timeout_ms == 0 ? 30000L : cfg->timeout_ms < 0 ? -1L : cfg->timeout_ms;

    /* trust anchors */
    if (!t->_insecure) {
        int given = cfg->ca_pem || cfg->ca_file || cfg->ca_dir;
        if (cfg->ca_pem)
            rc = imap__tls_load_mem(t, L, cfg->ca_pem, cfg->ca_pem_len, IMAP__TLS_WANT_ANCHORS);
#ifndef IMAP_NO_POSIX
        if (!rc && cfg->ca_file)
            rc = imap__tls_load_file(t, L, cfg->ca_file, IMAP__TLS_WANT_ANCHORS);
        if (!rc && cfg->ca_dir)
            rc = imap__tls_load_dir(t, L, cfg->ca_dir);
        if (!rc && !given) {
            static const char *const bundles[] = {
                "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem"
            };
            size_t i;
            rc = IMAP_E_ARGS;           /* no system bundle */
            for (i = 0; i < sizeof bundles / sizeof bundles[0] && rc == IMAP_E_ARGS; i++) {
                rc = imap__tls_load_file(t, L, bundles[i], IMAP__TLS_WANT_ANCHORS);
                if (rc == IMAP_E_IO) rc = IMAP_E_ARGS;
            }
        }
#else
        if (!rc && (cfg->ca_file || cfg->ca_dir)) rc = IMAP_E_UNSUPPORTED;
        if (!rc && !given) rc = IMAP_E_ARGS;
#endif
        if (rc) return imap__tls_fail(t, rc, 0);
    }

    /* client certificate and key (certfile, keyfile) */
    if (cfg->cert_pem || cfg->cert_file) {
        int in_cert = cfg->key_pem || cfg->key_file ? 0 : IMAP__TLS_WANT_KEY;
        if (cfg->cert_pem)
            rc = imap__tls_load_mem(t, L, cfg->cert_pem, cfg->cert_pem_len,
                                    IMAP__TLS_WANT_CHAIN | in_cert);
#ifndef IMAP_NO_POSIX
        else
            rc = imap__tls_load_file(t, L, cfg->cert_file, IMAP__TLS_WANT_CHAIN | in_cert);
        if (!rc && !in_cert && cfg->key_pem)
            rc = imap__tls_load_mem(t, L, cfg->key_pem, cfg->key_pem_len, IMAP__TLS_WANT_KEY);
        else if (!rc && !in_cert)
            rc = imap__tls_load_file(t, L, cfg->key_file, IMAP__TLS_WANT_KEY);
#else
        else
            rc = IMAP_E_UNSUPPORTED;
        if (!rc && !in_cert && cfg->key_pem)
            rc = imap__tls_load_mem(t, L, cfg->key_pem, cfg->key_pem_len, IMAP__TLS_WANT_KEY);
        else if (!rc && !in_cert)
            rc = IMAP_E_UNSUPPORTED;
#endif
        if (!rc && (t->_nchain == 0 || !t->_key_type)) rc = IMAP_E_ARGS;
        if (rc) return imap__tls_fail(t, rc, 0);
    }

    /* room for the server's certificate, for the callback */
    if (t->_cb) {
        t->_peer_max = cfg->peer_cert_max ? cfg->peer_cert_max : IMAP__TLS_PEER_MAX;
        t->_peer = imap__tls_take(t, t->_peer_max);
    }
    if (t->_over) {
        t->needed = t->_peak <= (size_t)-1 - IMAP__TLS_ALIGN ? t->_peak + IMAP__TLS_ALIGN
                                                            : (size_t)-1;
        t->anchors = t->_nta;
        t->detail[0] = 0;
        imap__tls_cat(t, "the trust anchors and certificates need ");
        imap__cat_num(t->detail, sizeof t->detail, t->needed);
        imap__tls_cat(t, " bytes of memory (imap_tls_init was given ");
        imap__cat_num(t->detail, sizeof t->detail, cap);
        imap__tls_cat(t, ")");
        return imap__tls_fail(t, IMAP_E_NOMEM, 0);
    }
    t->needed = t->_peak + (t->_cap - t->_end);
    t->anchors = t->_nta;

    br_ssl_client_init_full(&t->cc, &t->_x.xc, imap__tls_anchors(t), t->_nta);
    br_ssl_engine_set_versions(&t->cc.eng, vmin, vmax);
    if (cfg->tls_level == IMAP_TLS_SECURE)
        br_ssl_engine_set_suites(&t->cc.eng, imap__tls_secure_suites,
                                 sizeof imap__tls_secure_suites / sizeof imap__tls_secure_suites[0]);
    else if (cfg->tls_level == IMAP_TLS_NO_SSL)
        br_ssl_engine_set_suites(&t->cc.eng, imap__tls_no_ssl_suites,
                                 sizeof imap__tls_no_ssl_suites / sizeof imap__tls_no_ssl_suites[0]);
    /* a renegotiation mid-session would need reads inside writes */
    br_ssl_engine_add_flags(&t->cc.eng, BR_OPT_NO_RENEGOTIATION);
    if (cfg->verify_time && !t->_insecure) {
        /* BearSSL counts days from 1 January of year 0 (719528 to 1970) */
        long long s = cfg->verify_time;
        br_x509_minimal_set_time(&t->_x.xc, (uint32_t)(719528 + s / 86400), (uint32_t)(s % 86400));
    }
    if (!t->_insecure)
        br_x509_minimal_set_minrsa(&t->_x.xc, (cfg->relax & IMAP_TLS_RELAX_WEAK_KEY) ? 128 : 256);
    t->_xw = &imap__tls_x509_vtable;
    br_ssl_engine_set_x509(&t->cc.eng, &t->_xw);
    if (t->_key_type == BR_KEYTYPE_RSA)
        br_ssl_client_set_single_rsa(&t->cc, t->_chain, t->_nchain, &t->_key.rsa,
                                     br_rsa_pkcs1_sign_get_default());
    else if (t->_key_type == BR_KEYTYPE_EC)
        br_ssl_client_set_single_ec(&t->cc, t->_chain, t->_nchain, &t->_key.ec,
                                    BR_KEYTYPE_SIGN, 0, br_ec_get_default(),
                                    br_ecdsa_sign_asn1_get_default());
    if (cfg->entropy && cfg->entropy_len)
        br_ssl_engine_inject_entropy(&t->cc.eng, cfg->entropy, cfg->entropy_len);
    t->_ready = 1;
    return IMAP_OK;
}

/* ---- moving records between the engine and the lower transport ---- */

static int imap__tls_lower_wait(imap_tls *t, int for_write, long timeout_ms)
{
    return t->_lower.wait ? t->_lower.wait(t->_lower.ctx, for_write, timeout_ms) : 1;
}

/* Send pending records: 1 all out, 0 the lower transport would block,
   -1 it failed. */
static int imap__tls_send(imap_tls *t)
{
    while (br_ssl_engine_current_state(&t->cc.eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *buf = br_ssl_engine_sendrec_buf(&t->cc.eng, &len);
        int k;
        if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
        k = t->_lower.write(t->_lower.ctx, buf, len);
        if (k < 0 || (size_t)k > len) {
            imap__tls_fail(t, IMAP_E_IO, 0);
            return -1;
        }
        if (k == 0) return 0;
        br_ssl_engine_sendrec_ack(&t->cc.eng, (size_t)k);
    }
    return 1;
}

/* One read of record bytes: 1 got some, 0 none now, -1 failed. */
static int imap__tls_recv(imap_tls *t)
{
    size_t len;
    unsigned char *buf = br_ssl_engine_recvrec_buf(&t->cc.eng, &len);
    int k;
    if (!len) return 0;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    k = t->_lower.read(t->_lower.ctx, buf, len);
    if (k < 0 || (size_t)k > len) {
        imap__tls_fail(t, IMAP_E_IO, 0);
        return -1;
    }
    if (k == 0) return 0;
    /* a TLS record starts 0x14..0x17; "* OK" is a plaintext greeting */
    if (!t->_handshaken && !t->_rx_any) t->_rx_plain = buf[0] == '*';
    t->_rx_any = 1;
    br_ssl_engine_recvrec_ack(&t->cc.eng, (size_t)k);
    return 1;
}

static int imap__tls_read(void *ctx, unsigned char *buf, size_t len)
{
    imap_tls *t = (imap_tls *)ctx;
    int reads = 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(&t->cc.eng);
        int r;
        if (st & BR_SSL_CLOSED) {
            imap__tls_closed(t);
            return -1;
        }
        if (st & BR_SSL_RECVAPP) {
            size_t n;
            unsigned char *p = br_ssl_engine_recvapp_buf(&t->cc.eng, &n);
            if (n > len) n = len;
            if (n > (size_t)INT_MAX) n = (size_t)INT_MAX;
            memcpy(buf, p, n);
            br_ssl_engine_recvapp_ack(&t->cc.eng, n);
            return (int)n;
        }
        if (st & BR_SSL_SENDREC) {
            r = imap__tls_send(t);
        } else if (st & BR_SSL_RECVREC) {
            /* the first lower read may wait; later ones only take what
               is there, so one call waits at most one lower timeout */
            if (reads++ && imap__tls_lower_wait(t, 0, 0) <= 0) return 0;
            r = imap__tls_recv(t);
        } else {
            return 0;
        }
        if (r <= 0) return r;
    }
}

static int imap__tls_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_tls *t = (imap_tls *)ctx;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(&t->cc.eng);
        int r;
        if (st & BR_SSL_CLOSED) {
            imap__tls_closed(t);
            return -1;
        }
        if (st & BR_SSL_SENDAPP) {
            size_t n;
            unsigned char *p = br_ssl_engine_sendapp_buf(&t->cc.eng, &n);
            if (n > len) n = len;
            if (n > (size_t)INT_MAX) n = (size_t)INT_MAX;
            memcpy(p, buf, n);
            br_ssl_engine_sendapp_ack(&t->cc.eng, n);
            /* a command must not wait in the buffer for more bytes */
            br_ssl_engine_flush(&t->cc.eng, 0);
            if (imap__tls_send(t) < 0) return -1;
            return (int)n;
        }
        if (st & BR_SSL_SENDREC) {
            r = imap__tls_send(t);
        } else if ((st & BR_SSL_RECVREC) && !(st & BR_SSL_RECVAPP)) {
            r = imap__tls_recv(t);      /* half duplex: a record is half in */
        } else {
            return 0;                   /* received data must be read first */
        }
        if (r <= 0) return r;
    }
}

static int imap__tls_wait(void *ctx, int for_write, long timeout_ms)
{
    imap_tls *t = (imap_tls *)ctx;
    unsigned st = br_ssl_engine_current_state(&t->cc.eng);
    if (st & BR_SSL_CLOSED) return 1;           /* the next call says so */
    if (st & BR_SSL_SENDREC) {
        int r = imap__tls_send(t);
        if (r < 0) return 1;
        if (r == 0) return imap__tls_lower_wait(t, 1, timeout_ms);
        st = br_ssl_engine_current_state(&t->cc.eng);
    }
    if (st & BR_SSL_RECVAPP) return 1;
    if (for_write && (st & BR_SSL_SENDAPP)) return 1;
    if (st & BR_SSL_RECVREC) return imap__tls_lower_wait(t, 0, timeout_ms);
    return 1;
}

static int imap__tls_close(void *ctx)
{
    imap_tls *t = (imap_tls *)ctx;
    if (t->_handshaken && !(br_ssl_engine_current_state(&t->cc.eng) & BR_SSL_CLOSED)) {
        int i;
        /* close_notify (RFC 5246 §7.2.1) if the peer takes it soon; the
           reply is not waited for */
        br_ssl_engine_close(&t->cc.eng);
        for (i = 0; i < 4; i++) {
            if (imap__tls_send(t) != 0) break;
            if (imap__tls_lower_wait(t, 1, 250) <= 0) break;
        }
    }
    t->_handshaken = 0;
    return t->_lower.close ? t->_lower.close(t->_lower.ctx) : 0;
}

static void imap__tls_transport(imap_tls *t, imap_transport *out)
{
    out->read = imap__tls_read;
    out->write = imap__tls_write;
    out->close = imap__tls_close;
    out->wait = imap__tls_wait;
    out->ctx = t;
}

IMAPDEF imap_result imap_tls_start(imap_tls *t, const imap_transport *lower,
                                   const char *server_name, imap_transport *out)
{
    long spent = 0;
    br_ssl_session_parameters sp;
    if (!t->_ready) return IMAP_E_STATE;
    t->result = 0;
    t->bearssl_error = 0;
    t->reason[0] = 0;
    t->version = t->suite = 0;
    t->_handshaken = 0;
    t->_cb_failed = 0;
    t->cert_problem = 0;
    t->cert_index = -1;
    t->detail[0] = 0;
    t->_rx_any = t->_rx_plain = 0;
    if (!t->_insecure && (!server_name || !*server_name))
        return imap__tls_fail(t, IMAP_E_ARGS, 0);
    t->_lower = *lower;
    t->_name = server_name;
    t->_iplen = server_name ? imap__ip_parse(server_name, t->_ip) : 0;
    br_ssl_engine_set_buffer(&t->cc.eng, t->_io.buf, IMAP_TLS_BUFSIZE, IMAP_TLS_BIDI);
    /* no SNI for an IP literal (RFC 6066 §3) */
    if (!br_ssl_client_reset(&t->cc, server_name && *server_name && !t->_iplen ? server_name : NULL, 0))
        return imap__tls_fail(t, IMAP_E_TLS, br_ssl_engine_last_error(&t->cc.eng));
    for (;;) {
        unsigned st = br_ssl_engine_current_state(&t->cc.eng);
        int r, dir;
        long slice = 1000;
        if (st & BR_SSL_CLOSED) return imap__tls_closed(t);
        if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) break;   /* done */
        if (t->_timeout_ms >= 0 && spent >= t->_timeout_ms)
            return imap__tls_fail(t, IMAP_E_TIMEOUT, 0);
        if (t->_timeout_ms >= 0 && t->_timeout_ms - spent < slice) slice = t->_timeout_ms - spent;
        if (st & BR_SSL_SENDREC) {
            dir = 1;
            r = imap__tls_send(t);
        } else {
            /* wait before reading, so the lower read never sits on its
               own timeout: the budget is ours */
            dir = 0;
            r = imap__tls_lower_wait(t, 0, slice);
            if (r < 0) return imap__tls_fail(t, IMAP_E_IO, 0);
            if (r == 0) {
                spent += slice;
                continue;
            }
            r = imap__tls_recv(t);
        }
        if (r < 0) return (imap_result)t->result;
        if (r > 0) continue;
        if (dir) {
            r = imap__tls_lower_wait(t, 1, slice);
            if (r < 0) return imap__tls_fail(t, IMAP_E_IO, 0);
            spent += r == 0 ? slice : 1;
        } else {
            spent += t->_lower.wait ? 1 : slice;  /* ready, yet nothing came */
        }
    }
    t->_handshaken = 1;
    t->version = br_ssl_engine_get_version(&t->cc.eng);
    br_ssl_engine_get_session_parameters(&t->cc.eng, &sp);
    t->suite = sp.cipher_suite;
    imap__tls_transport(t, out);
    return IMAP_OK;
}
#endif /* IMAP_WITH_BEARSSL */

/* (8d TLS implementation ends here) */

#ifdef IMAP_WITH_ZLIB
/* -- 8e. COMPRESS=DEFLATE -- */

/* zlib's allocator: the arena over the caller's memory. zlib frees only
   at the end of a stream, so a bump allocator loses nothing. */
static voidpf imap__zalloc(voidpf opaque, uInt items, uInt size)
{
    imap_arena *a = (imap_arena *)opaque;
    if (size && items > (size_t)-1 / size) return Z_NULL;
    return imap_arena_alloc(a, (size_t)items * size, 16);
}

static void imap__zfree(voidpf opaque, voidpf p)
{
    (void)opaque;
    (void)p;
}

/* Send what deflate produced: 1 all gone, 0 the lower transport would
   block (the rest waits in _obuf), -1 error. */
static int imap__z_push(imap_deflate *z)
{
    while (z->_ooff < z->_olen) {
        size_t n = z->_olen - z->_ooff;
        int k = z->_lower.write(z->_lower.ctx, z->_obuf + z->_ooff, n);
        if (k < 0) return -1;
        if (k == 0) return 0;
        if ((size_t)k > n) k = (int)n;
        z->_ooff += (size_t)k;
        z->out_compressed += (imap_u64)k;
    }
    z->_ooff = z->_olen = 0;
    return 1;
}

static int imap__z_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_deflate *z = (imap_deflate *)ctx;
    size_t take;
    int rc;
    if (z->error || !z->_live) return -1;
    /* earlier output first: bytes must reach the server in order */
    rc = imap__z_push(z);
    if (rc <= 0) return rc;
    /* _chunk bytes deflate to less than IMAP_DEFLATE_OUT, sync flush
       included (deflateBound), so one call always completes */
    take = len < z->_chunk ? len : z->_chunk;
    z->_def.next_in = (Bytef *)(size_t)buf;
    z->_def.avail_in = (uInt)take;
    z->_def.next_out = z->_obuf;
    z->_def.avail_out = IMAP_DEFLATE_OUT;
    rc = deflate(&z->_def, Z_SYNC_FLUSH);
    if (rc != Z_OK || z->_def.avail_in != 0 || z->_def.avail_out == 0) {
        z->error = IMAP_E_NOMEM;
        return -1;
    }
    z->_olen = IMAP_DEFLATE_OUT - z->_def.avail_out;
    z->out_plain += take;
    /* what does not go now goes on the next write, read or wait */
    if (imap__z_push(z) < 0) return -1;
    return (int)take;
}

static int imap__z_read(void *ctx, unsigned char *buf, size_t len)
{
    imap_deflate *z = (imap_deflate *)ctx;
    int pass;
    if (z->error || !z->_live) return -1;
    if (z->_ended) {
        z->error = IMAP_E_PROTOCOL;
        return -1;
    }
    if (imap__z_push(z) < 0) return -1;
    if (len > 0x7fffffff) len = 0x7fffffff;
    /* inflate what we hold; if that gives nothing, read once from below
       and inflate that: a bounded amount of work per call */
    for (pass = 0; pass < 2; pass++) {
        size_t made;
        int rc;
        if (pass == 1) {
            int k = z->_lower.read(z->_lower.ctx, z->_ibuf, IMAP_READ_CHUNK);
            if (k <= 0) return k;
            if ((size_t)k > IMAP_READ_CHUNK) k = IMAP_READ_CHUNK;
            z->_ioff = 0;
            z->_ilen = (size_t)k;
            z->in_compressed += (imap_u64)k;
        }
        if (z->_ioff == z->_ilen && !z->_more) continue;
        z->_inf.next_in = z->_ibuf + z->_ioff;
        z->_inf.avail_in = (uInt)(z->_ilen - z->_ioff);
        z->_inf.next_out = buf;
        z->_inf.avail_out = (uInt)len;
        rc = inflate(&z->_inf, Z_SYNC_FLUSH);
        z->_ioff = z->_ilen - z->_inf.avail_in;
        made = len - z->_inf.avail_out;
        z->_more = z->_inf.avail_out == 0;
        z->in_plain += made;
        if (rc == Z_STREAM_END) {
            /* RFC 4978 has no end of the compressed stream: the session
               cannot go on; hand out what came before it */
            z->_ended = 1;
            if (!made) {
                z->error = IMAP_E_PROTOCOL;
                return -1;
            }
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            z->error = rc == Z_MEM_ERROR ? IMAP_E_NOMEM : IMAP_E_PROTOCOL;
            return -1;
        }
        if (made) return (int)made;
    }
    return 0;
}

static int imap__z_wait(void *ctx, int for_write, long timeout_ms)
{
    imap_deflate *z = (imap_deflate *)ctx;
    if (z->error || !z->_live) return -1;
    if (!for_write) {
        /* held input or output answers at once (or fails at once) */
        if (z->_ioff < z->_ilen || z->_more || z->_ended) return 1;
        /* our last bytes must reach the server before it can answer */
        if (z->_ooff < z->_olen) {
            int rc = imap__z_push(z);
            if (rc < 0) return -1;
            if (rc == 0) {
                if (!z->_lower.wait) return 1;
                rc = z->_lower.wait(z->_lower.ctx, 1, timeout_ms);
                return rc < 0 ? -1 : rc;
            }
        }
    }
    if (!z->_lower.wait) return 1;
    return z->_lower.wait(z->_lower.ctx, for_write, timeout_ms);
}

static int imap__z_close(void *ctx)
{
    return imap_deflate_close((imap_deflate *)ctx);
}

IMAPDEF int imap_deflate_close(imap_deflate *z)
{
    int rc = 0;
    if (z->_live) {
        inflateEnd(&z->_inf);
        deflateEnd(&z->_def);
        z->_live = 0;
        if (z->_lower.close) rc = z->_lower.close(z->_lower.ctx);
    }
    return rc;
}

/* One try at (windowBits, memLevel) in the arena. */
static int imap__z_setup(imap_deflate *z, int wbits, int mlevel)
{
    /* a stored block holding one byte: inflating it makes zlib take its
       window now, not at the first server bytes (RFC 1951 §3.2.4) */
    static const unsigned char prime[6] = { 0x00, 0x01, 0x00, 0xfe, 0xff, 'x' };
    unsigned char sink[1];
    imap_arena *a = &z->_arena;
    imap_arena_release(a, 0);
    z->_ibuf = (unsigned char *)imap_arena_alloc(a, IMAP_READ_CHUNK, 1);
    z->_obuf = (unsigned char *)imap_arena_alloc(a, IMAP_DEFLATE_OUT, 1);
    if (!z->_ibuf || !z->_obuf) return 0;
    memset(&z->_inf, 0, sizeof z->_inf);
    z->_inf.zalloc = imap__zalloc;
    z->_inf.zfree = imap__zfree;
    z->_inf.opaque = a;
    if (inflateInit2(&z->_inf, -15) != Z_OK) return 0;
    z->_inf.next_in = (Bytef *)(size_t)prime;
    z->_inf.avail_in = sizeof prime;
    z->_inf.next_out = sink;
    z->_inf.avail_out = sizeof sink;
    if (inflate(&z->_inf, Z_SYNC_FLUSH) != Z_OK || z->_inf.avail_out != 0 ||
        inflateReset(&z->_inf) != Z_OK) {
        inflateEnd(&z->_inf);
        return 0;
    }
    memset(&z->_def, 0, sizeof z->_def);
    z->_def.zalloc = imap__zalloc;
    z->_def.zfree = imap__zfree;
    z->_def.opaque = a;
    if (deflateInit2(&z->_def, IMAP_DEFLATE_LEVEL, Z_DEFLATED, -wbits, mlevel,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        inflateEnd(&z->_inf);
        return 0;
    }
    /* the most input whose deflate output, plus the flush marker, fits */
    z->_chunk = IMAP_DEFLATE_OUT / 2;
    while (z->_chunk > 64 && deflateBound(&z->_def, (uLong)z->_chunk) + 16 > IMAP_DEFLATE_OUT)
        z->_chunk /= 2;
    z->window_bits = wbits;
    z->mem_level = mlevel;
    z->mem_used = a->used;
    return 1;
}

IMAPDEF imap_result imap_deflate_init(imap_deflate *z, const imap_transport *lower,
                                      void *mem, size_t cap, imap_transport *out)
{
    /* from zlib's defaults down: each step about halves deflate's share */
    static const signed char tries[][2] = {
        { 15, 8 }, { 15, 7 }, { 14, 7 }, { 13, 6 }, { 12, 5 }, { 11, 4 },
        { 10, 3 }, { 9, 2 }, { 9, 1 }
    };
    unsigned i;
    memset(z, 0, sizeof *z);
    if (!mem || !lower) return IMAP_E_ARGS;
    z->_lower = *lower;
    imap_arena_init(&z->_arena, mem, cap);
    for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        /* skip the ones that clearly cannot fit */
        if (i + 1 < sizeof tries / sizeof tries[0] &&
            cap < IMAP_DEFLATE_MEM(tries[i][0], tries[i][1]) - 16384ul) continue;
        if (imap__z_setup(z, tries[i][0], tries[i][1])) break;
    }
    if (i == sizeof tries / sizeof tries[0]) {
        memset(z, 0, sizeof *z);
        return IMAP_E_NOMEM;
    }
    z->_live = 1;
    out->read = imap__z_read;
    out->write = imap__z_write;
    out->close = imap__z_close;
    out->wait = imap__z_wait;
    out->ctx = z;
    return IMAP_OK;
}

IMAPDEF imap_result imap_deflate_input(imap_deflate *z, const void *data, size_t len)
{
    if (!len) return IMAP_OK;
    if (!z->_live || z->_ilen != 0 || len > IMAP_READ_CHUNK) return IMAP_E_NOMEM;
    memcpy(z->_ibuf, data, len);
    z->_ioff = 0;
    z->_ilen = len;
    z->in_compressed += len;
    return IMAP_OK;
}

/* section 9's command machinery, defined further down */
static int imap__begin(imap_client *c, imap_cmd *cmd, char tag[16]);
static int imap__drain_output(imap_client *c);
static int imap__submit(imap_client *c, imap_cmd *cmd, const char *tag, unsigned kind,
                        const char *name, const imap_call *call,
                        imap_auth_fn auth, void *auth_arg);

IMAPDEF int imap_enable_compression(imap_client *c, imap_deflate *z, void *mem, size_t cap)
{
    imap_transport zt;
    imap_str rest;
    imap_cmd cmd;
    char tag[16];
    int rc;
    if (c->error) return c->error;
    if (!c->_has_t || c->_t.read == imap__z_read) return IMAP_E_STATE;
    if (!imap_client_has_cap(c, "COMPRESS=DEFLATE")) return IMAP_E_CAPABILITY;
    /* memory first: once the server said OK there is no way back */
    rc = imap_deflate_init(z, &c->_t, mem, cap, &zt);
    if (rc) return rc;
    rc = imap__begin(c, &cmd, tag);
    if (!rc) rc = imap_cmd_compress(&cmd, tag, "DEFLATE");
    if (rc == IMAP_E_NOMEM && c->_out_len) {
        if ((rc = imap__drain_output(c)) == 0 && (rc = imap__begin(c, &cmd, tag)) == 0)
            rc = imap_cmd_compress(&cmd, tag, "DEFLATE");
    }
    if (!rc) rc = imap__submit(c, &cmd, tag, IMAP__K_COMPRESS, NULL, NULL, NULL, NULL);
    if (rc != IMAP_OK) {
        /* not compressing: the lower transport stays the client's */
        z->_live = 0;
        return rc;
    }
    /* the engine stopped reading at the OK (_stop_feed): what it holds
       past it is the server's first compressed bytes */
    imap_client_set_transport(c, &zt, &rest);
    return imap_deflate_input(z, rest.ptr, rest.len);
}
#endif /* IMAP_WITH_ZLIB */

/* (8e deflate implementation ends here) */

/* (section 8 implementation ends here) */

/* ---- 9. client ------------------------------------------------------- */

IMAPDEF void imap_client_init(imap_client *c, void *mem, size_t cap)
{
    unsigned char *m = (unsigned char *)mem;
    size_t out, store;
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->_q = c->_q_mem;
    c->_q_cap = IMAP_MAX_PENDING;
    c->_now_stale = 1;                  /* no time known before a tick */
    c->state = IMAP_STATE_NONAUTH;
    c->protocol = 1;
    if (!m || cap < IMAP_CLIENT_MIN_MEM) {
        /* every call then says why (open first) */
        c->error = m ? IMAP_E_NOMEM : IMAP_E_ARGS;
        imap_parser_init(&c->_parser, c->_rbuf, 0);
        return;
    }
    /* an eighth each for commands and the store, the rest parses */
    out = cap / 8;
    store = cap / 8;
    c->_out = m;
    c->_out_cap = out;
    c->_store = m + out;
    c->_store_cap = store;
    imap_parser_init(&c->_parser, m + out + store, cap - out - store);
    c->_parser._pick = imap__pick_sink;
    c->_parser._pick_ctx = c;
    imap_tagger_init(&c->_tagger, (unsigned long)(size_t)c ^ 0x5a5au);
    c->state = IMAP_STATE_NONAUTH;
    c->protocol = 1;
    c->timeout_ms = 0;
}

IMAPDEF void imap_client_set_clock(imap_client *c, long long (*now_ms)(void *arg), void *arg)
{
    c->_clock = now_ms;
    c->_clock_arg = arg;
}

IMAPDEF void imap_client_set_debug(imap_client *c, int level, imap_debug_fn fn, void *arg)
{
    c->debug = level;
    c->_debug_fn = fn;
    c->_debug_arg = arg;
}

IMAPDEF void imap_client_set_timeout(imap_client *c, long timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

IMAPDEF void imap_client_on_untagged(imap_client *c,
    void (*fn)(void *arg, imap_client *c, const imap_response *r), void *arg)
{
    c->_on_untagged = fn;
    c->_on_untagged_arg = arg;
}

IMAPDEF void imap_client_set_random(imap_client *c,
    int (*fn)(void *arg, unsigned char *out, size_t len), void *arg)
{
    c->_random = fn;
    c->_random_arg = arg;
}

IMAPDEF void imap_client_set_scram_cache(imap_client *c, struct imap_scram_cache *cache)
{
    c->_scram_cache = cache;
}

IMAPDEF void imap_client_seed_tags(imap_client *c, unsigned long seed)
{
    imap_tagger_init(&c->_tagger, seed);
}

IMAPDEF imap_parser *imap_client_parser(imap_client *c) { return &c->_parser; }

/* Over a transport without wait() and without a clock no time can be
   told: every empty read would be a guess. */
static int imap__timeless(const imap_client *c)
{
    return !c->_clock && c->_has_t && !c->_t.wait;
}

/* How long one pump may wait: up to `limit` (-1: no limit) and never past
   the next timer. A timer that is due fires after the read: an answer
   already waiting in the transport came in time. */
static long imap__wait_ms(imap_client *c, long limit)
{
    long next = imap__timers_(c, 1);
    if (next < 0) return limit;
    return limit < 0 || next < limit ? next : limit;
}

/* One round of I/O: send what may be sent, then read once (waiting at
   most timeout_ms, -1 for the next timer) and dispatch what arrived. */
static int imap__pump(imap_client *c, long timeout_ms)
{
    const unsigned char *out;
    size_t n;
    int k, retries = 0, timed_out = 0;
    long w_ms;
    if (c->error) return c->error;
    while (imap_client_output(c, &out, &n)) {
        if (n > 0x7fffffff) n = 0x7fffffff;
        k = c->_t.write(c->_t.ctx, out, n);
        if (k < 0) {
            imap__abort(c, IMAP_E_IO);
            return c->error;
        }
        if (k == 0) {
            int w;
            w_ms = imap__wait_ms(c, timeout_ms);
            if (c->error) return c->error;
            w = c->_t.wait ? c->_t.wait(c->_t.ctx, 1, w_ms) : 1;
            if (w < 0) {
                imap__abort(c, IMAP_E_IO);
                return c->error;
            }
            if (w == 0 && !c->_clock && w_ms > 0) c->_now += w_ms;
            imap__refresh(c);
            /* writable again: go on writing rather than wait to read
               while the server waits for the rest of the command */
            if (w > 0 && ++retries < 8) continue;
            break;
        }
        retries = 0;
        imap_client_output_ack(c, (size_t)k);
    }
    if (c->error) return c->error;
    if (c->_greeted && imap__outstanding(c) == 0) return IMAP_OK;
    if (c->_rbuf_off < c->_rbuf_len && !c->_stop_feed) {
        size_t used = 0;
        imap_client_feed(c, c->_rbuf + c->_rbuf_off, c->_rbuf_len - c->_rbuf_off, &used);
        c->_rbuf_off += used;
        imap__timers(c);
        return c->error ? c->error : IMAP_OK;
    }
    if (c->_stop_feed) return IMAP_OK;
    w_ms = imap__wait_ms(c, timeout_ms);
    if (c->error) return c->error;
    k = 1;
    if (c->_t.wait) {
        k = c->_t.wait(c->_t.ctx, 0, w_ms);
        timed_out = k == 0;
    }
    if (k > 0) k = c->_t.read(c->_t.ctx, c->_rbuf, sizeof c->_rbuf);
    if (k < 0) {
        imap__pending *lo = NULL;
        unsigned i;
        /* the server closing after LOGOUT's BYE is the normal end */
        for (i = 0; i < c->_q_hi; i++)
            if (c->_q[i].seq && c->_q[i].kind == IMAP__K_LOGOUT) lo = &c->_q[i];
        if (lo && c->state == IMAP_STATE_LOGOUT) imap__finish(c, lo, IMAP_OK, NULL);
        imap__abort(c, IMAP_E_CLOSED);
        return c->error;
    }
    if (k == 0) {
        /* without a clock, a wait that timed out is the time that passed */
        if (timed_out && !c->_clock && w_ms > 0) c->_now += w_ms;
        imap__refresh(c);
    } else {
        size_t used = 0;
        c->_rbuf_len = (size_t)k;
        c->_rbuf_off = 0;
        imap_client_feed(c, c->_rbuf, c->_rbuf_len, &used);
        c->_rbuf_off = used;
    }
    imap__timers(c);
    return c->error ? c->error : IMAP_OK;
}

IMAPDEF int imap_client_poll(imap_client *c, long timeout_ms)
{
    if (!c) return IMAP_E_ARGS;
    if (!c->_has_t || c->_depth) return IMAP_E_STATE;
    return imap__pump(c, timeout_ms);
}

IMAPDEF int imap_client_wait_all(imap_client *c)
{
    if (!c) return IMAP_E_ARGS;
    if (!c->_has_t || c->_depth) return IMAP_E_STATE;
    while (!c->error && imap__outstanding(c) > 0) imap__pump(c, -1);
    return c->error;
}

IMAPDEF int imap_client_start(imap_client *c)
{
    if (!c) return IMAP_E_ARGS;
    if (c->_depth) return IMAP_E_STATE;
    c->_greeted = 0;
    c->_started = 1;
    imap__refresh(c);
    c->_resp_start = imap__stamp(c);
    return c->error;
}

IMAPDEF int imap_client_open(imap_client *c, const imap_transport *t)
{
    if (!c || !t || !t->read || !t->write) return IMAP_E_ARGS;
    if (c->_depth || c->_has_t) return IMAP_E_STATE;
    if (c->error) return c->error;          /* imap_client_init refused */
    /* a timeout that cannot be measured would fire at random */
    if (!c->_clock && !t->wait && c->timeout_ms > 0) return IMAP_E_ARGS;
    c->_t = *t;
    c->_has_t = 1;
    c->_now_stale = 0;                  /* time is the clock's or the waits' */
    imap_client_start(c);
    while (!c->_greeted && !c->error) imap__pump(c, -1);
    if (c->error) return c->error;
    if (c->_caps_stale) return imap_capability(c, NULL);
    return IMAP_OK;
}

IMAPDEF void imap_client_close(imap_client *c)
{
    int busy;
    if (!c) return;
    busy = imap__outstanding(c) > 0;
    if (c->_has_t && c->_t.close) c->_t.close(c->_t.ctx);
    c->_has_t = 0;
    /* every call still outstanding ends, once (from a callback too) */
    if (busy) imap__abort(c, IMAP_E_CLOSED);
    if (!c->error) c->error = IMAP_E_CLOSED;
    c->state = IMAP_STATE_LOGOUT;
}

/* Swap the transport (STARTTLS, COMPRESS): bytes already read past the
   command's OK are returned in *rest (COMPRESS must inflate them;
   STARTTLS must discard them). */
IMAPDEF void imap_client_set_transport(imap_client *c, const imap_transport *t,
                                       imap_str *rest)
{
    if (rest) {
        rest->ptr = (const char *)c->_rbuf + c->_rbuf_off;
        rest->len = c->_rbuf_len - c->_rbuf_off;
    }
    c->_rbuf_off = c->_rbuf_len = 0;
    c->_t = *t;
    c->_has_t = 1;
    c->_stop_feed = 0;
}

/* What a command carries besides its bytes. The routing set goes as a
   parameter: a field left set by a call that failed would reach the
   next (a dead caller string). */
typedef struct imap__extra {
    const char *route_set;        /* FETCH/STORE: its set; SELECT: the mailbox */
    int route_uid;                /* the set holds UIDs */
    unsigned route_extra;         /* IMAP__R_* beyond its kind's */
    long idle_ms;                 /* IDLE: its timeout */
    imap_auth_fn auth;            /* AUTHENTICATE: the authobject */
    void *auth_arg;
} imap__extra;

/* May a command be made now? A NULL client is misuse; a call that would
   block from inside a callback is refused before anything changes. */
static int imap__may_call(const imap_client *c, const imap_call *call)
{
    if (!c) return IMAP_E_ARGS;
    if (c->_depth && c->_has_t && !(call && call->on_done)) return IMAP_E_STATE;
    if ((c->timeout_ms > 0 || (call && call->timeout_ms > 0)) && imap__timeless(c))
        return IMAP_E_ARGS;
    return IMAP_OK;
}

/* Ready to build a command: a tag, a free slot, the output space. */
static int imap__begin(imap_client *c, imap_cmd *cmd, char tag[16])
{
    if (c->error) return c->error;
    if (c->state == IMAP_STATE_LOGOUT) return IMAP_E_STATE;
    /* after STARTTLS or COMPRESS said OK, nothing until the transport
       is replaced (the wait for its answer would never end) */
    if (c->_stop_feed) return IMAP_E_STATE;
    while (!imap__free_slot(c)) {
        /* every slot in use: wait for one where a call may block */
        if (!c->_has_t || c->_depth) return IMAP_E_BUSY;
        imap__pump(c, -1);
        if (c->error) return c->error;
    }
    imap_tagger_next(&c->_tagger, tag);
    imap_cmd_init(cmd, c->_out + c->_out_len, c->_out_cap - c->_out_len);
    cmd->literal_mode = c->_literal_mode;
    cmd->utf8 = c->utf8;
    cmd->rev2 = c->rev2;
    return IMAP_OK;
}

/* Make room by sending everything queued (the buffer then starts over);
   sans-I/O or from a callback the caller must let it go first. */
static int imap__drain_output(imap_client *c)
{
    if (!c->_has_t || c->_depth) return IMAP_E_BUSY;
    while (!c->error && c->_out_len > 0) imap__pump(c, -1);
    return c->error;
}

static int imap__submit_x(imap_client *c, imap_cmd *cmd, const char *tag, unsigned kind,
                          const char *name, const imap_call *call, const imap__extra *x)
{
    imap__pending *p = imap__free_slot(c);
    unsigned long seq;
    if (!p) return IMAP_E_BUSY;
    /* the response timer starts now unless an older command runs it */
    if (!c->_depth) imap__refresh(c);
    imap__arm(c);
    memset(p, 0, sizeof *p);
    seq = ++c->_seq;
    p->seq = seq;
    if ((unsigned)(p - c->_q) >= c->_q_hi) c->_q_hi = (unsigned)(p - c->_q) + 1;
    memcpy(p->tag, tag, strlen(tag) + 1);
    if (name) {
        size_t n = strlen(name);
        if (n >= sizeof p->name) n = sizeof p->name - 1;
        memcpy(p->name, name, n);
        p->name[n] = 0;
    }
    p->kind = kind;
    p->flags = imap__kinds[kind].flags;
    p->timeout_ms = call && call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms;
    if (call && call->sink) c->_nsinks++;
    if (x) p->route_extra = x->route_extra;
    if (x && x->route_set) {
        const char *set = x->route_set;
        size_t n = strlen(set);
        if (n >= 2 && set[0] == '\'' && set[n - 1] == '\'') {
            set++;                          /* imaplib's '...' quoting */
            n -= 2;
        }
        if (n < sizeof p->set) {
            memcpy(p->set, set, n);
            p->set[n] = 0;
        }
        p->uid_set = x->route_uid;
    }
    if (x) {
        p->idle_ms = x->idle_ms;
        p->auth = x->auth;
        p->auth_arg = x->auth_arg;
    }
    if (call) p->call = *call;
    memcpy(p->seg, cmd->seg, sizeof p->seg[0] * cmd->nseg);
    p->nseg = cmd->nseg;
    c->_out_len += cmd->len;
    if (call && call->on_done) {
        /* asynchronous: send what can go now, return; from a callback
           it goes once the callback returns (the engine is mid-response) */
        if (c->_has_t && !c->_depth) imap__pump(c, 0);
        return IMAP_OK;
    }
    if (!c->_has_t) return IMAP_MORE;          /* sans-I/O: caller drives */
    {
        int result;
        c->_wait_seq = seq;
        c->_wait_done = 0;
        while (!c->error && !c->_wait_done) imap__pump(c, -1);
        result = c->_wait_done ? c->_wait_result : c->error;
        c->_wait_seq = 0;
        if (result == IMAP_OK && c->_caps_stale && kind != IMAP__K_CAPABILITY) {
            /* the command's own text and status stay what it answered */
            char text[sizeof c->last_text];
            int status = c->last_status, r2;
            size_t text_len = c->last_text_len;
            memcpy(text, c->last_text, sizeof text);
            r2 = imap_capability(c, NULL);
            memcpy(c->last_text, text, sizeof text);
            c->last_text_len = text_len;
            c->last_status = status;
            if (r2 < 0 && imap_result_class_of(r2) == IMAP_CLASS_ABORT) return r2;
        }
        return result;
    }
}

static int imap__submit(imap_client *c, imap_cmd *cmd, const char *tag, unsigned kind,
                        const char *name, const imap_call *call,
                        imap_auth_fn auth, void *auth_arg)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    x.auth = auth;
    x.auth_arg = auth_arg;
    return imap__submit_x(c, cmd, tag, kind, name, call, &x);
}

/* Build with BUILD (an expression over cmd_ and tag_), then queue. */
#define IMAP__COMMAND_X(c, call, kind, name, extra, BUILD) do { \
        imap_cmd cmd_; char tag_[16]; int rc_, try_; \
        if ((rc_ = imap__may_call((c), (call))) != 0) return rc_; \
        for (try_ = 0; ; try_++) { \
            rc_ = imap__begin((c), &cmd_, tag_); \
            if (rc_) return rc_; \
            rc_ = (BUILD); \
            if (rc_ != IMAP_E_NOMEM || try_ || (c)->_out_len == 0) break; \
            if ((rc_ = imap__drain_output(c)) != 0) return rc_; \
        } \
        if (rc_) return rc_; \
        return imap__submit_x((c), &cmd_, tag_, (kind), (name), (call), (extra)); \
    } while (0)
#define IMAP__COMMAND(c, call, kind, name, BUILD) \
    IMAP__COMMAND_X(c, call, kind, name, (const imap__extra *)NULL, BUILD)

/* ---- the commands ---------------------------------------------------- */

IMAPDEF void imap_client_require_tls(imap_client *c, int on) { c->_require_tls = on; }
IMAPDEF void imap_client_mark_tls(imap_client *c, int on) { c->_tls = on; }

/* Credentials only over TLS when asked; never LOGIN under LOGINDISABLED
   (RFC 3501 §6.2.3); none at all when the capability list was cut (what
   it lost may be LOGINDISABLED or the mechanisms). 0 or the refusal. */
static int imap__may_send_secret(imap_client *c, int is_login)
{
    if (c->_caps_need)
        return imap__refuse(c, IMAP_E_CAPS_CUT, "the server's capability list was cut: it needs "
                            "IMAP_CAPS_BYTES of at least ", c->_caps_need,
                            " (built with " IMAP__XSTR(IMAP_CAPS_BYTES) "); no credentials sent");
    if (c->_require_tls && !c->_tls)
        return imap__refuse(c, IMAP_E_PLAINTEXT, "TLS is required and the connection is "
                            "plaintext: no credentials sent", ~(imap_u64)0, NULL);
    if (is_login && !c->_tls && imap_client_has_cap(c, "LOGINDISABLED"))
        return imap__refuse(c, IMAP_E_PLAINTEXT, "the server says LOGINDISABLED on this "
                            "plaintext connection: use STARTTLS or TLS", ~(imap_u64)0, NULL);
    return 0;
}

IMAPDEF int imap_capability(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_CAPABILITY, NULL, imap_cmd_capability(&cmd_, tag_));
}

IMAPDEF int imap_noop(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_NOOP, NULL, imap_cmd_noop(&cmd_, tag_));
}

IMAPDEF int imap_logout(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_LOGOUT, NULL, imap_cmd_logout(&cmd_, tag_));
}

IMAPDEF int imap_login(imap_client *c, const char *user, const char *password,
                       const imap_call *call)
{
    int rc = c ? imap__may_send_secret(c, 1) : 0;
    if (rc) return rc;
    IMAP__COMMAND(c, call, IMAP__K_LOGIN, NULL, imap_cmd_login(&cmd_, tag_, user, password));
}

IMAPDEF int imap_authenticate(imap_client *c, const char *mech, imap_auth_fn auth,
                              void *auth_arg, const imap_call *call)
{
    imap_cmd cmd;
    char tag[16];
    char ir[(IMAP_SASL_BYTES + 2) / 3 * 4 + 1];
    const char *irp = NULL;
    int rc = imap__may_call(c, call);
    if (rc) return rc;
    if ((rc = imap__may_send_secret(c, 0)) != 0) return rc;
    if (imap_client_has_cap(c, "SASL-IR") && auth) {
        /* RFC 4959: the first answer rides on the command line */
        /* the challenge is empty: point at a constant, not at the
           uninitialised answer buffer (gcc -O1+ -Wmaybe-uninitialized) */
        static const unsigned char none[1] = { 0 };
        unsigned char raw[IMAP_SASL_BYTES];
        int n = auth(auth_arg, none, 0, raw, sizeof raw);
        if (n == 0) {
            ir[0] = '=';
            ir[1] = 0;
            irp = ir;
        } else if (n > 0 && (size_t)n <= sizeof raw) {
            long k = imap_base64_encode(raw, (size_t)n, ir, sizeof ir);
            memset(raw, 0, sizeof raw);
            if (k < 0) return IMAP_E_NOMEM;
            irp = ir;
        } else if (n == IMAP_AUTH_NO_IR) {
            irp = NULL;                 /* LOGIN, CRAM-MD5: the server speaks first */
        } else {
            return IMAP_E_AUTH;
        }
    }
    rc = imap__begin(c, &cmd, tag);
    if (rc) return rc;
    rc = imap_cmd_authenticate(&cmd, tag, mech, irp);
    if (rc == IMAP_E_NOMEM && c->_out_len) {
        if ((rc = imap__drain_output(c)) != 0) return rc;
        if ((rc = imap__begin(c, &cmd, tag)) != 0) return rc;
        rc = imap_cmd_authenticate(&cmd, tag, mech, irp);
    }
    memset(ir, 0, sizeof ir);
    if (rc) return rc;
    return imap__submit(c, &cmd, tag, IMAP__K_AUTHENTICATE, NULL, call, auth, auth_arg);
}

IMAPDEF int imap_proxyauth(imap_client *c, const char *user, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_OTHER, NULL, imap_cmd_proxyauth(&cmd_, tag_, user));
}

IMAPDEF int imap_enable(imap_client *c, const char *caps, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_ENABLE, NULL, imap_cmd_enable(&cmd_, tag_, caps));
}

IMAPDEF int imap_id(imap_client *c, const char *const *args, size_t nargs,
                    const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_ID, NULL, imap_cmd_id(&cmd_, tag_, args, nargs));
}

IMAPDEF int imap_namespace(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_NAMESPACE, NULL, imap_cmd_namespace(&cmd_, tag_));
}

/* imaplib's SELECT flushes the untagged responses of the last mailbox */
static void imap__selecting(imap_client *c)
{
    c->_store_len = 0;
    c->exists = 0;
    c->recent = 0;
}

IMAPDEF int imap_select(imap_client *c, const char *mailbox, int readonly,
                        const imap_call *call)
{
    return imap_select_ext(c, mailbox, readonly, 0, NULL, call);
}

IMAPDEF int imap_examine(imap_client *c, const char *mailbox, const imap_call *call)
{
    return imap_select(c, mailbox, 1, call);
}

IMAPDEF int imap_create(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL, imap_cmd_create(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_delete(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL, imap_cmd_delete(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_rename(imap_client *c, const char *oldmailbox, const char *newmailbox,
                        const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL,
                  imap_cmd_rename(&cmd_, tag_, oldmailbox, newmailbox));
}

IMAPDEF int imap_subscribe(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL, imap_cmd_subscribe(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_unsubscribe(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL, imap_cmd_unsubscribe(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_list(imap_client *c, const char *directory, const char *pattern,
                      const imap_call *call)
{
    if (c && c->rev2) {
        /* so its answers can be told from change notices (section 7) */
        const char *pat = pattern ? pattern : "*";
        IMAP__COMMAND(c, call, IMAP__K_LISTC, NULL,
                      imap_cmd_list_extended(&cmd_, tag_, NULL, directory, &pat, 1, "CHILDREN"));
    }
    IMAP__COMMAND(c, call, IMAP__K_LIST, NULL, imap_cmd_list(&cmd_, tag_, directory, pattern));
}

IMAPDEF int imap_lsub(imap_client *c, const char *directory, const char *pattern,
                      const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_LSUB, NULL, imap_cmd_lsub(&cmd_, tag_, directory, pattern));
}

IMAPDEF int imap_status(imap_client *c, const char *mailbox, const char *names,
                        const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_STATUS, NULL, imap_cmd_status(&cmd_, tag_, mailbox, names));
}

IMAPDEF int imap_append(imap_client *c, const char *mailbox, const char *flags,
                        const char *date_time, const void *msg, size_t msglen,
                        const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL,
                  imap_cmd_append(&cmd_, tag_, mailbox, flags, date_time, msg, msglen));
}

IMAPDEF int imap_check(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_NOOP, NULL, imap_cmd_check(&cmd_, tag_));
}

IMAPDEF int imap_close(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_CLOSE, NULL, imap_cmd_close(&cmd_, tag_));
}

IMAPDEF int imap_unselect(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_CLOSE, NULL, imap_cmd_unselect(&cmd_, tag_));
}

IMAPDEF int imap_expunge(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_EXPUNGE, NULL, imap_cmd_expunge(&cmd_, tag_));
}

IMAPDEF int imap_search(imap_client *c, const char *charset, const char *const *criteria,
                        size_t ncriteria, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_SEARCH, NULL,
                  imap_cmd_search(&cmd_, tag_, charset, criteria, ncriteria));
}

IMAPDEF int imap_fetch(imap_client *c, const char *set, const char *parts,
                       const imap_call *call)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    x.route_set = set;
    IMAP__COMMAND_X(c, call, IMAP__K_FETCH, NULL, &x, imap_cmd_fetch(&cmd_, tag_, set, parts));
}

IMAPDEF int imap_partial(imap_client *c, const char *num, const char *part,
                         const char *start, const char *length, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_FETCH, NULL,
                  imap_cmd_partial(&cmd_, tag_, num, part, start, length));
}

IMAPDEF int imap_store(imap_client *c, const char *set, const char *command,
                       const char *flags, const imap_call *call)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    x.route_set = set;
    IMAP__COMMAND_X(c, call, IMAP__K_FETCH, NULL, &x,
                    imap_cmd_store(&cmd_, tag_, set, command, flags));
}

IMAPDEF int imap_select_ext(imap_client *c, const char *mailbox, int readonly,
                            int condstore, const imap_qresync *qresync,
                            const imap_call *call)
{
    int rc = imap__may_call(c, call);
    if (rc) return rc;
    imap__selecting(c);
    {
        /* its LIST names it (RFC 9051 §6.3.2): kept to route that LIST */
        imap__extra x;
        memset(&x, 0, sizeof x);
        x.route_set = mailbox ? mailbox : "INBOX";
        IMAP__COMMAND_X(c, call, readonly ? IMAP__K_EXAMINE : IMAP__K_SELECT, NULL, &x,
                        imap_cmd_select(&cmd_, tag_, mailbox, readonly, condstore, qresync));
    }
}

IMAPDEF int imap_fetch_changedsince(imap_client *c, int uid, const char *set,
                                    const char *items, imap_u64 modseq, int vanished,
                                    const imap_call *call)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    x.route_set = set;
    x.route_uid = uid != 0;
    IMAP__COMMAND_X(c, call, vanished ? IMAP__K_FETCH_VANISHED : IMAP__K_FETCH, NULL, &x,
                    imap_cmd_fetch_changedsince(&cmd_, tag_, uid, set, items, modseq, vanished));
}

IMAPDEF int imap_store_unchangedsince(imap_client *c, int uid, const char *set,
                                      imap_u64 modseq, const char *command,
                                      const char *flags, const imap_call *call)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    x.route_set = set;
    x.route_uid = uid != 0;
    IMAP__COMMAND_X(c, call, IMAP__K_FETCH, NULL, &x,
                    imap_cmd_store_unchangedsince(&cmd_, tag_, uid, set, modseq, command, flags));
}

IMAPDEF int imap_copy(imap_client *c, const char *set, const char *mailbox,
                      const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MAILBOX, NULL, imap_cmd_copy(&cmd_, tag_, set, mailbox));
}

IMAPDEF int imap_move(imap_client *c, const char *set, const char *mailbox,
                      const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_EXPUNGE, NULL, imap_cmd_move(&cmd_, tag_, set, mailbox));
}

/* Which responses "UID <command>" takes: those of <command>. */
static unsigned imap__uid_kind(const char *command)
{
    static const struct { const char *name; unsigned kind; } map[] = {
        { "FETCH", IMAP__K_FETCH }, { "STORE", IMAP__K_FETCH },
        { "SEARCH", IMAP__K_SEARCH }, { "SORT", IMAP__K_SORT },
        { "THREAD", IMAP__K_THREAD }, { "COPY", IMAP__K_MAILBOX },
        { "MOVE", IMAP__K_EXPUNGE }, { "EXPUNGE", IMAP__K_EXPUNGE }
    };
    unsigned i;
    for (i = 0; command && i < sizeof map / sizeof map[0]; i++)
        if (imap__ieq(command, strlen(command), map[i].name)) return map[i].kind;
    return IMAP__K_OTHER;
}

IMAPDEF int imap_uid(imap_client *c, const char *command, const char *const *args,
                     size_t nargs, const imap_call *call)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    if (imap__uid_kind(command) == IMAP__K_FETCH && nargs > 0 && args) {
        x.route_set = args[0];
        x.route_uid = 1;
    }
    IMAP__COMMAND_X(c, call, imap__uid_kind(command), NULL, &x,
                    imap_cmd_uid(&cmd_, tag_, command, args, nargs));
}

/* The kind of a command by its name, for commands not made by the calls
   above (imap_xatom, imap_client_send): its state change and routing. */
static unsigned imap__name_kind(const char *s, size_t n)
{
    static const struct { const char *name; unsigned kind; } map[] = {
        { "CAPABILITY", IMAP__K_CAPABILITY }, { "NOOP", IMAP__K_NOOP },
        { "CHECK", IMAP__K_NOOP }, { "LOGOUT", IMAP__K_LOGOUT },
        { "LOGIN", IMAP__K_LOGIN }, { "SELECT", IMAP__K_SELECT },
        { "EXAMINE", IMAP__K_EXAMINE }, { "CREATE", IMAP__K_MAILBOX },
        { "DELETE", IMAP__K_MAILBOX }, { "RENAME", IMAP__K_MAILBOX },
        { "SUBSCRIBE", IMAP__K_MAILBOX }, { "UNSUBSCRIBE", IMAP__K_MAILBOX },
        { "APPEND", IMAP__K_MAILBOX }, { "COPY", IMAP__K_MAILBOX },
        { "LIST", IMAP__K_LIST }, { "XLIST", IMAP__K_LIST }, { "LSUB", IMAP__K_LSUB },
        { "STATUS", IMAP__K_STATUS }, { "CLOSE", IMAP__K_CLOSE },
        { "UNSELECT", IMAP__K_CLOSE }, { "EXPUNGE", IMAP__K_EXPUNGE },
        { "MOVE", IMAP__K_EXPUNGE }, { "SEARCH", IMAP__K_SEARCH },
        { "SORT", IMAP__K_SORT }, { "THREAD", IMAP__K_THREAD },
        { "FETCH", IMAP__K_FETCH }, { "STORE", IMAP__K_FETCH },
        { "NAMESPACE", IMAP__K_NAMESPACE }, { "ID", IMAP__K_ID },
        { "ENABLE", IMAP__K_ENABLE }, { "GETACL", IMAP__K_GETACL },
        { "LISTRIGHTS", IMAP__K_LISTRIGHTS }, { "MYRIGHTS", IMAP__K_MYRIGHTS },
        { "GETQUOTA", IMAP__K_GETQUOTA }, { "SETQUOTA", IMAP__K_GETQUOTA },
        { "GETQUOTAROOT", IMAP__K_GETQUOTAROOT }, { "GETMETADATA", IMAP__K_METADATA },
        { "SETMETADATA", IMAP__K_METADATA }, { "GETANNOTATION", IMAP__K_ANNOTATION },
        { "SETANNOTATION", IMAP__K_ANNOTATION }, { "IDLE", IMAP__K_IDLE },
        { "AUTHENTICATE", IMAP__K_AUTHENTICATE }, { "STARTTLS", IMAP__K_STARTTLS },
        { "COMPRESS", IMAP__K_COMPRESS }
    };
    unsigned i;
    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (imap__ieq(s, n, map[i].name)) return map[i].kind;
    return IMAP__K_XATOM;
}

IMAPDEF int imap_xatom(imap_client *c, const char *name, const char *const *args,
                       size_t nargs, const imap_call *call)
{
    unsigned kind = name ? imap__name_kind(name, strlen(name)) : (unsigned)IMAP__K_XATOM;
    /* commands with a flow of their own (continuations, a new transport)
       are not sent blind */
    if (kind == IMAP__K_AUTHENTICATE || kind == IMAP__K_STARTTLS ||
        kind == IMAP__K_COMPRESS || kind == IMAP__K_IDLE || kind == IMAP__K_LOGIN)
        kind = IMAP__K_XATOM;
    imap__extra x;
    int rc = imap__may_call(c, call);
    if (rc) return rc;
    memset(&x, 0, sizeof x);
    x.route_extra = ~0u;                    /* every untagged response */
    if (kind == IMAP__K_SELECT || kind == IMAP__K_EXAMINE) imap__selecting(c);
    IMAP__COMMAND_X(c, call, kind, name, &x, imap_cmd_xatom(&cmd_, tag_, name, args, nargs));
}

IMAPDEF int imap_client_cmd(imap_client *c, imap_cmd *cmd, char tag[16])
{
    int rc;
    if (!c || !cmd || !tag) return IMAP_E_ARGS;
    if ((rc = imap__may_call(c, NULL)) != 0 && !c->_depth) return rc;
    if (c->_out_len > c->_out_cap / 2 && (rc = imap__drain_output(c)) != 0) return rc;
    return imap__begin(c, cmd, tag);
}

IMAPDEF int imap_client_send(imap_client *c, imap_cmd *cmd, const char *tag,
                             const imap_call *call)
{
    const char *s, *e, *w, *a, *b;
    unsigned kind;
    size_t tl, n, i;
    imap__extra x;
    char set[sizeof c->_q[0].set];
    int qresync = 0, vanished = 0, rc;
    if (!c || !cmd || !tag) return IMAP_E_ARGS;
    if ((rc = imap__may_call(c, call)) != 0) return rc;
    if (cmd->error) return cmd->error;
    tl = strlen(tag);
    /* begun by imap_client_cmd on the free part of the output buffer,
       ended by its builder, under this tag */
    if (cmd->buf != c->_out + c->_out_len || cmd->len > c->_out_cap - c->_out_len ||
        !cmd->_ended || cmd->nseg == 0 || cmd->seg[0].ptr != cmd->buf ||
        cmd->seg[0].len <= tl || memcmp(cmd->buf, tag, tl) != 0 || cmd->buf[tl] != ' ')
        return IMAP_E_ARGS;
    memset(&x, 0, sizeof x);
    s = (const char *)cmd->buf + tl + 1;
    e = (const char *)cmd->seg[0].ptr + cmd->seg[0].len;
    for (w = s; w < e && *w != ' ' && *w != '\r'; w++) {}
    kind = imap__name_kind(s, (size_t)(w - s));
    if (imap__ieq(s, (size_t)(w - s), "UID") && w < e && *w == ' ') {
        s = w + 1;
        for (w = s; w < e && *w != ' ' && *w != '\r'; w++) {}
        kind = imap__name_kind(s, (size_t)(w - s));
        x.route_uid = 1;
        if (kind != IMAP__K_FETCH && kind != IMAP__K_SEARCH && kind != IMAP__K_SORT &&
            kind != IMAP__K_THREAD && kind != IMAP__K_MAILBOX && kind != IMAP__K_EXPUNGE)
            kind = IMAP__K_XATOM;
    }
    if (kind == IMAP__K_AUTHENTICATE || kind == IMAP__K_STARTTLS || kind == IMAP__K_COMPRESS)
        return IMAP_E_ARGS;
    if (kind == IMAP__K_XATOM) x.route_extra = ~0u;
    /* the rest of the first line: the set, and modifiers that bring more
       responses (RFC 7162 §3.2.5, §3.2.6) */
    a = w < e ? w + 1 : e;
    for (b = a; b < e && *b != ' ' && *b != '\r'; b++) {}
    n = (size_t)(b - a);
    for (i = 0; a + i + 8 <= e; i++) {
        if (imap__ieq(a + i, 7, "QRESYNC")) qresync = 1;
        if (imap__ieq(a + i, 8, "VANISHED")) vanished = 1;
    }
    if ((kind == IMAP__K_SELECT || kind == IMAP__K_EXAMINE) && qresync)
        x.route_extra |= IMAP__R_FETCH | IMAP__R_EXPUNGE;
    if (kind == IMAP__K_FETCH && vanished) x.route_extra |= IMAP__R_EXPUNGE;
    if (kind == IMAP__K_FETCH && n < sizeof set) {
        memcpy(set, a, n);
        set[n] = 0;
        x.route_set = set;                  /* copied by imap__submit_x */
    } else {
        x.route_uid = 0;
    }
    if (kind == IMAP__K_SELECT || kind == IMAP__K_EXAMINE) imap__selecting(c);
    return imap__submit_x(c, cmd, tag, kind, NULL, call, &x);
}

IMAPDEF int imap_sort(imap_client *c, const char *sort_criteria, const char *charset,
                      const char *const *criteria, size_t ncriteria, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_SORT, NULL,
                  imap_cmd_sort(&cmd_, tag_, sort_criteria, charset, criteria, ncriteria));
}

IMAPDEF int imap_thread(imap_client *c, const char *algorithm, const char *charset,
                        const char *const *criteria, size_t ncriteria, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_THREAD, NULL,
                  imap_cmd_thread(&cmd_, tag_, algorithm, charset, criteria, ncriteria));
}

IMAPDEF int imap_getacl(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_GETACL, NULL, imap_cmd_getacl(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_setacl(imap_client *c, const char *mailbox, const char *who,
                        const char *what, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_OTHER, NULL, imap_cmd_setacl(&cmd_, tag_, mailbox, who, what));
}

IMAPDEF int imap_deleteacl(imap_client *c, const char *mailbox, const char *who,
                           const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_OTHER, NULL, imap_cmd_deleteacl(&cmd_, tag_, mailbox, who));
}

IMAPDEF int imap_listrights(imap_client *c, const char *mailbox, const char *who,
                            const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_LISTRIGHTS, NULL,
                  imap_cmd_listrights(&cmd_, tag_, mailbox, who));
}

IMAPDEF int imap_myrights(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_MYRIGHTS, NULL, imap_cmd_myrights(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_getannotation(imap_client *c, const char *mailbox, const char *entry,
                               const char *attribute, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_ANNOTATION, NULL,
                  imap_cmd_getannotation(&cmd_, tag_, mailbox, entry, attribute));
}

IMAPDEF int imap_setannotation(imap_client *c, const char *mailbox,
                               const char *const *args, size_t nargs, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_ANNOTATION, NULL,
                  imap_cmd_setannotation(&cmd_, tag_, mailbox, args, nargs));
}

IMAPDEF int imap_getmetadata(imap_client *c, const char *options, const char *mailbox,
                             const char *const *entries, size_t nentries,
                             const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_METADATA, NULL,
                  imap_cmd_getmetadata(&cmd_, tag_, options, mailbox, entries, nentries));
}

IMAPDEF int imap_setmetadata(imap_client *c, const char *mailbox,
                             const char *const *pairs, size_t npairs, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_METADATA, NULL,
                  imap_cmd_setmetadata(&cmd_, tag_, mailbox, pairs, npairs));
}

IMAPDEF int imap_getquota(imap_client *c, const char *root, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_GETQUOTA, NULL, imap_cmd_getquota(&cmd_, tag_, root));
}

IMAPDEF int imap_getquotaroot(imap_client *c, const char *mailbox, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_GETQUOTAROOT, NULL,
                  imap_cmd_getquotaroot(&cmd_, tag_, mailbox));
}

IMAPDEF int imap_setquota(imap_client *c, const char *root, const char *limits,
                          const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_GETQUOTA, NULL, imap_cmd_setquota(&cmd_, tag_, root, limits));
}

IMAPDEF int imap_idle(imap_client *c, long timeout_ms, const imap_call *call)
{
    imap__extra x;
    memset(&x, 0, sizeof x);
    /* a timeout that cannot be measured is refused, not guessed */
    if (c && timeout_ms > 0 && imap__timeless(c)) return IMAP_E_ARGS;
    x.idle_ms = timeout_ms > 0 ? timeout_ms : IMAP__IDLE_MAX;
    IMAP__COMMAND_X(c, call, IMAP__K_IDLE, NULL, &x, imap_cmd_idle(&cmd_, tag_));
}

IMAPDEF int imap_recent(imap_client *c, imap_u64 *count)
{
    char buf[32];
    size_t n;
    int rc, found = 0, k;
    /* imaplib's data[-1]: the newest of the RECENT responses kept */
    for (k = 0; k < 2 && !found; k++) {
        if (k == 1 && (rc = imap_noop(c, NULL)) < 0) return rc;
        while ((rc = imap_client_response(c, "RECENT", buf, sizeof buf, &n)) == 1) {
            found = 1;
            if (!imap__parse_u64(buf, n, count)) return IMAP_E_SYNTAX;
        }
        if (rc < 0) return rc;
    }
    return found;
}

/* ---- 9d. decoded mail ---------------------------------------------------- */
#ifndef IMAP_NO_MIME

/* The part at `section` of a BODYSTRUCTURE, walked without recursion
   (RFC 3501 §6.4.5: a one-part message has part 1; MESSAGE/RFC822 parts
   number the parts of the message inside). 0, IMAP_E_ARGS (bad text),
   or 1 when there is no such part. */
static int imap__body_at(const imap_value *root, const char *section, imap_body *b)
{
    const char *p = section ? section : "";
    int top = 1;
    if (imap_body_decode(root, b)) return 1;
    if (!*p) return 0;
    while (*p) {
        unsigned long k = 0;
        const imap_value *child = NULL;
        if (*p < '1' || *p > '9') return IMAP_E_ARGS;
        while (*p >= '0' && *p <= '9') {
            if (k > 100000) return IMAP_E_ARGS;
            k = k * 10 + (unsigned long)(*p++ - '0');
        }
        if (*p == '.') {
            p++;
            if (!*p) return IMAP_E_ARGS;
        } else if (*p) {
            return IMAP_E_ARGS;
        }
        if (!top && !b->multipart) {                /* into the message */
            if (!b->body || imap_body_decode(b->body, b)) return 1;
            if (!b->multipart) {
                if (k != 1) return 1;
                continue;
            }
        }
        if (!b->multipart) return (k != 1 || *p) ? 1 : 0;   /* a one-part message */
        top = 0;
        for (child = b->parts; child && --k; child = child->next) {}
        if (!child || child->type != IMAP_LIST || imap_body_decode(child, b)) return 1;
    }
    return 0;
}

static void imap__copy_cstr(char *dst, size_t cap, imap_str a, const char *sep, imap_str b2)
{
    size_t n = 0, i;
    for (i = 0; a.ptr && i < a.len && n + 1 < cap; i++) dst[n++] = (char)imap__mime_lower((unsigned char)a.ptr[i]);
    for (i = 0; sep && sep[i] && n + 1 < cap; i++) dst[n++] = sep[i];
    for (i = 0; b2.ptr && i < b2.len && n + 1 < cap; i++) dst[n++] = (char)imap__mime_lower((unsigned char)b2.ptr[i]);
    dst[n] = 0;
}

typedef struct imap__part_job {
    imap_u64 uid, msgno;
    const char *section;
    imap_part_info *info;
    int bad_section;
    imap_decode_sink ds;
    imap_cte cte;             /* a body that came as a quoted string */
    int kind;
    int got;                  /* the body item came */
} imap__part_job;

static void imap__part_struct(void *arg, imap_client *c, const imap_response *r)
{
    imap__part_job *j = (imap__part_job *)arg;
    const imap_value *uid = imap_fetch_get(r, "UID"), *bs = imap_fetch_get(r, "BODYSTRUCTURE");
    imap_u64 u;
    imap_body b;
    imap_str none = {NULL, 0};
    int k;
    (void)c;
    if (!uid || !bs || imap_value_u64(uid, &u) || u != j->uid) return;
    j->msgno = r->number;
    j->info->found = 1;
    k = imap__body_at(bs, j->section, &b);
    if (k == IMAP_E_ARGS) j->bad_section = 1;
    if (k) return;
    j->info->found = 2;
    imap__copy_cstr(j->info->type, sizeof j->info->type, b.type, "/", b.subtype);
    imap__copy_cstr(j->info->encoding, sizeof j->info->encoding, b.encoding, NULL, none);
    for (k = 0; j->info->encoding[k]; k++)
        j->info->encoding[k] = (char)(j->info->encoding[k] >= 'a' && j->info->encoding[k] <= 'z'
                                      ? j->info->encoding[k] - 32 : j->info->encoding[k]);
    j->info->size = b.size;
}

static void imap__part_body(void *arg, imap_client *c, const imap_response *r)
{
    imap__part_job *j = (imap__part_job *)arg;
    imap_fetch_iter it;
    imap_fetch_attr a;
    (void)c;
    if (r->number != j->msgno || imap_fetch_begin(r, &it) != 0) return;
    while (imap_fetch_next(&it, &a) == 1) {
        imap_str v;
        if (!a.has_section || !(imap_str_is(a.name, "BODY") || imap_str_is(a.name, "BINARY")))
            continue;
        j->got = 1;
        /* a short body may come as a quoted string, not a literal */
        if (!(a.value->flags & IMAP_VF_SUNK) && imap_value_str(a.value, &v) == 0 && v.ptr &&
            !j->ds.error) {
            memset(&j->cte, 0, sizeof j->cte);
            j->cte.kind = imap_str_is(a.name, "BINARY") ? IMAP_CTE_IDENTITY : j->kind;
            if (imap_cte_feed(&j->cte, v.ptr, v.len, imap__dsink_out, &j->ds) ||
                imap_cte_finish(&j->cte, imap__dsink_out, &j->ds))
                j->ds.error = IMAP_E_SINK;
        }
    }
}

static int imap__part_fetch(imap_client *c, imap__part_job *j, const char *item)
{
    imap_parser *p = &c->_parser;
    size_t th = p->sink_threshold;
    imap_literal_sink sk = p->sink;
    void *sc = p->sink_ctx;
    char uidbuf[24], what[80];
    const char *args[2];
    imap_call call;
    size_t n;
    int rc;
    uidbuf[imap__fmt_u64(uidbuf, j->uid)] = 0;
    n = strlen(item);
    memcpy(what, item, n);
    memcpy(what + n, j->section, strlen(j->section) + 1);
    n = strlen(what);
    what[n] = ']';
    what[n + 1] = ')';
    what[n + 2] = 0;
    args[0] = uidbuf;
    args[1] = what;
    memset(&call, 0, sizeof call);
    call.on_data = imap__part_body;
    call.arg = j;
    j->ds.msgno = j->msgno;
    j->got = 0;
    imap_parser_set_sink(p, 0, imap_decode_sink_fn, &j->ds);
    rc = imap_uid(c, "FETCH", args, 2, &call);
    imap_parser_set_sink(p, th, sk, sc);
    return rc;
}

IMAPDEF int imap_fetch_part(imap_client *c, imap_u64 uid, const char *section,
                            unsigned flags, imap_bytes_fn out, void *arg,
                            imap_part_info *info)
{
    imap__part_job j;
    imap_part_info local;
    imap_call call;
    imap_str enc;
    char uidbuf[24];
    const char *args[2];
    int rc;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    memset(&j, 0, sizeof j);
    if (!section || !*section) section = "1";
    if (!out || uid == 0 || uid > IMAP_SEQ_MAX || strlen(section) > 40) return IMAP_E_ARGS;
    {   /* 1*digit *("." 1*digit), no 0 part: nothing else reaches the command */
        const char *q = section;
        for (;;) {
            if (*q < '1' || *q > '9') return IMAP_E_ARGS;
            while (*q >= '0' && *q <= '9') q++;
            if (!*q) break;
            if (*q++ != '.') return IMAP_E_ARGS;
        }
    }
    j.uid = uid;
    j.section = section;
    j.info = info;
    uidbuf[imap__fmt_u64(uidbuf, uid)] = 0;
    args[0] = uidbuf;
    args[1] = "(UID BODYSTRUCTURE)";
    memset(&call, 0, sizeof call);
    call.on_data = imap__part_struct;
    call.arg = &j;
    rc = imap_uid(c, "FETCH", args, 2, &call);
    if (rc != IMAP_OK) return rc;
    if (j.bad_section || info->found != 2) return IMAP_E_ARGS;
    enc.ptr = info->encoding;
    enc.len = strlen(info->encoding);
    imap_decode_sink_init(&j.ds, enc, out, arg);
    j.kind = j.ds._kind;
    if (j.kind != IMAP_CTE_IDENTITY && !(flags & IMAP_PART_CLIENT_DECODE) &&
        imap_client_has_cap(c, "BINARY")) {
        rc = imap__part_fetch(c, &j, "(UID BINARY.PEEK[");
        if (rc == IMAP_OK && j.got) {
            info->server_decoded = 1;
            info->written = j.ds.written;
            return j.ds.error ? IMAP_E_SINK : IMAP_OK;
        }
        /* [UNKNOWN-CTE] and the like (RFC 3516 §4.3), or a server that
           offers BINARY and then refuses it: decode here */
        if (rc != IMAP_E_NO && rc != IMAP_E_BAD && rc != IMAP_OK) return rc;
        if (j.ds.written) return IMAP_E_PROTOCOL;   /* cannot take back what went out */
    }
    rc = imap__part_fetch(c, &j, "(UID BODY.PEEK[");
    info->written = j.ds.written;
    if (rc == IMAP_OK && j.ds.error) rc = IMAP_E_SINK;
    if (rc == IMAP_OK && !j.got) rc = IMAP_E_ARGS;  /* expunged meanwhile */
    return rc;
}

/* Bytes as UTF-8 (RFC 6532 lets addresses hold it), bad ones U+FFFD. */
static void imap__utf8_copy(imap__out *o, imap_str s)
{
    imap__csd d;
    size_t i;
    imap__csd_init(&d, IMAP__CS_UTF8, s, NULL);
    for (i = 0; s.ptr && i < s.len; i++) imap__csd_put(&d, o, (unsigned char)s.ptr[i]);
    imap__csd_flush(&d, o);
}

static void imap__addr_put(imap__out *o, const imap_value *list, const imap_charset_conv *conv)
{
    const imap_value *cur = list;
    imap_address a;
    while (imap_address_next(&cur, &a) == 1) {
        if (a.group_start || a.group_end) continue;
        if (a.name.len) {
            imap__hdr_dec((const unsigned char *)a.name.ptr, a.name.len, o, conv);
            imap__out_c(o, ' ');
            imap__out_c(o, '<');
        }
        imap__utf8_copy(o, a.mailbox);
        if (a.host.ptr) {
            imap__out_c(o, '@');
            imap__utf8_copy(o, a.host);
        }
        if (a.name.len) imap__out_c(o, '>');
        return;                                 /* the first author */
    }
}

IMAPDEF int imap_summary_decode(const imap_response *r, char *buf, size_t cap,
                                const imap_charset_conv *conv, imap_summary *s)
{
    const imap_value *env = imap_fetch_get(r, "ENVELOPE"), *uid = imap_fetch_get(r, "UID");
    imap_envelope e;
    imap__out o;
    size_t d_end, f_end;
    memset(s, 0, sizeof *s);
    s->date = s->from = s->subject = "";
    s->msgno = r->number;
    if (uid) imap_value_u64(uid, &s->uid);
    if (!env || imap_envelope_decode(env, &e) != 0) return IMAP_E_SYNTAX;
    imap__out_init(&o, buf, cap);
    imap__hdr_dec((const unsigned char *)e.date.ptr, e.date.ptr ? e.date.len : 0, &o, conv);
    imap__out_c(&o, 0);
    d_end = o.len;
    imap__addr_put(&o, e.from, conv);
    imap__out_c(&o, 0);
    f_end = o.len;
    if (e.subject.ptr) imap__hdr_dec((const unsigned char *)e.subject.ptr, e.subject.len, &o, conv);
    imap__out_c(&o, 0);
    s->needed = o.len;
    if (!buf || o.len > cap) {
        s->result = IMAP_E_NOMEM;
        return IMAP_E_NOMEM;
    }
    s->date = buf;
    s->from = buf + d_end;
    s->subject = buf + f_end;
    return 0;
}

typedef struct imap__summary_job {
    const imap_charset_conv *conv;
    char *buf;
    size_t cap;
    void (*fn)(void *arg, const imap_summary *s);
    void *arg;
    int nomem;
} imap__summary_job;

static void imap__summary_data(void *arg, imap_client *c, const imap_response *r)
{
    imap__summary_job *j = (imap__summary_job *)arg;
    imap_summary s;
    int rc;
    (void)c;
    if (!imap_response_is(r, "FETCH")) return;
    rc = imap_summary_decode(r, j->buf, j->cap, j->conv, &s);
    if (rc == IMAP_E_SYNTAX) return;            /* a FETCH of flags, not ours */
    if (rc == IMAP_E_NOMEM) j->nomem = 1;
    j->fn(j->arg, &s);
}

IMAPDEF int imap_fetch_summary(imap_client *c, const char *set, int uid,
                               const imap_charset_conv *conv, char *buf, size_t cap,
                               void (*fn)(void *arg, const imap_summary *s), void *arg)
{
    imap__summary_job j;
    imap_call call;
    const char *args[2];
    int rc;
    if (!fn || !set) return IMAP_E_ARGS;
    memset(&j, 0, sizeof j);
    j.conv = conv;
    j.buf = buf;
    j.cap = cap;
    j.fn = fn;
    j.arg = arg;
    memset(&call, 0, sizeof call);
    call.on_data = imap__summary_data;
    call.arg = &j;
    args[0] = set;
    args[1] = "(UID ENVELOPE)";
    rc = uid ? imap_uid(c, "FETCH", args, 2, &call) : imap_fetch(c, set, args[1], &call);
    if (rc == IMAP_OK && j.nomem) rc = IMAP_E_NOMEM;
    return rc;
}

#endif /* IMAP_NO_MIME */

/* ---- 9b. SASL mechanisms ------------------------------------------------ */

/* Clear secrets with stores the compiler may not drop as dead. */
static void imap__wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

static void imap__out_n(imap__out *o, const void *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i;
    for (i = 0; i < n; i++) imap__out_c(o, u[i]);
}

static void imap__out_s(imap__out *o, const char *s)
{
    if (s) imap__out_n(o, s, strlen(s));
}

/* saslname (RFC 5802 §5.1, also RFC 7628's gs2 header): "," and "=" go
   as "=2C" and "=3D". */
static void imap__out_saslname(imap__out *o, const char *s)
{
    for (; s && *s; s++) {
        if (*s == ',') imap__out_n(o, "=2C", 3);
        else if (*s == '=') imap__out_n(o, "=3D", 3);
        else imap__out_c(o, (unsigned char)*s);
    }
}

/* gs2-header without channel binding: "n," [ "a=" saslname ] "," */
static void imap__out_gs2(imap__out *o, const char *authzid)
{
    imap__out_n(o, "n,", 2);
    if (authzid && *authzid) {
        imap__out_n(o, "a=", 2);
        imap__out_saslname(o, authzid);
    }
    imap__out_c(o, ',');
}

/* No byte below 0x20: the \1 separators of the OAuth formats and the
   line framing stay ours. */
static int imap__sasl_clean(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

static int imap__sasl_fail(imap_sasl *s, int code)
{
    if (!s->error) s->error = code;
    return -1;
}

/* The answer's length, or -1 (IMAP_E_NOMEM) when it did not fit; a
   partial answer may hold a password, so it is wiped. */
static int imap__sasl_done(imap_sasl *s, imap__out *o)
{
    if (!o->p || o->len > o->cap || o->len > 0x7fffffffu) {
        if (o->p) imap__wipe(o->p, o->cap);
        return imap__sasl_fail(s, IMAP_E_NOMEM);
    }
    return (int)o->len;
}

IMAPDEF void imap_sasl_init(imap_sasl *s, const char *user, const char *secret)
{
    memset(s, 0, sizeof *s);
    s->user = user;
    s->secret = secret;
}

IMAPDEF void imap_sasl_wipe(imap_sasl *s)
{
    imap__wipe(s->_nonce, sizeof s->_nonce);
    imap__wipe(s->_sig, sizeof s->_sig);
    s->_nonce_len = 0;
}

IMAPDEF void imap_scram_cache_wipe(imap_scram_cache *cache)
{
    imap__wipe(cache, sizeof *cache);
}

/* A challenge NULL is the engine's "the server said OK" (section 7): the
   mechanisms without a server proof accept it. */

IMAPDEF int imap_sasl_plain(void *arg, const unsigned char *challenge, size_t len,
                            unsigned char *out, size_t cap)
{
    imap_sasl *s = (imap_sasl *)arg;
    imap__out o;
    (void)len;
    if (!challenge) return 0;
    if (s->_step++) return imap__sasl_fail(s, IMAP_E_SYNTAX);   /* one round */
    if (!s->user || !s->secret) return imap__sasl_fail(s, IMAP_E_ARGS);
    /* RFC 4616 §2: [authzid] NUL authcid NUL passwd */
    imap__out_init(&o, out, cap);
    imap__out_s(&o, s->authzid);
    imap__out_c(&o, 0);
    imap__out_s(&o, s->user);
    imap__out_c(&o, 0);
    imap__out_s(&o, s->secret);
    return imap__sasl_done(s, &o);
}

IMAPDEF int imap_sasl_login(void *arg, const unsigned char *challenge, size_t len,
                            unsigned char *out, size_t cap)
{
    imap_sasl *s = (imap_sasl *)arg;
    imap__out o;
    if (!challenge) return 0;
    /* the server prompts first (draft-murchison-sasl-login §2.1); the
       prompts' text is ignored */
    if (s->_step == 0 && len == 0) return IMAP_AUTH_NO_IR;
    if (!s->user || !s->secret) return imap__sasl_fail(s, IMAP_E_ARGS);
    if (s->_step > 1) return imap__sasl_fail(s, IMAP_E_SYNTAX);
    imap__out_init(&o, out, cap);
    imap__out_s(&o, s->_step++ == 0 ? s->user : s->secret);
    return imap__sasl_done(s, &o);
}

/* Google's and Microsoft's XOAUTH2: user=U ^A auth=Bearer T ^A ^A. */
IMAPDEF int imap_sasl_xoauth2(void *arg, const unsigned char *challenge, size_t len,
                              unsigned char *out, size_t cap)
{
    imap_sasl *s = (imap_sasl *)arg;
    imap__out o;
    (void)len;
    if (!challenge) return 0;
    switch (s->_step++) {
    case 0:
        if (!s->user || !s->secret || !imap__sasl_clean(s->user) || !imap__sasl_clean(s->secret))
            return imap__sasl_fail(s, IMAP_E_ARGS);
        imap__out_init(&o, out, cap);
        imap__out_n(&o, "user=", 5);
        imap__out_s(&o, s->user);
        imap__out_n(&o, "\001auth=Bearer ", 13);
        imap__out_s(&o, s->secret);
        imap__out_n(&o, "\001\001", 2);
        return imap__sasl_done(s, &o);
    case 1:
        /* a JSON error instead of OK: an empty answer lets the server
           end with NO */
        s->error = IMAP_E_AUTH;
        return 0;
    default:
        return imap__sasl_fail(s, IMAP_E_SYNTAX);
    }
}

IMAPDEF int imap_sasl_oauthbearer(void *arg, const unsigned char *challenge, size_t len,
                                  unsigned char *out, size_t cap)
{
    imap_sasl *s = (imap_sasl *)arg;
    const char *who = s->authzid ? s->authzid : s->user;
    imap__out o;
    (void)len;
    if (!challenge) return 0;
    switch (s->_step++) {
    case 0:
        if (!s->secret || !imap__sasl_clean(s->secret) || !imap__sasl_clean(who) ||
            !imap__sasl_clean(s->host))
            return imap__sasl_fail(s, IMAP_E_ARGS);
        /* RFC 7628 §3.1: gs2-header ^A [host=H ^A] [port=P ^A] auth=Bearer T ^A ^A */
        imap__out_init(&o, out, cap);
        imap__out_gs2(&o, who);
        imap__out_c(&o, 1);
        if (s->host) {
            imap__out_n(&o, "host=", 5);
            imap__out_s(&o, s->host);
            imap__out_c(&o, 1);
        }
        if (s->port) {
            char num[24];
            imap__out_n(&o, "port=", 5);
            imap__out_n(&o, num, imap__fmt_u64(num, s->port));
            imap__out_c(&o, 1);
        }
        imap__out_n(&o, "auth=Bearer ", 12);
        imap__out_s(&o, s->secret);
        imap__out_n(&o, "\001\001", 2);
        return imap__sasl_done(s, &o);
    case 1:
        /* RFC 7628 §3.2.3: after an error the client sends a lone ^A */
        s->error = IMAP_E_AUTH;
        if (cap < 1) return imap__sasl_fail(s, IMAP_E_NOMEM);
        out[0] = 1;
        return 1;
    default:
        return imap__sasl_fail(s, IMAP_E_SYNTAX);
    }
}

IMAPDEF int imap_sasl_external(void *arg, const unsigned char *challenge, size_t len,
                               unsigned char *out, size_t cap)
{
    imap_sasl *s = (imap_sasl *)arg;
    imap__out o;
    (void)len;
    if (!challenge) return 0;
    if (s->_step++) return imap__sasl_fail(s, IMAP_E_SYNTAX);
    /* RFC 4422 Appendix A: the authzid, or nothing */
    imap__out_init(&o, out, cap);
    imap__out_s(&o, s->authzid);
    return imap__sasl_done(s, &o);
}

#ifdef IMAP_WITH_BEARSSL
#include <bearssl.h>

static void imap__out_b64(imap__out *o, const void *d, size_t n)
{
    long k = -1;
    if (o->p && o->len < o->cap)
        k = imap_base64_encode(d, n, (char *)o->p + o->len, o->cap - o->len);
    if (k < 0) o->len = o->cap + 1;       /* overflowed; the caller checks */
    else o->len += (size_t)k;
}

static void imap__hmac(const br_hash_class *h, const void *key, size_t klen,
                       const void *data, size_t n, unsigned char *out)
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, h, key, klen);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, n);
    br_hmac_out(&hc, out);
    imap__wipe(&kc, sizeof kc);
    imap__wipe(&hc, sizeof hc);
}

IMAPDEF int imap_sasl_cram_md5(void *arg, const unsigned char *challenge, size_t len,
                               unsigned char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    imap_sasl *s = (imap_sasl *)arg;
    unsigned char mac[16];
    imap__out o;
    size_t i;
    int rc;
    if (!challenge) return 0;
    if (s->_step == 0 && len == 0) return IMAP_AUTH_NO_IR;    /* the server speaks first */
    if (s->_step++) return imap__sasl_fail(s, IMAP_E_SYNTAX);
    if (!s->user || !s->secret) return imap__sasl_fail(s, IMAP_E_ARGS);
    /* RFC 2195 §2: user SP hex(HMAC-MD5(password, challenge)) */
    imap__hmac(&br_md5_vtable, s->secret, strlen(s->secret), challenge, len, mac);
    imap__out_init(&o, out, cap);
    imap__out_s(&o, s->user);
    imap__out_c(&o, ' ');
    for (i = 0; i < sizeof mac; i++) {
        imap__out_c(&o, (unsigned char)hex[mac[i] >> 4]);
        imap__out_c(&o, (unsigned char)hex[mac[i] & 15]);
    }
    imap__wipe(mac, sizeof mac);
    rc = imap__sasl_done(s, &o);
    return rc;
}

/* ---- SCRAM (RFC 5802, RFC 7677) ---- */

#define IMAP__SCRAM_SALT_MAX 128

typedef struct imap__scram_first {
    imap_str nonce;                     /* the whole r= value */
    unsigned char salt[IMAP__SCRAM_SALT_MAX];
    size_t salt_len;
    unsigned long iter;
} imap__scram_first;

/* One attribute "a=value" at *p (RFC 5802 §7): a letter, "=", one or more
   bytes but "," and NUL; *p moves past one "," that must have more after
   it. */
static int imap__scram_attr(const char **p, const char *e, char *name, imap_str *val)
{
    const char *s = *p, *v;
    unsigned char a;
    if (e - s < 3) return IMAP_E_SYNTAX;
    a = (unsigned char)(s[0] | 32);
    if (a < 'a' || a > 'z' || s[1] != '=') return IMAP_E_SYNTAX;
    *name = s[0];
    for (v = s = s + 2; s < e && *s != ','; s++)
        if (*s == 0) return IMAP_E_SYNTAX;
    if (s == v) return IMAP_E_SYNTAX;
    val->ptr = v;
    val->len = (size_t)(s - v);
    if (s < e && ++s == e) return IMAP_E_SYNTAX;     /* a trailing "," */
    *p = s;
    return 0;
}

/* server-first-message, strictly: r= our nonce and more (printable), s=
   base64 (1..128 bytes), i= 1..IMAP_SCRAM_MAX_ITERATIONS without leading
   zeros, then only well-formed extensions. Returns 0, IMAP_E_SYNTAX,
   IMAP_E_LIMIT (i= too large) or IMAP_E_AUTH (not our nonce, or the
   mandatory-extension attribute m= of §5.1). */
static int imap__scram_parse_first(const char *m, size_t n, const char *cnonce,
                                   size_t cnlen, imap__scram_first *f)
{
    const char *p = m, *e = m + n;
    imap_str v;
    imap_u64 it = 0;
    size_t i;
    long k;
    char a;
    if (imap__scram_attr(&p, e, &a, &v)) return IMAP_E_SYNTAX;
    if (a == 'm') return IMAP_E_AUTH;
    if (a != 'r') return IMAP_E_SYNTAX;
    for (i = 0; i < v.len; i++)
        if ((unsigned char)v.ptr[i] < 0x21 || (unsigned char)v.ptr[i] > 0x7e) return IMAP_E_SYNTAX;
    /* the server appends its part to ours (§5.1) */
    if (v.len <= cnlen || memcmp(v.ptr, cnonce, cnlen) != 0) return IMAP_E_AUTH;
    f->nonce = v;
    if (p == e || imap__scram_attr(&p, e, &a, &v) || a != 's') return IMAP_E_SYNTAX;
    k = imap_base64_decode(v.ptr, v.len, f->salt, sizeof f->salt);
    if (k <= 0) return IMAP_E_SYNTAX;
    f->salt_len = (size_t)k;
    if (p == e || imap__scram_attr(&p, e, &a, &v) || a != 'i') return IMAP_E_SYNTAX;
    if (v.len > 12 || v.ptr[0] < '1' || v.ptr[0] > '9') return IMAP_E_SYNTAX;
    for (i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') return IMAP_E_SYNTAX;
        it = it * 10 + (imap_u64)(v.ptr[i] - '0');
    }
    while (p < e)
        if (imap__scram_attr(&p, e, &a, &v)) return IMAP_E_SYNTAX;
    if (it > IMAP_SCRAM_MAX_ITERATIONS) return IMAP_E_LIMIT;
    f->iter = (unsigned long)it;
    return 0;
}

/* server-final-message: 1 when v= is `sig` (hl bytes), 0 when it is not;
   IMAP_E_AUTH for the server's e=, IMAP_E_SYNTAX when malformed. */
static int imap__scram_parse_final(const char *m, size_t n, const unsigned char *sig, size_t hl)
{
    const char *p = m, *e = m + n;
    unsigned char got[64];
    unsigned diff = 0;
    imap_str v;
    size_t i;
    long k;
    char a;
    if (imap__scram_attr(&p, e, &a, &v)) return IMAP_E_SYNTAX;
    if (a == 'e') return IMAP_E_AUTH;
    if (a != 'v') return IMAP_E_SYNTAX;
    k = imap_base64_decode(v.ptr, v.len, got, sizeof got);
    if (k < 0) return IMAP_E_SYNTAX;
    while (p < e)
        if (imap__scram_attr(&p, e, &a, &v)) return IMAP_E_SYNTAX;
    if ((size_t)k != hl) return 0;
    for (i = 0; i < hl; i++) diff |= (unsigned)(got[i] ^ sig[i]);   /* no early exit */
    return diff == 0;
}

/* The client nonce: given, or 18 random bytes in base64 (144 bits). */
static int imap__scram_nonce(imap_sasl *s)
{
    size_t n, i;
    if (s->nonce) {
        n = strlen(s->nonce);
        if (n == 0 || n > IMAP_SASL_NONCE_MAX) return IMAP_E_ARGS;
        for (i = 0; i < n; i++)
            if ((unsigned char)s->nonce[i] < 0x21 || (unsigned char)s->nonce[i] > 0x7e ||
                s->nonce[i] == ',') return IMAP_E_ARGS;
        memcpy(s->_nonce, s->nonce, n);
    } else {
        unsigned char raw[18];
        if (s->random) {
            if (s->random(s->random_arg, raw, sizeof raw) != 0) return IMAP_E_UNSUPPORTED;
        } else {
            br_hmac_drbg_context rng;
            br_prng_seeder seeder = br_prng_seeder_system(NULL);
            int ok;
            if (!seeder) return IMAP_E_UNSUPPORTED;
            br_hmac_drbg_init(&rng, &br_sha256_vtable, NULL, 0);
            ok = seeder(&rng.vtable);
            if (ok) br_hmac_drbg_generate(&rng, raw, sizeof raw);
            imap__wipe(&rng, sizeof rng);
            if (!ok) return IMAP_E_UNSUPPORTED;
        }
        n = (size_t)imap_base64_encode(raw, sizeof raw, s->_nonce, sizeof s->_nonce);
        imap__wipe(raw, sizeof raw);
    }
    s->_nonce[n] = 0;
    s->_nonce_len = n;
    return 0;
}

/* client-first-message-bare: n=saslname,r=nonce */
static void imap__scram_bare(imap__out *o, const imap_sasl *s)
{
    imap__out_n(o, "n=", 2);
    imap__out_saslname(o, s->user);
    imap__out_n(o, ",r=", 3);
    imap__out_n(o, s->_nonce, s->_nonce_len);
}

/* Answer server-first (sf) with client-final; keep the ServerSignature
   to expect (RFC 5802 §3). */
static int imap__scram_final(imap_sasl *s, const br_hash_class *h, size_t hl,
                             const unsigned char *sf, size_t sflen,
                             unsigned char *out, size_t cap)
{
    imap__scram_first f;
    br_hmac_key_context kc;
    br_hmac_context hc, cs, ss;
    br_hash_compat_context hh;
    unsigned char salted[32], u[32], ckey[32], stored[32], skey[32], csig[32];
    unsigned char gs2[256];
    imap__out o, g;
    unsigned long it;
    size_t i;
    int rc = imap__scram_parse_first((const char *)sf, sflen, s->_nonce, s->_nonce_len, &f);
    if (rc) return imap__sasl_fail(s, rc);
    imap__out_init(&g, gs2, sizeof gs2);
    imap__out_gs2(&g, s->authzid);
    if (g.len > sizeof gs2) return imap__sasl_fail(s, IMAP_E_ARGS);
    /* the cache's key: everything SaltedPassword depends on, NUL-separated
       (neither name nor password holds a NUL) */
    if (s->cache) {
        unsigned char n[9];
        imap_u64 iter = f.iter;
        br_sha256_context id;
        n[0] = (unsigned char)hl;
        for (i = 0; i < 8; i++) n[1 + i] = (unsigned char)(iter >> (56 - 8 * i));
        br_sha256_init(&id);
        br_sha256_update(&id, n, 9);
        br_sha256_update(&id, s->user, strlen(s->user) + 1);
        br_sha256_update(&id, s->secret, strlen(s->secret) + 1);
        br_sha256_update(&id, f.salt, f.salt_len);
        br_sha256_out(&id, u);
        imap__wipe(&id, sizeof id);
    }
    if (s->cache && s->cache->_valid && memcmp(s->cache->_id, u, 32) == 0) {
        memcpy(salted, s->cache->_salted, hl);
    } else {
        if (s->cache) {
            memcpy(s->cache->_id, u, 32);
            s->cache->_valid = 0;
        }
        /* SaltedPassword = Hi(password, salt, i): PBKDF2 of one block (§2.2) */
        br_hmac_key_init(&kc, h, s->secret, strlen(s->secret));
        br_hmac_init(&hc, &kc, 0);
        br_hmac_update(&hc, f.salt, f.salt_len);
        br_hmac_update(&hc, "\0\0\0\1", 4);
        br_hmac_out(&hc, u);
        memcpy(salted, u, hl);
        for (it = 1; it < f.iter; it++) {
            br_hmac_init(&hc, &kc, 0);
            br_hmac_update(&hc, u, hl);
            br_hmac_out(&hc, u);
            for (i = 0; i < hl; i++) salted[i] ^= u[i];
        }
        if (s->cache) {
            memcpy(s->cache->_salted, salted, hl);
            s->cache->_valid = 1;
        }
    }
    imap__hmac(h, salted, hl, "Client Key", 10, ckey);
    imap__hmac(h, salted, hl, "Server Key", 10, skey);
    h->init(&hh.vtable);
    h->update(&hh.vtable, ckey, hl);
    h->out(&hh.vtable, stored);
    /* AuthMessage = client-first-bare "," server-first "," client-final-
       without-proof, fed to both signatures as it is written */
    br_hmac_key_init(&kc, h, stored, hl);
    br_hmac_init(&cs, &kc, 0);
    br_hmac_key_init(&kc, h, skey, hl);
    br_hmac_init(&ss, &kc, 0);
    imap__out_init(&o, out, cap);
    imap__scram_bare(&o, s);
    rc = 0;
    if (o.len > cap) {
        rc = imap__sasl_fail(s, IMAP_E_NOMEM);
    } else {
        br_hmac_update(&cs, out, o.len);
        br_hmac_update(&ss, out, o.len);
        br_hmac_update(&cs, ",", 1);
        br_hmac_update(&ss, ",", 1);
        br_hmac_update(&cs, sf, sflen);
        br_hmac_update(&ss, sf, sflen);
        br_hmac_update(&cs, ",", 1);
        br_hmac_update(&ss, ",", 1);
        imap__out_init(&o, out, cap);
        imap__out_n(&o, "c=", 2);
        imap__out_b64(&o, gs2, g.len);
        imap__out_n(&o, ",r=", 3);
        imap__out_n(&o, f.nonce.ptr, f.nonce.len);
        if (o.len > cap) {
            rc = imap__sasl_fail(s, IMAP_E_NOMEM);
        } else {
            br_hmac_update(&cs, out, o.len);
            br_hmac_update(&ss, out, o.len);
            br_hmac_out(&cs, csig);
            br_hmac_out(&ss, s->_sig);
            /* ClientProof = ClientKey XOR ClientSignature */
            for (i = 0; i < hl; i++) ckey[i] ^= csig[i];
            imap__out_n(&o, ",p=", 3);
            imap__out_b64(&o, ckey, hl);
            rc = imap__sasl_done(s, &o);
        }
    }
    imap__wipe(&kc, sizeof kc);
    imap__wipe(&hc, sizeof hc);
    imap__wipe(&cs, sizeof cs);
    imap__wipe(&ss, sizeof ss);
    imap__wipe(&hh, sizeof hh);
    imap__wipe(salted, sizeof salted);
    imap__wipe(u, sizeof u);
    imap__wipe(ckey, sizeof ckey);
    imap__wipe(stored, sizeof stored);
    imap__wipe(skey, sizeof skey);
    imap__wipe(csig, sizeof csig);
    return rc;
}

static int imap__scram(imap_sasl *s, const br_hash_class *h, size_t hl,
                       const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    imap__out o;
    int rc;
    /* the server's OK counts only after its signature checked out */
    if (!ch) return s->verified ? 0 : IMAP_E_AUTH;
    if (!s->user || !s->secret) return imap__sasl_fail(s, IMAP_E_ARGS);
    switch (s->_step++) {
    case 0:                                     /* client-first */
        if ((rc = imap__scram_nonce(s)) != 0) return imap__sasl_fail(s, rc);
        imap__out_init(&o, out, cap);
        imap__out_gs2(&o, s->authzid);
        imap__scram_bare(&o, s);
        return imap__sasl_done(s, &o);
    case 1:                                     /* server-first -> client-final */
        return imap__scram_final(s, h, hl, ch, len, out, cap);
    case 2:                                     /* server-final */
        rc = imap__scram_parse_final((const char *)ch, len, s->_sig, hl);
        if (rc == 1) {
            s->verified = 1;
            return 0;
        }
        return imap__sasl_fail(s, rc == 0 ? IMAP_E_AUTH : rc);
    default:
        return imap__sasl_fail(s, IMAP_E_SYNTAX);
    }
}

IMAPDEF int imap_sasl_scram_sha1(void *s, const unsigned char *challenge, size_t len,
                                 unsigned char *out, size_t cap)
{
    return imap__scram((imap_sasl *)s, &br_sha1_vtable, br_sha1_SIZE, challenge, len, out, cap);
}

IMAPDEF int imap_sasl_scram_sha256(void *s, const unsigned char *challenge, size_t len,
                                   unsigned char *out, size_t cap)
{
    return imap__scram((imap_sasl *)s, &br_sha256_vtable, br_sha256_SIZE, challenge, len, out, cap);
}
#endif /* IMAP_WITH_BEARSSL */

IMAPDEF imap_auth_fn imap_sasl_mechanism(const char *name)
{
    static const struct { const char *name; imap_auth_fn fn; } mechs[] = {
        { "PLAIN", imap_sasl_plain }, { "LOGIN", imap_sasl_login },
        { "XOAUTH2", imap_sasl_xoauth2 }, { "OAUTHBEARER", imap_sasl_oauthbearer },
        { "EXTERNAL", imap_sasl_external },
#ifdef IMAP_WITH_BEARSSL
        { "CRAM-MD5", imap_sasl_cram_md5 }, { "SCRAM-SHA-1", imap_sasl_scram_sha1 },
        { "SCRAM-SHA-256", imap_sasl_scram_sha256 },
#endif
    };
    size_t i;
    if (!name) return NULL;
    for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (imap__ieq(name, strlen(name), mechs[i].name)) return mechs[i].fn;
    return NULL;
}

/* Does the server offer AUTH=mech? (mech is one of ours: short) */
static int imap__sasl_offered(const imap_client *c, const char *mech)
{
    char cap[32];
    size_t n = strlen(mech);
    if (n > sizeof cap - 6) return 0;
    memcpy(cap, "AUTH=", 5);
    memcpy(cap + 5, mech, n + 1);
    return imap_client_has_cap(c, cap);
}

static const char *imap__sasl_pick(const imap_client *c)
{
    /* a password in the clear only over TLS; CRAM-MD5 hides it otherwise */
    static const char *const tls[] = { "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "CRAM-MD5" };
    static const char *const clear[] = { "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN" };
    const char *const *order = c->_tls ? tls : clear;
    unsigned i;
    for (i = 0; i < 5; i++)
        if (imap_sasl_mechanism(order[i]) && imap__sasl_offered(c, order[i])) return order[i];
    return NULL;
}

IMAPDEF int imap_login_sasl(imap_client *c, const char *mech, const char *user,
                            const char *secret, const imap_call *call)
{
    imap_sasl s;
    imap_auth_fn fn;
    int rc;
    if (call && call->on_done) return IMAP_E_ARGS;
    if (c->error) return c->error;
    if (!c->_has_t) return IMAP_E_STATE;     /* blocking only: s lives here */
    if (c->_caps_stale && (rc = imap_capability(c, NULL)) != IMAP_OK) return rc;
    /* a cut list: no mechanism is picked or checked on a guess */
    if (c->_caps_need) return imap__may_send_secret(c, 0);
    if (!mech && !(mech = imap__sasl_pick(c))) return IMAP_E_CAPABILITY;
    if (!(fn = imap_sasl_mechanism(mech))) return IMAP_E_UNSUPPORTED;
    if (!imap__sasl_offered(c, mech)) return IMAP_E_CAPABILITY;
    /* before anything goes out: every mechanism but EXTERNAL needs a
       secret, and all but EXTERNAL and OAUTHBEARER a user */
    if (fn != imap_sasl_external &&
        (!secret || (!user && fn != imap_sasl_oauthbearer))) return IMAP_E_ARGS;
    imap_sasl_init(&s, user, secret);
    s.random = c->_random;
    s.random_arg = c->_random_arg;
    s.cache = c->_scram_cache;
    rc = imap_authenticate(c, mech, fn, &s, call);
    /* our own inputs at fault: say so rather than "authentication failed" */
    if (rc == IMAP_E_AUTH && (s.error == IMAP_E_ARGS || s.error == IMAP_E_NOMEM ||
                              s.error == IMAP_E_UNSUPPORTED))
        rc = s.error;
    imap_sasl_wipe(&s);
    return rc;
}

IMAPDEF int imap_login_cram_md5(imap_client *c, const char *user, const char *password,
                                const imap_call *call)
{
    return imap_login_sasl(c, "CRAM-MD5", user, password, call);
}

/* (9b SASL implementation ends here) */

static int imap__starttls_command(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_STARTTLS, NULL, imap_cmd_starttls(&cmd_, tag_));
}

IMAPDEF int imap_starttls_begin(imap_client *c, const imap_call *call)
{
    imap_str rest;
    int rc = imap__may_call(c, call);
    if (rc) return rc;
    if (call && call->on_done) return IMAP_E_ARGS;
    if (c->error) return c->error;
    if (!c->_has_t || c->_starttls_wait) return IMAP_E_STATE;
    if (c->_tls) return imap__refuse(c, IMAP_E_STATE, "STARTTLS on a connection that is "
                                     "TLS already", ~(imap_u64)0, NULL);
    if (c->state == IMAP_STATE_AUTH && c->_plain_preauth)
        return imap__refuse(c, IMAP_E_PLAINTEXT, "the server said PREAUTH in plaintext, "
                            "so STARTTLS cannot follow (RFC 2595 3.1): the session may be "
                            "an attacker's", ~(imap_u64)0, NULL);
    if (c->state != IMAP_STATE_NONAUTH) return IMAP_E_STATE;
    if (c->_caps_stale && (rc = imap_capability(c, NULL)) != IMAP_OK) return rc;
    if (!imap_client_has_cap(c, "STARTTLS"))
        return imap__refuse(c, IMAP_E_CAPABILITY, "the server does not offer STARTTLS",
                            ~(imap_u64)0, NULL);
    rc = imap__starttls_command(c, call);
    if (rc != IMAP_OK) return rc;
    /* The engine stopped feeding at the OK. What the server sent after it
       came before any TLS record: an injection (RFC 2595 §3.1). Take it
       out of the client's read buffer and drop it; nothing learnt in
       plaintext stays either. */
    rest.ptr = (const char *)c->_rbuf + c->_rbuf_off;
    rest.len = c->_rbuf_len - c->_rbuf_off;
    c->_rbuf_off = c->_rbuf_len = 0;
    if (rest.len) {
        static const char note[] = "[bytes after STARTTLS OK discarded]";
        imap__log(c, 'S', (const unsigned char *)note, sizeof note - 1);
    }
    imap__set_caps(c, NULL);
    c->_caps_stale = 1;
    c->_starttls_wait = 1;               /* _stop_feed holds every command */
    return IMAP_OK;
}

IMAPDEF int imap_starttls_finish(imap_client *c, const imap_transport *tls)
{
    if (!c || !tls) return IMAP_E_ARGS;
    if (c->error) return c->error;
    if (!c->_starttls_wait) return IMAP_E_STATE;
    c->_starttls_wait = 0;
    imap_client_set_transport(c, tls, NULL);
    imap_client_mark_tls(c, 1);
    /* RFC 3501 §6.2.1: forget what was learnt in plaintext, ask again */
    imap__set_caps(c, NULL);
    c->_caps_stale = 1;
    return imap_capability(c, NULL);
}

#ifdef IMAP_WITH_BEARSSL
IMAPDEF int imap_starttls(imap_client *c, imap_tls *tls, const char *server_name,
                          const imap_call *call)
{
    imap_transport old, tt;
    int rc;
    if (call && call->on_done) return IMAP_E_ARGS;
    if (c->error) return c->error;
    if (!c->_has_t) return IMAP_E_STATE;
    if (c->_tls || c->state != IMAP_STATE_NONAUTH || !tls->_ready) {
        if (c->state == IMAP_STATE_AUTH && c->_plain_preauth && !c->_tls)
            return imap_starttls_begin(c, call);        /* its refusal */
        return IMAP_E_STATE;
    }
    /* what imap_tls_start would refuse, refused before anything is sent */
    if (!tls->_insecure && (!server_name || !*server_name)) return IMAP_E_ARGS;
    rc = imap_starttls_begin(c, call);
    if (rc != IMAP_OK) return rc;
    old = c->_t;
    c->_tls_obj = tls;
    rc = imap_tls_start(tls, &old, server_name, &tt);
    if (rc != IMAP_OK) {
        /* closing the client now closes the plaintext transport under
           the TLS one */
        imap__tls_transport(tls, &tt);
        tls->_lower = old;
        c->_starttls_wait = 0;
        imap_client_set_transport(c, &tt, NULL);
        imap__abort(c, rc);
        return rc;
    }
    return imap_starttls_finish(c, &tt);
}

IMAPDEF int imap_client_open_starttls(imap_client *c, const imap_transport *plain,
                                      imap_tls *tls, const char *server_name)
{
    int rc;
    imap_client_require_tls(c, 1);
    rc = imap_client_open(c, plain);            /* PREAUTH is refused there */
    if (rc == IMAP_OK) rc = imap_starttls(c, tls, server_name, NULL);
    if (rc != IMAP_OK) imap__abort(c, rc);
    return rc;
}

IMAPDEF int imap_client_open_tls(imap_client *c, const imap_transport *lower,
                                 imap_tls *tls, const char *server_name)
{
    imap_transport tt;
    int rc = imap_tls_start(tls, lower, server_name, &tt);
    c->_tls_obj = tls;
    if (rc != IMAP_OK) {
        imap__tls_transport(tls, &tt);
        tls->_lower = *lower;
        imap_client_set_transport(c, &tt, NULL);
        imap__abort(c, rc);
        return rc;
    }
    imap_client_mark_tls(c, 1);
    return imap_client_open(c, &tt);
}
#endif

/* (9c TLS client implementation ends here) */

/* ---- imap_error_text ---------------------------------------------------- */

static void imap__cat_s(char *out, size_t cap, const char *s) { imap__cat(out, cap, s, strlen(s)); }

IMAPDEF size_t imap_error_text(char *out, size_t cap, int code, const imap_client *c,
                               const struct imap_tcp *tcp, const struct imap_tls *tls)
{
    int said = 0;
    if (!out || !cap) return 0;
    out[0] = 0;
    imap__cat_s(out, cap, imap_result_str(code));
#ifdef IMAP_WITH_BEARSSL
    if (!tls && c) tls = c->_tls_obj;
    /* TLS's own failure, or the one that ended a session over it */
    if (tls && tls->result && tls->detail[0] &&
        (tls->result == code || code == IMAP_E_IO || code == IMAP_E_CLOSED)) {
        imap__cat_s(out, cap, ": ");
        imap__cat_s(out, cap, tls->detail);
        said = 1;
    }
#else
    (void)tls;
#endif
    if (!said && c && c->_detail_code == code && c->_detail[0]) {
        imap__cat_s(out, cap, ": ");
        imap__cat_s(out, cap, c->_detail);
        said = 1;
    }
    if (!said && c && (code == IMAP_E_NO || code == IMAP_E_BAD || code == IMAP_E_AUTH) &&
        c->last_text[0]) {
        imap__cat_s(out, cap, ": server said: ");
        imap__cat_s(out, cap, c->last_text);       /* its response code included */
        said = 1;
    }
#ifndef IMAP_NO_POSIX
    if (!said && tcp && tcp->where[0] &&
        (code == IMAP_E_IO || code == IMAP_E_TIMEOUT || code == IMAP_E_CLOSED)) {
        imap__cat_s(out, cap, ": ");
        imap__cat_s(out, cap, tcp->where);
        if (tcp->gai_error) {
            imap__cat_s(out, cap, " does not resolve (");
            imap__cat_s(out, cap, gai_strerror(tcp->gai_error));
            imap__cat_s(out, cap, ")");
        } else if (tcp->error) {
            imap__cat_s(out, cap, ": ");
            imap__cat_s(out, cap, strerror(tcp->error));
        }
        said = 1;
    }
#else
    (void)tcp;
#endif
    (void)said;
    return strlen(out);
}

/* ---- 9d. keeping a mailbox in sync; resuming after a drop ---------------- */

/* FETCH (UID FLAGS ...) and VANISHED, from SELECT QRESYNC and the FETCHes */
static void imap__sync_data(void *arg, imap_client *c, const imap_response *r)
{
    imap_sync *s = (imap_sync *)arg;
    (void)c;
    if (imap_response_is(r, "FETCH")) {
        const imap_value *u = imap_fetch_get(r, "UID"), *f = imap_fetch_get(r, "FLAGS");
        imap_u64 uid;
        /* a FETCH without both (a flag change without UID under plain
           CONDSTORE): the next sync finds it by its MODSEQ */
        if (!u || imap_value_u64(u, &uid) || !f || f->type != IMAP_LIST) return;
        if (s->on_message) s->on_message(s->arg, uid, f, uid >= s->_old.uidnext);
    } else if (imap_response_is(r, "VANISHED")) {
        imap_vanished v;
        imap_seqset_iter it;
        imap_u64 lo, hi;
        if (imap_vanished_decode(r, &v) != 0 || !v.uids.ptr) return;
        imap_seqset_iter_init(&it, v.uids.ptr, v.uids.len);
        while (imap_seqset_next(&it, &lo, &hi) == 1)
            if (hi != IMAP_SEQ_STAR && s->on_vanished) s->on_vanished(s->arg, lo, hi);
    }
}

/* Every known UID below `bound` not yet matched is gone. */
static void imap__sync_gone_below(imap_sync *s, imap_u64 bound)
{
    while (s->_kstate != 2) {
        imap_u64 lo, hi;
        if (s->_kstate == 0) {
            if (imap_seqset_next(&s->_known, &s->_klo, &s->_khi) != 1 ||
                s->_khi == IMAP_SEQ_STAR) {
                s->_kstate = 2;
                return;
            }
            s->_kstate = 1;
        }
        lo = s->_next > s->_klo ? s->_next : s->_klo;
        if (lo > s->_khi) {
            s->_kstate = 0;
            continue;
        }
        if (lo >= bound) return;
        hi = s->_khi < bound - 1 ? s->_khi : bound - 1;
        if (s->on_vanished) s->on_vanished(s->arg, lo, hi);
        s->_next = hi + 1;
        if (s->_next <= s->_khi) return;
        s->_kstate = 0;
    }
}

/* UID SEARCH ALL, streamed: a merge of the server's UIDs (ascending)
   with the known set; VANISHED that arrives meanwhile is real too. */
static int imap__sync_numbers(void *ctx, imap_str name, imap_u64 lo, imap_u64 hi)
{
    imap_sync *s = (imap_sync *)ctx;
    if (imap_str_is(name, "VANISHED")) {
        if (s->on_vanished) s->on_vanished(s->arg, lo, hi);
        return 0;
    }
    /* under IMAP4rev2 the answer is ESEARCH; its ALL set streams alike */
    if ((!imap_str_is(name, "SEARCH") && !imap_str_is(name, "ESEARCH")) || s->_unordered ||
        !s->_searching)
        return 0;
    if (lo < s->_next) {
        s->_unordered = 1;                  /* no more verdicts */
        return 0;
    }
    imap__sync_gone_below(s, lo);
    s->_next = hi + 1;
    return 0;
}

static int imap__sync_search(imap_client *c, imap_sync *s, const imap_call *call)
{
    const char *all = "ALL";
    int rc;
    imap_seqset_iter_init(&s->_known, s->known_uids, strlen(s->known_uids));
    s->_kstate = 0;
    s->_next = 0;
    s->_unordered = 0;
    s->_searching = 1;
    rc = imap_uid(c, "SEARCH", &all, 1, call);
    s->_searching = 0;
    if (rc != IMAP_OK) return rc;
    if (s->_unordered) return IMAP_E_UNSUPPORTED;
    imap__sync_gone_below(s, (imap_u64)IMAP_SEQ_MAX + 1);
    return IMAP_OK;
}

/* A number the SELECT left in the store ([UIDVALIDITY n] and friends). */
static int imap__sync_code(imap_client *c, const char *name, imap_u64 *out)
{
    char buf[32];
    size_t n = 0;
    int found = 0, k;
    /* the last one counts; drain them all */
    while ((k = imap_client_response(c, name, buf, sizeof buf, &n)) != 0) {
        if (k == 1 && imap__parse_u64(buf, n, out)) found = 1;
        if (k < 0) break;
    }
    return found;
}

static int imap__sync_run(imap_client *c, imap_sync *s, imap_sync_state *st);

/* Our number sink for the whole sync: VANISHED sets and the SEARCH answer
   stream through it (a caller's sink would take VANISHED from us). */
IMAPDEF int imap_sync_mailbox(imap_client *c, imap_sync *s, imap_sync_state *st)
{
    imap_parser *p;
    imap_number_sink saved;
    void *saved_ctx;
    int rc;
    if (!c || !s || !st) return IMAP_E_ARGS;
    p = &c->_parser;
    saved = p->number_sink;
    saved_ctx = p->number_ctx;
    s->_searching = 0;
    imap_parser_set_number_sink(p, imap__sync_numbers, s);
    rc = imap__sync_run(c, s, st);
    imap_parser_set_number_sink(p, saved, saved_ctx);
    return rc;
}

static int imap__sync_run(imap_client *c, imap_sync *s, imap_sync_state *st)
{
    imap_call call;
    imap_qresync q;
    imap_u64 uv = 0, hms = 0, un = 0;
    int method, rc, use_q, nomodseq, reset, full, has_known;
    const char *items = "(UID FLAGS)";
    if (!s || !st) return IMAP_E_ARGS;
    method = s->max_method ? s->max_method : IMAP_SYNC_QRESYNC;
    if (method < IMAP_SYNC_QRESYNC || method > IMAP_SYNC_PLAIN) return IMAP_E_ARGS;
    s->_old = *st;
    s->method = 0;
    s->exists = 0;
    has_known = s->known_uids && s->known_uids[0];
    if (method == IMAP_SYNC_QRESYNC && !imap_client_has_cap(c, "QRESYNC"))
        method = IMAP_SYNC_CONDSTORE;
    if (method == IMAP_SYNC_CONDSTORE && !imap_client_has_cap(c, "CONDSTORE"))
        method = IMAP_SYNC_PLAIN;
    if (method == IMAP_SYNC_QRESYNC && !(c->_enabled & 2u)) {
        /* ENABLE is for the authenticated state only (RFC 5161 §3.1) */
        if (c->state == IMAP_STATE_SELECTED) {
            if (!imap_client_has_cap(c, "UNSELECT")) method = IMAP_SYNC_CONDSTORE;
            else if ((rc = imap_unselect(c, NULL)) != IMAP_OK) return rc;
        }
        if (method == IMAP_SYNC_QRESYNC) {
            rc = imap_enable(c, "QRESYNC", NULL);
            if (rc < 0 && imap_result_class_of(rc) == IMAP_CLASS_ABORT) return rc;
            if (!(c->_enabled & 2u)) method = IMAP_SYNC_CONDSTORE;
        }
    }
    memset(&call, 0, sizeof call);
    call.on_data = imap__sync_data;
    call.arg = s;
    use_q = method == IMAP_SYNC_QRESYNC && st->uidvalidity && st->highestmodseq &&
            st->uidvalidity <= IMAP_SEQ_MAX;
    if (use_q) {
        memset(&q, 0, sizeof q);
        q.uidvalidity = st->uidvalidity;
        q.modseq = st->highestmodseq;
        /* the known UIDs narrow VANISHED (§3.2.5); a set too long for the
           output buffer is left out (the server then names every UID
           expunged since modseq: more, never less) */
        if (has_known && strlen(s->known_uids) < c->_out_cap / 4) q.known_uids = s->known_uids;
    }
    rc = imap_select_ext(c, s->mailbox, s->readonly,
                         method != IMAP_SYNC_PLAIN && !use_q, use_q ? &q : NULL, &call);
    if (rc != IMAP_OK) return rc;
    s->exists = c->exists;
    if (!imap__sync_code(c, "UIDVALIDITY", &uv)) return IMAP_E_PROTOCOL;  /* RFC 3501 §6.3.1 */
    if (!imap__sync_code(c, "UIDNEXT", &un)) un = st->uidnext;
    nomodseq = imap_client_response(c, "NOMODSEQ", NULL, 0, NULL) != 0;
    if (method != IMAP_SYNC_PLAIN && !imap__sync_code(c, "HIGHESTMODSEQ", &hms)) nomodseq = 1;
    /* 32-bit UIDs (RFC 3501 §9 nz-number), 63-bit modseqs (RFC 7162 §7):
       a number past them would poison the stored state */
    if (uv == 0 || uv > IMAP_SEQ_MAX || un > (imap_u64)IMAP_SEQ_MAX + 1 ||
        hms > IMAP__MODSEQ_MAX) return IMAP_E_PROTOCOL;
    if (nomodseq) {
        method = IMAP_SYNC_PLAIN;
        hms = 0;
    }
    reset = st->uidvalidity && st->uidvalidity != uv;
    if (reset && s->on_reset) s->on_reset(s->arg, uv);
    full = !st->uidvalidity || reset;
    if (full) s->_old.uidnext = 0;          /* every message is new */
    if (use_q && !reset && method == IMAP_SYNC_QRESYNC) {
        /* with known UIDs the answer to SELECT covers those only
           (RFC 7162 §3.2.5): the new messages are asked for by UID */
        if (c->exists > 0 && un > st->uidnext) {
            char set[32];
            const char *args[2];
            imap_seqset ss;
            imap_seqset_init(&ss, set, sizeof set);
            imap_seqset_range(&ss, st->uidnext ? st->uidnext : 1, IMAP_SEQ_STAR);
            args[0] = set;
            args[1] = items;
            if (ss.error) return IMAP_E_PROTOCOL;
            rc = imap_uid(c, "FETCH", args, 2, &call);
            if (rc != IMAP_OK) return rc;
        }
    } else {
        /* expunges: compare the UIDs held with the server's */
        if (has_known && !reset && (rc = imap__sync_search(c, s, &call)) != IMAP_OK) return rc;
        if (c->exists > 0) {
            const char *set = "1:*";
            if (!full && method != IMAP_SYNC_PLAIN && st->highestmodseq) {
                if (hms != st->highestmodseq)
                    rc = imap_fetch_changedsince(c, 1, set, items, st->highestmodseq, 0, &call);
            } else {
                const char *args[2];
                args[0] = set;
                args[1] = items;
                rc = imap_uid(c, "FETCH", args, 2, &call);
            }
            if (rc != IMAP_OK) return rc;
        }
    }
    s->method = method;
    s->exists = c->exists;
    st->uidvalidity = uv;
    st->highestmodseq = hms;
    st->uidnext = un;
    return IMAP_OK;
}

static int imap__retryable(int rc)
{
    return imap_result_class_of(rc) == IMAP_CLASS_ABORT && rc != IMAP_E_TLS_UNKNOWN_CA &&
           rc != IMAP_E_TLS_EXPIRED && rc != IMAP_E_TLS_HOSTNAME;
}

static void imap__sleep(imap_reconnect *r, long ms)
{
    if (r->sleep_ms) {
        r->sleep_ms(r->arg, ms);
        return;
    }
#ifndef IMAP_NO_POSIX
    {
        struct timespec ts;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
#endif
}

IMAPDEF int imap_client_reconnect(imap_client *c, void *mem, size_t cap, imap_reconnect *r)
{
    long wait = r->min_ms > 0 ? r->min_ms : 500, most = r->max_ms > 0 ? r->max_ms : 60000;
    int rc;
    r->tries = 0;
    if (!r->connect) return IMAP_E_ARGS;
    for (;;) {
        /* what the caller set up survives the new start (field by field:
           a copy of the whole client would cost firmware its stack) */
        imap_parser *p = &c->_parser;
        long timeout_ms = c->timeout_ms;
        int debug = c->debug, require_tls = c->_require_tls;
        imap_debug_fn debug_fn = c->_debug_fn;
        void *debug_arg = c->_debug_arg, *clock_arg = c->_clock_arg;
        long long (*clock)(void *) = c->_clock;
        int (*random)(void *, unsigned char *, size_t) = c->_random;
        void *random_arg = c->_random_arg;
        struct imap_scram_cache *scram = c->_scram_cache;
        void (*on_untagged)(void *, imap_client *, const imap_response *) = c->_on_untagged;
        void *on_untagged_arg = c->_on_untagged_arg;
        imap_tagger tagger = c->_tagger;
        size_t max_line = p->max_line, threshold = p->sink_threshold;
        imap_u64 max_literal = p->max_literal;
        imap_literal_sink sink = p->sink;
        void *sink_ctx = p->sink_ctx, *number_ctx = p->number_ctx;
        imap_number_sink number_sink = p->number_sink;
        if (c->_has_t) imap_client_close(c);
        imap_client_init(c, mem, cap);
        c->timeout_ms = timeout_ms;
        c->debug = debug;
        c->_debug_fn = debug_fn;
        c->_debug_arg = debug_arg;
        c->_clock = clock;
        c->_clock_arg = clock_arg;
        c->_random = random;
        c->_random_arg = random_arg;
        c->_scram_cache = scram;
        c->_require_tls = require_tls;
        c->_on_untagged = on_untagged;
        c->_on_untagged_arg = on_untagged_arg;
        c->_tagger = tagger;
        p->max_line = max_line;
        p->max_literal = max_literal;
        imap_parser_set_sink(p, threshold, sink, sink_ctx);
        imap_parser_set_number_sink(p, number_sink, number_ctx);
        rc = r->connect(r->arg, c);
        r->tries++;
        if (rc == IMAP_OK && !c->error) return IMAP_OK;
        if (rc == IMAP_OK) rc = c->error;
        if (!imap__retryable(rc) || (r->max_tries && r->tries >= r->max_tries)) {
            if (c->_has_t) imap_client_close(c);
            return rc;
        }
        imap__sleep(r, wait);
        wait = wait > most / 2 ? most : wait * 2;
    }
}

typedef struct imap__watch {
    int done, result, changed;
} imap__watch;

static void imap__watch_data(void *arg, imap_client *c, const imap_response *r)
{
    (void)c;
    if (imap_response_is(r, "EXISTS") || imap_response_is(r, "EXPUNGE") ||
        imap_response_is(r, "VANISHED") || imap_response_is(r, "FETCH"))
        ((imap__watch *)arg)->changed = 1;
}

static void imap__watch_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    imap__watch *w = (imap__watch *)arg;
    (void)c;
    (void)t;
    w->done = 1;
    w->result = result;
}

IMAPDEF int imap_watch_step(imap_client *c, void *mem, size_t cap, imap_reconnect *r,
                            imap_sync *s, imap_sync_state *st, long idle_ms,
                            int (*on_synced)(void *arg, const imap_sync_state *st))
{
    imap__watch w;
    imap_call call;
    unsigned long mark;
    int rc;
    if (idle_ms <= 0) idle_ms = 29L * 60 * 1000;
    if (c->error || c->state == IMAP_STATE_LOGOUT || !c->_has_t ||
        c->state == IMAP_STATE_NONAUTH) {
        rc = imap_client_reconnect(c, mem, cap, r);
        if (rc != IMAP_OK) return rc;
    }
    mark = c->_changes;
    rc = imap_sync_mailbox(c, s, st);
    if (rc != IMAP_OK) return rc;
    if (on_synced && on_synced(s->arg, st) != 0) return IMAP_OK;
    /* a change that no command took came during the sync: sync again
       rather than IDLE past it */
    if (c->_changes != mark) return IMAP_OK;
    if (!imap_client_has_cap(c, "IDLE")) {
        imap__sleep(r, idle_ms);
        return imap_noop(c, NULL);
    }
    memset(&w, 0, sizeof w);
    memset(&call, 0, sizeof call);
    call.on_data = imap__watch_data;
    call.on_done = imap__watch_done;
    call.arg = &w;
    rc = imap_idle(c, idle_ms, &call);
    if (rc != IMAP_OK) return rc;
    while (!w.done) {
        rc = imap_client_poll(c, 1000);
        if (rc != IMAP_OK) return rc;
        /* a change reported before the server's "+" does not end IDLE by
           itself (the engine ends it on changes while idling): once the
           "+" is in, DONE goes */
        if (w.changed) {
            unsigned i;
            for (i = 0; i < IMAP_MAX_PENDING; i++) {
                imap__pending *p = &c->_q[i];
                if (p->seq && (p->flags & IMAP__F_IDLING)) imap__idle_done(c, p);
            }
        }
    }
    rc = imap_client_wait_all(c);
    if (rc != IMAP_OK) return rc;
    return w.result == IMAP_E_NO || w.result == IMAP_E_BAD ? w.result : IMAP_OK;
}

/* (9d sync implementation ends here) */

/* (section 9 implementation ends here) */

#endif /* IMAP_IMPLEMENTATION_INCLUDED */
#endif /* IMAP_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
LICENSE
------------------------------------------------------------------------------
MIT License. Copyright (c) 2026 the imap.h authors.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
*/
