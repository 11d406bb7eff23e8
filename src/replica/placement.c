/*
 * Replica placement for new topics and partitions: the rack-aware assignment of Kafka's
 * ZooKeeper-era AdminUtils.assignReplicasToBrokers (chosen over KRaft's StripedReplicaPlacer
 * because it is deterministic given a start index, documented with worked examples, and what
 * `kafka-reassign-partitions --generate` still computes).
 *
 * Without racks: partition p's first replica (its preferred leader) is broker
 * (p + start) mod n of the id-sorted list, so leaders go round robin; the others follow at an
 * increasing shift, which grows by one after every n partitions so that a broker's followers
 * are spread over the other brokers. With racks the list is first "rack alternated" (one broker
 * of each rack in turn, racks and brokers sorted) and a follower is skipped when its rack
 * already holds a replica while some rack holds none, or its broker does while some broker
 * holds none. Brokers without broker.rack form one rack of their own ("") when others have one
 * (KRaft's placer does the same; the ZooKeeper-era code refused such a mix).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/alloc.h"
#include "core/err.h"
#include "replica/controller.h"

struct pl_broker {
	int32_t id;
	const char *rack;
	int rack_idx;
};

static int cmp_id(const void *a, const void *b)
{
	const struct pl_broker *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_rack(const void *a, const void *b)
{
	const struct pl_broker *x = a, *y = b;
	int c = strcmp(x->rack, y->rack);
	return c ? c : cmp_id(a, b);
}

/* Kafka's replicaIndex: the shift is never 0, so a follower never lands on the leader. */
static int replica_index(int first, int64_t shift, int j, int n)
{
	int64_t s = 1 + (shift + j) % (n - 1);
	return (int)((first + s) % n);
}

/* Rewrites b[0..n) (sorted by id) as the rack-alternated list and numbers the racks; returns
 * how many racks there are. */
static int rack_alternate(struct pl_broker *b, int n)
{
	struct pl_broker *by_rack = rn_malloc((size_t)n * sizeof(*by_rack));
	memcpy(by_rack, b, (size_t)n * sizeof(*b));
	qsort(by_rack, (size_t)n, sizeof(*by_rack), cmp_rack);
	/* start[r] .. start[r + 1]: the brokers of rack r in by_rack. */
	int *start = rn_malloc((size_t)(n + 1) * sizeof(*start));
	int nracks = 0;
	for (int i = 0; i < n; i++) {
		if (i == 0 || strcmp(by_rack[i].rack, by_rack[i - 1].rack) != 0)
			start[nracks++] = i;
		by_rack[i].rack_idx = nracks - 1;
	}
	start[nracks] = n;
	int *next = rn_calloc((size_t)nracks, sizeof(*next));
	int out = 0;
	for (int r = 0; out < n; r = (r + 1) % nracks) {
		if (start[r] + next[r] < start[r + 1])
			b[out++] = by_rack[start[r] + next[r]++];
	}
	rn_free(next);
	rn_free(start);
	rn_free(by_rack);
	return nracks;
}

/* The followers of one partition whose leader is b[first] (rack-aware variant). */
static void place_followers_racks(const struct pl_broker *b, int n, int nracks, int first,
				  int64_t shift, int32_t rf, int32_t *out)
{
	bool *rack_used = rn_calloc((size_t)nracks, sizeof(bool));
	bool *broker_used = rn_calloc((size_t)n, sizeof(bool));
	rack_used[b[first].rack_idx] = true;
	broker_used[first] = true;
	int racks_with = 1, brokers_with = 1;
	int k = 0;
	for (int32_t r = 1; r < rf; r++) {
		for (;;) {
			int i = replica_index(first, shift * nracks, k++, n);
			bool rack_ok = !rack_used[b[i].rack_idx] || racks_with == nracks;
			bool broker_ok = !broker_used[i] || brokers_with == n;
			if (rack_ok && broker_ok) {
				out[r] = b[i].id;
				racks_with += !rack_used[b[i].rack_idx];
				brokers_with += !broker_used[i];
				rack_used[b[i].rack_idx] = broker_used[i] = true;
				break;
			}
		}
	}
	rn_free(broker_used);
	rn_free(rack_used);
}

int rn_placement_assign_at(const struct rn_broker_reg *brokers, int nb, int32_t first,
			   int32_t npart, int32_t rf, int32_t start, int32_t *assign)
{
	if (rf < 1 || rf > nb || rf > RN_MAX_REPLICAS || npart < 0 || first < 0)
		return RN_EINVALID;
	struct pl_broker *b = rn_malloc((size_t)nb * sizeof(*b));
	bool racks = false;
	for (int i = 0; i < nb; i++) {
		b[i] = (struct pl_broker){brokers[i].id, brokers[i].rack, 0};
		racks |= brokers[i].rack[0] != '\0';
	}
	qsort(b, (size_t)nb, sizeof(*b), cmp_id);
	int nracks = racks ? rack_alternate(b, nb) : 1;
	int64_t start_idx = start, shift = start;
	if (start < 0) {
		uint32_t rnd[2] = {0, 0};
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd[0] = (uint32_t)(uintptr_t)&rnd, rnd[1] = rnd[0] >> 7;
		start_idx = rnd[0] % (uint32_t)nb;
		shift = rnd[1] % (uint32_t)nb;
	}
	for (int32_t p = first; p < first + npart; p++) {
		if (p > 0 && p % nb == 0)
			shift++;
		int lead = (int)((p + start_idx) % nb);
		int32_t *out = &assign[(int64_t)(p - first) * rf];
		out[0] = b[lead].id;
		if (racks) {
			place_followers_racks(b, nb, nracks, lead, shift, rf, out);
			continue;
		}
		for (int32_t j = 0; j < rf - 1; j++)
			out[j + 1] = b[replica_index(lead, shift, j, nb)].id;
	}
	rn_free(b);
	return 0;
}

int rn_placement_assign(const struct rn_broker_reg *brokers, int nb, int32_t first, int32_t npart,
			int32_t rf, int32_t *assign)
{
	return rn_placement_assign_at(brokers, nb, first, npart, rf, -1, assign);
}
