/*
 * File I/O wrappers. Every storage write, sync, truncate, rename and unlink goes through these so
 * that (1) callers see one convention: 0 (or a byte count / fd) on success, -errno on failure,
 * with EINTR retried and short writes completed by looping, and (2) tests can inject failures
 * (ENOSPC, EIO, torn writes) at an exact call, the way SQLite and LMDB test their error paths.
 *
 * Fault injection is process-global and meant for tests only: rn_io_fault_set(op, err, n) lets
 * the next n calls of op succeed and makes every later one fail with err until
 * rn_io_fault_clear(). With rn_io_fault_set_partial the failing write first writes half of its
 * bytes (a torn write that reached the page cache), then fails.
 */
#ifndef RN_CORE_IO_H
#define RN_CORE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum rn_io_op {
	RN_IO_OPEN,
	RN_IO_WRITE, /* rn_io_write, rn_io_pwrite and rn_io_pwritev */
	RN_IO_PREAD,
	RN_IO_SYNC, /* rn_io_fdatasync and rn_io_fsync */
	RN_IO_TRUNCATE,
	RN_IO_RENAME,
	RN_IO_UNLINK,
	RN_IO_FALLOCATE,
	RN_IO_NOPS
};

/* Returns an fd or -errno. */
int rn_io_open(const char *path, int flags, mode_t mode);
int rn_io_openat(int dirfd, const char *path, int flags, mode_t mode);
/* Write all n bytes (looping over short writes) or return -errno; 0 on success. After a
 * failure an unknown prefix of the bytes may have reached the file: callers truncate. */
int rn_io_write(int fd, const void *p, size_t n);
int rn_io_pwrite(int fd, const void *p, size_t n, off_t off);
int rn_io_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off);
/* Reads up to n bytes at off, looping until n or end of file: returns the count or -errno. */
ssize_t rn_io_pread(int fd, void *p, size_t n, off_t off);
int rn_io_fdatasync(int fd);
int rn_io_fsync(int fd);
int rn_io_ftruncate(int fd, off_t len);
/* Allocates the blocks of [off, off + len) (fallocate mode 0: the file grows if shorter, data
 * stays). Returns 0, -ENOSPC, -EDQUOT, -EOPNOTSUPP (file system without fallocate), -errno. */
int rn_io_fallocate(int fd, off_t off, off_t len);
int rn_io_rename(const char *from, const char *to);
int rn_io_unlink(const char *path);
/* fsyncs a directory so that created, renamed and deleted names in it are durable. */
int rn_io_fsync_dir(const char *path);
/* close(2) that keeps errno out of the picture (close errors on Linux are not retryable). */
void rn_io_close(int fd);

/* Test hooks (see top of file). */
void rn_io_fault_set(enum rn_io_op op, int err, int after_n_calls);
void rn_io_fault_set_partial(enum rn_io_op op, int err, int after_n_calls);
void rn_io_fault_clear(void);
/* Number of calls of op so far (counts even without a fault set). */
uint64_t rn_io_calls(enum rn_io_op op);

#endif
