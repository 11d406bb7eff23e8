/*
 * Internal error codes. Functions return 0 on success, a negative errno (-EIO, -ENOSPC, ...) or
 * one of these, which sit below every errno value. Kafka error codes are a different thing:
 * they are data written into responses (proto/kerr.h), and each handler maps these onto them.
 */
#ifndef RN_CORE_ERR_H
#define RN_CORE_ERR_H

enum {
	RN_EBASE = -10000,
	RN_ECORRUPT,     /* bad CRC, bad length, bad magic in a record batch */
	RN_ETOOLARGE,    /* batch larger than message.max.bytes */
	RN_EOFFLINE,     /* partition taken offline after an I/O failure */
	RN_ERANGE,       /* offset outside [log start, log end] */
	RN_EMALFORMED,   /* undecodable request */
	RN_EUNSUPPORTED, /* valid but not supported (legacy magic, ...) */
	RN_ENOTFOUND,
	RN_EEXIST,
	RN_EINVALID,        /* invalid argument or config value */
	RN_EOUTOFORDER,     /* idempotent batch with a sequence gap (or older than the cache) */
	RN_EPRODUCER_EPOCH, /* idempotent batch from an older producer epoch */
	RN_EDUPLICATE,      /* idempotent batch already in the log (storage-internal) */
	RN_EBADRECORD,      /* a record refused by validation (Kafka's INVALID_RECORD): a bad legacy
			     * set, a keyless record on a compacted topic */
	RN_EBADTIMESTAMP,   /* a record timestamp (type) Kafka refuses (INVALID_TIMESTAMP) */
	RN_ESTALE,          /* a compare-and-set lost: the stored value changed since it was read */
	RN_EUNAVAILABLE,    /* the metadata store (etcd) or a peer broker did not answer */
	RN_ENOTLEADER,      /* this broker does not lead the partition (in this epoch) */
};

/* Returns a static description for an internal code or a negative errno. */
const char *rn_strerror(int err);

#endif
