/*
 * Pure helpers of `runnel group`, apart from librdkafka so unit tests can drive them: aligned
 * text tables (kafka-consumer-groups' layout), --to-datetime parsing and TOPIC[:P,P...] specs.
 */
#ifndef RN_CLI_GROUP_UTIL_H
#define RN_CLI_GROUP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A table of ncols columns; the first row is the header. Cells are copied, so callers may pass
 * stack buffers. Columns are left-aligned, separated by two spaces, the last one unpadded, so
 * a table splits on whitespace as long as no cell contains blanks.
 */
struct rn_cli_table {
	int ncols;
	size_t nrows;
	size_t cap;
	char **cells; /* nrows * ncols, malloc'd copies */
};

void rn_cli_table_init(struct rn_cli_table *t, int ncols, const char *const *header);
/* Appends a row of t->ncols cells; a NULL or empty cell prints as "-" (Kafka's "unknown"). */
void rn_cli_table_add(struct rn_cli_table *t, const char *const *cells);
/* Orders the rows after the header with cmp (qsort on arrays of ncols cell pointers). */
void rn_cli_table_sort(struct rn_cli_table *t, int (*cmp)(const void *, const void *));
void rn_cli_table_print(const struct rn_cli_table *t, FILE *f);
void rn_cli_table_free(struct rn_cli_table *t);

/*
 * Parses YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM|+HHMM|+HH] into epoch milliseconds
 * (the fraction is truncated to milliseconds). Without a zone the time is local, as in
 * kafka-consumer-groups. Returns 0, or -1 if s is malformed or out of range.
 */
int rn_cli_parse_datetime(const char *s, int64_t *ms);

/*
 * Splits "TOPIC" or "TOPIC:P,P,..." (Kafka's --topic syntax for reset-offsets). The topic goes
 * to topic (NUL-terminated, at most topic_len - 1 bytes); partitions to parts, duplicates
 * dropped, at most max of them; *nparts is 0 for "all partitions". Returns 0 or -1.
 */
int rn_cli_parse_topic_spec(const char *s, char *topic, size_t topic_len, int32_t *parts, int max,
			    int *nparts);

#endif
