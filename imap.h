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
   5. Typed views

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
   IMAP_NO_POSIX        drop the socket and subprocess transports
   IMAP_NO_STDIO        drop the helpers that print to a FILE*
   IMAP_WITH_BEARSSL    TLS transport and the hash-based SASL mechanisms
   IMAP_WITH_ZLIB       COMPRESS=DEFLATE transport
   IMAP_MAX_DEPTH       deepest list nesting the parser accepts (64)
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

#ifndef IMAPDEF
#ifdef IMAP_STATIC
#define IMAPDEF static
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
    X(E_TLS_CLOSED,    -24, ABORT, "TLS peer closed the connection")

typedef enum imap_result {
#define IMAP__RESULT_ENUM(name, value, cls, text) IMAP_##name = value,
    IMAP_RESULTS(IMAP__RESULT_ENUM)
#undef IMAP__RESULT_ENUM
    IMAP_RESULT_MIN = -24
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
                                  NULL, len is the literal's length */
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

typedef enum imap_status {
    IMAP_STATUS_NONE = 0,   /* untagged data, continuation */
    IMAP_STATUS_OK,
    IMAP_STATUS_NO,
    IMAP_STATUS_BAD,
    IMAP_STATUS_BYE,
    IMAP_STATUS_PREAUTH
} imap_status;

/* A complete response. Status responses (OK/NO/BAD/BYE/PREAUTH) and
   continuations have `code` and `text`; untagged data has `items` (every
   item after "*"), with `number` set for "* 5 EXISTS"-shaped responses,
   `name` the response name ("EXISTS", "FETCH", "LIST", ...) and `args`
   the items after the name. */
typedef struct imap_response {
    int kind;               /* imap_response_kind */
    int status;             /* imap_status */
    imap_str tag;           /* "A1"; "*" or "+" otherwise */
    imap_str name;          /* status word or data name, as received */
    imap_value *code;       /* response code list ([ATOM args...]) or NULL */
    imap_str text;          /* human-readable text (status, continuation) */
    imap_value *items;      /* untagged data: first item */
    imap_value *args;       /* untagged data: first item after the name */
    imap_u64 number;        /* "* 5 EXISTS": 5 */
    int has_number;
    size_t offset;          /* stream offset of the response's first byte */
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

/* The parser's state: a plain struct the caller places anywhere. */
typedef struct imap_parser {
    imap_arena arena;
    /* settings (set after init; zero means the default) */
    size_t max_line;          /* longest line accepted (0: buffer size) */
    imap_u64 max_literal;     /* largest literal accepted (0xFFFFFFFF) */
    size_t sink_threshold;    /* literals longer than this go to the sink */
    imap_literal_sink sink;
    void *sink_ctx;
    /* last rejected response (valid until the next feed) */
    int error;                /* imap_result of the last rejection */
    size_t error_offset;      /* absolute stream offset of the fault */
    imap_str error_line;      /* start of its first line, for a log */
    /* private */
    int _state;
    int _fail;                /* pending rejection of this response */
    int _reported;            /* _fail was already returned */
    size_t _fail_off;
    size_t _stream_off;       /* absolute offset of the next byte */
    size_t _resp_off;
    size_t _line_start;       /* buffer offset of the current line */
    size_t _line_len;         /* bytes seen of the current line */
    int _first_line;
    int _no_literals;         /* first line is status/continuation */
    int _lit_mode;
    imap_u64 _lit_left;
    imap_u64 _lit_total;
    imap_u64 _msgno;
    unsigned _lit_index;
    int _lit_binary;
    size_t _item_off;         /* the sunk literal's attribute, in the buffer */
    size_t _item_len;
    unsigned char _tail[32];  /* end of a line too long to keep */
    size_t _tail_len;
    imap_response _resp;
    imap_value *_stack[IMAP_MAX_DEPTH];
    imap_value *_last[IMAP_MAX_DEPTH];
} imap_parser;

/* Give the parser its buffer: raw response bytes and value trees live in
   mem[0..cap). 4 KiB holds typical responses; FETCH of ENVELOPE and
   BODYSTRUCTURE wants 16-64 KiB; see imap_parser_high_water(). */
IMAPDEF void imap_parser_init(imap_parser *p, void *mem, size_t cap);

/* Send literals longer than `threshold` bytes to `sink` instead of the
   buffer (sink NULL: never). */
IMAPDEF void imap_parser_set_sink(imap_parser *p, size_t threshold,
                                  imap_literal_sink sink, void *ctx);

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

/* Most buffer bytes any response has needed so far. */
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
   on success, IMAP_E_SYNTAX for a list. */
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
    imap_str mailbox;               /* as received (modified UTF-7) */
    const imap_value *extended;     /* LIST-EXTENDED items, or NULL */
} imap_list_info;

IMAPDEF int imap_list_decode(const imap_response *r, imap_list_info *out);
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
typedef struct imap_namespace {
    const imap_value *personal, *other, *shared;
} imap_namespace;

IMAPDEF int imap_namespace_decode(const imap_response *r, imap_namespace *out);
IMAPDEF int imap_namespace_next(const imap_value **cursor, imap_str *prefix,
                                int *delimiter);

/* ======================================================================
   6. COMMAND BUILDERS AND QUOTING
   ====================================================================== */

/* (section 6 declarations end here) */

/* ======================================================================
   7. PROTOCOL ENGINE
   ====================================================================== */

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
   the client (an engine then sees a timeout). */
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

/* (section 8 declarations end here) */

/* ======================================================================
   9. CLIENT
   ====================================================================== */

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

#include <string.h>

#ifndef IMAP_ASSERT
#include <assert.h>
#define IMAP_ASSERT(x) assert(x)
#endif

#define IMAP__U64_MAX (~(imap_u64)0)

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

static int imap__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int imap__ieq(const char *a, size_t alen, const char *b)
{
    size_t i;
    for (i = 0; i < alen; i++)
        if (b[i] == 0 || imap__lower((unsigned char)a[i]) != imap__lower((unsigned char)b[i]))
            return 0;
    return b[alen] == 0;
}

IMAPDEF int imap_str_is(imap_str s, const char *cstr)
{
    return s.ptr != NULL && imap__ieq(s.ptr, s.len, cstr);
}

/* Digits to a u64, refusing overflow and empty input. */
static int imap__parse_u64(const char *s, size_t n, imap_u64 *out)
{
    imap_u64 v = 0;
    size_t i;
    if (n == 0) return 0;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return 0;
        if (v > (IMAP__U64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

IMAPDEF void imap_parser_reset(imap_parser *p)
{
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
    p->_tail_len = 0;
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
    return p->sink != NULL && n > (imap_u64)p->sink_threshold;
}

/* Is the status word at s[0..n) one of RFC 3501 §7.1's? */
static int imap__status_word(const char *s, size_t n)
{
    if (imap__ieq(s, n, "OK")) return IMAP_STATUS_OK;
    if (imap__ieq(s, n, "NO")) return IMAP_STATUS_NO;
    if (imap__ieq(s, n, "BAD")) return IMAP_STATUS_BAD;
    if (imap__ieq(s, n, "BYE")) return IMAP_STATUS_BYE;
    if (imap__ieq(s, n, "PREAUTH")) return IMAP_STATUS_PREAUTH;
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
    if (n && s[0] == '+') return 1;
    while (i < n && s[i] != ' ') i++;          /* tag or "*" */
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
    if (i == end || i == 0 || s[i - 1] != '{') return 0;
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

static void imap__fail(imap_parser *p, int code, size_t off)
{
    if (!p->_fail) {
        p->_fail = code;
        p->_fail_off = off;
    }
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
    if (p->sink(p->sink_ctx, &info, data, n) != 0) {
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
        p->_lit_mode = IMAP__LIT_SKIP;
    } else if (lit > imap__max_literal(p)) {
        imap__fail(p, IMAP_E_LIMIT, p->_resp_off);
        p->_lit_mode = IMAP__LIT_SKIP;
    } else if (imap__sinks(p, lit)) {
        p->_lit_mode = IMAP__LIT_SINK;
    } else if (lit > (imap_u64)(p->arena.cap - p->arena.used)) {
        imap__fail(p, IMAP_E_NOMEM, p->_resp_off);
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
        }
        if (p->_tail_len == 0 && p->_line_len == p->arena.used - p->_line_start) {
            /* start the tail from what the buffer holds of this line */
            size_t have = p->_line_len < keep ? p->_line_len : keep;
            memcpy(p->_tail, p->arena.base + p->arena.used - have, have);
            p->_tail_len = have;
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
            imap__line_append(p, s + pos, n);
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
    size_t sunk;            /* sunk literal bytes before s (for offsets) */
    unsigned lit_index;
} imap__cursor;

static int imap__err(imap__cursor *c, int code, const char *at)
{
    imap__fail(c->p, code, c->p->_resp_off + (size_t)(at - c->base) + c->sunk);
    return code;
}

static imap_value *imap__node(imap__cursor *c, int type)
{
    imap_value *v = (imap_value *)imap_arena_alloc(&c->p->arena, sizeof(imap_value),
                                                   sizeof(void *));
    if (!v) {
        imap__fail(c->p, IMAP_E_NOMEM, c->p->_resp_off);
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = (unsigned char)type;
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
   servers put in atoms: '%', '*', '\\', ']' outside a response code). */
static int imap__atom_stop(unsigned char ch, int in_code)
{
    return ch <= ' ' || ch == 0x7f || ch == '(' || ch == ')' || ch == '"' ||
           ch == '{' || (in_code && ch == ']');
}

/* Scan an atom at c->s; a '[' opens a section that runs to its ']' and may
   hold spaces and lists (BODY[HEADER.FIELDS (A B)]<0>). */
static int imap__scan_atom(imap__cursor *c, int in_code, imap_value *v)
{
    const char *b = c->s;
    const char *s = c->s, *e = c->end;
    while (s < e) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '[' && !in_code) {
            s++;
            while (s < e && *s != ']' && *s != '\r' && *s != '\n') s++;
            if (s >= e || *s != ']') return imap__err(c, IMAP_E_SYNTAX, s);
            s++;
            continue;
        }
        if (imap__atom_stop(ch, in_code)) break;
        s++;
    }
    if (s == b) return imap__err(c, IMAP_E_SYNTAX, s);
    c->s = s;
    v->str = b;
    v->len = (size_t)(s - b);
    if (v->len == 3 && imap__ieq(b, 3, "NIL")) {
        v->type = IMAP_NIL;
    } else if (imap__parse_u64(b, v->len, &v->num)) {
        v->type = IMAP_NUMBER;
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
    while (q < e && *q != '"' && *q != '\\' && *q != '\r' && *q != '\n' && *q != 0) q++;
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
        v->len = (size_t)n;
        c->sunk += (size_t)n;
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

/* Parse data items up to the end of the line, or (in_code) up to the ']'
   that closes a response code at depth 0. Appends to `parent`. */
static int imap__parse_items(imap__cursor *c, imap_value *parent, int in_code)
{
    imap_parser *p = c->p;
    int depth = 0;
    imap_value *v;
    p->_stack[0] = parent;
    p->_last[0] = NULL;
    for (;;) {
        unsigned char ch;
        imap_value *top;
        int r;
        imap__skip_sp(c);
        if (imap__at_eol(c)) {
            if (depth > 0 || in_code) return imap__err(c, IMAP_E_SYNTAX, c->s);
            return 0;
        }
        ch = (unsigned char)*c->s;
        if (ch == ')') {
            if (depth == 0) return imap__err(c, IMAP_E_SYNTAX, c->s);
            depth--;
            c->s++;
            continue;
        }
        if (ch == ']' && in_code && depth == 0) {
            c->s++;
            return 0;
        }
        v = imap__node(c, IMAP_NIL);
        if (!v) return IMAP_E_NOMEM;
        if (ch == '(') {
            v->type = IMAP_LIST;
            c->s++;
        } else if (ch == '"') {
            v->type = IMAP_STRING;
            v->flags = IMAP_VF_QUOTED;
            if ((r = imap__scan_quoted(c, v)) != 0) return r;
        } else if (ch == '{' || (ch == '~' && c->s + 1 < c->end && c->s[1] == '{')) {
            if ((r = imap__scan_literal(c, v)) != 0) return r;
        } else if (ch < ' ' || ch == 0x7f) {
            return imap__err(c, IMAP_E_SYNTAX, c->s);
        } else {
            if ((r = imap__scan_atom(c, in_code, v)) != 0) return r;
        }
        /* append v to the innermost open list */
        top = p->_stack[depth];
        if (p->_last[depth]) p->_last[depth]->next = v;
        else top->child = v;
        p->_last[depth] = v;
        top->count++;
        if (v->type == IMAP_LIST) {
            if (depth + 1 >= IMAP_MAX_DEPTH) {
                imap__fail(p, IMAP_E_LIMIT, p->_resp_off);
                return IMAP_E_LIMIT;
            }
            depth++;
            p->_stack[depth] = v;
            p->_last[depth] = NULL;
        }
    }
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
    if (r->code && r->code->child) {
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
    while (s < e && *s != '[') s++;
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

IMAPDEF int imap_namespace_decode(const imap_response *r, imap_namespace *out)
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

/* ---- 6. command builders and quoting --------------------------------- */

/* (section 6 implementation ends here) */

/* ---- 7. protocol engine ---------------------------------------------- */

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
        if (st->kind == IMAP_SCRIPT_CLOSE) {
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

static int imap__script_write(void *ctx, const unsigned char *buf, size_t len)
{
    imap_script *s = (imap_script *)ctx;
    size_t i = 0, step, off, take;
    if (s->closed || s->client_closed || s->mismatch) return -1;
    if (s->would_block && (s->_writes++ & 1u) == 0) return 0;
    if (len > (size_t)INT_MAX) len = (size_t)INT_MAX;
    /* Check every byte offered, not just the ones taken: bytes handed
       over before the server asked for them are the bug to catch. */
    step = s->step;
    off = s->step_off;
    while (i < len) {
        const imap_script_step *st = step < s->_n ? &s->_steps[step] : NULL;
        size_t sl, k, j;
        if (st && (st->kind == IMAP_SCRIPT_STALL || imap__step_len(st) == 0)) {
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
        for (j = 0; j < k; j++) {
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
    for (i = take; i > 0;) {
        const imap_script_step *st = &s->_steps[s->step];
        size_t k = imap__step_len(st) - s->step_off;
        if (k > i) k = i;
        s->step_off += k;
        i -= k;
        if (s->step_off == imap__step_len(st)) {
            s->step++;
            s->step_off = 0;
            imap__script_settle(s);
        }
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
    if (rc != 0) {
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

/* (section 8 implementation ends here) */

/* ---- 9. client ------------------------------------------------------- */

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
