#include "core/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct rn_io_fault {
	_Atomic int err;      /* 0 = no fault armed */
	_Atomic int partial;  /* write half before failing */
	_Atomic int64_t left; /* calls that still succeed */
};

static struct rn_io_fault faults[RN_IO_NOPS];
static _Atomic uint64_t calls[RN_IO_NOPS];
static _Atomic int any_fault;

/* Returns the error to inject for this call of op, or 0. The fast path is one relaxed load. */
static int fault_check(enum rn_io_op op, bool *partial)
{
	atomic_fetch_add_explicit(&calls[op], 1, memory_order_relaxed);
	if (!atomic_load_explicit(&any_fault, memory_order_relaxed))
		return 0;
	struct rn_io_fault *f = &faults[op];
	int err = atomic_load(&f->err);
	if (!err)
		return 0;
	if (atomic_fetch_sub(&f->left, 1) > 0)
		return 0;
	atomic_store(&f->left, 0);
	if (partial)
		*partial = atomic_load(&f->partial);
	return err;
}

static void fault_arm(enum rn_io_op op, int err, int after, int partial)
{
	atomic_store(&faults[op].left, after);
	atomic_store(&faults[op].partial, partial);
	atomic_store(&faults[op].err, err < 0 ? err : -err);
	atomic_store(&any_fault, 1);
}

void rn_io_fault_set(enum rn_io_op op, int err, int after_n_calls)
{
	fault_arm(op, err, after_n_calls, 0);
}

void rn_io_fault_set_partial(enum rn_io_op op, int err, int after_n_calls)
{
	fault_arm(op, err, after_n_calls, 1);
}

void rn_io_fault_clear(void)
{
	atomic_store(&any_fault, 0);
	for (int i = 0; i < RN_IO_NOPS; i++)
		atomic_store(&faults[i].err, 0);
}

uint64_t rn_io_calls(enum rn_io_op op)
{
	return atomic_load(&calls[op]);
}

int rn_io_open(const char *path, int flags, mode_t mode)
{
	return rn_io_openat(AT_FDCWD, path, flags, mode);
}

int rn_io_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int err = fault_check(RN_IO_OPEN, NULL);
	if (err)
		return err;
	int fd;
	do
		fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, off_t off, bool positional)
{
	while (n > 0) {
		ssize_t w = positional ? pwrite(fd, p, n, off) : write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* An injected fault: optionally write a torn prefix first, so tests see what a real short
 * write followed by ENOSPC leaves behind. */
static int inject_write(int fd, const struct iovec *iov, int iovcnt, off_t off, bool positional,
			int err, bool partial)
{
	if (!partial)
		return err;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	size_t half = total / 2;
	for (int i = 0; i < iovcnt && half > 0; i++) {
		size_t n = iov[i].iov_len < half ? iov[i].iov_len : half;
		if (pwrite_all(fd, iov[i].iov_base, n, off, positional) < 0)
			break;
		off += (off_t)n;
		half -= n;
	}
	return err;
}

int rn_io_write(int fd, const void *p, size_t n)
{
	bool partial = false;
	int err = fault_check(RN_IO_WRITE, &partial);
	if (err) {
		struct iovec v = {(void *)p, n};
		return inject_write(fd, &v, 1, 0, false, err, partial);
	}
	return pwrite_all(fd, p, n, 0, false);
}

int rn_io_pwrite(int fd, const void *p, size_t n, off_t off)
{
	bool partial = false;
	int err = fault_check(RN_IO_WRITE, &partial);
	if (err) {
		struct iovec v = {(void *)p, n};
		return inject_write(fd, &v, 1, off, true, err, partial);
	}
	return pwrite_all(fd, p, n, off, true);
}

int rn_io_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	bool partial = false;
	int err = fault_check(RN_IO_WRITE, &partial);
	if (err)
		return inject_write(fd, iov, iovcnt, off, true, err, partial);
	/* Work on a copy in chunks of 64 iovecs so that a short write can advance the first
	 * unfinished iovec in place. */
	while (iovcnt > 0) {
		struct iovec v[64];
		int n = iovcnt < 64 ? iovcnt : 64;
		memcpy(v, iov, (size_t)n * sizeof(*v));
		struct iovec *cur = v;
		int left = n;
		while (left > 0) {
			ssize_t w = pwritev(fd, cur, left, off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += w;
			while (left > 0 && (size_t)w >= cur->iov_len) {
				w -= (ssize_t)cur->iov_len;
				cur++;
				left--;
			}
			if (left > 0) {
				cur->iov_base = (uint8_t *)cur->iov_base + w;
				cur->iov_len -= (size_t)w;
			}
		}
		iov += n;
		iovcnt -= n;
	}
	return 0;
}

ssize_t rn_io_pread(int fd, void *p, size_t n, off_t off)
{
	int err = fault_check(RN_IO_PREAD, NULL);
	if (err)
		return err;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)p + got, n - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int rn_io_fdatasync(int fd)
{
	int err = fault_check(RN_IO_SYNC, NULL);
	if (err)
		return err;
	int rc;
	do
		rc = fdatasync(fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int rn_io_fsync(int fd)
{
	int err = fault_check(RN_IO_SYNC, NULL);
	if (err)
		return err;
	int rc;
	do
		rc = fsync(fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int rn_io_ftruncate(int fd, off_t len)
{
	int err = fault_check(RN_IO_TRUNCATE, NULL);
	if (err)
		return err;
	int rc;
	do
		rc = ftruncate(fd, len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int rn_io_fallocate(int fd, off_t off, off_t len)
{
	int err = fault_check(RN_IO_FALLOCATE, NULL);
	if (err)
		return err;
	int rc;
	do
		rc = fallocate(fd, 0, off, len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int rn_io_rename(const char *from, const char *to)
{
	int err = fault_check(RN_IO_RENAME, NULL);
	if (err)
		return err;
	return rename(from, to) < 0 ? -errno : 0;
}

int rn_io_unlink(const char *path)
{
	int err = fault_check(RN_IO_UNLINK, NULL);
	if (err)
		return err;
	return unlink(path) < 0 ? -errno : 0;
}

int rn_io_fsync_dir(const char *path)
{
	int fd = rn_io_open(path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	int rc = rn_io_fsync(fd);
	rn_io_close(fd);
	return rc;
}

void rn_io_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
