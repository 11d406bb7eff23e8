/*
 * Per-partition log settings: the broker defaults (log.* keys) overlaid with a topic's own
 * configs (segment.bytes, retention.ms, ...). Plain values, copied into each partition.
 */
#ifndef RN_STORAGE_LOG_CONFIG_H
#define RN_STORAGE_LOG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct rn_log_config {
	int64_t segment_bytes;        /* log.segment.bytes / segment.bytes (1 GiB) */
	int64_t roll_ms;              /* log.roll.ms / segment.ms (7 days) */
	int64_t retention_ms;         /* log.retention.ms / retention.ms (7 days); -1 = forever */
	int64_t retention_bytes;      /* log.retention.bytes / retention.bytes; -1 = unlimited */
	int64_t flush_messages;       /* log.flush.interval.messages / flush.messages (INT64_MAX) */
	int64_t flush_ms;             /* log.flush.interval.ms / flush.ms (INT64_MAX) */
	int32_t index_interval_bytes; /* log.index.interval.bytes / index.interval.bytes (4096) */
	int32_t segment_index_bytes;  /* log.index.size.max.bytes / segment.index.bytes (10 MiB) */
	int32_t max_message_bytes;    /* message.max.bytes / max.message.bytes (1048588) */
	bool log_append_time;         /* log.message.timestamp.type=LogAppendTime */
	int64_t producer_id_expiration_ms; /* producer.id.expiration.ms (1 day), broker-wide */
	int64_t idle_close_ms; /* a segment's fd and index mappings unused this long are closed
				* (Runnel's own; <= 0 means the default, 30 s) */
	/* Compaction (cleanup.policy and the log.cleaner.* synonyms). */
	bool cleanup_delete;           /* cleanup.policy contains delete (default) */
	bool cleanup_compact;          /* cleanup.policy contains compact */
	int64_t delete_retention_ms;   /* delete.retention.ms: tombstones kept this long (1 day) */
	int64_t min_compaction_lag_ms; /* min.compaction.lag.ms (0) */
	int64_t max_compaction_lag_ms; /* max.compaction.lag.ms (INT64_MAX) */
	double min_cleanable_ratio;    /* min.cleanable.dirty.ratio (0.5) */
	/* compression.type: RN_LOG_CODEC_PRODUCER keeps the producer's codec, else the batch codec
	 * (attributes bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) stored on append. */
	int8_t compression;
	bool downconversion_enable; /* message.downconversion.enable (true) */
};

#define RN_LOG_CODEC_PRODUCER (-1)

#define RN_IDLE_CLOSE_MS_DEFAULT 30000

/* Kafka's defaults. */
void rn_log_config_default(struct rn_log_config *c);

#endif
