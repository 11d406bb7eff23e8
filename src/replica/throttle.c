/* The follower replication quota's token bucket (follower.replication.throttled.rate). */
#include "replica/follower_int.h"

void rn__bucket_init(struct rn__bucket *b, int64_t rate, int64_t now_ms)
{
	b->rate = rate;
	b->tokens = rate > 0 ? (double)rate : 0;
	b->last_ms = now_ms;
}

static void refill(struct rn__bucket *b, int64_t now_ms)
{
	if (now_ms <= b->last_ms)
		return;
	/* At most one second's worth is kept, so an idle period cannot buy a long burst. */
	b->tokens += (double)b->rate * (double)(now_ms - b->last_ms) / 1000.0;
	if (b->tokens > (double)b->rate)
		b->tokens = (double)b->rate;
	b->last_ms = now_ms;
}

bool rn__bucket_allows(struct rn__bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return true;
	refill(b, now_ms);
	return b->tokens >= 0;
}

void rn__bucket_take(struct rn__bucket *b, int64_t n, int64_t now_ms)
{
	if (b->rate <= 0)
		return;
	refill(b, now_ms);
	b->tokens -= (double)n;
}

int64_t rn__bucket_wait_ms(struct rn__bucket *b, int64_t now_ms)
{
	if (rn__bucket_allows(b, now_ms))
		return 0;
	int64_t ms = (int64_t)(-b->tokens * 1000.0 / (double)b->rate) + 1;
	return ms;
}
