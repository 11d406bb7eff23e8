/*
 * Checkpoint files: small text files replaced atomically (write a temporary file, fsync it,
 * rename it over the old one, fsync the directory), so a crash leaves either the old or the
 * new content, never a mix (the unsynced variant relies on a later syncfs).
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
	return rn__ckpt_write_sync(dir, name, data, len, true);
}

int rn__ckpt_write_sync(const char *dir, const char *name, const char *data, size_t len, bool sync)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	int fd = rn_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	int rc = rn_io_write(fd, data, len);
	if (rc == 0 && sync)
		rc = rn_io_fsync(fd);
	rn_io_close(fd);
	if (rc == 0)
		rc = rn_io_rename(tmp, path);
	if (rc < 0)
		rn_io_unlink(tmp);
	else if (sync)
		rc = rn_io_fsync_dir(dir);
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
