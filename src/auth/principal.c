/* ssl.principal.mapping.rules (see principal.h). */
#include "auth/principal.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

enum { MAX_RULES = 64, MAX_GROUPS = 10 };

struct rule {
	bool is_default;
	regex_t re;     /* "^(" pattern ")$": group k of the pattern is k + 1 here */
	size_t ngroups; /* the pattern's own groups */
	char *repl;     /* as written, escapes kept */
	char casefold;  /* 'L', 'U' or 0 */
};

struct rn_principal_map {
	int n;
	struct rule r[MAX_RULES];
};

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = rn_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* Java's shorthand classes, outside and inside a bracket expression. */
static const char *shorthand(char c, bool in_bracket)
{
	switch (c) {
	case 'd': return in_bracket ? "[:digit:]" : "[[:digit:]]";
	case 's': return in_bracket ? "[:space:]" : "[[:space:]]";
	case 'w': return in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
	case 'D': return in_bracket ? NULL : "[^[:digit:]]";
	case 'S': return in_bracket ? NULL : "[^[:space:]]";
	case 'W': return in_bracket ? NULL : "[^[:alnum:]_]";
	default: return NULL;
	}
}

/* Java pattern text -> POSIX ERE wrapped in ^( )$. The caller owns the result (rn_free). */
static char *to_ere(const char *pat, size_t n, char *err, size_t errlen)
{
	struct sbuf b = {0};
	sb_puts(&b, "^(");
	bool in_bracket = false;
	for (size_t i = 0; i < n; i++) {
		char c = pat[i];
		if (c == '\\' && i + 1 < n) {
			char e = pat[++i];
			const char *sh = shorthand(e, in_bracket);
			if (sh)
				sb_puts(&b, sh);
			else if (in_bracket || e == '/' || e == ',' || e == '=')
				sb_putn(&b, &e, 1); /* brackets take backslashes literally */
			else
				sb_putn(&b, pat + i - 1, 2);
			continue;
		}
		if (in_bracket) {
			if (c == ']')
				in_bracket = false;
			sb_putn(&b, &c, 1);
			continue;
		}
		if (c == '[') {
			in_bracket = true;
			sb_putn(&b, &c, 1);
			/* A ']' first in the set (or after '^') is literal, not the end. */
			if (i + 1 < n && pat[i + 1] == '^')
				sb_putn(&b, &pat[++i], 1);
			if (i + 1 < n && pat[i + 1] == ']')
				sb_putn(&b, &pat[++i], 1);
			continue;
		}
		if (c == '(' && i + 1 < n && pat[i + 1] == '?') {
			snprintf(
			    err, errlen,
			    "ssl.principal.mapping.rules: pattern '%.*s': (?...) is not supported",
			    (int)n, pat);
			rn_free(b.p);
			return NULL;
		}
		sb_putn(&b, &c, 1);
		/* Reluctant (x*?) and possessive (x*+) quantifiers: the greedy one. */
		if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < n &&
		    (pat[i + 1] == '?' || pat[i + 1] == '+'))
			i++;
	}
	sb_puts(&b, ")$");
	return b.p;
}

/* Scans a pattern or replacement up to an unescaped '/'; returns its length or -1. */
static long scan_part(const char *s)
{
	for (long i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '/')
			return i;
	}
	return -1;
}

static int bad(char *err, size_t errlen, const char *rule, const char *why)
{
	snprintf(err, errlen, "ssl.principal.mapping.rules: invalid rule '%.80s': %s", rule, why);
	return -EINVAL;
}

/* Parses one RULE:... at s (after "RULE:"); *end gets where the rule's text ends. */
static int parse_rule(struct rule *r, const char *start, const char *s, const char **end, char *err,
		      size_t errlen)
{
	long pl = scan_part(s);
	if (pl < 0)
		return bad(err, errlen, start, "no '/' after the pattern");
	const char *repl = s + pl + 1;
	long rl = scan_part(repl);
	if (rl < 0)
		return bad(err, errlen, start, "no '/' after the replacement");
	const char *p = repl + rl + 1;
	r->casefold = (*p == 'L' || *p == 'U') ? *p++ : 0;
	*end = p;
	char *ere = to_ere(s, (size_t)pl, err, errlen);
	if (!ere)
		return -EINVAL;
	int rc = regcomp(&r->re, ere, REG_EXTENDED);
	rn_free(ere);
	if (rc != 0) {
		char why[128];
		regerror(rc, &r->re, why, sizeof(why));
		return bad(err, errlen, start, why);
	}
	r->ngroups = r->re.re_nsub - 1;
	if (r->ngroups > MAX_GROUPS) {
		regfree(&r->re);
		return bad(err, errlen, start, "more than 10 groups");
	}
	r->repl = rn_malloc((size_t)rl + 1);
	memcpy(r->repl, repl, (size_t)rl);
	r->repl[rl] = 0;
	return 0;
}

void rn_principal_map_free(struct rn_principal_map *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n; i++) {
		if (!m->r[i].is_default) {
			regfree(&m->r[i].re);
			rn_free(m->r[i].repl);
		}
	}
	rn_free(m);
}

int rn_principal_map_new(const char *rules, struct rn_principal_map **out, char *err, size_t errlen)
{
	struct rn_principal_map *m = rn_calloc(1, sizeof(*m));
	const char *s = rules && *rules ? rules : "DEFAULT";
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (m->n == MAX_RULES) {
			rn_principal_map_free(m);
			snprintf(err, errlen, "ssl.principal.mapping.rules: more than %d rules",
				 MAX_RULES);
			return -EINVAL;
		}
		const char *start = s, *end = NULL;
		struct rule *r = &m->r[m->n];
		int rc = 0;
		if (strncmp(s, "DEFAULT", 7) == 0) {
			r->is_default = true;
			end = s + 7;
		} else if (strncmp(s, "RULE:", 5) == 0) {
			rc = parse_rule(r, start, s + 5, &end, err, errlen);
		} else if (*s != ',') {
			rc =
			    bad(err, errlen, start, "not DEFAULT or RULE:pattern/replacement/[LU]");
		} else {
			end = s; /* an empty rule: ignored, as Kafka does */
		}
		if (rc < 0) {
			rn_principal_map_free(m);
			return rc;
		}
		if (end != s)
			m->n++; /* owned by m from here, freed with it */
		while (isspace((unsigned char)*end))
			end++;
		if (*end && *end != ',') {
			rn_principal_map_free(m);
			return bad(err, errlen, start, "unexpected text after the rule");
		}
		s = *end ? end + 1 : end;
	}
	*out = m;
	return 0;
}

/* Java's Matcher.appendReplacement: $n (as many digits as make a valid group), \x literal. */
static void substitute(const struct rule *r, const char *dn, const regmatch_t *mt, struct sbuf *b)
{
	for (const char *p = r->repl; *p; p++) {
		if (*p == '\\' && p[1]) {
			sb_putn(b, ++p, 1);
			continue;
		}
		if (*p != '$' || !isdigit((unsigned char)p[1])) {
			sb_putn(b, p, 1);
			continue;
		}
		size_t g = (size_t)(p[1] - '0');
		if (g > r->ngroups) {
			sb_putn(b, p, 1); /* Kafka keeps an invalid reference as literal text */
			continue;
		}
		p++;
		while (isdigit((unsigned char)p[1]) && g * 10 + (size_t)(p[1] - '0') <= r->ngroups)
			g = g * 10 + (size_t)(*++p - '0');
		/* Group 0 is the whole match: our wrapping group 1 covers exactly that. */
		const regmatch_t *gm = &mt[g + 1];
		if (gm->rm_so >= 0)
			sb_putn(b, dn + gm->rm_so, (size_t)(gm->rm_eo - gm->rm_so));
	}
}

int rn_principal_map_apply(const struct rn_principal_map *m, const char *dn, char *out, size_t len)
{
	for (int i = 0; i < m->n; i++) {
		const struct rule *r = &m->r[i];
		if (r->is_default) {
			snprintf(out, len, "%s", dn);
			return 0;
		}
		regmatch_t mt[MAX_GROUPS + 2];
		size_t nm = r->ngroups + 2 < MAX_GROUPS + 2 ? r->ngroups + 2 : MAX_GROUPS + 2;
		for (size_t k = 0; k < nm; k++)
			mt[k].rm_so = mt[k].rm_eo = -1;
		if (regexec(&r->re, dn, nm, mt, 0) != 0)
			continue;
		struct sbuf b = {0};
		sb_puts(&b, "");
		substitute(r, dn, mt, &b);
		for (size_t k = 0; k < b.len; k++) {
			unsigned char c = (unsigned char)b.p[k];
			if (r->casefold == 'L')
				b.p[k] = (char)tolower(c);
			else if (r->casefold == 'U')
				b.p[k] = (char)toupper(c);
		}
		snprintf(out, len, "%s", b.p);
		rn_free(b.p);
		return 0;
	}
	return -ENOENT;
}
