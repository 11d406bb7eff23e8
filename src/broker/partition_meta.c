/*
 * partition.metadata (Kafka's file and format, KIP-516): the topic id a partition directory
 * belongs to, so a directory left by an older topic of the same name (deleted and created again
 * while this broker was away) is recognised and never served as the new topic's data.
 *
 *   version: 0
 *   topic_id: <the id, URL-safe base64 without padding, as Kafka's Uuid.toString>
 */
#include "broker/partition_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/io.h"

static void id_text(const uint8_t id[16], char out[23])
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int o = 0;
	for (int i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)id[i] << 16;
		if (i + 1 < 16)
			v |= (uint32_t)id[i + 1] << 8;
		if (i + 2 < 16)
			v |= id[i + 2];
		int n = i + 2 < 16 ? 4 : 2; /* 16 bytes: five full groups and one byte (2 chars) */
		for (int k = 0; k < n; k++)
			out[o++] = a[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
}

static void path_of(const char *logdir, const char *topic, int32_t idx, char *out, size_t len)
{
	snprintf(out, len, "%s/%s-%d/partition.metadata", logdir, topic, idx);
}

int rn_partition_meta_check(const char *logdir, const char *topic, int32_t idx,
			    const uint8_t id[16])
{
	char path[PATH_MAX], want[64], have[128] = "";
	char txt[23];
	id_text(id, txt);
	snprintf(want, sizeof(want), "version: 0\ntopic_id: %s\n", txt);
	path_of(logdir, topic, idx, path, sizeof(path));
	int fd = rn_io_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		ssize_t n = rn_io_pread(fd, have, sizeof(have) - 1, 0);
		rn_io_close(fd);
		have[n > 0 ? n : 0] = '\0';
		return strcmp(have, want) == 0 ? 0 : 1;
	}
	if (fd != -ENOENT)
		return fd;
	/* First open since the directory was made (or made by a version without the file). */
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = rn_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fd;
	int rc = rn_io_write(fd, want, strlen(want));
	if (rc == 0)
		rc = rn_io_fsync(fd);
	rn_io_close(fd);
	if (rc == 0)
		rc = rn_io_rename(tmp, path);
	return rc;
}
