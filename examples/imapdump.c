/* imapdump - print what imap.h's parser makes of a server byte stream.

   Build:  cc -O2 -o imapdump examples/imapdump.c -I.
   Usage:  imapdump [-c CHUNK] [-a ARENA_BYTES] [FILE]

   Reads server-to-client bytes from FILE (stdin without one), feeds them to
   the parser in CHUNK-byte pieces (default 4096) and prints one line per
   response in a canonical form that any correct parser prints the same:
   the tag, "*" or "+", then the items separated by single spaces; atoms as
   received, numbers in decimal, NIL, strings (quoted or literal) in double
   quotes with C escapes, lists as (...), response codes as [...], and the
   text of a status response or continuation as a string.

   A rejected response prints "ERROR <code> at <offset>" and the dump goes
   on; EOF inside a response prints "ERROR truncated" and exits 1. Literals
   longer than 64 KiB go through the parser's sink, as a client would
   stream a large attachment. */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sunk literals of the current response, kept to print them. */
typedef struct dump_literal {
    unsigned index;
    unsigned char *bytes;
    size_t len;
} dump_literal;

typedef struct dump_state {
    dump_literal *lits;
    size_t nlits, cap;
} dump_state;

static int dump_sink(void *ctx, const imap_literal_info *info,
                     const void *data, size_t len)
{
    dump_state *d = (dump_state *)ctx;
    dump_literal *l;
    if (info->offset == 0) {
        if (d->nlits == d->cap) {
            size_t ncap = d->cap ? d->cap * 2 : 8;
            dump_literal *n = (dump_literal *)realloc(d->lits, ncap * sizeof *n);
            if (!n) return 1;
            d->lits = n;
            d->cap = ncap;
        }
        l = &d->lits[d->nlits++];
        l->index = info->index;
        l->len = 0;
        l->bytes = (unsigned char *)malloc(info->total ? (size_t)info->total : 1);
        if (!l->bytes) return 1;
    }
    l = &d->lits[d->nlits - 1];
    memcpy(l->bytes + l->len, data, len);
    l->len += len;
    return 0;
}

static void dump_clear(dump_state *d)
{
    size_t i;
    for (i = 0; i < d->nlits; i++) free(d->lits[i].bytes);
    d->nlits = 0;
}

static void print_bytes(const unsigned char *s, size_t n)
{
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (c < 0x20 || c > 0x7e) printf("\\x%02x", c);
            else putchar(c);
        }
    }
    putchar('"');
}

/* Print a chain of values, lists included, with an explicit stack. */
static void print_items(const imap_value *v, dump_state *d, unsigned *lit_no)
{
    const imap_value *stack[IMAP_MAX_DEPTH + 1];
    int depth = 0, first = 1;
    for (;;) {
        while (!v && depth > 0) {
            v = stack[--depth];
            putchar(v->flags & IMAP_VF_CODE ? ']' : ')');
            v = v->next;
            first = 0;
        }
        if (!v) break;
        if (!first) putchar(' ');
        first = 0;
        switch (v->type) {
        case IMAP_NIL: fputs("NIL", stdout); break;
        case IMAP_NUMBER: printf("%llu", v->num); break;
        case IMAP_ATOM: fwrite(v->str, 1, v->len, stdout); break;
        case IMAP_STRING:
            if (v->flags & IMAP_VF_SUNK) {
                size_t i;
                for (i = 0; i < d->nlits; i++)
                    if (d->lits[i].index == *lit_no) break;
                if (i < d->nlits) print_bytes(d->lits[i].bytes, d->lits[i].len);
                else fputs("\"?\"", stdout);
            } else {
                print_bytes((const unsigned char *)v->str, v->len);
            }
            break;
        case IMAP_LIST:
            putchar(v->flags & IMAP_VF_CODE ? '[' : '(');
            stack[depth++] = v;
            v = v->child;
            first = 1;
            continue;
        }
        if (v->flags & IMAP_VF_LITERAL) (*lit_no)++;
        v = v->next;
    }
}

static void print_response(const imap_response *r, dump_state *d)
{
    unsigned lit_no = 0;
    fwrite(r->tag.ptr, 1, r->tag.len, stdout);
    if (r->kind == IMAP_RESP_CONTINUE || r->status != IMAP_STATUS_NONE) {
        if (r->status != IMAP_STATUS_NONE) {
            putchar(' ');
            fwrite(r->name.ptr, 1, r->name.len, stdout);
        }
        if (r->code) {
            putchar(' ');
            /* print the code alone: detach it from any sibling */
            {
                imap_value code = *r->code;
                code.next = NULL;
                print_items(&code, d, &lit_no);
            }
        }
        putchar(' ');
        print_bytes((const unsigned char *)r->text.ptr, r->text.len);
    } else if (r->items) {
        putchar(' ');
        print_items(r->items, d, &lit_no);
    }
    putchar('\n');
}

int main(int argc, char **argv)
{
    size_t chunk = 4096, arena = 1 << 20;
    const char *path = NULL;
    FILE *in = stdin;
    unsigned char *mem, *buf;
    imap_parser p;
    dump_state d;
    int i, status = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            chunk = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            arena = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "usage: imapdump [-c CHUNK] [-a ARENA_BYTES] [FILE]\n");
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (chunk == 0) chunk = 1;
    if (path && strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (!in) {
            perror(path);
            return 2;
        }
    }
    mem = (unsigned char *)malloc(arena ? arena : 1);
    buf = (unsigned char *)malloc(chunk);
    if (!mem || !buf) {
        fprintf(stderr, "imapdump: out of memory\n");
        return 2;
    }
    memset(&d, 0, sizeof d);
    imap_parser_init(&p, mem, arena);
    imap_parser_set_sink(&p, 64 * 1024, dump_sink, &d);

    for (;;) {
        size_t n = fread(buf, 1, chunk, in), off = 0;
        if (n == 0) break;
        while (off < n) {
            size_t used = 0;
            imap_response *r;
            imap_result rc = imap_parser_feed(&p, buf + off, n - off, &used, &r);
            off += used;
            if (rc == IMAP_OK) {
                print_response(r, &d);
                dump_clear(&d);
            } else if (rc < 0) {
                printf("ERROR %s at %lu\n", imap_result_name(rc),
                       (unsigned long)p.error_offset);
                dump_clear(&d);
            }
        }
    }
    if (ferror(in)) {
        perror(path ? path : "stdin");
        status = 2;
    } else if (!imap_parser_idle(&p)) {
        printf("ERROR truncated\n");
        status = 1;
    }
    fflush(stdout);
    dump_clear(&d);
    free(d.lits);
    free(mem);
    free(buf);
    if (in != stdin) fclose(in);
    return status;
}
