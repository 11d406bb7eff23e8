/*
 * Index files (.index, .timeindex): mapping, validation, rewriting. The lookups live in
 * offset_index.c and time_index.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/io.h"
#include "storage/segment.h"

static bool entry_is_zero(const uint8_t *e, int es)
{
	for (int i = 0; i < es; i++)
		if (e[i])
			return false;
	return true;
}

/* Entries are written in order, and preallocated space is zero: binary search for the first
 * zero entry rather than reading (and faulting in) the whole preallocated file. */
static uint32_t count_used(const uint8_t *map, uint32_t entries, int es)
{
	uint32_t lo = 0, hi = entries;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (entry_is_zero(map + (size_t)mid * (size_t)es, es))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static bool validate(const uint8_t *map, uint32_t n, int es, uint64_t log_size)
{
	if (es == RN_OIDX_ENTRY) {
		uint32_t prev_rel = 0, prev_pos = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t rel = rn_be32(map + (size_t)i * 8), pos = rn_be32(map + i * 8 + 4);
			if (rel <= prev_rel || pos <= prev_pos || pos >= log_size)
				return false;
			prev_rel = rel;
			prev_pos = pos;
		}
		return true;
	}
	int64_t prev_ts = INT64_MIN;
	uint32_t prev_rel = 0;
	for (uint32_t i = 0; i < n; i++) {
		int64_t ts = (int64_t)rn_be64(map + (size_t)i * 12);
		uint32_t rel = rn_be32(map + (size_t)i * 12 + 8);
		if (ts <= prev_ts || rel < prev_rel)
			return false;
		prev_ts = ts;
		prev_rel = rel;
	}
	return true;
}

int rn__index_map(const char *path, int es, bool rw, size_t cap_bytes, uint64_t log_size,
		  struct rn__index *x)
{
	memset(x, 0, sizeof(*x));
	int fd = rn_io_open(path, rw ? O_RDWR : O_RDONLY, 0);
	if (fd == -ENOENT && rw && log_size == 0)
		fd = rn_io_open(path, O_RDWR | O_CREAT, 0644);
	if (fd == -ENOENT)
		return RN_ECORRUPT;
	if (fd < 0)
		return fd;
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	size_t size = (size_t)st.st_size;
	if (size % (size_t)es) {
		rc = RN_ECORRUPT;
		goto out_close;
	}
	size_t bytes = size;
	if (rw) {
		cap_bytes -= cap_bytes % (size_t)es;
		if (cap_bytes > bytes) {
			rc = rn_io_ftruncate(fd, (off_t)cap_bytes);
			if (rc < 0)
				goto out_close;
			bytes = cap_bytes;
		}
	}
	if (bytes == 0)
		goto out_close;
	void *map = mmap(NULL, bytes, rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto out_close;
	}
	x->map = map;
	x->map_bytes = bytes;
	x->cap = (uint32_t)(bytes / (size_t)es);
	uint32_t n = count_used(x->map, (uint32_t)(size / (size_t)es), es);
	if (!validate(x->map, n, es, log_size)) {
		rn__index_unmap(x);
		rc = RN_ECORRUPT;
		goto out_close;
	}
	atomic_store_explicit(&x->n, n, memory_order_release);
out_close:
	rn_io_close(fd);
	return rc;
}

void rn__index_unmap(struct rn__index *x)
{
	if (x->map)
		munmap(x->map, x->map_bytes);
	x->map = NULL;
	x->map_bytes = 0;
	x->cap = 0;
	atomic_store(&x->n, 0);
}

int rn__index_patch_file(const char *path, size_t keep_bytes, const uint8_t *entries, size_t bytes)
{
	int fd = rn_io_open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return fd;
	int rc = 0;
	if (bytes)
		rc = rn_io_pwrite(fd, entries, bytes, (off_t)keep_bytes);
	if (rc == 0)
		rc = rn_io_ftruncate(fd, (off_t)(keep_bytes + bytes));
	rn_io_close(fd);
	return rc;
}
