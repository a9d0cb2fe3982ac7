#include "segment_file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"

static int fsync_parent_dir(const char *path)
{
	char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_free(dir);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

int segment_file_seal(const char *path, char hex[65], int64_t *size)
{
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto err_close;
	}
	unsigned char buf[65536];
	int64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto err_md;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += n;
	}
	unsigned char digest[32];
	unsigned int dlen = 0;
	EVP_DigestFinal_ex(md, digest, &dlen);
	hex_encode(digest, MIN(dlen, 32u), hex);
	*size = total;
	/* fsync through a read-only descriptor still flushes the inode's data. */
	if (fsync(fd)) {
		rc = -errno;
		goto err_md;
	}
	rc = fsync_parent_dir(path);
err_md:
	EVP_MD_CTX_free(md);
err_close:
	close(fd);
	return rc;
}

int segment_file_mtime_us(const char *path, int64_t *mtime_us)
{
	struct stat st;
	if (stat(path, &st))
		return -errno;
	*mtime_us = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
	return 0;
}

int segment_file_remove(const char *path)
{
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return fsync_parent_dir(path);
}

int64_t segment_file_seq(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *end = NULL;
	long long v = strtoll(base, &end, 10);
	return (end && strcmp(end, ".ts") == 0 && v > 0) ? v : 0;
}
