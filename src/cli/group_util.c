/* Tables, datetimes and topic specs for `runnel group` (see group_util.h). */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/group_util.h"

void rn_cli_table_init(struct rn_cli_table *t, int ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	rn_cli_table_add(t, header);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

void rn_cli_table_add(struct rn_cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * (size_t)t->ncols * sizeof(*t->cells));
		if (!t->cells)
			abort();
	}
	char **row = t->cells + t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++)
		row[i] = xstrdup(cells[i] && cells[i][0] ? cells[i] : "-");
	t->nrows++;
}

/* The header row stays first; each element qsort moves is one row of ncols cell pointers. */
void rn_cli_table_sort(struct rn_cli_table *t, int (*cmp)(const void *, const void *))
{
	if (t->nrows > 2)
		qsort(t->cells + t->ncols, t->nrows - 1, (size_t)t->ncols * sizeof(*t->cells), cmp);
}

void rn_cli_table_print(const struct rn_cli_table *t, FILE *f)
{
	size_t *w = calloc((size_t)t->ncols, sizeof(*w));

	if (!w)
		abort();
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
			if (c == t->ncols - 1)
				fprintf(f, "%s\n", cell);
			else
				fprintf(f, "%-*s  ", (int)w[c], cell);
		}
	}
	free(w);
}

void rn_cli_table_free(struct rn_cli_table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* Reads exactly n digits at *p into *v, advancing *p. Returns false otherwise. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), so UTC
 * times need neither timegm() nor the TZ variable.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parses "Z", "+HH", "+HHMM" or "+HH:MM" (or '-') into seconds east of UTC. */
static int parse_zone(const char *p, int *east)
{
	int hh, mm = 0;

	if (strcmp(p, "Z") == 0) {
		*east = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	int sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &hh))
		return -1;
	if (*p == ':')
		p++;
	if (*p && !digits(&p, 2, &mm))
		return -1;
	if (*p || hh > 23 || mm > 59)
		return -1;
	*east = sign * (hh * 3600 + mm * 60);
	return 0;
}

int rn_cli_parse_datetime(const char *s, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int y, mo, d, h, mi, sec, frac = 0;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || *p++ != 'T' || !digits(&p, 2, &h) || *p++ != ':' ||
	    !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		int n = 0;
		for (; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return -1;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return -1;
	if (*p) {
		int east;
		if (parse_zone(p, &east))
			return -1;
		int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - east;
		*ms = secs * 1000 + frac;
		return 0;
	}
	/* No zone: local time, letting mktime() decide whether DST applies. */
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec,
			.tm_isdst = -1};
	time_t t = mktime(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

int rn_cli_parse_topic_spec(const char *s, char *topic, size_t topic_len, int32_t *parts, int max,
			    int *nparts)
{
	/* Topic names cannot contain ':' (Kafka allows [a-zA-Z0-9._-]), so the first one splits. */
	const char *colon = strchr(s, ':');
	size_t tlen = colon ? (size_t)(colon - s) : strlen(s);

	*nparts = 0;
	if (tlen == 0 || tlen >= topic_len)
		return -1;
	memcpy(topic, s, tlen);
	topic[tlen] = '\0';
	if (!colon)
		return 0;
	const char *p = colon + 1;
	do {
		if (!isdigit((unsigned char)*p))
			return -1;
		long long v = 0;
		for (; isdigit((unsigned char)*p); p++) {
			v = v * 10 + (*p - '0');
			if (v > INT32_MAX)
				return -1;
		}
		if (*p && *p != ',')
			return -1;
		bool dup = false;
		for (int i = 0; i < *nparts; i++)
			dup |= parts[i] == (int32_t)v;
		if (!dup) {
			if (*nparts == max)
				return -1;
			parts[(*nparts)++] = (int32_t)v;
		}
	} while (*p++ == ',');
	return 0;
}
