/*
 * ListOffsets v0 (Burrow 1.2.1 and other clients from before KIP-79): offsets "before a time"
 * at segment granularity, from the segments' modification times, as Kafka's
 * UnifiedLog.legacyFetchOffsetsBefore still answers them.
 */
#include <limits.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/clock.h"
#include "storage/segment.h"

static int64_t mtime_ms(const struct rn_partition *p, int64_t base)
{
	char path[PATH_MAX];
	struct stat st;
	rn__seg_path(p, base, ".log", path);
	if (stat(path, &st) < 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int rn_partition_legacy_offsets(struct rn_partition *p, int64_t ts, int32_t max_num, int64_t **out,
				struct rn_arena *a)
{
	*out = NULL;
	if (max_num <= 0)
		return 0;
	pthread_rwlock_rdlock(&p->seglock);
	int n = p->nsegs;
	bool tail = atomic_load(&p->segs[n - 1]->size) > 0;
	int total = n + (tail ? 1 : 0);
	int64_t *off = rn_arena_alloc(a, (size_t)total * sizeof(*off));
	int64_t *mt = rn_arena_alloc(a, (size_t)total * sizeof(*mt));
	int64_t ls = atomic_load(&p->log_start);
	for (int i = 0; i < n; i++) {
		off[i] = p->segs[i]->base > ls ? p->segs[i]->base : ls;
		mt[i] = mtime_ms(p, p->segs[i]->base);
	}
	if (tail) {
		off[n] = atomic_load(&p->log_end);
		mt[n] = rn_wall_ms();
	}
	pthread_rwlock_unlock(&p->seglock);
	int start;
	if (ts == -1)
		start = total - 1;
	else if (ts == -2 || ts == -4)
		start = 0;
	else
		for (start = total - 1; start >= 0 && mt[start] > ts; start--)
			;
	int cnt = start + 1 < max_num ? start + 1 : max_num;
	if (cnt <= 0)
		return 0;
	*out = rn_arena_alloc(a, (size_t)cnt * sizeof(**out));
	for (int j = 0; j < cnt; j++)
		(*out)[j] = off[start - j];
	return cnt;
}
