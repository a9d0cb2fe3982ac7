/* evalroom-archive verify: the whole file against its signed checkpoints. */
#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "merkle.h"
#include "rootlog.h"
#include "tool.h"
#include "verify.h"
#include "witness_log.h"

#include <openssl/pem.h>

/* What the root log published of one tender, checked against the file's leaves. */
struct roots_check {
	const char *tender;
	const struct archive_verify_report *rep;
	uint64_t published, latest_size;
	char *problem; /* the first inconsistency */
};

static void check_root(const struct rootlog_entry *e, void *user)
{
	struct roots_check *k = user;
	if (strcmp(e->tender, k->tender) != 0 || k->problem)
		return;
	k->published++;
	if (e->size > k->latest_size)
		k->latest_size = e->size;
	uint64_t have = k->rep->leaves;
	if (e->size > have) {
		k->problem = g_strdup_printf(
		    "behind what was published: root log line %" G_GUINT64_FORMAT " published a "
		    "checkpoint of size %" G_GUINT64_FORMAT " but the file has only %" G_GUINT64_FORMAT
		    " records (truncated, or its newest records removed with their checkpoints)",
		    e->index, e->size, have);
		return;
	}
	uint8_t root[MERKLE_HASH_LEN];
	if (merkle_root(k->rep->leaf_hashes->data, e->size, root) != 0 ||
	    memcmp(root, e->root, sizeof root) != 0)
		k->problem = g_strdup_printf(
		    "forked from what was published: root log line %" G_GUINT64_FORMAT " published "
		    "another root for the first %" G_GUINT64_FORMAT " records than this file has "
		    "(records altered, inserted or removed, then re-signed)",
		    e->index, e->size);
}

/* verify --roots: 0 consistent, -EBADMSG with the problem printed, -EIO log unreadable. */
static int check_roots(const char *log, const struct archive_pubkey *key,
                       const struct archive_verify_report *rep, const char *file)
{
	struct roots_check k = {.tender = rep->tender ? rep->tender : "", .rep = rep};
	GError *err = NULL;
	int rc = rootlog_read(log, key, check_root, &k, &err);
	if (rc != 0) {
		printf("FAILED %s: %s\n", file, err->message);
		g_error_free(err);
		g_free(k.problem);
		return rc == -EBADMSG ? -EBADMSG : -EIO;
	}
	if (k.problem) {
		printf("FAILED %s: %s\n", file, k.problem);
		g_free(k.problem);
		return -EBADMSG;
	}
	if (k.published == 0)
		printf("roots: %s publishes no checkpoint of tender %s (nothing to compare)\n", log,
		       k.tender);
	else
		printf("roots: consistent with the %" G_GUINT64_FORMAT " checkpoints of tender %s "
		       "published in %s (latest size %" G_GUINT64_FORMAT ")%s\n",
		       k.published, k.tender, log, k.latest_size,
		       key ? "" : "; log signatures not checked without --pubkey");
	return 0;
}

/* The three-party witness log's signatures (the archive's signed appendix, witness_log.h):
 * "witness log signed by N of 3", each missing party and each invalid signature named.
 * Nothing is printed for an archive without a witness log (closed before this existed). */
static void check_witness_log(struct archive_reader *r, const char *ca_path)
{
	X509 *ca = NULL;
	if (ca_path) {
		FILE *f = fopen(ca_path, "r");
		ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		if (!ca)
			tool_err(_("%s: not a readable PEM certificate; signers' certificates not "
			           "checked against a site CA"),
			         ca_path);
	}
	int signed_by[WITNESS_LOG_PARTIES];
	char *invalid = NULL;
	int n = witness_log_verify(archive_reader_db(r), ca, signed_by, &invalid, NULL);
	X509_free(ca);
	if (n < 0)
		return;
	printf(_("witness log signed by %d of %d\n"), n, WITNESS_LOG_PARTIES);
	for (size_t i = 0; i < WITNESS_LOG_PARTIES; i++)
		if (!signed_by[i])
			printf(_("  missing: %s (%s-*)\n"), witness_party_label(i),
			       witness_party_name(i));
	char **lines = g_strsplit(invalid ? invalid : "", "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l)
			printf(_("  INVALID: %s\n"), *l);
	g_strfreev(lines);
	g_free(invalid);
	if (!ca)
		printf(_("  note: signers' certificates not checked against the site CA; pass --ca "
		         "ca.crt\n"));
}

int cmd_verify(int argc, char **argv)
{
	char *pub = NULL, *roots = NULL, *ca = NULL;
	GOptionEntry opts[] = {
	    {"roots", 'r', 0, G_OPTION_ARG_FILENAME, &roots,
	     "the site's root log (roots.log, or a recorded copy): also check that this file is "
	     "not behind, or forked from, any checkpoint published for its tender",
	     "LOG"},
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     "controller's public key (PEM); without it the key recorded in the file is "
	     "used, which proves integrity but not origin",
	     "controller-signing.pub"},
	    {"ca", 0, 0, G_OPTION_ARG_FILENAME, &ca,
	     "the site CA certificate (ca.crt): the witness log's signers' certificates must be "
	     "its",
	     "ca.crt"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_verify_report rep;
	struct archive_pubkey *key = NULL;
	struct archive_reader *r;
	int rc;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Recomputes every record's leaf hash and every segment's SHA-256 from its "
	           "chunks, checks the leaves are complete and in order, recomputes the Merkle "
	           "root of every checkpoint and checks its Ed25519 signature. Names the first "
	           "missing, altered, reordered or unsigned record (table, row, what is wrong)."),
	        opts, 1))
		return EXIT_USAGE;
	if (pub && archive_pubkey_load(pub, &key) != 0) {
		tool_err(_("%s: not a readable Ed25519 public key (PEM)"), pub);
		g_free(pub);
		return EXIT_USAGE;
	}
	r = tool_open(argv[1]);
	if (!r) {
		archive_pubkey_free(key);
		g_free(pub);
		return EXIT_BAD_FILE;
	}
	rc = archive_verify(r, key, &rep);
	if (rc == 0) {
		printf("OK %s: %" G_GUINT64_FORMAT " records (%" G_GUINT64_FORMAT
		       " events, %" G_GUINT64_FORMAT " segments, %" G_GUINT64_FORMAT
		       " gaps), %" G_GUINT64_FORMAT " checkpoints, all records signed; %s\n",
		       argv[1], rep.leaves, rep.events, rep.segments, rep.gaps, rep.checkpoints,
		       rep.sealed ? "sealed" : "NOT sealed (tender still open)");
		if (rep.key_embedded)
			printf(
			    _("note: signatures checked against the key recorded in the file; pass "
			      "--pubkey controller-signing.pub to prove who signed\n"));
		check_witness_log(r, ca);
		if (roots)
			rc = check_roots(roots, key, &rep, argv[1]);
	} else {
		printf(_("FAILED %s: %s\n"), argv[1], rep.problem ? rep.problem : "unreadable");
	}
	archive_verify_report_clear(&rep);
	archive_reader_free(r);
	archive_pubkey_free(key);
	g_free(pub);
	g_free(roots);
	g_free(ca);
	return rc == 0 ? EXIT_INTACT : rc == -EBADMSG ? EXIT_TAMPERED : EXIT_BAD_FILE;
}
