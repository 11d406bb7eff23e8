/*
 * Checkpoint files: small text files replaced atomically (write a temporary file, fsync it,
 * rename it over the old one, fsync the directory), so a crash leaves either the old or the
 * new content, never a mix. Also the per-partition leader-epoch-checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/io.h"
#include "core/metrics.h"
#include "storage/segment.h"

int rn__ckpt_write(const char *dir, const char *name, const char *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	int fd = rn_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	int rc = rn_io_write(fd, data, len);
	if (rc == 0)
		rc = rn_io_fsync(fd);
	rn_io_close(fd);
	if (rc == 0)
		rc = rn_io_rename(tmp, path);
	if (rc == 0)
		rc = rn_io_fsync_dir(dir);
	else
		rn_io_unlink(tmp);
	return rc;
}

int rn__file_read(const char *path, char **out, size_t *len)
{
	int fd = rn_io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		rn_io_close(fd);
		return rc;
	}
	char *buf = rn_malloc((size_t)st.st_size + 1);
	ssize_t r = rn_io_pread(fd, buf, (size_t)st.st_size, 0);
	rn_io_close(fd);
	if (r < 0) {
		rn_free(buf);
		return (int)r;
	}
	buf[r] = 0;
	*out = buf;
	*len = (size_t)r;
	return 0;
}

/* "0\\n<count>\\n<epoch> <start offset>\\n...": the epoch of the last entry is current. */
int rn__epoch_read(const char *dir, int32_t *epoch)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", dir);
	char *buf;
	size_t len;
	*epoch = 0;
	int rc = rn__file_read(path, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	char *s = buf, *e;
	long version = strtol(s, &e, 10);
	long count = strtol(e, &e, 10);
	if (version != 0 || count < 0) {
		rc = RN_ECORRUPT;
		goto out_free;
	}
	for (long i = 0; i < count; i++) {
		char *q;
		long ep = strtol(e, &q, 10);
		if (q == e) {
			rc = RN_ECORRUPT;
			goto out_free;
		}
		strtoll(q, &e, 10);
		*epoch = (int32_t)ep;
	}
out_free:
	rn_free(buf);
	return rc;
}

int rn__epoch_write(const char *dir, const int32_t *epochs, const int64_t *starts, int n)
{
	struct rn_buf b = {0};
	rn_buf_printf(&b, "0\n%d\n", n);
	for (int i = 0; i < n; i++)
		rn_buf_printf(&b, "%d %lld\n", epochs[i], (long long)starts[i]);
	int rc = rn__ckpt_write(dir, "leader-epoch-checkpoint", (const char *)b.data, b.len);
	rn_buf_free(&b);
	return rc;
}
