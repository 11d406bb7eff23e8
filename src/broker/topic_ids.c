/*
 * Topic ids (KIP-516): the UUID the metadata store keeps per topic, looked up for the requests
 * that name topics by id (Metadata v12, Fetch v13+, DeleteTopics v6). A scan of the table: a
 * single broker holds few enough topics, and only clients that use ids pay for it.
 */
#include <string.h>

#include "broker/topics.h"

struct by_id {
	const uint8_t *id;
	struct rn_topic *found;
};

static void match(struct rn_topic *t, void *arg)
{
	struct by_id *q = arg;
	if (!q->found && memcmp(t->id, q->id, 16) == 0) {
		atomic_fetch_add(&t->refs, 1);
		q->found = t;
	}
}

struct rn_topic *rn_topic_get_by_id(struct rn_broker *b, const uint8_t id[16])
{
	static const uint8_t zero[16];
	if (memcmp(id, zero, 16) == 0)
		return NULL;
	struct by_id q = {id, NULL};
	rn_topics_foreach(b, match, &q);
	return q.found;
}
