#include "proto/api.h"

#include "core/err.h"

/* The table is small (tens of entries) and sorted by key; a linear scan beats cleverness. */
static const struct rn__msg_desc *find(int16_t key)
{
	for (int i = 0; i < rn__msgs_count; i++)
		if (rn__msgs[i].info.key == key)
			return &rn__msgs[i];
	return NULL;
}

static const struct rn__msg_desc *find_version(int16_t key, int16_t version)
{
	const struct rn__msg_desc *d = find(key);
	if (!d || version < d->info.min_version || version > d->info.max_version)
		return NULL;
	return d;
}

const struct rn_api_info *rn_api_info(int16_t key)
{
	const struct rn__msg_desc *d = find(key);
	return d ? &d->info : NULL;
}

bool rn_api_flexible(int16_t key, int16_t version)
{
	const struct rn__msg_desc *d = find(key);
	return d && d->info.first_flexible >= 0 && version >= d->info.first_flexible;
}

size_t rn_api_request_size(int16_t key)
{
	const struct rn__msg_desc *d = find(key);
	return d ? d->request_size : 0;
}

size_t rn_api_response_size(int16_t key)
{
	const struct rn__msg_desc *d = find(key);
	return d ? d->response_size : 0;
}

int rn_request_decode_any(int16_t key, int16_t version, struct rn_rd *rd, void **out)
{
	const struct rn__msg_desc *d = find_version(key, version);
	*out = NULL;
	if (!d)
		return RN_EUNSUPPORTED;
	*out = rn_arena_alloc(rd->arena, d->request_size);
	return d->request_decode(rd, version, *out);
}

int rn_response_decode_any(int16_t key, int16_t version, struct rn_rd *rd, void **out)
{
	const struct rn__msg_desc *d = find_version(key, version);
	*out = NULL;
	if (!d)
		return RN_EUNSUPPORTED;
	*out = rn_arena_alloc(rd->arena, d->response_size);
	return d->response_decode(rd, version, *out);
}

int rn_request_encode_any(struct rn_iochain *w, int16_t key, int16_t version, const void *m)
{
	const struct rn__msg_desc *d = find_version(key, version);
	if (!d)
		return RN_EUNSUPPORTED;
	d->request_encode(w, version, m);
	return 0;
}

int rn_response_encode_any(struct rn_iochain *w, int16_t key, int16_t version, const void *m)
{
	const struct rn__msg_desc *d = find_version(key, version);
	if (!d)
		return RN_EUNSUPPORTED;
	d->response_encode(w, version, m);
	return 0;
}
