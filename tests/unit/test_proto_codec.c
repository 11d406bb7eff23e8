/*
 * The generated codec: a populated round trip of every request and response at every version,
 * truncation at every byte, hostile counts, and byte vectors computed by hand from the Kafka
 * spec (a round trip alone cannot catch a mistake made symmetrically in encoder and decoder).
 *
 * RN_WRITE_CORPUS=<dir> ./test_proto_codec also writes the fuzz seed corpus (header + body of
 * a few valid requests per API) into <dir>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "proto/api.h"
#include "proto/frame.h"
#include "proto/gen/rn_msg.h"

/* --- fillers used by the generated gen/rn_msg_fill.inc -------------------------------------- */

static uint32_t fill_next(uint32_t *seed)
{
	uint32_t x = *seed;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *seed = x;
}

static uint64_t fill_next64(uint32_t *seed)
{
	uint64_t hi = fill_next(seed);
	return (hi << 32) | fill_next(seed);
}

static int32_t fill_count(uint32_t *seed, bool nullable)
{
	uint32_t r = fill_next(seed) % 8;
	if (nullable && r == 0)
		return -1;
	return (int32_t)(r % 3);
}

static void *fill_alloc(struct rn_arena *a, int32_t n, size_t sz)
{
	return n > 0 ? rn_arena_alloc(a, (size_t)n * sz) : NULL;
}

static void fill_uuid(uint32_t *seed, struct rn_uuid *u)
{
	for (int i = 0; i < 16; i++)
		u->b[i] = (uint8_t)fill_next(seed);
}

static int32_t fill_len(uint32_t *seed, bool nullable)
{
	uint32_t r = fill_next(seed) % 16;
	if (nullable && r == 0)
		return -1;
	if (r == 1)
		return 0;
	if (r == 2)
		return 130; /* two-byte compact length */
	return (int32_t)(fill_next(seed) % 12);
}

static struct rn_str fill_string(struct rn_arena *a, uint32_t *seed, bool nullable)
{
	int32_t n = fill_len(seed, nullable);
	if (n < 0)
		return RN_STR_NULL;
	char *p = rn_arena_alloc(a, (size_t)n + 1);
	for (int32_t i = 0; i < n; i++)
		p[i] = (char)('a' + fill_next(seed) % 26);
	return (struct rn_str){p, n};
}

static struct rn_bytes fill_bytes(struct rn_arena *a, uint32_t *seed, bool nullable)
{
	struct rn_str s = fill_string(a, seed, nullable);
	return (struct rn_bytes){(const uint8_t *)s.ptr, s.len};
}

static struct rn_records fill_records(struct rn_arena *a, uint32_t *seed, bool nullable)
{
	struct rn_str s = fill_string(a, seed, nullable);
	return (struct rn_records){(uint8_t *)s.ptr, s.len, NULL, 0};
}

#include "proto/gen/rn_msg_fill.inc"

/* --- helpers ---------------------------------------------------------------------------------- */

static uint8_t *flat(struct rn_iochain *w, size_t *n)
{
	for (int i = 0; i < w->npieces; i++)
		assert_int_equal(w->pieces[i].kind, RN_PIECE_MEM);
	*n = w->mem.len;
	/* An exact-size copy so that ASan catches any read past the end of the message. */
	uint8_t *p = malloc(*n ? *n : 1);
	assert_non_null(p);
	if (*n)
		memcpy(p, w->mem.data, *n);
	return p;
}

static int decode_any(bool response, int16_t key, int16_t v, struct rn_rd *rd, void **out)
{
	return response ? rn_response_decode_any(key, v, rd, out)
			: rn_request_decode_any(key, v, rd, out);
}

static void encode_any(bool response, struct rn_iochain *w, int16_t key, int16_t v, const void *m)
{
	int rc =
	    response ? rn_response_encode_any(w, key, v, m) : rn_request_encode_any(w, key, v, m);
	assert_int_equal(rc, 0);
}

/* Encodes m, decodes it, re-encodes: both encodings must be identical, the decoder must consume
 * exactly the message, and every strict prefix must fail to decode. */
static void round_trip(bool response, int16_t key, int16_t v, const void *m, bool prefixes)
{
	struct rn_iochain w1 = {0}, w2 = {0};
	struct rn_arena a = {0};
	encode_any(response, &w1, key, v, m);
	size_t n1;
	uint8_t *b1 = flat(&w1, &n1);

	struct rn_rd rd;
	rn_rd_init(&rd, b1, n1, &a);
	void *dec;
	int rc = decode_any(response, key, v, &rd, &dec);
	if (rc != 0 || rd.p != rd.end)
		fail_msg("key %d v%d %s: decode rc %d, %td bytes left", key, v,
			 response ? "response" : "request", rc, rd.end - rd.p);
	encode_any(response, &w2, key, v, dec);
	size_t n2;
	uint8_t *b2 = flat(&w2, &n2);
	if (n1 != n2 || memcmp(b1, b2, n1) != 0)
		fail_msg("key %d v%d %s: re-encoding differs (%zu vs %zu bytes)", key, v,
			 response ? "response" : "request", n1, n2);

	for (size_t cut = 0; prefixes && cut < n1; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, b1, cut);
		rn_rd_init(&rd, p, cut, &a);
		if (decode_any(response, key, v, &rd, &dec) != -1 || !rd.err)
			fail_msg("key %d v%d: prefix of %zu/%zu bytes decoded", key, v, cut, n1);
		free(p);
	}
	free(b1);
	free(b2);
	rn_iochain_free(&w1);
	rn_iochain_free(&w2);
	rn_arena_free(&a);
}

static void test_round_trip_all(void **state)
{
	(void)state;
	int checked = 0;
	for (int i = 0; i < rn__msgs_count; i++) {
		const struct rn_api_info *api = &rn__msgs[i].info;
		for (int16_t v = api->min_version; v <= api->max_version; v++) {
			for (uint32_t s = 1; s <= 24; s++) {
				for (int resp = 0; resp < 2; resp++) {
					struct rn_arena a = {0};
					uint32_t seed = s * 2654435761u + (uint32_t)v;
					void *m = fill_message(&a, &seed, api->key, resp);
					assert_non_null(m);
					round_trip(resp, api->key, v, m, s <= 2);
					rn_arena_free(&a);
					checked++;
				}
			}
		}
	}
	assert_true(checked > 1000);
}

static void test_api_table(void **state)
{
	(void)state;
	const struct rn_api_info *i = rn_api_info(RN_API_FETCH);
	assert_non_null(i);
	assert_string_equal(i->name, "Fetch");
	assert_int_equal(i->max_version, 16);
	assert_int_equal(i->first_flexible, 12);
	assert_null(rn_api_info(999));
	assert_null(rn_api_info(-1));
	assert_false(rn_api_flexible(RN_API_FETCH, 11));
	assert_true(rn_api_flexible(RN_API_FETCH, 17)); /* newer than the codec: still flexible */
	assert_true(rn_api_flexible(RN_API_API_VERSIONS, 3));
	assert_false(rn_api_flexible(17, 1)); /* unknown to the codec */

	struct rn_arena a = {0};
	uint8_t buf[4] = {0};
	struct rn_rd rd;
	void *out;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	assert_int_equal(rn_request_decode_any(RN_API_FETCH, 17, &rd, &out), RN_EUNSUPPORTED);
	assert_null(out);
	assert_int_equal(rn_request_decode_any(999, 0, &rd, &out), RN_EUNSUPPORTED);
	rn_arena_free(&a);
}

/* --- hand-computed vectors -------------------------------------------------------------------- */

static void expect_chain(struct rn_iochain *w, const void *want, size_t n)
{
	size_t got_n;
	uint8_t *got = flat(w, &got_n);
	if (got_n != n || memcmp(got, want, n) != 0) {
		for (size_t i = 0; i < got_n; i++)
			fprintf(stderr, "%02x%s", got[i], i + 1 == got_n ? "\n" : " ");
		fail_msg("bytes differ (%zu vs %zu expected)", got_n, n);
	}
	free(got);
	rn_iochain_free(w);
}

/* ApiVersions v3 as librdkafka 2.0.2 sends it (size prefix omitted): request header v2 then
 * compact ClientSoftwareName/Version and an empty tag buffer. */
static const uint8_t apiv3_req[] = {
    0x00, 0x12,                                                /* api_key 18 */
    0x00, 0x03,                                                /* api_version 3 */
    0x00, 0x00, 0x00, 0x01,                                    /* correlation_id 1 */
    0x00, 0x07, 'r',  'd',  'k', 'a', 'f', 'k', 'a',           /* client_id, classic */
    0x00,                                                      /* header tags */
    0x0b, 'l',  'i',  'b',  'r', 'd', 'k', 'a', 'f', 'k', 'a', /* compact "librdkafka" */
    0x06, '2',  '.',  '0',  '.', '2',                          /* compact "2.0.2" */
    0x00,                                                      /* body tags */
};

static void test_vector_api_versions_v3_request(void **state)
{
	(void)state;
	uint8_t buf[sizeof(apiv3_req)];
	memcpy(buf, apiv3_req, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_request_header h;
	assert_int_equal(rn_request_header_decode(&rd, &h), 0);
	assert_int_equal(h.api_key, 18);
	assert_int_equal(h.api_version, 3);
	assert_int_equal(h.correlation_id, 1);
	assert_true(rn_str_eq(h.client_id, "rdkafka"));
	struct rn_api_versions_request req;
	assert_int_equal(rn_api_versions_request_decode(&rd, h.api_version, &req), 0);
	assert_true(rn_str_eq(req.client_software_name, "librdkafka"));
	assert_true(rn_str_eq(req.client_software_version, "2.0.2"));
	assert_ptr_equal(rd.p, rd.end);

	struct rn_iochain w = {0};
	rn_request_header_encode(&w, &h);
	rn_api_versions_request_encode(&w, 3, &req);
	expect_chain(&w, apiv3_req, sizeof(apiv3_req));
	rn_arena_free(&a);
}

/* kafka-python's bootstrap probe: Metadata v0 with an empty topic list (= all topics). */
static const uint8_t md0_req[] = {
    0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* key 3, v0, correlation 2 */
    0x00, 0x0c, 'k',  'a',  'f',  'k',  'a',  '-',  'p', 'y', 't', 'h', 'o', 'n', /* client */
    0x00, 0x00, 0x00, 0x00,                                                       /* topics: [] */
};

static void test_vector_metadata_v0_request(void **state)
{
	(void)state;
	uint8_t buf[sizeof(md0_req)];
	memcpy(buf, md0_req, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_request_header h;
	assert_int_equal(rn_request_header_decode(&rd, &h), 0);
	assert_int_equal(h.api_key, 3);
	assert_int_equal(h.correlation_id, 2);
	struct rn_metadata_request req;
	assert_int_equal(rn_metadata_request_decode(&rd, 0, &req), 0);
	assert_int_equal(req.topics_count, 0);
	assert_true(req.allow_auto_topic_creation); /* the v<4 default */
	assert_ptr_equal(rd.p, rd.end);

	/* v0 cannot say null: a null list is written as empty. */
	struct rn_iochain w = {0};
	rn_request_header_encode(&w, &h);
	req.topics_count = -1;
	rn_metadata_request_encode(&w, 0, &req);
	expect_chain(&w, md0_req, sizeof(md0_req));
	rn_arena_free(&a);
}

static void test_vector_api_versions_response(void **state)
{
	(void)state;
	struct rn_api_versions_response_api_version keys[] = {{18, 0, 3}, {3, 0, 12}};
	struct rn_api_versions_response r = {0};
	r.api_keys = keys;
	r.api_keys_count = 2;
	r.throttle_time_ms = 0;
	r.finalized_features_epoch = -1; /* default: not written */

	/* v3: header v0 (no tags), compact array, per-entry tags, no tagged fields. */
	static const uint8_t v3[] = {0x00, 0x00, 0x00, 0x07,                   /* header */
				     0x00, 0x00,                               /* error_code */
				     0x03,                                     /* 2 keys */
				     0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00, /* 18 0-3 */
				     0x00, 0x03, 0x00, 0x00, 0x00, 0x0c, 0x00, /* 3 0-12 */
				     0x00, 0x00, 0x00, 0x00,                   /* throttle */
				     0x00};                                    /* tags */
	struct rn_iochain w = {0};
	rn_response_header_encode(&w, RN_API_API_VERSIONS, 3, 7);
	rn_api_versions_response_encode(&w, 3, &r);
	expect_chain(&w, v3, sizeof(v3));

	/* v0: classic array, no throttle time. */
	static const uint8_t v0[] = {0x00, 0x00,             /* error_code */
				     0x00, 0x00, 0x00, 0x02, /* 2 keys */
				     0x00, 0x12, 0x00, 0x00, 0x00, 0x03,
				     0x00, 0x03, 0x00, 0x00, 0x00, 0x0c};
	rn_api_versions_response_encode(&w, 0, &r);
	expect_chain(&w, v0, sizeof(v0));

	/* A set tagged field: FinalizedFeaturesEpoch (tag 1, int64) = 5. */
	r.finalized_features_epoch = 5;
	r.api_keys_count = 0;
	static const uint8_t tagged[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01,
					 0x08, 0,    0,    0,    0,    0,    0,    0,    0x05};
	rn_api_versions_response_encode(&w, 3, &r);
	expect_chain(&w, tagged, sizeof(tagged));

	uint8_t buf[sizeof(tagged)];
	memcpy(buf, tagged, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_api_versions_response d;
	assert_int_equal(rn_api_versions_response_decode(&rd, 3, &d), 0);
	assert_true(d.finalized_features_epoch == 5);
	assert_false(d.zk_migration_ready);
	rn_arena_free(&a);
}

static void test_vector_response_headers(void **state)
{
	(void)state;
	struct rn_iochain w = {0};
	rn_response_header_encode(&w, RN_API_METADATA, 9, 0x01020304);
	expect_chain(&w, "\x01\x02\x03\x04\x00", 5);
	rn_response_header_encode(&w, RN_API_METADATA, 8, 0x01020304);
	expect_chain(&w, "\x01\x02\x03\x04", 4);
	rn_response_header_encode(&w, RN_API_API_VERSIONS, 3, 0x01020304);
	expect_chain(&w, "\x01\x02\x03\x04", 4);
}

static void test_vector_unknown_key_header(void **state)
{
	(void)state;
	/* Key 999, v5, null client_id, then what would be a tag buffer for a known flexible API:
	 * it must be left to the body. */
	uint8_t buf[] = {0x03, 0xe7, 0x00, 0x05, 0x00, 0x00, 0x00, 0x09, 0xff, 0xff, 0x00};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), NULL);
	struct rn_request_header h;
	assert_int_equal(rn_request_header_decode(&rd, &h), 0);
	assert_int_equal(h.api_key, 999);
	assert_int_equal(h.api_version, 5);
	assert_int_equal(h.correlation_id, 9);
	assert_int_equal(h.client_id.len, -1);
	assert_int_equal(rn_rd_left(&rd), 1);
}

/* Produce v3 (librdkafka's minimum for MsgVer2): hand-laid bytes. */
static void test_vector_produce_v3(void **state)
{
	(void)state;
	static const uint8_t want[] = {
	    0xff, 0xff,                               /* transactional_id null */
	    0xff, 0xff,                               /* acks -1 */
	    0x00, 0x00, 0x75, 0x30,                   /* timeout 30000 */
	    0x00, 0x00, 0x00, 0x01,                   /* 1 topic */
	    0x00, 0x01, 't',                          /* name */
	    0x00, 0x00, 0x00, 0x01,                   /* 1 partition */
	    0x00, 0x00, 0x00, 0x02,                   /* index 2 */
	    0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc, /* records */
	};
	uint8_t rec[] = {0xaa, 0xbb, 0xcc};
	struct rn_produce_request_partition_produce_data pd = {2, {rec, 3, NULL, 0}};
	struct rn_produce_request_topic_produce_data td = {rn_str_c("t"), &pd, 1};
	struct rn_produce_request r = {RN_STR_NULL, -1, 30000, &td, 1};
	struct rn_iochain w = {0};
	rn_produce_request_encode(&w, 3, &r);
	expect_chain(&w, want, sizeof(want));

	/* Decoding gives a mutable view into the frame. */
	uint8_t buf[sizeof(want)];
	memcpy(buf, want, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_produce_request d;
	assert_int_equal(rn_produce_request_decode(&rd, 3, &d), 0);
	assert_int_equal(d.topic_data[0].partition_data[0].records.len, 3);
	assert_ptr_equal(d.topic_data[0].partition_data[0].records.ptr, buf + sizeof(buf) - 3);
	rn_arena_free(&a);
}

/* Produce v9 response (flexible) with one record error: KIP-467's field order. */
static void test_vector_produce_v9_record_errors(void **state)
{
	(void)state;
	struct rn_produce_response_batch_index_and_error_message re = {3, rn_str_c("bad")};
	struct rn_produce_response_partition_produce_response p = {0};
	p.index = 0;
	p.error_code = 87;
	p.base_offset = -1;
	p.log_append_time_ms = -1;
	p.log_start_offset = -1;
	p.record_errors = &re;
	p.record_errors_count = 1;
	p.error_message = rn_str_c("m");
	p.current_leader = (struct rn_produce_response_leader_id_and_epoch){-1, -1};
	struct rn_produce_response_topic_produce_response t = {rn_str_c("t"), &p, 1};
	struct rn_produce_response r = {0};
	r.responses = &t;
	r.responses_count = 1;
	static const uint8_t want[] = {
	    0x02, 0x02, 't',                                           /* 1 topic, compact name */
	    0x02,                                                      /* 1 partition */
	    0,    0,    0,    0,    0,    87,                          /* index 0, error 87 */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,            /* base offset -1 */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,            /* log append time */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,            /* log start offset */
	    0x02, 0,    0,    0,    3,    0x04, 'b',  'a',  'd', 0x00, /* [{3, "bad"}] */
	    0x02, 'm',                                                 /* error message */
	    0x00,                                                      /* partition tags */
	    0x00,                                                      /* topic tags */
	    0,    0,    0,    0,                                       /* throttle */
	    0x00,                                                      /* response tags */
	};
	for (int16_t v = 9; v <= 10; v++) {
		struct rn_iochain w = {0};
		rn_produce_response_encode(&w, v, &r);
		expect_chain(&w, want, sizeof(want));
	}
	uint8_t buf[sizeof(want)];
	memcpy(buf, want, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_produce_response d;
	assert_int_equal(rn_produce_response_decode(&rd, 10, &d), 0);
	struct rn_produce_response_partition_produce_response *dp =
	    &d.responses[0].partition_responses[0];
	assert_int_equal(dp->record_errors_count, 1);
	assert_int_equal(dp->record_errors[0].batch_index, 3);
	assert_int_equal(dp->error_message.len, 1);
	assert_int_equal(dp->current_leader.leader_id, -1);
	assert_int_equal(d.node_endpoints_count, 0);
	rn_arena_free(&a);
}

/* Fetch v15 request as a KIP-903 follower sends it: no ReplicaId, ReplicaState in tag 1, a
 * topic by id. A tagged struct carries its own (empty) tag buffer: 12 bytes + 1. */
static void test_vector_fetch_v15_request(void **state)
{
	(void)state;
	static const uint8_t want[] = {
	    0,    0,    0,    100,                          /* max wait */
	    0,    0,    0,    1,                            /* min bytes */
	    0,    0x10, 0,    0,                            /* max bytes 1 MiB */
	    0,                                              /* read_uncommitted */
	    0,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, /* session 0, epoch -1 */
	    0x02,                                           /* 1 topic */
	    1,    2,    3,    4,    5,    6,    7,    8,
	    9,    10,   11,   12,   13,   14,   15,   16,   /* id */
	    0x02,                                           /* 1 part */
	    0,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, /* partition 0, leader epoch -1 */
	    0,    0,    0,    0,    0,    0,    0,    42,   /* fetch offset 42 */
	    0xff, 0xff, 0xff, 0xff,                         /* last fetched epoch */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log start */
	    0,    0,    0x10, 0,                            /* partition max bytes */
	    0x00,                                           /* partition tags */
	    0x00,                                           /* topic tags */
	    0x01,                                           /* no forgotten topics */
	    0x01,                                           /* rack "" */
	    0x01, 0x01, 0x0d, 0,    0,    0,    3,    0,
	    0,    0,    0,    0,    0,    0,    9,    0x00, /* tag 1: 13 */
	};
	uint8_t buf[sizeof(want)];
	memcpy(buf, want, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_fetch_request d;
	assert_int_equal(rn_fetch_request_decode(&rd, 15, &d), 0);
	assert_true(rd.p == rd.end);
	assert_int_equal(d.replica_id, -1);
	assert_int_equal(d.replica_state.replica_id, 3);
	assert_int_equal(d.replica_state.replica_epoch, 9);
	assert_int_equal(d.topics_count, 1);
	assert_int_equal(d.topics[0].topic_id.b[15], 16);
	assert_int_equal(d.topics[0].topic.len, 0);
	assert_int_equal(d.topics[0].partitions[0].fetch_offset, 42);
	struct rn_iochain w = {0};
	rn_fetch_request_encode(&w, 15, &d);
	expect_chain(&w, want, sizeof(want));
	rn_arena_free(&a);
}

/* Fetch v12 response partition with CurrentLeader (tag 1) set: tagged struct bytes. */
static void test_vector_fetch_v12_tagged(void **state)
{
	(void)state;
	struct rn_fetch_response_partition_data p = {0};
	p.partition_index = 0;
	p.high_watermark = 1;
	p.last_stable_offset = -1;
	p.log_start_offset = 0;
	p.diverging_epoch = (struct rn_fetch_response_epoch_end_offset){-1, -1};
	p.current_leader = (struct rn_fetch_response_leader_id_and_epoch){5, 7};
	p.snapshot_id = (struct rn_fetch_response_snapshot_id){-1, -1};
	p.aborted_transactions_count = -1;
	p.preferred_read_replica = -1;
	p.records = (struct rn_records){NULL, 0, NULL, 0};
	struct rn_fetch_response_fetchable_topic_response t = {
	    .topic = rn_str_c("t"), .partitions = &p, .partitions_count = 1};
	struct rn_fetch_response r = {.responses = &t, .responses_count = 1};
	static const uint8_t want[] = {
	    0,    0,    0,    0, /* throttle */
	    0,    0,             /* error */
	    0,    0,    0,    0, /* session */
	    0x02,                /* 1 topic */
	    0x02, 't',           /* compact name */
	    0x02,                /* 1 partition */
	    0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0,
	    0,    1,                                                       /* index, error, hwm 1 */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                /* lso -1 */
	    0,    0,    0,    0,    0,    0,    0,    0,                   /* log start 0 */
	    0x00,                                                          /* aborted: null */
	    0xff, 0xff, 0xff, 0xff,                                        /* preferred replica */
	    0x01,                                                          /* records: empty */
	    0x01, 0x01, 0x09, 0,    0,    0,    5,    0,    0, 0, 7, 0x00, /* 1 tag: #1, 9 bytes */
	    0x00,                                                          /* topic tags */
	    0x00,                                                          /* response tags */
	};
	struct rn_iochain w = {0};
	rn_fetch_response_encode(&w, 12, &r);
	expect_chain(&w, want, sizeof(want));
	uint8_t buf[sizeof(want)];
	memcpy(buf, want, sizeof(buf));
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, buf, sizeof(buf), &a);
	struct rn_fetch_response d;
	assert_int_equal(rn_fetch_response_decode(&rd, 12, &d), 0);
	assert_int_equal(d.responses[0].partitions[0].current_leader.leader_id, 5);
	assert_int_equal(d.responses[0].partitions[0].diverging_epoch.epoch, -1);
	assert_int_equal(d.responses[0].partitions[0].aborted_transactions_count, -1);
	rn_arena_free(&a);
}

static void test_defaults_and_unknown_tags(void **state)
{
	(void)state;
	/* Fetch v4 request: defaults for fields it lacks; unknown tags skipped in v12. */
	uint8_t v4[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0xf4, 0, 0, 0, 1, /* replica, wait, min */
			0,    0x10, 0,    0,    1,                         /* max_bytes, iso */
			0,    0,    0,    0};                              /* no topics */
	struct rn_arena a = {0};
	struct rn_rd rd;
	rn_rd_init(&rd, v4, sizeof(v4), &a);
	struct rn_fetch_request f;
	assert_int_equal(rn_fetch_request_decode(&rd, 4, &f), 0);
	assert_int_equal(f.replica_id, -1);
	assert_int_equal(f.max_wait_ms, 500);
	assert_int_equal(f.isolation_level, 1);
	assert_int_equal(f.session_epoch, -1);
	assert_int_equal(f.cluster_id.len, -1);
	assert_int_equal(f.rack_id.len, 0);

	/* Metadata v9 request: null topics, allow_auto false, include_cluster false,
	 * include_topic true, then one unknown tag (7) of 2 bytes. */
	uint8_t md[] = {0x00, 0x00, 0x00, 0x01, 0x01, 0x07, 0x02, 0xaa, 0xbb};
	rn_rd_init(&rd, md, sizeof(md), &a);
	struct rn_metadata_request m;
	assert_int_equal(rn_metadata_request_decode(&rd, 9, &m), 0);
	assert_int_equal(m.topics_count, -1);
	assert_false(m.allow_auto_topic_creation);
	assert_true(m.include_topic_authorized_operations);
	assert_ptr_equal(rd.p, rd.end);

	/* A null array where the version forbids it (Metadata v0) is malformed. */
	uint8_t md0[] = {0xff, 0xff, 0xff, 0xff};
	rn_rd_init(&rd, md0, sizeof(md0), &a);
	assert_int_equal(rn_metadata_request_decode(&rd, 0, &m), -1);
	rn_arena_free(&a);
}

static void test_huge_counts(void **state)
{
	(void)state;
	/* Metadata v1 with 0x7fffffff topics and v9 with a compact count near 2^32: rejected
	 * before any allocation. */
	uint8_t c[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'x'};
	uint8_t cc[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x02, 'x', 0x00};
	struct rn_arena a = {0};
	struct rn_rd rd;
	struct rn_metadata_request m;
	rn_rd_init(&rd, c, sizeof(c), &a);
	assert_int_equal(rn_metadata_request_decode(&rd, 1, &m), -1);
	rn_rd_init(&rd, cc, sizeof(cc), &a);
	assert_int_equal(rn_metadata_request_decode(&rd, 9, &m), -1);
	assert_int_equal(a.used, 0);
	rn_arena_free(&a);
}

/* --- seed corpus ------------------------------------------------------------------------------ */

static void write_corpus(const char *dir)
{
	/* One request per API at its lowest, highest and first flexible versions. */
	int n = 0;
	for (int i = 0; i < rn__msgs_count; i++) {
		const struct rn_api_info *api = &rn__msgs[i].info;
		int16_t vs[3] = {api->min_version, api->max_version, api->first_flexible};
		for (int j = 0; j < 3; j++) {
			if (vs[j] < 0 || (j == 2 && vs[j] == api->max_version))
				continue;
			struct rn_arena a = {0};
			uint32_t seed = 7u + (uint32_t)j;
			void *m = fill_message(&a, &seed, api->key, false);
			struct rn_iochain w = {0};
			struct rn_request_header h = {api->key, vs[j], n, rn_str_c("seed")};
			rn_request_header_encode(&w, &h);
			assert_int_equal(rn_request_encode_any(&w, api->key, vs[j], m), 0);
			char path[512];
			snprintf(path, sizeof(path), "%s/%s_v%d", dir, api->name, vs[j]);
			FILE *f = fopen(path, "wb");
			assert_non_null(f);
			fwrite(w.mem.data, 1, w.mem.len, f);
			fclose(f);
			rn_iochain_free(&w);
			rn_arena_free(&a);
			n++;
		}
	}
}

int main(void)
{
	const char *dir = getenv("RN_WRITE_CORPUS");
	if (dir) {
		write_corpus(dir);
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api_table),
	    cmocka_unit_test(test_round_trip_all),
	    cmocka_unit_test(test_vector_api_versions_v3_request),
	    cmocka_unit_test(test_vector_metadata_v0_request),
	    cmocka_unit_test(test_vector_api_versions_response),
	    cmocka_unit_test(test_vector_response_headers),
	    cmocka_unit_test(test_vector_unknown_key_header),
	    cmocka_unit_test(test_vector_produce_v3),
	    cmocka_unit_test(test_vector_produce_v9_record_errors),
	    cmocka_unit_test(test_vector_fetch_v15_request),
	    cmocka_unit_test(test_vector_fetch_v12_tagged),
	    cmocka_unit_test(test_defaults_and_unknown_tags),
	    cmocka_unit_test(test_huge_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
