/* evalroom-archive verify: the whole file against its signed checkpoints. */
#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "merkle.h"
#include "rootlog.h"
#include "tool.h"
#include "verify.h"

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
		    "checkpoint of size %" G_GUINT64_FORMAT
		    " but the file has only %" G_GUINT64_FORMAT
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

/* What the RFC 3161 timestamps say, or that the final checkpoint has none. */
static void print_timestamp(const struct archive_verify_report *rep, const char *file)
{
	char when[64];

	if (rep->final_tsa) {
		clock_format_us(rep->final_time_us, when, sizeof(when));
		printf(_("timestamp: the last checkpoint existed at %s (RFC 3161, TSA %s; %s)\n"),
		       when, rep->final_tsa,
		       rep->final_chain ? _("its certificate checked up to --tsa-ca")
		                        : _("checked against the certificate in the reply only: "
		                            "pass --tsa-ca to prove which TSA"));
	} else if (rep->version >= 2 && rep->sealed) {
		printf(
		    _("note: the final checkpoint has no RFC 3161 timestamp (no TSA configured, or "
		      "it was not reachable at sealing); add one with: evalroom-archive timestamp "
		      "%s --tsa URL\n"),
		    file);
	}
}

int cmd_verify(int argc, char **argv)
{
	char *pub = NULL, *roots = NULL, *tsa_ca = NULL, *pub2 = NULL;
	GOptionEntry opts[] = {
	    {"pubkey2", 0, 0, G_OPTION_ARG_FILENAME, &pub2,
	     "the site's second public key (SM2 or Ed25519 PEM), when its checkpoints are signed "
	     "by a second key too; without it the recorded one is used",
	     "sm2-signing.pub"},
	    {"tsa-ca", 0, 0, G_OPTION_ARG_FILENAME, &tsa_ca,
	     "the timestamp authority's CA certificate(s) (PEM): check the RFC 3161 timestamps' "
	     "certificate chain up to it; without it a timestamp is checked against the "
	     "certificate it carries only",
	     "CA.pem"},
	    {"roots", 'r', 0, G_OPTION_ARG_FILENAME, &roots,
	     "the site's root log (roots.log, or a recorded copy): also check that this file is "
	     "not behind, or forked from, any checkpoint published for its tender",
	     "LOG"},
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     "controller's public key (PEM); without it the key recorded in the file is "
	     "used, which proves integrity but not origin",
	     "controller-signing.pub"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_verify_report rep;
	struct archive_pubkey *key = NULL, *key2 = NULL;
	struct archive_reader *r;
	int rc;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Recomputes every record's leaf hash and every segment's SHA-256 from its "
	           "chunks, checks the leaves are complete and in order, recomputes the Merkle "
	           "root of every checkpoint and checks its Ed25519 signature; in format version 2 "
	           "also that "
	           "the checkpoints chain and sign the recorded key and the seal time. Names the "
	           "first "
	           "missing, altered, reordered or unsigned record (table, row, what is wrong)."),
	        opts, 1))
		return EXIT_USAGE;
	if (pub && archive_pubkey_load(pub, &key) != 0) {
		tool_err(_("%s: not a readable Ed25519 public key (PEM)"), pub);
		g_free(pub);
		return EXIT_USAGE;
	}
	if (pub2 && archive_pubkey_load_any(pub2, &key2) != 0) {
		tool_err(_("%s: not a readable SM2 or Ed25519 public key (PEM)"), pub2);
		archive_pubkey_free(key);
		g_free(pub);
		g_free(pub2);
		return EXIT_USAGE;
	}
	r = tool_open(argv[1]);
	if (!r) {
		archive_pubkey_free(key2);
		archive_pubkey_free(key);
		g_free(pub);
		return EXIT_BAD_FILE;
	}
	rc = archive_verify_keys(r, key, key2, &rep);
	if (rc == 0)
		rc = archive_verify_timestamps(r, tsa_ca, &rep);
	if (rc == 0) {
		printf("OK %s: %" G_GUINT64_FORMAT " records (%" G_GUINT64_FORMAT
		       " events, %" G_GUINT64_FORMAT " segments, %" G_GUINT64_FORMAT
		       " gaps), %" G_GUINT64_FORMAT " checkpoints, all records signed; %s\n",
		       argv[1], rep.leaves, rep.events, rep.segments, rep.gaps, rep.checkpoints,
		       rep.sealed ? "sealed" : "NOT sealed (tender still open)");
		if (rep.unsigned_by_design)
			printf(
			    _("note: format version %d: not covered by any signature, by design of "
			      "that version: %s\n"),
			    rep.version, rep.unsigned_by_design);
		if (rep.second_key)
			printf(_("second signatures: every checkpoint is also signed by the %s key "
			         "recorded in the file%s\n"),
			       strcmp(rep.second_key, "sm2-sm3") == 0 ? "SM2 (SM3)" : "Ed25519",
			       key2 ? _(", the one given with --pubkey2") : "");
		print_timestamp(&rep, argv[1]);
		if (rep.key_embedded)
			printf(
			    _("note: signatures checked against the key recorded in the file; pass "
			      "--pubkey controller-signing.pub to prove who signed\n"));
		if (roots)
			rc = check_roots(roots, key, &rep, argv[1]);
	} else {
		printf(_("FAILED %s: %s\n"), argv[1], rep.problem ? rep.problem : "unreadable");
	}
	archive_verify_report_clear(&rep);
	archive_reader_free(r);
	archive_pubkey_free(key);
	archive_pubkey_free(key2);
	g_free(pub);
	g_free(pub2);
	g_free(roots);
	g_free(tsa_ca);
	return rc == 0 ? EXIT_INTACT : rc == -EBADMSG ? EXIT_TAMPERED : EXIT_BAD_FILE;
}
