/* A backup store in a directory (copy_store.h). */
#include "copy_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BUF (1 << 20)

static int fail(GError **err, const char *dir, const char *what, int e)
{
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "store %s: %s: %s", dir, what,
	            g_strerror(e));
	return -e;
}

static int dir_fsync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int dir_put(void *ctx, const char *name, const char *src_path, GError **err)
{
	const char *dir = ctx;
	if (g_mkdir_with_parents(dir, 0700) != 0)
		return fail(err, dir, "mkdir", errno);
	char *tmp_name = g_strconcat(".", name, ".tmp", NULL);
	char *tmp = g_build_filename(dir, tmp_name, NULL), *dst = g_build_filename(dir, name, NULL);
	guint8 *buf = g_malloc(IO_BUF);
	int in = open(src_path, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	ssize_t n = 0;
	if (in < 0) {
		rc = fail(err, dir, src_path, errno);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
	if (out < 0) {
		rc = fail(err, dir, tmp, errno);
		goto out;
	}
	while ((n = read(in, buf, IO_BUF)) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0) {
				rc = fail(err, dir, "write", errno);
				goto out;
			}
			done += w;
		}
	}
	if (n < 0) {
		rc = fail(err, dir, src_path, errno);
		goto out;
	}
	if (fsync(out) != 0) {
		rc = fail(err, dir, "fsync", errno);
		goto out;
	}
	if (rename(tmp, dst) != 0) {
		rc = fail(err, dir, "rename", errno);
		goto out;
	}
	if ((rc = dir_fsync(dir)) != 0)
		fail(err, dir, "fsync", -rc);
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (rc != 0)
		unlink(tmp);
	g_free(buf);
	g_free(tmp);
	g_free(tmp_name);
	g_free(dst);
	return rc;
}

static int dir_read(void *ctx, const char *name, copy_store_sink sink, void *user, GError **err)
{
	const char *dir = ctx;
	char *path = g_build_filename(dir, name, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	g_free(path);
	if (fd < 0)
		return fail(err, dir, name, errno);
	/* From the device, not from what this machine still caches of the write. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	guint8 *buf = g_malloc(IO_BUF);
	ssize_t n;
	while ((n = read(fd, buf, IO_BUF)) > 0)
		if ((rc = sink(user, buf, (size_t)n)) != 0)
			break;
	if (n < 0)
		rc = fail(err, dir, name, errno);
	else if (rc != 0)
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "store %s: %s: %s", dir, name,
		            g_strerror(-rc));
	g_free(buf);
	close(fd);
	return rc;
}

static int dir_remove(void *ctx, const char *name, GError **err)
{
	const char *dir = ctx;
	char *path = g_build_filename(dir, name, NULL);
	int rc = unlink(path) != 0 && errno != ENOENT ? fail(err, dir, name, errno) : 0;
	g_free(path);
	if (rc == 0 && (rc = dir_fsync(dir)) != 0)
		fail(err, dir, "fsync", -rc);
	return rc;
}

static const struct copy_store_ops dir_ops = {
    .put = dir_put,
    .read = dir_read,
    .remove = dir_remove,
    .free = g_free,
};

struct copy_store *copy_store_dir_new(const char *dir)
{
	struct copy_store *s = g_new0(struct copy_store, 1);
	s->ops = &dir_ops;
	s->ctx = g_strdup(dir);
	s->label = g_strdup(dir);
	return s;
}

void copy_store_free(struct copy_store *s)
{
	if (!s)
		return;
	s->ops->free(s->ctx);
	g_free(s->label);
	g_free(s);
}
