/* SOQL -> SQLite compiler for the Salesforce emulator.
 *
 * Three passes over one arena: a lexer that never fails (bad input becomes an error token,
 * so errors surface in source order like Salesforce's parser), a recursive-descent parser
 * to a small tree, and a resolver/emitter that checks names and literal types against the
 * schema callbacks and writes the SQL. Errors unwind with longjmp; everything allocated
 * during a compile lives in the arena, which is freed with the result (or on error). */
#include "soql.h"

#include <ctype.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SOQL_MAX_DEPTH 100
#define SOQL_MAX_OFFSET 2000

/* ---------------------------------------------------------------- arena */

struct soql_block {
	struct soql_block *next;
	size_t used, size;
	max_align_t data[];
};

struct soql_ctx;
static void soql_oom(struct soql_ctx *cx);

static void *soql_alloc(struct soql_ctx *cx, size_t n);

/* ---------------------------------------------------------------- ids */

void soql_id18(const char *id15, char out[19])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
	memcpy(out, id15, 15);
	for (int chunk = 0; chunk < 3; chunk++) {
		int v = 0;
		for (int i = 0; i < 5; i++) {
			char c = id15[chunk * 5 + i];
			if (c >= 'A' && c <= 'Z')
				v |= 1 << i;
		}
		out[15 + chunk] = alphabet[v];
	}
	out[18] = '\0';
}

/* ---------------------------------------------------------------- tokens */

enum tok_kind {
	TK_EOF,
	TK_IDENT,
	TK_STRING,   /* single-quoted; raw text kept, decoded in context */
	TK_DQSTRING, /* double-quoted: never valid */
	TK_NUMBER,
	TK_DATE,
	TK_DATETIME,
	TK_PUNCT, /* ( ) , . : and operators */
	TK_BAD,	  /* lexical error: message in bad */
};

struct token {
	enum tok_kind kind;
	size_t off, len; /* raw text in the query */
	int row, col;	 /* 1-based, col in characters */
	const char *bad; /* TK_BAD: the error's last line */
	int64_t ival;	 /* TK_DATE: days since epoch; TK_DATETIME: ms since epoch */
};

/* ---------------------------------------------------------------- tree */

enum lit_kind { L_STRING, L_NUMBER, L_TRUE, L_FALSE, L_NULL, L_DATE, L_DATETIME, L_RANGE };

struct lit {
	enum lit_kind kind;
	const struct token *tok;
	int64_t days0, days1; /* L_DATE: days0; L_RANGE: [days0, days1) */
	int64_t ms;	      /* L_DATETIME */
};

struct path {
	const struct token *first; /* for carets */
	int n;
	const char *part[8];
	char *text; /* as written, dotted */
};

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

enum node_kind { N_AND, N_OR, N_NOT, N_CMP, N_IN, N_LIKE, N_ROWCMP, N_CONST };

struct param {
	int type; /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_NULL */
	int64_t i;
	double d;
	const char *s;
	size_t slen;
};

struct colref {
	int alias;
	const char *column;
	int nocase;
	const soql_field *field; /* for a polymorphic level: the same-named field of the other
				    parents (NULL: column only) */
};

struct node {
	enum node_kind kind;
	int nkids;
	struct node **kids;
	/* parsed comparison */
	struct path *path;
	enum op op;
	int negated; /* NOT IN / NOT LIKE */
	int nlits;
	struct lit *lits;
	/* resolved */
	struct colref col, col2;
	struct param val, val2;
	int nvals;
	struct param *vals;
	int has_null;
	int glob;
	int constval;
};

struct order {
	struct path *path;
	int desc;
	int nulls_last;
	int nulls_given;
};

#define SOQL_MAX_ALT 6

struct join {
	int parent; /* join index of the parent level, -1 = t0 */
	const char *rel;
	const char *ref_column;
	const soql_field *ref; /* the reference field (of the parent level's object) */
	const char *table;
	const char *object;
	const char *id_column;
	int for_ids; /* needed by WHERE / ORDER BY */
	/* polymorphic references: the other parent objects, joined as t<n>_1, t<n>_2, ... */
	int nalt;
	const char *alt_table[SOQL_MAX_ALT];
	const char *alt_object[SOQL_MAX_ALT];
	const char *alt_id_column[SOQL_MAX_ALT];
};

struct soql_ctx {
	jmp_buf jb;
	soql_error *err;
	const char *text;
	size_t text_len;
	const soql_schema *schema;
	const soql_options *opt;
	struct soql_block *arena;

	struct token *toks;
	size_t ntoks, pos;
	int depth;

	/* parse results */
	int is_count;
	int nsel;
	struct path **sel;
	const struct token *obj_tok;
	const char *alias;
	struct node *where;
	int norder;
	struct order *orders;
	int64_t limit, offset;

	/* resolution */
	const char *object, *table;
	int njoins;
	struct join joins[64];
	int nparams, cparams;
	struct param *params;
};

struct soql_priv {
	soql_compiled pub;
	struct soql_block *arena;
	int nparams;
	struct param *params;
};

static void soql_oom(struct soql_ctx *cx)
{
	cx->err->http_status = 500;
	snprintf(cx->err->code, sizeof cx->err->code, "UNKNOWN_EXCEPTION");
	snprintf(cx->err->message, sizeof cx->err->message, "out of memory compiling the query");
	longjmp(cx->jb, 1);
}

static void *soql_alloc(struct soql_ctx *cx, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct soql_block *b = cx->arena;
	if (!b || b->size - b->used < n) {
		size_t size = n > 16384 ? n : 16384;
		b = malloc(sizeof *b + size);
		if (!b)
			soql_oom(cx);
		b->size = size;
		b->used = 0;
		b->next = cx->arena;
		cx->arena = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static char *soql_strndup(struct soql_ctx *cx, const char *s, size_t n)
{
	char *p = soql_alloc(cx, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void arena_free(struct soql_block *b)
{
	while (b) {
		struct soql_block *next = b->next;
		free(b);
		b = next;
	}
}

/* Growable string in the arena. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_putn(struct soql_ctx *cx, struct sbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap * 2 : 256;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *p = soql_alloc(cx, cap);
		if (sb->len)
			memcpy(p, sb->s, sb->len);
		sb->s = p;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

static void sb_puts(struct soql_ctx *cx, struct sbuf *sb, const char *s)
{
	sb_putn(cx, sb, s, strlen(s));
}

__attribute__((format(printf, 3, 4))) static void sb_printf(struct soql_ctx *cx, struct sbuf *sb,
							    const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof tmp)
		n = sizeof tmp - 1;
	sb_putn(cx, sb, tmp, (size_t)n);
}

/* An identifier from the schema, always double-quoted. */
static void sb_ident(struct soql_ctx *cx, struct sbuf *sb, const char *id)
{
	sb_putn(cx, sb, "\"", 1);
	for (const char *p = id; *p; p++) {
		if (*p == '"')
			sb_putn(cx, sb, "\"\"", 2);
		else
			sb_putn(cx, sb, p, 1);
	}
	sb_putn(cx, sb, "\"", 1);
}

/* ---------------------------------------------------------------- errors */

/* Append at most `room` bytes of s[0..n) to dst, cutting at a UTF-8 boundary. */
static size_t utf8_fit(char *dst, size_t room, const char *s, size_t n)
{
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	return n;
}

/* Replace bytes that are not valid UTF-8 with '?': messages go into JSON, and the query
 * (echoed in them) may hold anything. */
static void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		int n = *p < 0x80	      ? 1
			: (*p & 0xE0) == 0xC0 ? 2
			: (*p & 0xF0) == 0xE0 ? 3
			: (*p & 0xF8) == 0xF0 ? 4
					      : 0;
		int ok = n > 0 && !(n == 2 && *p < 0xC2) && !(n == 4 && *p > 0xF4);
		for (int i = 1; ok && i < n; i++)
			ok = (p[i] & 0xC0) == 0x80;
		if (ok && n == 3) {
			unsigned cp =
			    ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
			ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
		}
		if (ok && n == 4) {
			unsigned cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12);
			ok = cp >= 0x10000 && cp <= 0x10FFFF;
		}
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static void set_error(struct soql_ctx *cx, const char *code, const char *msg)
{
	cx->err->http_status = 400;
	snprintf(cx->err->code, sizeof cx->err->code, "%s", code);
	size_t room = sizeof cx->err->message - 1;
	size_t n = utf8_fit(cx->err->message, room, msg, strlen(msg));
	cx->err->message[n] = '\0';
	utf8_sanitize(cx->err->message);
}

/* Salesforce's compile error shape: "\n<query line>\n<caret>\nERROR at Row:R:Column:C\n<what>".
 * A line too long for the message buffer is cut so the tail (the "what") always fits. */
static void fail_at(struct soql_ctx *cx, const char *code, int row, int col, const char *what)
{
	char *m = cx->err->message;
	size_t cap = sizeof cx->err->message;
	char tail[600];
	int tl = snprintf(tail, sizeof tail, "\nERROR at Row:%d:Column:%d\n%s", row, col, what);
	if (tl < 0)
		tl = 0;
	if ((size_t)tl >= sizeof tail) {
		tl = (int)sizeof tail - 1;
		while (tl > 0 && ((unsigned char)tail[tl] & 0xC0) == 0x80)
			tl--;
		tail[tl] = '\0';
	}
	/* find the line */
	const char *ls = cx->text;
	for (int r = 1; r < row; r++) {
		const char *nl = strchr(ls, '\n');
		if (!nl)
			break;
		ls = nl + 1;
	}
	const char *le = strchr(ls, '\n');
	size_t llen = le ? (size_t)(le - ls) : strlen(ls);
	size_t budget = cap - 1 - (size_t)tl;
	/* "\n" line "\n" caret(col) */
	size_t caret = (size_t)(col > 0 ? col : 1);
	size_t pos = 0;
	m[pos++] = '\n';
	size_t for_line = budget > caret + 3 ? budget - caret - 3 : 0;
	if (caret + 3 > budget) {
		/* caret too far right to show: echo nothing of the line */
		for_line = 0;
		caret = 0;
	}
	pos += utf8_fit(m + pos, for_line, ls, llen);
	m[pos++] = '\n';
	if (caret) {
		for (size_t i = 1; i < caret; i++)
			m[pos++] = ' ';
		m[pos++] = '^';
	}
	memcpy(m + pos, tail, (size_t)tl);
	pos += (size_t)tl;
	m[pos] = '\0';
	utf8_sanitize(m);
	cx->err->http_status = 400;
	snprintf(cx->err->code, sizeof cx->err->code, "%s", code);
	longjmp(cx->jb, 1);
}

static void fail_tok(struct soql_ctx *cx, const char *code, const struct token *t, const char *what)
{
	fail_at(cx, code, t->row, t->col, what);
}

static const char *tok_text(struct soql_ctx *cx, const struct token *t)
{
	if (t->kind == TK_EOF)
		return "<EOF>";
	size_t n = t->len > 300 ? 300 : t->len;
	while (n < t->len && n > 0 && ((unsigned char)cx->text[t->off + n] & 0xC0) == 0x80)
		n--;
	return soql_strndup(cx, cx->text + t->off, n);
}

static void unexpected_at(struct soql_ctx *cx, const struct token *at, const struct token *t)
{
	if (t->kind == TK_BAD)
		fail_tok(cx, "MALFORMED_QUERY", t, t->bad);
	char what[400];
	snprintf(what, sizeof what, "unexpected token: '%s'", tok_text(cx, t));
	fail_tok(cx, "MALFORMED_QUERY", at, what);
}

static void unexpected(struct soql_ctx *cx, const struct token *t)
{
	unexpected_at(cx, t, t);
}

/* ---------------------------------------------------------------- dates */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, unsigned m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

static const char *date_text(struct soql_ctx *cx, int64_t days)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	char buf[32];
	snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02u", y, m, d);
	return soql_strndup(cx, buf, strlen(buf));
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ---------------------------------------------------------------- lexer */

/* ASCII only, whatever the process locale */
static int is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Try a date or datetime at s; returns its length (0 = none) and the value. */
static size_t lex_date(const char *s, enum tok_kind *kind, int64_t *val, int *bad)
{
	int y, mo, d, h, mi, sec;
	*bad = 0;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
		*bad = 1;
	int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	if (s[10] != 'T' && s[10] != 't') {
		if (is_ident_char((unsigned char)s[10]))
			*bad = 1;
		*kind = TK_DATE;
		*val = days;
		return 10;
	}
	size_t n = 11;
	if (!digits(s + n, 2, &h) || s[n + 2] != ':' || !digits(s + n + 3, 2, &mi) ||
	    s[n + 5] != ':' || !digits(s + n + 6, 2, &sec)) {
		*bad = 1;
		return 11;
	}
	n += 8;
	if (h > 23 || mi > 59 || sec > 59)
		*bad = 1;
	int ms = 0;
	if (s[n] == '.') {
		n++;
		int nd = 0;
		while (isdigit((unsigned char)s[n])) {
			if (nd < 3)
				ms = ms * 10 + (s[n] - '0');
			nd++;
			n++;
		}
		if (nd == 0)
			*bad = 1;
		for (; nd < 3; nd++)
			ms *= 10;
	}
	int64_t off = 0;
	if (s[n] == 'Z' || s[n] == 'z') {
		n++;
	} else if (s[n] == '+' || s[n] == '-') {
		int oh, om;
		if (!digits(s + n + 1, 2, &oh) || s[n + 3] != ':' || !digits(s + n + 4, 2, &om)) {
			*bad = 1;
			return n + 1;
		}
		if (oh > 23 || om > 59)
			*bad = 1;
		off = (oh * 60 + om) * 60000LL * (s[n] == '-' ? -1 : 1);
		n += 6;
	} else {
		*bad = 1;
	}
	if (is_ident_char((unsigned char)s[n]))
		*bad = 1;
	*kind = TK_DATETIME;
	*val = days * 86400000LL + h * 3600000LL + mi * 60000LL + sec * 1000LL + ms - off;
	return n;
}

static void lex(struct soql_ctx *cx)
{
	const char *s = cx->text;
	size_t i = 0, cap = 0;
	int row = 1, col = 1;
	for (;;) {
		/* whitespace */
		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
		       s[i] == '\f') {
			if (s[i] == '\n') {
				row++;
				col = 1;
			} else {
				col++;
			}
			i++;
		}
		if (cx->ntoks == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct token *nt = soql_alloc(cx, ncap * sizeof *nt);
			if (cap)
				memcpy(nt, cx->toks, cap * sizeof *nt);
			cx->toks = nt;
			cap = ncap;
		}
		struct token *t = &cx->toks[cx->ntoks++];
		t->off = i;
		t->row = row;
		t->col = col;
		unsigned char c = (unsigned char)s[i];
		size_t n = 0;
		if (c == '\0') {
			t->kind = TK_EOF;
			return;
		} else if (is_ident_start(c)) {
			t->kind = TK_IDENT;
			while (is_ident_char((unsigned char)s[i + n]))
				n++;
		} else if (c == '\'' || c == '"') {
			t->kind = c == '\'' ? TK_STRING : TK_DQSTRING;
			n = 1;
			while (s[i + n] && s[i + n] != (char)c) {
				if (s[i + n] == '\\' && s[i + n + 1])
					n++;
				n++;
			}
			if (!s[i + n]) {
				t->kind = TK_BAD;
				t->bad = soql_strndup(cx, "unexpected token: '<EOF>'", 25);
			} else {
				n++;
			}
		} else if (isdigit(c) ||
			   ((c == '-' || c == '+') && isdigit((unsigned char)s[i + 1]))) {
			enum tok_kind k;
			int bad;
			n = isdigit(c) ? lex_date(s + i, &k, &t->ival, &bad) : 0;
			if (n) {
				t->kind = bad ? TK_BAD : k;
				if (bad) {
					while (is_ident_char((unsigned char)s[i + n]) ||
					       s[i + n] == ':' || s[i + n] == '-' ||
					       s[i + n] == '+' || s[i + n] == '.')
						n++;
					char what[400];
					snprintf(what, sizeof what, "unexpected token: '%.*s'",
						 (int)(n > 300 ? 300 : n), s + i);
					t->bad = soql_strndup(cx, what, strlen(what));
				}
			} else {
				t->kind = TK_NUMBER;
				n = 1;
				while (isdigit((unsigned char)s[i + n]))
					n++;
				if (s[i + n] == '.' && isdigit((unsigned char)s[i + n + 1])) {
					n++;
					while (isdigit((unsigned char)s[i + n]))
						n++;
				}
				/* an exponent (what printf's %g writes); not documented for
				 * SOQL, accepted here */
				size_t e = n + 1;
				int has_e = s[i + n] == 'e' || s[i + n] == 'E';
				if (has_e && (s[i + e] == '+' || s[i + e] == '-'))
					e++;
				if (has_e && isdigit((unsigned char)s[i + e])) {
					n = e;
					while (isdigit((unsigned char)s[i + n]))
						n++;
				}
				if (is_ident_char((unsigned char)s[i + n])) {
					while (is_ident_char((unsigned char)s[i + n]))
						n++;
					t->kind = TK_BAD;
					char what[400];
					snprintf(what, sizeof what, "unexpected token: '%.*s'",
						 (int)(n > 300 ? 300 : n), s + i);
					t->bad = soql_strndup(cx, what, strlen(what));
				}
			}
		} else if ((c == '!' && s[i + 1] == '=') || (c == '<' && s[i + 1] == '>') ||
			   (c == '<' && s[i + 1] == '=') || (c == '>' && s[i + 1] == '=')) {
			t->kind = TK_PUNCT;
			n = 2;
		} else if (c >= 0x80) {
			/* one UTF-8 character */
			t->kind = TK_PUNCT;
			n = 1;
			while (((unsigned char)s[i + n] & 0xC0) == 0x80)
				n++;
		} else {
			t->kind = TK_PUNCT;
			n = 1;
		}
		t->len = n;
		/* advance row/col over the token (strings may span lines) */
		for (size_t k = 0; k < n; k++) {
			unsigned char ch = (unsigned char)s[i + k];
			if (ch == '\n') {
				row++;
				col = 1;
			} else if ((ch & 0xC0) != 0x80) {
				col++;
			}
		}
		i += n;
	}
}

/* ---------------------------------------------------------------- parser */

/* Salesforce's reserved words. ORDER, OFFSET, TRUE, ... are contextual: "Order" is an
 * object and "Group" (reserved) one too, so FROM takes them. */
static const char *const reserved[] = {"AND",	"ASC",	  "DESC", "EXCLUDES", "FIRST", "FROM",
				       "GROUP", "HAVING", "IN",	  "INCLUDES", "LAST",  "LIKE",
				       "LIMIT", "NOT",	  "NULL", "NULLS",    "OR",    "SELECT",
				       "WHERE", "WITH",	  NULL};

static const struct token *peek(struct soql_ctx *cx, size_t ahead)
{
	size_t p = cx->pos + ahead;
	if (p >= cx->ntoks)
		p = cx->ntoks - 1;
	return &cx->toks[p];
}

static const struct token *next(struct soql_ctx *cx)
{
	const struct token *t = peek(cx, 0);
	if (t->kind != TK_EOF)
		cx->pos++;
	return t;
}

static int tok_is(struct soql_ctx *cx, const struct token *t, const char *word)
{
	size_t n = strlen(word);
	return t->kind == TK_IDENT && t->len == n && strncasecmp(cx->text + t->off, word, n) == 0;
}

static int tok_punct(struct soql_ctx *cx, const struct token *t, const char *p)
{
	size_t n = strlen(p);
	return t->kind == TK_PUNCT && t->len == n && memcmp(cx->text + t->off, p, n) == 0;
}

static int tok_reserved(struct soql_ctx *cx, const struct token *t)
{
	for (int i = 0; reserved[i]; i++)
		if (tok_is(cx, t, reserved[i]))
			return 1;
	return 0;
}

static int accept_kw(struct soql_ctx *cx, const char *word)
{
	if (tok_is(cx, peek(cx, 0), word)) {
		cx->pos++;
		return 1;
	}
	return 0;
}

static void expect_kw(struct soql_ctx *cx, const char *word)
{
	if (!accept_kw(cx, word))
		unexpected(cx, peek(cx, 0));
}

static int accept_punct(struct soql_ctx *cx, const char *p)
{
	if (tok_punct(cx, peek(cx, 0), p)) {
		cx->pos++;
		return 1;
	}
	return 0;
}

static void expect_punct(struct soql_ctx *cx, const char *p)
{
	if (!accept_punct(cx, p))
		unexpected(cx, peek(cx, 0));
}

static const char *tok_str(struct soql_ctx *cx, const struct token *t)
{
	return soql_strndup(cx, cx->text + t->off, t->len);
}

static struct path *parse_path(struct soql_ctx *cx)
{
	const struct token *t = peek(cx, 0);
	if (t->kind != TK_IDENT || tok_reserved(cx, t))
		unexpected(cx, t);
	struct path *p = soql_alloc(cx, sizeof *p);
	p->first = t;
	struct sbuf sb = {0};
	for (;;) {
		t = next(cx);
		if (t->kind != TK_IDENT || tok_reserved(cx, t))
			unexpected(cx, t);
		if (p->n == (int)(sizeof p->part / sizeof p->part[0]))
			unexpected(cx, t);
		p->part[p->n++] = tok_str(cx, t);
		sb_putn(cx, &sb, cx->text + t->off, t->len);
		if (!tok_punct(cx, peek(cx, 0), "."))
			break;
		next(cx);
		sb_putn(cx, &sb, ".", 1);
	}
	p->text = sb.s;
	return p;
}

static void parse_lit(struct soql_ctx *cx, struct lit *l)
{
	const struct token *t = next(cx);
	l->tok = t;
	switch (t->kind) {
	case TK_STRING:
		l->kind = L_STRING;
		return;
	case TK_NUMBER:
		l->kind = L_NUMBER;
		return;
	case TK_DATE:
		l->kind = L_DATE;
		l->days0 = t->ival;
		return;
	case TK_DATETIME:
		l->kind = L_DATETIME;
		l->ms = t->ival;
		return;
	case TK_IDENT:
		break;
	default:
		unexpected(cx, t);
	}
	int64_t today = floor_div(cx->opt ? cx->opt->now_ms : 0, 86400000);
	if (tok_is(cx, t, "TRUE")) {
		l->kind = L_TRUE;
	} else if (tok_is(cx, t, "FALSE")) {
		l->kind = L_FALSE;
	} else if (tok_is(cx, t, "NULL")) {
		l->kind = L_NULL;
	} else if (tok_is(cx, t, "TODAY")) {
		l->kind = L_RANGE;
		l->days0 = today;
		l->days1 = today + 1;
	} else if (tok_is(cx, t, "YESTERDAY")) {
		l->kind = L_RANGE;
		l->days0 = today - 1;
		l->days1 = today;
	} else if (tok_is(cx, t, "TOMORROW")) {
		l->kind = L_RANGE;
		l->days0 = today + 1;
		l->days1 = today + 2;
	} else if (tok_is(cx, t, "LAST_N_DAYS") || tok_is(cx, t, "NEXT_N_DAYS")) {
		int last = tok_is(cx, t, "LAST_N_DAYS");
		expect_punct(cx, ":");
		const struct token *nt = next(cx);
		if (nt->kind != TK_NUMBER || nt->len > 7 ||
		    !isdigit((unsigned char)cx->text[nt->off]))
			unexpected(cx, nt);
		for (size_t k = 0; k < nt->len; k++)
			if (!isdigit((unsigned char)cx->text[nt->off + k]))
				unexpected(cx, nt);
		int64_t n = strtoll(cx->text + nt->off, NULL, 10);
		l->kind = L_RANGE;
		/* LAST_N_DAYS:n = the past n days and today; NEXT_N_DAYS:n = the n days after
		 * today. */
		l->days0 = last ? today - n : today + 1;
		l->days1 = last ? today + 1 : today + 1 + n;
	} else {
		unexpected(cx, t);
	}
}

static struct node *parse_cond(struct soql_ctx *cx);

static struct node *new_node(struct soql_ctx *cx, enum node_kind k)
{
	struct node *n = soql_alloc(cx, sizeof *n);
	n->kind = k;
	return n;
}

static struct node *parse_cmp(struct soql_ctx *cx)
{
	struct node *n = new_node(cx, N_CMP);
	n->path = parse_path(cx);
	const struct token *t = peek(cx, 0);
	if (tok_is(cx, t, "NOT") &&
	    (tok_is(cx, peek(cx, 1), "IN") || tok_is(cx, peek(cx, 1), "LIKE"))) {
		n->negated = 1;
		next(cx);
		t = peek(cx, 0);
	}
	if (tok_is(cx, t, "IN")) {
		next(cx);
		n->kind = N_IN;
		expect_punct(cx, "(");
		int cap = 0;
		for (;;) {
			if (n->nlits == cap) {
				int ncap = cap ? cap * 2 : 8;
				struct lit *nl = soql_alloc(cx, (size_t)ncap * sizeof *nl);
				if (cap)
					memcpy(nl, n->lits, (size_t)cap * sizeof *nl);
				n->lits = nl;
				cap = ncap;
			}
			parse_lit(cx, &n->lits[n->nlits++]);
			if (accept_punct(cx, ")"))
				break;
			expect_punct(cx, ",");
		}
		return n;
	}
	if (tok_is(cx, t, "LIKE")) {
		next(cx);
		n->kind = N_LIKE;
		n->nlits = 1;
		n->lits = soql_alloc(cx, sizeof *n->lits);
		parse_lit(cx, n->lits);
		return n;
	}
	if (n->negated)
		unexpected(cx, t);
	static const struct {
		const char *s;
		enum op op;
	} ops[] = {{"=", OP_EQ},  {"!=", OP_NE}, {"<>", OP_NE}, {"<", OP_LT},
		   {"<=", OP_LE}, {">", OP_GT},	 {">=", OP_GE}};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (tok_punct(cx, t, ops[i].s)) {
			next(cx);
			n->op = ops[i].op;
			n->nlits = 1;
			n->lits = soql_alloc(cx, sizeof *n->lits);
			parse_lit(cx, n->lits);
			return n;
		}
	}
	unexpected(cx, t);
	return NULL;
}

static struct node *parse_fact(struct soql_ctx *cx)
{
	int neg = accept_kw(cx, "NOT");
	struct node *n;
	const struct token *t = peek(cx, 0);
	if (tok_punct(cx, t, "(")) {
		if (++cx->depth > SOQL_MAX_DEPTH)
			fail_tok(cx, "MALFORMED_QUERY", t,
				 "unexpected token: '(' (parentheses nested too deeply)");
		next(cx);
		n = parse_cond(cx);
		expect_punct(cx, ")");
		cx->depth--;
	} else {
		n = parse_cmp(cx);
	}
	if (neg) {
		struct node *m = new_node(cx, N_NOT);
		m->nkids = 1;
		m->kids = soql_alloc(cx, sizeof *m->kids);
		m->kids[0] = n;
		n = m;
	}
	return n;
}

static struct node *parse_list(struct soql_ctx *cx, enum node_kind kind, const char *kw,
			       struct node *(*sub)(struct soql_ctx *))
{
	struct node *first = sub(cx);
	if (!tok_is(cx, peek(cx, 0), kw))
		return first;
	struct node *n = new_node(cx, kind);
	int cap = 4;
	n->kids = soql_alloc(cx, (size_t)cap * sizeof *n->kids);
	n->kids[n->nkids++] = first;
	while (accept_kw(cx, kw)) {
		if (n->nkids == cap) {
			struct node **nk = soql_alloc(cx, (size_t)cap * 2 * sizeof *nk);
			memcpy(nk, n->kids, (size_t)cap * sizeof *nk);
			n->kids = nk;
			cap *= 2;
		}
		n->kids[n->nkids++] = sub(cx);
	}
	return n;
}

static struct node *parse_term(struct soql_ctx *cx)
{
	return parse_list(cx, N_AND, "AND", parse_fact);
}

static struct node *parse_cond(struct soql_ctx *cx)
{
	return parse_list(cx, N_OR, "OR", parse_term);
}

static int64_t parse_count(struct soql_ctx *cx)
{
	const struct token *t = next(cx);
	if (t->kind != TK_NUMBER || !isdigit((unsigned char)cx->text[t->off]))
		unexpected(cx, t);
	for (size_t k = 0; k < t->len; k++)
		if (!isdigit((unsigned char)cx->text[t->off + k]))
			unexpected(cx, t);
	if (t->len > 12)
		unexpected(cx, t);
	return strtoll(cx->text + t->off, NULL, 10);
}

static void parse_query(struct soql_ctx *cx)
{
	expect_kw(cx, "SELECT");
	if (tok_is(cx, peek(cx, 0), "COUNT") && tok_punct(cx, peek(cx, 1), "(")) {
		next(cx);
		next(cx);
		expect_punct(cx, ")");
		cx->is_count = 1;
	} else {
		int cap = 0;
		for (;;) {
			if (cx->nsel == cap) {
				int ncap = cap ? cap * 2 : 16;
				struct path **ns = soql_alloc(cx, (size_t)ncap * sizeof *ns);
				if (cap)
					memcpy(ns, cx->sel, (size_t)cap * sizeof *ns);
				cx->sel = ns;
				cap = ncap;
			}
			cx->sel[cx->nsel++] = parse_path(cx);
			const struct token *t = peek(cx, 0);
			if (t->kind == TK_IDENT && !tok_reserved(cx, t)) {
				/* An alias: only aggregates may have one, but the grammar takes
				 * it, so "SELECT Id FRM Lead" fails on 'Lead' with the caret
				 * on FRM, as Salesforce reports it. */
				const struct token *t2 = peek(cx, 1);
				if (tok_punct(cx, t2, ",") || tok_is(cx, t2, "FROM"))
					fail_tok(cx, "MALFORMED_QUERY", t,
						 "only aggregate expressions use field aliasing");
				unexpected_at(cx, t, t2);
			}
			if (!accept_punct(cx, ","))
				break;
		}
	}
	expect_kw(cx, "FROM");
	const struct token *ot = peek(cx, 0);
	if (ot->kind != TK_IDENT || (tok_reserved(cx, ot) && !tok_is(cx, ot, "GROUP")))
		unexpected(cx, ot);
	next(cx);
	cx->obj_tok = ot;
	const struct token *at = peek(cx, 0);
	if (at->kind == TK_IDENT && !tok_reserved(cx, at) &&
	    !(tok_is(cx, at, "ORDER") && tok_is(cx, peek(cx, 1), "BY")) &&
	    !(tok_is(cx, at, "OFFSET") && peek(cx, 1)->kind == TK_NUMBER)) {
		cx->alias = tok_str(cx, at);
		next(cx);
	}
	if (accept_kw(cx, "WHERE"))
		cx->where = parse_cond(cx);
	if (accept_kw(cx, "ORDER")) {
		expect_kw(cx, "BY");
		int cap = 0;
		for (;;) {
			if (cx->norder == cap) {
				int ncap = cap ? cap * 2 : 8;
				struct order *no = soql_alloc(cx, (size_t)ncap * sizeof *no);
				if (cap)
					memcpy(no, cx->orders, (size_t)cap * sizeof *no);
				cx->orders = no;
				cap = ncap;
			}
			struct order *o = &cx->orders[cx->norder++];
			o->path = parse_path(cx);
			if (accept_kw(cx, "DESC"))
				o->desc = 1;
			else
				accept_kw(cx, "ASC");
			if (accept_kw(cx, "NULLS")) {
				o->nulls_given = 1;
				if (accept_kw(cx, "LAST"))
					o->nulls_last = 1;
				else
					expect_kw(cx, "FIRST");
			}
			if (!accept_punct(cx, ","))
				break;
		}
	}
	cx->limit = -1;
	if (accept_kw(cx, "LIMIT"))
		cx->limit = parse_count(cx);
	if (accept_kw(cx, "OFFSET"))
		cx->offset = parse_count(cx);
	const struct token *t = peek(cx, 0);
	if (t->kind != TK_EOF)
		unexpected(cx, t);
}

/* ---------------------------------------------------------------- resolution */

struct resolved {
	int alias; /* 0 = t0, else join index + 1 */
	int depth;
	const char *rels[2];
	const char *object;
	const soql_field *field;
};

static void invalid_field(struct soql_ctx *cx, const struct path *p, const char *name,
			  const char *object)
{
	char what[700];
	snprintf(what, sizeof what,
		 "No such column '%.200s' on entity '%.200s'. If you are attempting to use a "
		 "custom field, be sure to append the '__c' after the custom field name. Please "
		 "reference your WSDL or the describe call for the appropriate names.",
		 name, object);
	fail_tok(cx, "INVALID_FIELD", p->first, what);
}

static void bad_relationship(struct soql_ctx *cx, const struct path *p, const char *rel)
{
	char what[700];
	snprintf(what, sizeof what,
		 "Didn't understand relationship '%.200s' in field path. If you are attempting to "
		 "use a custom relationship, be sure to append the '__r' after the custom "
		 "relationship name. Please reference your WSDL or the describe call for the "
		 "appropriate names.",
		 rel);
	fail_tok(cx, "INVALID_FIELD", p->first, what);
}

static const soql_field *get_field(struct soql_ctx *cx, const char *object, const char *name)
{
	return cx->schema->field ? cx->schema->field(cx->schema->ud, object, name) : NULL;
}

static const soql_field *rel_field(struct soql_ctx *cx, const char *object, const char *rel)
{
	return cx->schema->relationship ? cx->schema->relationship(cx->schema->ud, object, rel)
					: NULL;
}

static const char *id_column(struct soql_ctx *cx, const char *object)
{
	const soql_field *f = get_field(cx, object, "Id");
	return f && f->column ? f->column : "Id";
}

/* The object of a level: the base object (-1) or a join's (primary) parent object. */
static const char *level_object(struct soql_ctx *cx, int level)
{
	return level < 0 ? cx->object : cx->joins[level].object;
}

/* The join for relationship `ref` (a field of the level `parent`), made once. */
static int get_join(struct soql_ctx *cx, int parent, const soql_field *ref, const struct path *p,
		    int for_ids)
{
	for (int i = 0; i < cx->njoins; i++) {
		struct join *j = &cx->joins[i];
		if (j->parent == parent && strcmp(j->rel, ref->relationship) == 0) {
			if (for_ids)
				j->for_ids = 1;
			return i;
		}
	}
	if (cx->njoins == (int)(sizeof cx->joins / sizeof cx->joins[0]))
		bad_relationship(cx, p, ref->relationship);
	const char *table = NULL;
	const char *obj = ref->parent && cx->schema->object
			      ? cx->schema->object(cx->schema->ud, ref->parent, &table)
			      : NULL;
	if (!obj || !table)
		bad_relationship(cx, p, ref->relationship);
	struct join *j = &cx->joins[cx->njoins];
	j->parent = parent;
	j->rel = soql_strndup(cx, ref->relationship, strlen(ref->relationship));
	j->ref_column = soql_strndup(cx, ref->column, strlen(ref->column));
	j->table = soql_strndup(cx, table, strlen(table));
	j->object = soql_strndup(cx, obj, strlen(obj));
	const char *idc = id_column(cx, obj);
	j->id_column = soql_strndup(cx, idc, strlen(idc));
	j->for_ids = for_ids;
	j->ref = ref;
	j->nalt = 0;
	const char *const *more =
	    cx->opt && cx->opt->more_parents
		? cx->opt->more_parents(cx->schema->ud, level_object(cx, parent), ref)
		: NULL;
	for (const char *const *mp = more; mp && *mp && j->nalt < SOQL_MAX_ALT; mp++) {
		const char *at = NULL;
		const char *ao =
		    cx->schema->object ? cx->schema->object(cx->schema->ud, *mp, &at) : NULL;
		if (!ao || !at || strcmp(ao, obj) == 0)
			continue; /* unknown or unreadable: its rows read as an empty lookup */
		const char *aid = id_column(cx, ao);
		j->alt_table[j->nalt] = soql_strndup(cx, at, strlen(at));
		j->alt_object[j->nalt] = soql_strndup(cx, ao, strlen(ao));
		j->alt_id_column[j->nalt] = soql_strndup(cx, aid, strlen(aid));
		j->nalt++;
	}
	return cx->njoins++;
}

static void resolve_path(struct soql_ctx *cx, const struct path *p, int for_ids, struct resolved *r)
{
	int start = 0;
	/* "l.Name" with FROM Lead l, or "Lead.Name" (when Lead is no relationship name) */
	if (p->n >= 2 && cx->alias && strcasecmp(p->part[0], cx->alias) == 0)
		start = 1;
	else if (p->n >= 2 && !cx->alias && strcasecmp(p->part[0], cx->object) == 0 &&
		 !rel_field(cx, cx->object, p->part[0]))
		start = 1;
	int nrel = p->n - start - 1;
	memset(r, 0, sizeof *r);
	const char *object = cx->object;
	int level = -1;
	for (int k = 0; k < nrel; k++) {
		const char *rel = p->part[start + k];
		if (k >= 2)
			bad_relationship(cx, p, rel);
		const soql_field *ref = rel_field(cx, object, rel);
		if (!ref || !ref->relationship || !ref->column)
			bad_relationship(cx, p, rel);
		level = get_join(cx, level, ref, p, for_ids);
		r->rels[k] = cx->joins[level].rel;
		object = cx->joins[level].object;
	}
	const char *fname = p->part[p->n - 1];
	const soql_field *f = get_field(cx, object, fname);
	if (!f || !f->column)
		invalid_field(cx, p, fname, object);
	r->alias = level + 1;
	r->depth = nrel;
	r->object = object;
	r->field = f;
}

static int field_nocase(const soql_field *f)
{
	return f->type == SOQL_T_STRING && !f->case_sensitive;
}

/* A literal of the wrong type. The text is the bare sentence of the spec (section 3), not
 * the echoed-query form of syntax and field errors. */
static void filter_error(struct soql_ctx *cx, const char *what)
{
	set_error(cx, "INVALID_QUERY_FILTER_OPERATOR", what);
	longjmp(cx->jb, 1);
}

static void type_error(struct soql_ctx *cx, const struct node *n, const soql_field *f)
{
	const char *tn = "string";
	int quoted = 1;
	switch (f->type) {
	case SOQL_T_ID:
	case SOQL_T_REFERENCE:
		tn = "id";
		break;
	case SOQL_T_STRING:
		break;
	case SOQL_T_BOOLEAN:
		tn = "boolean", quoted = 0;
		break;
	case SOQL_T_INT:
		tn = "integer", quoted = 0;
		break;
	case SOQL_T_DOUBLE:
		tn = "double", quoted = 0;
		break;
	case SOQL_T_DATE:
		tn = "date", quoted = 0;
		break;
	case SOQL_T_DATETIME:
		tn = "dateTime", quoted = 0;
		break;
	}
	char what[600];
	snprintf(what, sizeof what,
		 "value of filter criterion for field '%.300s' must be of type %s and should %sbe "
		 "enclosed in quotes",
		 n->path->text, tn, quoted ? "" : "not ");
	filter_error(cx, what);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(struct soql_ctx *cx, struct sbuf *sb, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sb_putn(cx, sb, b, n);
}

static void bad_escape(struct soql_ctx *cx, const struct token *t, const char *seq, size_t n)
{
	char what[800];
	size_t body = t->len - 2 > 200 ? 200 : t->len - 2;
	snprintf(what, sizeof what,
		 "Invalid string literal '%.*s'. Illegal character sequence '%.*s' in string "
		 "literal.",
		 (int)body, cx->text + t->off + 1, (int)n, seq);
	fail_tok(cx, "MALFORMED_QUERY", t, what);
}

/* Decode a single-quoted literal. With like != 0 the result is an SQL LIKE pattern with
 * ESCAPE '\' (escaped % and _ stay escaped, a literal backslash becomes \\). */
static const char *decode_string(struct soql_ctx *cx, const struct token *t, int like, size_t *len)
{
	const char *s = cx->text + t->off + 1;
	size_t n = t->len - 2;
	struct sbuf sb = {0};
	sb_putn(cx, &sb, "", 0);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c != '\\') {
			sb_putn(cx, &sb, &c, 1);
			continue;
		}
		char e = s[i + 1];
		const char *out = NULL;
		switch (e) {
		case 'n':
		case 'N':
			out = "\n";
			break;
		case 'r':
		case 'R':
			out = "\r";
			break;
		case 't':
		case 'T':
			out = "\t";
			break;
		case 'b':
		case 'B':
			out = "\b";
			break;
		case 'f':
		case 'F':
			out = "\f";
			break;
		case '"':
			out = "\"";
			break;
		case '\'':
			out = "'";
			break;
		case '\\':
			out = like ? "\\\\" : "\\";
			break;
		case '%':
		case '_':
			if (!like)
				bad_escape(cx, t, s + i, 2);
			sb_putn(cx, &sb, s + i, 2);
			i++;
			continue;
		case 'u':
		case 'U': {
			uint32_t cp = 0;
			for (int k = 0; k < 4; k++) {
				int h = i + 2 + (size_t)k < n ? hexval((unsigned char)s[i + 2 + k])
							      : -1;
				if (h < 0)
					bad_escape(cx, t, s + i,
						   (size_t)(2 + k) <= n - i ? (size_t)(2 + k)
									    : n - i);
				cp = cp * 16 + (uint32_t)h;
			}
			size_t used = 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 11 < n && s[i + 6] == '\\' &&
			    (s[i + 7] == 'u' || s[i + 7] == 'U')) {
				uint32_t lo = 0;
				int ok = 1;
				for (int k = 0; k < 4 && ok; k++) {
					int h = i + 8 + (size_t)k < n
						    ? hexval((unsigned char)s[i + 8 + k])
						    : -1;
					if (h < 0)
						ok = 0;
					else
						lo = lo * 16 + (uint32_t)h;
				}
				if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					used = 12;
				}
			}
			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0xFFFD; /* lone surrogate */
			/* in LIKE, a \u escape is a literal character, never a wildcard */
			if (like && (cp == '\\' || cp == '%' || cp == '_')) {
				char esc[2] = {'\\', (char)cp};
				sb_putn(cx, &sb, esc, 2);
			} else {
				put_utf8(cx, &sb, cp);
			}
			i += used - 1;
			continue;
		}
		default:
			bad_escape(cx, t, s + i, e ? 2 : 1);
		}
		sb_puts(cx, &sb, out);
		i++;
	}
	*len = sb.len;
	return sb.s;
}

/* LIKE pattern (ESCAPE '\') -> GLOB pattern, for case-sensitive fields. */
static const char *like_to_glob(struct soql_ctx *cx, const char *like, size_t n, size_t *len)
{
	struct sbuf sb = {0};
	sb_putn(cx, &sb, "", 0);
	for (size_t i = 0; i < n; i++) {
		char c = like[i];
		if (c == '\\' && i + 1 < n) {
			c = like[++i];
		} else if (c == '%') {
			sb_putn(cx, &sb, "*", 1);
			continue;
		} else if (c == '_') {
			sb_putn(cx, &sb, "?", 1);
			continue;
		}
		if (c == '*' || c == '?' || c == '[') {
			char b[3] = {'[', c, ']'};
			sb_putn(cx, &sb, b, 3);
		} else {
			sb_putn(cx, &sb, &c, 1);
		}
	}
	*len = sb.len;
	return sb.s;
}

static int is_alnum_str(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_ident_char((unsigned char)s[i]) || s[i] == '_')
			return 0;
	return 1;
}

/* A literal as a value for field f. Ranges (TODAY...) return 1 with the bounds in lo/hi. */
static int lit_value(struct soql_ctx *cx, const struct node *n, const soql_field *f,
		     const struct lit *l, struct param *v, struct param *lo, struct param *hi)
{
	memset(v, 0, sizeof *v);
	if (l->kind == L_NULL) {
		v->type = SQLITE_NULL;
		return 0;
	}
	switch (f->type) {
	case SOQL_T_ID:
	case SOQL_T_REFERENCE: {
		if (l->kind != L_STRING)
			type_error(cx, n, f);
		size_t len;
		const char *s = decode_string(cx, l->tok, 0, &len);
		if (len == 0) {
			v->type = SQLITE_NULL;
			return 0;
		}
		if ((len != 15 && len != 18) || !is_alnum_str(s, len)) {
			char what[400];
			snprintf(what, sizeof what, "invalid ID field: %.300s", s);
			filter_error(cx, what);
		}
		v->type = SQLITE_TEXT;
		if (len == 15) {
			char *o = soql_alloc(cx, 19);
			soql_id18(s, o);
			s = o;
			len = 18;
		}
		v->s = s;
		v->slen = len;
		return 0;
	}
	case SOQL_T_STRING:
		if (l->kind != L_STRING)
			type_error(cx, n, f);
		v->type = SQLITE_TEXT;
		v->s = decode_string(cx, l->tok, 0, &v->slen);
		return 0;
	case SOQL_T_BOOLEAN:
		if (l->kind != L_TRUE && l->kind != L_FALSE)
			type_error(cx, n, f);
		v->type = SQLITE_INTEGER;
		v->i = l->kind == L_TRUE;
		return 0;
	case SOQL_T_INT:
	case SOQL_T_DOUBLE: {
		if (l->kind != L_NUMBER)
			type_error(cx, n, f);
		const char *txt = tok_str(cx, l->tok);
		if (strpbrk(txt, ".eE") || l->tok->len > 18) {
			v->type = SQLITE_FLOAT;
			v->d = strtod(txt, NULL);
		} else {
			v->type = SQLITE_INTEGER;
			v->i = strtoll(txt, NULL, 10);
		}
		return 0;
	}
	case SOQL_T_DATE:
		if (l->kind == L_DATE) {
			v->type = SQLITE_TEXT;
			v->s = date_text(cx, l->days0);
			v->slen = strlen(v->s);
			return 0;
		}
		if (l->kind != L_RANGE)
			type_error(cx, n, f);
		lo->type = hi->type = SQLITE_TEXT;
		lo->s = date_text(cx, l->days0);
		lo->slen = strlen(lo->s);
		hi->s = date_text(cx, l->days1);
		hi->slen = strlen(hi->s);
		return 1;
	case SOQL_T_DATETIME:
		if (l->kind == L_DATETIME) {
			v->type = SQLITE_INTEGER;
			v->i = l->ms;
			return 0;
		}
		if (l->kind != L_RANGE)
			type_error(cx, n, f);
		lo->type = hi->type = SQLITE_INTEGER;
		lo->i = l->days0 * 86400000LL;
		hi->i = l->days1 * 86400000LL;
		return 1;
	}
	type_error(cx, n, f);
	return 0;
}

static struct node *mk_cmp(struct soql_ctx *cx, struct colref col, enum op op, struct param v)
{
	struct node *m = new_node(cx, N_CMP);
	m->col = col;
	m->op = op;
	m->val = v;
	return m;
}

static struct node *mk_bin(struct soql_ctx *cx, enum node_kind k, struct node *a, struct node *b)
{
	struct node *m = new_node(cx, k);
	m->nkids = 2;
	m->kids = soql_alloc(cx, 2 * sizeof *m->kids);
	m->kids[0] = a;
	m->kids[1] = b;
	return m;
}

/* Resolve names and literals in place; a comparison against a date range becomes a small
 * AND/OR of plain comparisons. Returns the (possibly replaced) node. */
static int col_eq(const struct colref *a, const struct colref *b)
{
	return a->alias == b->alias && strcmp(a->column, b->column) == 0;
}

/* "a = 1 OR a = 2 OR ..." becomes "a IN (1, 2, ...)": the same rows (also under NOT), and
 * SQLite analyses long OR chains in quadratic time. */
static void merge_or_equals(struct soql_ctx *cx, struct node *n)
{
	int ngroups = 0;
	struct node **groups = soql_alloc(cx, (size_t)n->nkids * sizeof *groups);
	int *gi = soql_alloc(cx, (size_t)n->nkids * sizeof *gi);
	for (int i = 0; i < n->nkids; i++) {
		struct node *k = n->kids[i];
		gi[i] = -1;
		if (k->kind != N_CMP || k->op != OP_EQ || k->val.type == SQLITE_NULL)
			continue;
		for (int j = 0; j < ngroups && gi[i] < 0; j++)
			if (col_eq(&groups[j]->col, &k->col))
				gi[i] = j;
		if (gi[i] < 0) {
			gi[i] = ngroups;
			groups[ngroups] = new_node(cx, N_IN);
			groups[ngroups++]->col = k->col;
		}
		groups[gi[i]]->nlits++; /* counts the values for now */
	}
	for (int j = 0; j < ngroups; j++)
		groups[j]->vals = soql_alloc(cx, (size_t)groups[j]->nlits * sizeof(struct param));
	int out = 0;
	for (int i = 0; i < n->nkids; i++) {
		if (gi[i] < 0) {
			n->kids[out++] = n->kids[i];
			continue;
		}
		struct node *k = n->kids[i], *g = groups[gi[i]];
		if (g->nlits == 1) { /* alone: stays a comparison (the keyset shape needs it) */
			n->kids[out++] = n->kids[i];
			continue;
		}
		if (g->nvals == 0)
			n->kids[out++] = g;
		g->vals[g->nvals++] = k->val;
	}
	n->nkids = out;
}

static struct node *resolve_node(struct soql_ctx *cx, struct node *n)
{
	if (n->kind == N_AND || n->kind == N_OR || n->kind == N_NOT) {
		for (int i = 0; i < n->nkids; i++)
			n->kids[i] = resolve_node(cx, n->kids[i]);
		if (n->kind == N_OR)
			merge_or_equals(cx, n);
		if ((n->kind == N_AND || n->kind == N_OR) && n->nkids == 1)
			return n->kids[0];
		return n;
	}
	struct resolved r;
	resolve_path(cx, n->path, 1, &r);
	const soql_field *f = r.field;
	n->col.alias = r.alias;
	n->col.column = f->column;
	n->col.nocase = field_nocase(f);
	n->col.field = f;
	if (n->kind == N_LIKE) {
		const struct lit *l = &n->lits[0];
		int texty =
		    f->type == SOQL_T_STRING || f->type == SOQL_T_ID || f->type == SOQL_T_REFERENCE;
		if (l->kind != L_STRING || !texty)
			type_error(cx, n, f);
		size_t len;
		const char *pat = decode_string(cx, l->tok, 1, &len);
		n->glob = !field_nocase(f);
		if (n->glob)
			pat = like_to_glob(cx, pat, len, &len);
		n->val.type = SQLITE_TEXT;
		n->val.s = pat;
		n->val.slen = len;
		return n;
	}
	if (n->kind == N_IN) {
		n->vals = soql_alloc(cx, (size_t)n->nlits * sizeof *n->vals);
		for (int i = 0; i < n->nlits; i++) {
			struct param v, lo, hi;
			if (lit_value(cx, n, f, &n->lits[i], &v, &lo, &hi))
				unexpected(cx, n->lits[i].tok);
			if (v.type == SQLITE_NULL)
				n->has_null = 1;
			else
				n->vals[n->nvals++] = v;
		}
		return n;
	}
	struct param v, lo, hi;
	memset(&lo, 0, sizeof lo);
	memset(&hi, 0, sizeof hi);
	if (!lit_value(cx, n, f, &n->lits[0], &v, &lo, &hi)) {
		n->val = v;
		return n;
	}
	/* date range [lo, hi) */
	switch (n->op) {
	case OP_EQ:
		return mk_bin(cx, N_AND, mk_cmp(cx, n->col, OP_GE, lo),
			      mk_cmp(cx, n->col, OP_LT, hi));
	case OP_NE: {
		struct node *m = new_node(cx, N_NOT);
		m->nkids = 1;
		m->kids = soql_alloc(cx, sizeof *m->kids);
		m->kids[0] =
		    mk_bin(cx, N_AND, mk_cmp(cx, n->col, OP_GE, lo), mk_cmp(cx, n->col, OP_LT, hi));
		return m;
	}
	case OP_LT:
		return mk_cmp(cx, n->col, OP_LT, lo);
	case OP_LE:
		return mk_cmp(cx, n->col, OP_LT, hi);
	case OP_GT:
		return mk_cmp(cx, n->col, OP_GE, hi);
	case OP_GE:
		return mk_cmp(cx, n->col, OP_GE, lo);
	}
	return n;
}

/* ---------------------------------------------------------------- emit */

static int add_param(struct soql_ctx *cx, const struct param *p)
{
	if (cx->nparams == cx->cparams) {
		int ncap = cx->cparams ? cx->cparams * 2 : 16;
		struct param *np = soql_alloc(cx, (size_t)ncap * sizeof *np);
		if (cx->cparams)
			memcpy(np, cx->params, (size_t)cx->cparams * sizeof *np);
		cx->params = np;
		cx->cparams = ncap;
	}
	cx->params[cx->nparams++] = *p;
	return cx->nparams;
}

static int same_kind(soql_type a, soql_type b)
{
	int ida = a == SOQL_T_ID || a == SOQL_T_REFERENCE;
	int idb = b == SOQL_T_ID || b == SOQL_T_REFERENCE;
	return a == b || (ida && idb);
}

/* A column. On a polymorphic level (Owner -> User or Group) the value comes from whichever
 * parent the id matched: COALESCE over the joins of the parents that have the field (at
 * most one of them has a row); a field another parent lacks reads null for its rows. */
static void emit_col(struct soql_ctx *cx, struct sbuf *sb, const struct colref *c)
{
	const struct join *j = c->alias > 0 ? &cx->joins[c->alias - 1] : NULL;
	const char *alt[SOQL_MAX_ALT];
	int nalt = 0;
	if (j && j->nalt && c->field) {
		for (int k = 0; k < j->nalt; k++) {
			const soql_field *f = get_field(cx, j->alt_object[k], c->field->name);
			alt[k] =
			    f && f->column && same_kind(f->type, c->field->type) ? f->column : NULL;
			nalt += alt[k] != NULL;
		}
	}
	if (nalt)
		sb_puts(cx, sb, "COALESCE(");
	sb_printf(cx, sb, "t%d.", c->alias);
	sb_ident(cx, sb, c->column);
	if (!nalt)
		return;
	for (int k = 0; k < j->nalt; k++) {
		if (!alt[k])
			continue;
		sb_printf(cx, sb, ", t%d_%d.", c->alias, k + 1);
		sb_ident(cx, sb, alt[k]);
	}
	sb_puts(cx, sb, ")");
}

static void emit_param(struct soql_ctx *cx, struct sbuf *sb, const struct param *p)
{
	sb_printf(cx, sb, "?%d", add_param(cx, p));
}

static void emit_col_coll(struct soql_ctx *cx, struct sbuf *sb, const struct colref *c)
{
	emit_col(cx, sb, c);
	if (c->nocase)
		sb_puts(cx, sb, " COLLATE NOCASE");
}

static int param_eq(const struct param *a, const struct param *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case SQLITE_INTEGER:
		return a->i == b->i;
	case SQLITE_FLOAT:
		return a->d == b->d;
	case SQLITE_TEXT:
		return a->slen == b->slen && memcmp(a->s, b->s, a->slen) == 0;
	}
	return 0;
}

/* The keyset shape "a > X OR (a = X AND b > Y)" (any order, >/>= and </<=) is the row
 * value "(a, b) > (X, Y)", which SQLite can run as a range scan on an (a, b) index. */
static int keyset_match(struct node *n, struct node **pa, struct node **pb)
{
	if (n->kind != N_OR || n->nkids != 2)
		return 0;
	for (int k = 0; k < 2; k++) {
		struct node *gt = n->kids[k], *and = n->kids[1 - k];
		if (gt->kind != N_CMP || and->kind != N_AND || and->nkids != 2)
			continue;
		if (gt->op != OP_GT && gt->op != OP_LT)
			continue;
		for (int j = 0; j < 2; j++) {
			struct node *eq = and->kids[j], *b = and->kids[1 - j];
			if (eq->kind != N_CMP || b->kind != N_CMP || eq->op != OP_EQ)
				continue;
			if (gt->op == OP_GT && b->op != OP_GT && b->op != OP_GE)
				continue;
			if (gt->op == OP_LT && b->op != OP_LT && b->op != OP_LE)
				continue;
			if (!col_eq(&gt->col, &eq->col) || col_eq(&gt->col, &b->col))
				continue;
			if (gt->col.nocase || b->col.nocase)
				continue;
			if (gt->val.type == SQLITE_NULL || b->val.type == SQLITE_NULL ||
			    !param_eq(&gt->val, &eq->val))
				continue;
			*pa = gt;
			*pb = b;
			return 1;
		}
	}
	return 0;
}

static const char *op_sql(enum op op)
{
	static const char *const s[] = {"=", "<>", "<", "<=", ">", ">="};
	return s[op];
}

static enum op op_not(enum op op)
{
	static const enum op s[] = {OP_NE, OP_EQ, OP_GE, OP_GT, OP_LE, OP_LT};
	return s[op];
}

static void emit_cond(struct soql_ctx *cx, struct sbuf *sb, struct node *n, int neg);

/* A long AND/OR chain as a balanced tree of parentheses: SQLite limits expression depth
 * (1000), and a flat "a OR b OR c ..." is parsed as a left-deep tree. */
static void emit_list(struct soql_ctx *cx, struct sbuf *sb, struct node **kids, int n, int is_and,
		      int neg)
{
	if (n == 1) {
		emit_cond(cx, sb, kids[0], neg);
		return;
	}
	int half = n / 2;
	sb_puts(cx, sb, "(");
	emit_list(cx, sb, kids, half, is_and, neg);
	sb_puts(cx, sb, is_and ? " AND " : " OR ");
	emit_list(cx, sb, kids + half, n - half, is_and, neg);
	sb_puts(cx, sb, ")");
}

/* SOQL logic is two-valued: a comparison with null is false, and NOT of it is true. The
 * emitter pushes NOT down to the leaves (neg) and writes each leaf so that NULL never
 * leaks out as "unknown". */
static void emit_cond(struct soql_ctx *cx, struct sbuf *sb, struct node *n, int neg)
{
	switch (n->kind) {
	case N_NOT:
		emit_cond(cx, sb, n->kids[0], !neg);
		return;
	case N_AND:
	case N_OR: {
		struct node *a, *b;
		if (!neg && n->kind == N_OR && keyset_match(n, &a, &b)) {
			sb_puts(cx, sb, "(");
			emit_col(cx, sb, &a->col);
			sb_puts(cx, sb, ", ");
			emit_col(cx, sb, &b->col);
			sb_printf(cx, sb, ") %s (", op_sql(b->op));
			emit_param(cx, sb, &a->val);
			sb_puts(cx, sb, ", ");
			emit_param(cx, sb, &b->val);
			sb_puts(cx, sb, ")");
			return;
		}
		int is_and = (n->kind == N_AND) != neg;
		emit_list(cx, sb, n->kids, n->nkids, is_and, neg);
		return;
	}
	case N_CMP: {
		enum op op = neg ? op_not(n->op) : n->op;
		if (n->val.type == SQLITE_NULL) {
			if (op == OP_EQ || op == OP_NE) {
				emit_col(cx, sb, &n->col);
				sb_puts(cx, sb, op == OP_EQ ? " IS NULL" : " IS NOT NULL");
			} else {
				/* x < null is false; its negation true */
				sb_puts(cx, sb, neg ? "1" : "0");
			}
			return;
		}
		if (op == OP_EQ) {
			emit_col_coll(cx, sb, &n->col);
			sb_puts(cx, sb, " = ");
			emit_param(cx, sb, &n->val);
			return;
		}
		/* != is true for null; so is a negated <, <=, >, >= */
		if (op == OP_NE || neg) {
			sb_puts(cx, sb, "(");
			emit_col_coll(cx, sb, &n->col);
			sb_printf(cx, sb, " %s ", op_sql(op));
			emit_param(cx, sb, &n->val);
			sb_puts(cx, sb, " OR ");
			emit_col(cx, sb, &n->col);
			sb_puts(cx, sb, " IS NULL)");
			return;
		}
		emit_col_coll(cx, sb, &n->col);
		sb_printf(cx, sb, " %s ", op_sql(op));
		emit_param(cx, sb, &n->val);
		return;
	}
	case N_IN: {
		int in = n->negated == neg; /* effective IN */
		if (n->nvals == 0) {
			emit_col(cx, sb, &n->col);
			sb_puts(cx, sb, in ? " IS NULL" : " IS NOT NULL");
			return;
		}
		sb_puts(cx, sb, "(");
		emit_col_coll(cx, sb, &n->col);
		sb_puts(cx, sb, in ? " IN (" : " NOT IN (");
		for (int i = 0; i < n->nvals; i++) {
			if (i)
				sb_puts(cx, sb, ", ");
			emit_param(cx, sb, &n->vals[i]);
		}
		sb_puts(cx, sb, ")");
		if (in && n->has_null) {
			sb_puts(cx, sb, " OR ");
			emit_col(cx, sb, &n->col);
			sb_puts(cx, sb, " IS NULL");
		} else if (!in && !n->has_null) {
			sb_puts(cx, sb, " OR ");
			emit_col(cx, sb, &n->col);
			sb_puts(cx, sb, " IS NULL");
		}
		sb_puts(cx, sb, ")");
		return;
	}
	case N_LIKE: {
		int like = n->negated == neg;
		sb_puts(cx, sb, "(");
		emit_col(cx, sb, &n->col);
		if (n->glob)
			sb_puts(cx, sb, like ? " GLOB " : " NOT GLOB ");
		else
			sb_puts(cx, sb, like ? " LIKE " : " NOT LIKE ");
		emit_param(cx, sb, &n->val);
		if (!n->glob)
			sb_puts(cx, sb, " ESCAPE '\\'");
		if (!like) {
			sb_puts(cx, sb, " OR ");
			emit_col(cx, sb, &n->col);
			sb_puts(cx, sb, " IS NULL");
		}
		sb_puts(cx, sb, ")");
		return;
	}
	case N_ROWCMP:
	case N_CONST:
		sb_puts(cx, sb, (n->constval != 0) != neg ? "1" : "0");
		return;
	}
}

static void emit_from(struct soql_ctx *cx, struct sbuf *sb, int all_joins)
{
	sb_puts(cx, sb, " FROM ");
	sb_ident(cx, sb, cx->table);
	sb_puts(cx, sb, " t0");
	for (int i = 0; i < cx->njoins; i++) {
		const struct join *j = &cx->joins[i];
		if (!all_joins && !j->for_ids)
			continue;
		struct colref ref = {j->parent + 1, j->ref_column, 0, j->ref};
		sb_puts(cx, sb, " LEFT JOIN ");
		sb_ident(cx, sb, j->table);
		sb_printf(cx, sb, " t%d ON t%d.", i + 1, i + 1);
		sb_ident(cx, sb, j->id_column);
		sb_puts(cx, sb, " = ");
		emit_col(cx, sb, &ref);
		for (int k = 0; k < j->nalt; k++) {
			sb_puts(cx, sb, " LEFT JOIN ");
			sb_ident(cx, sb, j->alt_table[k]);
			sb_printf(cx, sb, " t%d_%d ON t%d_%d.", i + 1, k + 1, i + 1, k + 1);
			sb_ident(cx, sb, j->alt_id_column[k]);
			sb_puts(cx, sb, " = ");
			emit_col(cx, sb, &ref);
		}
	}
}

static const char *sb_done(struct sbuf *sb)
{
	return sb->s;
}

/* ---------------------------------------------------------------- compile */

static void add_item(struct soql_ctx *cx, struct sbuf *cols, soql_item *items, size_t *nitems,
		     soql_item_kind kind, int depth, const char *const *rels, const char *object,
		     const soql_field *f, int alias, const char *column, const soql_field *colf)
{
	soql_item *it = &items[(*nitems)++];
	it->kind = kind;
	it->depth = depth;
	for (int k = 0; k < depth; k++)
		it->path[k] = rels[k];
	if (f)
		it->path[depth] = soql_strndup(cx, f->name, strlen(f->name));
	it->object = soql_strndup(cx, object, strlen(object));
	it->field = f;
	if (*nitems > 1)
		sb_puts(cx, cols, ", ");
	struct colref c = {alias, column, 0, colf};
	emit_col(cx, cols, &c);
}

static void compile(struct soql_ctx *cx, struct soql_priv *pv)
{
	lex(cx);
	parse_query(cx);
	if (cx->offset > SOQL_MAX_OFFSET) {
		set_error(cx, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000");
		longjmp(cx->jb, 1);
	}
	const char *oname = tok_str(cx, cx->obj_tok);
	const char *table = NULL;
	const char *obj =
	    cx->schema->object ? cx->schema->object(cx->schema->ud, oname, &table) : NULL;
	if (!obj || !table) {
		char msg[700];
		snprintf(msg, sizeof msg,
			 "sObject type '%.200s' is not supported. If you are attempting to use a "
			 "custom object, be sure to append the '__c' after the entity name. Please "
			 "reference your WSDL or the describe call for the appropriate names.",
			 oname);
		set_error(cx, "INVALID_TYPE", msg);
		longjmp(cx->jb, 1);
	}
	cx->object = soql_strndup(cx, obj, strlen(obj));
	cx->table = soql_strndup(cx, table, strlen(table));

	/* SELECT list: resolve first (Salesforce reports select-list errors first) */
	struct resolved *sel = soql_alloc(cx, (size_t)(cx->nsel + 1) * sizeof *sel);
	for (int i = 0; i < cx->nsel; i++)
		resolve_path(cx, cx->sel[i], 0, &sel[i]);
	if (cx->where)
		cx->where = resolve_node(cx, cx->where);
	struct resolved *ord = soql_alloc(cx, (size_t)(cx->norder + 1) * sizeof *ord);
	for (int i = 0; i < cx->norder; i++)
		resolve_path(cx, cx->orders[i].path, 1, &ord[i]);

	/* WHERE */
	struct sbuf where = {0};
	sb_puts(cx, &where, "");
	const soql_field *isdel = get_field(cx, cx->object, "IsDeleted");
	int nconds = 0;
	if (isdel && isdel->column && !(cx->opt && cx->opt->query_all)) {
		sb_puts(cx, &where, " WHERE t0.");
		sb_ident(cx, &where, isdel->column);
		sb_puts(cx, &where, " = 0");
		nconds++;
	}
	/* query hides archived activities (Task/Event IsArchived = true); queryAll shows them */
	const soql_field *arch = get_field(cx, cx->object, "IsArchived");
	if (arch && arch->column && arch->type == SOQL_T_BOOLEAN &&
	    !(cx->opt && cx->opt->query_all)) {
		sb_puts(cx, &where, nconds ? " AND " : " WHERE ");
		sb_puts(cx, &where, "t0.");
		sb_ident(cx, &where, arch->column);
		sb_puts(cx, &where, " IS NOT 1");
		nconds++;
	}
	if (cx->where) {
		sb_puts(cx, &where, nconds ? " AND " : " WHERE ");
		emit_cond(cx, &where, cx->where, 0);
	}

	/* ORDER BY, then the seeded tie-break unless the base Id already makes rows unique */
	struct sbuf order = {0};
	sb_puts(cx, &order, " ORDER BY ");
	int unique = 0;
	for (int i = 0; i < cx->norder; i++) {
		const struct order *o = &cx->orders[i];
		struct colref c = {ord[i].alias, ord[i].field->column,
				   ord[i].field->type == SOQL_T_STRING, ord[i].field};
		emit_col_coll(cx, &order, &c);
		sb_puts(cx, &order, o->desc ? " DESC" : "");
		/* Salesforce default NULLS FIRST; SQLite puts nulls first for ASC and last
		 * for DESC. Spell the clause only when it differs, so indexes stay usable. */
		int nulls_last = o->nulls_given ? o->nulls_last : 0;
		if (nulls_last != o->desc)
			sb_puts(cx, &order, nulls_last ? " NULLS LAST" : " NULLS FIRST");
		sb_puts(cx, &order, ", ");
		if (ord[i].alias == 0 && ord[i].field->type == SOQL_T_ID) {
			unique = 1;
			break;
		}
	}
	if (unique) {
		order.len -= 2;
		order.s[order.len] = '\0';
	} else {
		uint64_t seed = cx->opt ? cx->opt->seed : 0;
		uint64_t a = (seed ^ (seed >> 33)) & 0x3FFFFFFF;
		uint64_t b = ((seed * 0x9E3779B97F4A7C15ULL) >> 33) & 0x7FFFFFFF;
		/* a permutation of rowids below 2^31: two affine steps mod a prime */
		sb_printf(cx, &order,
			  "((((t0.rowid + %" PRIu64 ") * 2654435761) %% 4294967291) * 1597334677 + "
			  "%" PRIu64 ") %% 4294967291",
			  a, b);
	}

	/* LIMIT / OFFSET */
	struct sbuf lim = {0};
	sb_puts(cx, &lim, "");
	if (cx->limit >= 0 || cx->offset > 0) {
		struct param p = {.type = SQLITE_INTEGER, .i = cx->limit};
		sb_puts(cx, &lim, " LIMIT ");
		emit_param(cx, &lim, &p);
		if (cx->offset > 0) {
			struct param q = {.type = SQLITE_INTEGER, .i = cx->offset};
			sb_puts(cx, &lim, " OFFSET ");
			emit_param(cx, &lim, &q);
		}
	}

	struct sbuf ids = {0}, count = {0}, row = {0};
	sb_puts(cx, &ids, "SELECT t0.rowid");
	emit_from(cx, &ids, 0);
	sb_puts(cx, &ids, sb_done(&where));
	sb_puts(cx, &ids, sb_done(&order));
	sb_puts(cx, &ids, sb_done(&lim));

	if (lim.len) {
		sb_puts(cx, &count, "SELECT COUNT(*) FROM (SELECT t0.rowid");
		emit_from(cx, &count, 0);
		sb_puts(cx, &count, sb_done(&where));
		sb_puts(cx, &count, sb_done(&lim));
		sb_puts(cx, &count, ")");
	} else {
		sb_puts(cx, &count, "SELECT COUNT(*)");
		emit_from(cx, &count, 0);
		sb_puts(cx, &count, sb_done(&where));
	}

	/* row: the select list with a parent-Id item before each relationship level */
	size_t maxitems = (size_t)cx->nsel * 3 + 1;
	soql_item *items = soql_alloc(cx, maxitems * sizeof *items);
	size_t nitems = 0;
	struct sbuf cols = {0};
	sb_puts(cx, &cols, "");
	char *level_done = soql_alloc(cx, (size_t)cx->njoins + 1);
	int *item_alias = soql_alloc(cx, maxitems * sizeof *item_alias);
	for (int i = 0; i < cx->nsel; i++) {
		const struct resolved *r = &sel[i];
		/* against the distinct items so far, so a long list of repeats stays linear */
		int dup = 0;
		for (size_t k = 0; k < nitems && !dup; k++)
			dup = items[k].field == r->field && item_alias[k] == r->alias;
		if (dup)
			continue;
		/* the chain of joins down to r->alias */
		int chain[2], nch = 0;
		for (int j = r->alias - 1; j >= 0 && nch < 2; j = cx->joins[j].parent)
			chain[nch++] = j;
		for (int k = nch - 1; k >= 0; k--) {
			int j = chain[k];
			if (level_done[j])
				continue;
			level_done[j] = 1;
			add_item(cx, &cols, items, &nitems, SOQL_ITEM_PARENT_ID, nch - k, r->rels,
				 cx->joins[j].object, NULL, j + 1, cx->joins[j].id_column,
				 get_field(cx, cx->joins[j].object, "Id"));
		}
		item_alias[nitems] = r->alias;
		add_item(cx, &cols, items, &nitems, SOQL_ITEM_FIELD, r->depth, r->rels, r->object,
			 r->field, r->alias, r->field->column, r->field);
	}
	if (cx->is_count || nitems == 0)
		sb_puts(cx, &row, "SELECT t0.rowid");
	else {
		sb_puts(cx, &row, "SELECT ");
		sb_puts(cx, &row, cols.s);
	}
	emit_from(cx, &row, 1);
	sb_puts(cx, &row, " WHERE t0.rowid = ?1");

	pv->pub.object = cx->object;
	pv->pub.is_count = cx->is_count;
	pv->pub.sql_ids = ids.s;
	pv->pub.sql_count = count.s;
	pv->pub.sql_row = row.s;
	pv->pub.nitems = nitems;
	pv->pub.items = items;
	pv->pub.limit = cx->limit;
	pv->pub.offset = cx->offset;
	pv->nparams = cx->nparams;
	pv->params = cx->params;
}

int soql_compile(const char *text, const soql_schema *schema, const soql_options *opt,
		 soql_compiled **out, soql_error *err)
{
	*out = NULL;
	memset(err, 0, sizeof *err);
	struct soql_ctx *cx = calloc(1, sizeof *cx);
	struct soql_priv *pv = calloc(1, sizeof *pv);
	if (!cx || !pv) {
		free(cx);
		free(pv);
		err->http_status = 500;
		snprintf(err->code, sizeof err->code, "UNKNOWN_EXCEPTION");
		snprintf(err->message, sizeof err->message, "out of memory compiling the query");
		return -1;
	}
	cx->err = err;
	cx->text = text ? text : "";
	cx->text_len = strlen(cx->text);
	cx->schema = schema;
	cx->opt = opt;
	if (setjmp(cx->jb)) {
		arena_free(cx->arena);
		free(cx);
		free(pv);
		return -1;
	}
	compile(cx, pv);
	pv->arena = cx->arena;
	free(cx);
	*out = &pv->pub;
	return 0;
}

int soql_bind(const soql_compiled *c, sqlite3_stmt *stmt)
{
	const struct soql_priv *pv = (const struct soql_priv *)c;
	int n = sqlite3_bind_parameter_count(stmt);
	for (int i = 0; i < pv->nparams && i < n; i++) {
		const struct param *p = &pv->params[i];
		int rc = SQLITE_OK;
		switch (p->type) {
		case SQLITE_INTEGER:
			rc = sqlite3_bind_int64(stmt, i + 1, p->i);
			break;
		case SQLITE_FLOAT:
			rc = sqlite3_bind_double(stmt, i + 1, p->d);
			break;
		case SQLITE_TEXT:
			rc = sqlite3_bind_text(stmt, i + 1, p->s, (int)p->slen, SQLITE_TRANSIENT);
			break;
		default:
			rc = sqlite3_bind_null(stmt, i + 1);
			break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

void soql_free(soql_compiled *c)
{
	if (!c)
		return;
	struct soql_priv *pv = (struct soql_priv *)c;
	arena_free(pv->arena);
	free(pv);
}
