/* Recovery: torn writes at every byte, corruption, index rebuilds, injected I/O faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>

#include "batch_builder.h"
#include "core/err.h"
#include "core/io.h"
#include "storage/partition.h"

static struct rn_log_config cfg(void)
{
	struct rn_log_config c;
	rn_log_config_default(&c);
	c.segment_bytes = 16384;
	c.index_interval_bytes = 256;
	c.segment_index_bytes = 4096;
	return c;
}

static int64_t append1(struct rn_partition *p, int n, int vs)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, vs);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), 0);
	rn_buf_free(&b);
	return info.base_offset;
}

/* Reads everything from 0 and checks offsets are dense up to the log end. */
static void check_all(struct rn_partition *p)
{
	int64_t o = rn_partition_log_start(p), end = rn_partition_log_end(p);
	while (o < end) {
		struct rn_read_info ri;
		assert_int_equal(rn_partition_read(p, o, 1 << 20, true, &ri), 0);
		assert_true(ri.len > 0);
		uint8_t *buf = malloc(ri.len);
		assert_int_equal(pread(ri.file->fd, buf, ri.len, (off_t)ri.pos), (ssize_t)ri.len);
		rn_fileref_put(ri.file);
		for (size_t off = 0; off < ri.len;) {
			struct rn_batch_header h;
			int64_t t = rn_batch_validate(buf + off, ri.len - off, 0, &h);
			assert_true(t > 0);
			assert_true(h.base_offset <= o);
			o = h.base_offset + h.last_offset_delta + 1;
			off += (size_t)t;
		}
		free(buf);
	}
	assert_int_equal(o, end);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void set_size(const char *path, off_t len)
{
	assert_int_equal(truncate(path, len), 0);
}

/* Torn write at every byte of the last batch: reopen (recovery point before it) truncates to
 * the batch's base offset; appending works afterwards. */
static void test_torn_every_byte(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	for (int i = 0; i < 20; i++)
		append1(p, 3, 40);
	int64_t last_base = rn_partition_log_end(p);
	char log[600];
	snprintf(log, sizeof(log), "%s/%020d.log", dir, 0);
	off_t start = file_size(log);
	append1(p, 5, 30);
	off_t end = file_size(log);
	int64_t rp = rn_partition_recovery_point(p);
	rn_partition_close(p);
	/* keep a copy of the full file to restore between iterations */
	uint8_t *full = malloc((size_t)end);
	int fd = open(log, O_RDONLY);
	assert_int_equal(pread(fd, full, (size_t)end, 0), end);
	close(fd);
	for (off_t len = start; len < end; len++) {
		fd = open(log, O_WRONLY | O_TRUNC);
		assert_int_equal(write(fd, full, (size_t)len), len);
		close(fd);
		/* recovery point from before the last batch: 0 (never flushed) or last_base */
		int64_t from = (len & 1) ? 0 : last_base;
		(void)rp;
		assert_int_equal(rn_partition_open(dir, &c, from, 0, false, &p), 0);
		assert_int_equal(rn_partition_log_end(p), last_base);
		assert_int_equal(file_size(log), start);
		if (len % 16 == 0 || len == end - 1) {
			check_all(p);
			assert_int_equal(append1(p, 2, 10), last_base);
			check_all(p);
		}
		rn_partition_close(p);
	}
	free(full);
	bb_rmrf(dir);
	free(dir);
}

static void test_corrupt_byte(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	for (int i = 0; i < 10; i++)
		append1(p, 2, 40);
	int64_t good = rn_partition_log_end(p);
	char log[600];
	snprintf(log, sizeof(log), "%s/%020d.log", dir, 0);
	off_t start = file_size(log);
	append1(p, 4, 100);
	append1(p, 4, 100);
	off_t end = file_size(log);
	rn_partition_close(p);
	/* flip a byte in the record data of the batch after `good` */
	int fd = open(log, O_RDWR);
	uint8_t x;
	assert_int_equal(pread(fd, &x, 1, start + 100), 1);
	x ^= 0x10;
	assert_int_equal(pwrite(fd, &x, 1, start + 100), 1);
	close(fd);
	assert_int_equal(file_size(log), end);
	assert_int_equal(rn_partition_open(dir, &c, 3, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), good);
	assert_int_equal(file_size(log), start);
	check_all(p);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

/* Unclean shutdown across several segments: recovery from an old recovery point validates
 * them all; a torn batch in a middle segment drops the later segments. */
static void test_multi_segment_recovery(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	c.segment_bytes = 2048;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	for (int i = 0; i < 100; i++)
		append1(p, 2, 100);
	int64_t end = rn_partition_log_end(p);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, 10, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), end);
	check_all(p);
	rn_partition_close(p);
	/* tear the segment holding offset ~100 */
	char log[600];
	int64_t base = -1;
	for (int64_t b = 100; b >= 0 && base < 0; b--) {
		snprintf(log, sizeof(log), "%s/%020lld.log", dir, (long long)b);
		if (access(log, F_OK) == 0)
			base = b;
	}
	assert_true(base > 0);
	set_size(log, file_size(log) - 7);
	assert_int_equal(rn_partition_open(dir, &c, 10, 0, false, &p), 0);
	int64_t e2 = rn_partition_log_end(p);
	assert_true(e2 < end && e2 > base);
	check_all(p);
	snprintf(log, sizeof(log), "%s/%020lld.log", dir, (long long)e2);
	assert_int_equal(access(log, F_OK), -1);
	assert_int_equal(append1(p, 1, 10), e2);
	check_all(p);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_index_rebuild(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	c.segment_bytes = 1 << 20;
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	for (int i = 0; i < 200; i++)
		append1(p, 3, 50);
	int64_t end = rn_partition_log_end(p);
	rn_partition_close(p);
	char idx[600], tidx[600];
	snprintf(idx, sizeof(idx), "%s/%020d.index", dir, 0);
	snprintf(tidx, sizeof(tidx), "%s/%020d.timeindex", dir, 0);
	off_t isz = file_size(idx), tsz = file_size(tidx);
	assert_true(isz > 8 * 20 && isz % 8 == 0);
	assert_true(tsz % 12 == 0);
	/* missing */
	unlink(idx);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), end);
	check_all(p);
	rn_partition_close(p);
	assert_int_equal(file_size(idx), isz);
	/* garbled size */
	set_size(idx, isz - 3);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	check_all(p);
	rn_partition_close(p);
	assert_int_equal(file_size(idx), isz);
	/* non-monotonic entries */
	int fd = open(idx, O_RDWR);
	uint8_t junk[16] = {0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1};
	assert_int_equal(pwrite(fd, junk, 16, 16), 16);
	close(fd);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	check_all(p);
	rn_partition_close(p);
	/* an entry beyond the log */
	fd = open(idx, O_RDWR);
	uint8_t far[8] = {0, 0, 0x7f, 0, 0x7f, 0, 0, 0};
	assert_int_equal(pwrite(fd, far, 8, isz - 8), 8);
	close(fd);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	check_all(p);
	rn_partition_close(p);
	/* preallocated zero tail after a crash */
	set_size(idx, isz + 4096);
	set_size(tidx, tsz + 4092);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	check_all(p);
	assert_int_equal(append1(p, 1, 1), end);
	check_all(p);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_enospc(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	for (int i = 0; i < 5; i++)
		append1(p, 2, 30);
	int64_t end = rn_partition_log_end(p);
	uint64_t size = rn_partition_size_bytes(p);
	char log[600];
	snprintf(log, sizeof(log), "%s/%020d.log", dir, 0);
	for (int partial = 0; partial < 2; partial++) {
		if (partial)
			rn_io_fault_set_partial(RN_IO_WRITE, ENOSPC, 0);
		else
			rn_io_fault_set(RN_IO_WRITE, ENOSPC, 0);
		struct rn_buf b = {0};
		bb_batch(&b, 3, 1, 100);
		struct rn_append_info info;
		assert_int_equal(rn_partition_append(p, b.data, b.len, &info), -ENOSPC);
		rn_io_fault_clear();
		rn_buf_free(&b);
		assert_int_equal(rn_partition_log_end(p), end);
		assert_int_equal(file_size(log), (off_t)size);
		assert_false(rn_partition_offline(p));
		check_all(p);
	}
	assert_int_equal(append1(p, 2, 30), end);
	check_all(p);
	/* truncate fails too: offline */
	rn_io_fault_set_partial(RN_IO_WRITE, EIO, 0);
	rn_io_fault_set(RN_IO_TRUNCATE, EIO, 0);
	struct rn_buf b = {0};
	bb_batch(&b, 3, 1, 100);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), -EIO);
	rn_io_fault_clear();
	assert_true(rn_partition_offline(p));
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), RN_EOFFLINE);
	rn_buf_free(&b);
	rn_partition_close(p);
	/* the torn tail is gone after recovery */
	assert_int_equal(rn_partition_open(dir, &c, 0, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), end + 2);
	check_all(p);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static int try_append(struct rn_partition *p, int n, int vs)
{
	struct rn_buf b = {0};
	bb_batch(&b, n, 1000, vs);
	struct rn_append_info info;
	int rc = rn_partition_append(p, b.data, b.len, &info);
	rn_buf_free(&b);
	return rc;
}

/* Index blocks are allocated (fallocate) in growing chunks before the log is written: when
 * that fails (a full disk, where a store into the sparse mapping would raise SIGBUS) the append
 * fails with nothing written, and works again once space is back. */
static void test_enospc_index(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	c.segment_bytes = 1 << 20;
	c.segment_index_bytes = 1 << 20;
	c.index_interval_bytes = 1; /* an entry for every batch but the first */
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	char log[600], idx[600];
	snprintf(log, sizeof(log), "%s/%020d.log", dir, 0);
	snprintf(idx, sizeof(idx), "%s/%020d.index", dir, 0);
	/* The batch at position 0 gets no index entry: nothing to reserve. The next one needs
	 * the first chunk. */
	rn_io_fault_set(RN_IO_FALLOCATE, ENOSPC, 0);
	append1(p, 2, 10);
	off_t size = file_size(log);
	assert_int_equal(try_append(p, 2, 10), -ENOSPC);
	rn_io_fault_clear();
	assert_int_equal(file_size(log), size);
	assert_int_equal(rn_partition_log_end(p), 2);
	assert_false(rn_partition_offline(p));
	append1(p, 1, 10);
	/* Entries go on until the chunk (4 KiB: 512 entries) is used up, then the next
	 * reservation fails. */
	rn_io_fault_set(RN_IO_FALLOCATE, ENOSPC, 0);
	int ok = 0, rc;
	do {
		size = file_size(log);
		rc = try_append(p, 1, 10);
		ok += rc == 0;
	} while (rc == 0 && ok < 5000);
	rn_io_fault_clear();
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(ok, 511);
	assert_int_equal(file_size(log), size);
	assert_int_equal(rn_partition_log_end(p), 3 + ok);
	assert_false(rn_partition_offline(p));
	check_all(p);
	for (int i = 0; i < 1000; i++)
		append1(p, 1, 10);
	check_all(p);
	/* The mapping covers 1 MiB, the allocation a few chunks. */
	struct stat st;
	assert_int_equal(stat(idx, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(st.st_blocks * 512 <= 64 << 10);
	int64_t end = rn_partition_log_end(p);
	rn_partition_close(p);
	assert_int_equal(rn_partition_open(dir, &c, end, 0, false, &p), 0);
	assert_int_equal(rn_partition_log_end(p), end);
	check_all(p);
	append1(p, 1, 10);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

static void test_fsync_eio(void **state)
{
	(void)state;
	char *dir = bb_tmpdir();
	struct rn_log_config c = cfg();
	struct rn_partition *p;
	assert_int_equal(rn_partition_open(dir, &c, -1, 0, true, &p), 0);
	append1(p, 2, 30);
	int64_t rp = rn_partition_recovery_point(p);
	rn_io_fault_set(RN_IO_SYNC, EIO, 0);
	assert_int_equal(rn_partition_flush(p), -EIO);
	rn_io_fault_clear();
	assert_true(rn_partition_offline(p));
	assert_int_equal(rn_partition_recovery_point(p), rp);
	struct rn_buf b = {0};
	bb_batch(&b, 1, 1, 1);
	struct rn_append_info info;
	assert_int_equal(rn_partition_append(p, b.data, b.len, &info), RN_EOFFLINE);
	struct rn_read_info ri;
	assert_int_equal(rn_partition_read(p, 0, 100, true, &ri), RN_EOFFLINE);
	rn_buf_free(&b);
	rn_partition_close(p);
	bb_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_torn_every_byte),
	    cmocka_unit_test(test_corrupt_byte),
	    cmocka_unit_test(test_multi_segment_recovery),
	    cmocka_unit_test(test_index_rebuild),
	    cmocka_unit_test(test_enospc),
	    cmocka_unit_test(test_enospc_index),
	    cmocka_unit_test(test_fsync_eio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
