/* The evidence package (cmd_package.c writes it, cmd_verify_package.c checks it): its fixed
 * names, the offline player page and the README for checking it by hand. */
#ifndef EVALROOM_ARCHIVE_PACKAGE_H
#define EVALROOM_ARCHIVE_PACKAGE_H

#include <glib.h>
#include <jansson.h>

#define PACKAGE_FORMAT   "evalroom evidence package v1"
#define PACKAGE_MANIFEST "manifest.sha256"
/* The archive's key history, when it has one (key_history.h's file format). */
#define PACKAGE_KEY_HISTORY "keys/key-history.log"

/* index.html: plays the package's clips side by side in sync with its timeline, from
 * package.js beside it (package_page.c). */
extern const char package_index_html[];

/* package_readme: README.txt for the package described by PKG (package.json's object): what
 * each file is and the sha256sum/openssl lines that check it (package_readme.c). g_free. */
char *package_readme(json_t *pkg);

/* package_files: every file under DIR as a path relative to it, sorted, but DIR's own
 * manifest (g_ptr_array_unref). Directories are walked, symbolic links are listed as files. */
GPtrArray *package_files(const char *dir);

/* package_file_sha256: lower-case hex SHA-256 of DIR/REL into HEX. 0 or -errno. */
int package_file_sha256(const char *dir, const char *rel, char hex[65]);

#endif
