#include "storage/log_config.h"

void rn_log_config_default(struct rn_log_config *c)
{
	c->segment_bytes = 1LL << 30;
	c->roll_ms = 7LL * 24 * 3600 * 1000;
	c->retention_ms = 7LL * 24 * 3600 * 1000;
	c->retention_bytes = -1;
	c->flush_messages = INT64_MAX;
	c->flush_ms = INT64_MAX;
	c->index_interval_bytes = 4096;
	c->segment_index_bytes = 10 * 1024 * 1024;
	c->max_message_bytes = 1048588;
	c->log_append_time = false;
	c->producer_id_expiration_ms = 86400000;
	c->idle_close_ms = RN_IDLE_CLOSE_MS_DEFAULT;
	c->cleanup_delete = true;
	c->cleanup_compact = false;
	c->delete_retention_ms = 86400000;
	c->min_compaction_lag_ms = 0;
	c->max_compaction_lag_ms = INT64_MAX;
	c->min_cleanable_ratio = 0.5;
	c->compression = RN_LOG_CODEC_PRODUCER;
	c->downconversion_enable = true;
}
