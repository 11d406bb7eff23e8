#include "core/err.h"

#include <string.h>

const char *rn_strerror(int err)
{
	switch (err) {
	case RN_ECORRUPT: return "corrupt record batch";
	case RN_ETOOLARGE: return "record batch too large";
	case RN_EOFFLINE: return "partition offline";
	case RN_ERANGE: return "offset out of range";
	case RN_EMALFORMED: return "malformed request";
	case RN_EUNSUPPORTED: return "unsupported";
	case RN_ENOTFOUND: return "not found";
	case RN_EEXIST: return "already exists";
	case RN_EINVALID: return "invalid argument";
	case RN_EOUTOFORDER: return "out-of-order sequence number";
	case RN_EPRODUCER_EPOCH: return "old producer epoch";
	case RN_EDUPLICATE: return "duplicate sequence number";
	case RN_EBADRECORD: return "invalid record";
	case RN_EBADTIMESTAMP: return "invalid timestamp";
	case RN_ESTALE: return "changed concurrently (stale compare-and-set)";
	case RN_EUNAVAILABLE: return "metadata store or peer unavailable";
	case RN_ENOTLEADER: return "not the leader of this partition";
	default: return err < 0 && err > RN_EBASE ? strerror(-err) : "unknown error";
	}
}
