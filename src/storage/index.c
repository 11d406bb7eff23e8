/*
 * Index files (.index, .timeindex): mapping, validation, rewriting. The lookups live in
 * offset_index.c and time_index.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/io.h"
#include "storage/segment.h"

#define IDX_PAGE      4096
#define IDX_CHUNK_MAX (64 << 10)

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
	/* Lookups are binary searches and appends touch one page at a time: read-around of
	 * the (mostly sparse) file would only fill the page cache with zero pages that a later
	 * trim must drop again (that made closing 10,000 partitions take 26 s). */
	madvise(map, bytes, MADV_RANDOM);
	x->map = map;
	x->map_bytes = bytes;
	x->cap = (uint32_t)(bytes / (size_t)es);
	uint32_t n = count_used(x->map, (uint32_t)(size / (size_t)es), es);
	if (!validate(x->map, n, es, log_size)) {
		rn__index_unmap(x);
		rc = RN_ECORRUPT;
		goto out_close;
	}
	/* Pages holding entries were written, so their blocks exist; the rest may be a hole. */
	x->alloc_bytes = ((size_t)n * (size_t)es) & ~(size_t)(IDX_PAGE - 1);
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
	x->alloc_bytes = 0;
	atomic_store(&x->n, 0);
}

/* Writes zeros over [from, to) of the file: allocation on file systems without fallocate.
 * Only the unused tail is overwritten, which is zero already. */
static int zero_fill(int fd, size_t from, size_t to)
{
	static const uint8_t zeros[IDX_PAGE];
	for (size_t at = from; at < to;) {
		size_t n = to - at < sizeof(zeros) ? to - at : sizeof(zeros);
		int rc = rn_io_pwrite(fd, zeros, n, (off_t)at);
		if (rc < 0)
			return rc;
		at += n;
	}
	return 0;
}

/*
 * The index files of the active segment are sparse (ftruncate'd to segment_index_bytes) and
 * written through a MAP_SHARED mapping. A store into a page whose block the file system cannot
 * allocate raises SIGBUS, which would kill the broker on a full disk. So blocks are allocated
 * with fallocate ahead of the entries, while an error can still be returned: before the
 * append writes anything. Chunks double from 4 KiB to 64 KiB, so small partitions reserve
 * little (not the 200 GB of whole files 10,000 partitions would preallocate), and the file is
 * opened by path each time rather than held open (three fds per active partition instead of
 * one): it happens once per 8,192 entries at most.
 */
int rn__index_reserve(struct rn_partition *p, struct rn_segment *s, bool time, uint32_t entries)
{
	struct rn__index *x = time ? &s->tidx : &s->oidx;
	size_t es = time ? RN_TIDX_ENTRY : RN_OIDX_ENTRY;
	size_t need = (size_t)entries * es;
	if (need <= x->alloc_bytes)
		return 0;
	size_t chunk = x->alloc_bytes < IDX_PAGE ? IDX_PAGE : x->alloc_bytes;
	if (chunk > IDX_CHUNK_MAX)
		chunk = IDX_CHUNK_MAX;
	size_t end = x->alloc_bytes + chunk;
	if (end < need)
		end = (need + IDX_PAGE - 1) & ~(size_t)(IDX_PAGE - 1);
	if (end > x->map_bytes)
		end = x->map_bytes;
	if (need > end)
		return RN_EINVALID; /* beyond the mapping: must_roll prevents this */
	char path[PATH_MAX];
	rn__seg_path(p, s->base, time ? ".timeindex" : ".index", path);
	int fd = rn_io_open(path, O_RDWR, 0);
	if (fd < 0)
		return fd;
	int rc = rn_io_fallocate(fd, (off_t)x->alloc_bytes, (off_t)(end - x->alloc_bytes));
	if (rc == -EOPNOTSUPP) {
		size_t used = (size_t)atomic_load(&x->n) * es;
		rc = zero_fill(fd, used > x->alloc_bytes ? used : x->alloc_bytes, end);
	}
	rn_io_close(fd);
	if (rc == 0)
		x->alloc_bytes = end;
	return rc;
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
