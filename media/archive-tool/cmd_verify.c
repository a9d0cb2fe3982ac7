/* evalroom-archive verify: the whole file against its signed checkpoints. */
#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "cert_sig.h"
#include "cosignature.h"
#include "clock.h"
#include "handover_sig.h"
#include "key_history.h"
#include "review.h"
#include "roots_check.h"
#include "text_safe.h"
#include "tool.h"
#include "verify.h"
#include "witness_log.h"

#include <openssl/pem.h>

/* verify --roots: 0 consistent, -EBADMSG with the problem printed, -EIO log unreadable. */
static int check_roots(const char *log, const struct archive_pubkey *key,
                       const struct key_history *history, const struct archive_verify_report *rep,
                       const char *file)
{
	struct roots_check k;
	const char *tender = rep->tender ? rep->tender : "";
	GError *err = NULL;
	int rc = roots_check_archive_history(log, key, history, tender, rep->leaf_hashes, &k, &err);
	if (rc != 0) {
		printf("FAILED %s: %s\n", file, err->message);
		g_error_free(err);
		return rc == -EBADMSG ? -EBADMSG : -EIO;
	}
	if (k.problem) {
		printf("FAILED %s: %s\n", file, k.problem);
		g_free(k.problem);
		return -EBADMSG;
	}
	char published[24], latest[24];
	g_snprintf(published, sizeof(published), "%" G_GUINT64_FORMAT, k.published);
	g_snprintf(latest, sizeof(latest), "%" G_GUINT64_FORMAT, k.latest_size);
	if (k.published == 0)
		printf(_("roots: %s publishes no checkpoint of tender %s (nothing to compare)\n"),
		       log, tender);
	else if (key)
		printf(_("roots: consistent with the %s checkpoints of tender %s published in %s "
		         "(latest size %s)\n"),
		       published, tender, log, latest);
	else
		printf(_("roots: consistent with the %s checkpoints of tender %s published in %s "
		         "(latest size %s); log signatures not checked without --pubkey\n"),
		       published, tender, log, latest);
	return 0;
}

/* What the RFC 3161 timestamps say, or that the final checkpoint has none. */
static void print_timestamp(const struct archive_verify_report *rep, const char *file)
{
	char when[64];

	if (rep->final_tsa) {
		tool_time(when, sizeof(when), rep->final_time_us);
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

/* The three-party witness log's signatures (the archive's signed appendix, witness_log.h):
 * "witness log signed by N of 3", each missing party and each invalid signature named.
 * Nothing is printed for an archive without a witness log (closed before this existed). */
/* The witness log's parties as a person reads them, in the order of witness_party_name
 * (witness, supervisor, rep). The log itself carries its own bilingual labels
 * (witness_party_label); this is the reader's language. */
static const char *const party_names[WITNESS_LOG_PARTIES] = {
    N_("witness"), N_("supervisor (the regulator's representative)"),
    N_("tenderer's representative")};

static void check_witness_log(struct archive_reader *r, X509 *ca)
{
	int signed_by[WITNESS_LOG_PARTIES];
	char *invalid = NULL;
	int n = witness_log_verify(archive_reader_db(r), ca, signed_by, &invalid, NULL);
	if (n < 0)
		return;
	printf(_("witness log signed by %d of %d\n"), n, WITNESS_LOG_PARTIES);
	for (size_t i = 0; i < WITNESS_LOG_PARTIES; i++)
		if (!signed_by[i])
			printf(_("  missing: %s (%s-*)\n"), _(party_names[i]),
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

/* The handovers of a post (staff.handover events, handover_sig.h): one line each naming
 * both people's signatures, or what is missing or invalid. Nothing for an archive without
 * a signed handover. */
static void check_handovers(struct archive_reader *r, X509 *ca)
{
	sqlite3_stmt *st = NULL;
	int shown = 0;
	if (sqlite3_prepare_v2(archive_reader_db(r),
	                       "SELECT body FROM events WHERE kind = 'staff.handover' ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *body = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		char *report = NULL;
		int rc = body ? handover_event_verify(body, ca, &report) : -ENOENT;
		json_decref(body);
		if (rc == -ENOENT)
			continue;
		char *safe = text_display(report);
		printf("%s\n", safe);
		g_free(safe);
		g_free(report);
		shown++;
	}
	sqlite3_finalize(st);
	if (shown && !ca)
		printf(_("  note: the handover signers' certificates not checked against the site "
		         "CA; pass --ca ca.crt\n"));
}

/* The reviews of the tender's recordings (the appendix table reviews, review.h): one line
 * each, signed by the archive key or INVALID. */
static void check_reviews(struct archive_reader *r, const struct archive_pubkey *key,
                          const struct key_history *history)
{
	char *report = NULL;
	int bad = 0;
	if (review_verify(archive_reader_db(r), key, history, &report, &bad) > 0) {
		char **lines = g_strsplit(report, "\n", -1);
		for (char **l = lines; *l; l++) {
			if (!**l)
				continue;
			char *safe = text_display(*l);
			printf("%s\n", safe);
			g_free(safe);
		}
		g_strfreev(lines);
	}
	g_free(report);
}

/* The cosignatures (cosignature.h) against the trust policy in POLICY_PATH (NULL: listed,
 * not checked), MIN of its cosigners required on the final checkpoint: 0, -EBADMSG with
 * *problem (new), -EIO. Prints nothing; *lines (new) is what to show after the OK line. */
static int check_cosignatures(struct archive_reader *r, const struct cosig_policy *policy, int min,
                              char **lines, char **problem)
{
	struct cosig_report rep;
	int rc = cosig_verify(archive_reader_db(r), policy, (unsigned)min, &rep);
	GString *out = g_string_new(NULL);
	if (rep.rows || policy) {
		char n[24], size[24];
		g_snprintf(n, sizeof(n), "%" G_GUINT64_FORMAT, rep.rows);
		g_snprintf(size, sizeof(size), "%" G_GUINT64_FORMAT, rep.final_size);
		if (policy)
			g_string_append_printf(
			    out,
			    _("cosignatures: %s stored; the final checkpoint (size "
			      "%s) is cosigned by %u of the policy's %zu cosigners "
			      "(%d required)\n"),
			    n, size, rep.final_valid, cosig_policy_size(policy), min);
		else
			g_string_append_printf(
			    out,
			    _("cosignatures: %s stored, not checked: pass --cosigners "
			      "FILE (their verifier keys) to check them\n"),
			    n);
		char **l = g_strsplit(rep.lines ? rep.lines : "", "\n", -1);
		for (char **x = l; *x; x++)
			if (**x)
				g_string_append_printf(out, "  %s\n", *x);
		g_strfreev(l);
		if (policy && rep.missing)
			g_string_append_printf(out, _("  missing on the final checkpoint: %s\n"),
			                       rep.missing);
	}
	*lines = g_string_free(out, FALSE);
	*problem = rep.problem ? g_strdup(rep.problem) : NULL;
	cosig_report_clear(&rep);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	char *pub = NULL, *roots = NULL, *tsa_ca = NULL, *pub2 = NULL, *ca = NULL, *hist = NULL;
	char *cosigners = NULL, *cosig_lines = NULL, *cosig_problem = NULL;
	int min_cosigners = -1;
	struct cosig_policy *policy = NULL;
	struct key_history *history = NULL;
	GOptionEntry opts[] = {
	    {"key-history", 0, 0, G_OPTION_ARG_FILENAME, &hist,
	     N_("the controller's key history (key-history.log, or a copy): check every "
	        "checkpoint against it, rotations and revocations made after the archive was "
	        "sealed included; without it the history the archive holds is used"),
	     "key-history.log"},
	    {"cosigners", 0, 0, G_OPTION_ARG_FILENAME, &cosigners,
	     N_("the trust policy: the cosigners' verifier keys (C2SP vkeys, one per line, as "
	        "evalroomctl archive cosigner-vkey prints them); each cosignature is reported as "
	        "valid, unknown key or BAD SIGNATURE"),
	     "FILE"},
	    {"min-cosigners", 0, 0, G_OPTION_ARG_INT, &min_cosigners,
	     N_("how many of the policy's cosigners must have cosigned the final checkpoint "
	        "(default: all of them)"),
	     "N"},
	    {"pubkey2", 0, 0, G_OPTION_ARG_FILENAME, &pub2,
	     N_("the site's second public key (SM2 or Ed25519 PEM), when its checkpoints are "
	        "signed by a second key too; without it the recorded one is used"),
	     "sm2-signing.pub"},
	    {"tsa-ca", 0, 0, G_OPTION_ARG_FILENAME, &tsa_ca,
	     N_("the timestamp authority's CA certificate(s) (PEM): check the RFC 3161 "
	        "timestamps' certificate chain up to it; without it a timestamp is checked "
	        "against the certificate it carries only"),
	     "CA.pem"},
	    {"roots", 'r', 0, G_OPTION_ARG_FILENAME, &roots,
	     N_("the site's root log (roots.log, or a recorded copy): also check that this file is "
	        "not behind, or forked from, any checkpoint published for its tender"),
	     "LOG"},
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     N_("controller's public key (PEM); without it the key recorded in the file is "
	        "used, which proves integrity but not origin"),
	     "controller-signing.pub"},
	    {"ca", 0, 0, G_OPTION_ARG_FILENAME, &ca,
	     N_("the site CA certificate (ca.crt): the certificates of the witness log's and the "
	        "handovers' signers must be its"),
	     "ca.crt"},
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
	if (min_cosigners >= 0 && !cosigners) {
		tool_err(_("--min-cosigners needs --cosigners FILE"));
		archive_pubkey_free(key2);
		archive_pubkey_free(key);
		return EXIT_USAGE;
	}
	if (cosigners) {
		char *why = NULL;
		if (cosig_policy_load(cosigners, &policy, &why) != 0) {
			tool_err("%s", why);
			g_free(why);
			archive_pubkey_free(key2);
			archive_pubkey_free(key);
			return EXIT_USAGE;
		}
		if (min_cosigners < 0)
			min_cosigners = (int)cosig_policy_size(policy);
		if ((size_t)min_cosigners > cosig_policy_size(policy)) {
			tool_err(_("--min-cosigners %d: the policy names only %zu cosigners"),
			         min_cosigners, cosig_policy_size(policy));
			cosig_policy_free(policy);
			archive_pubkey_free(key2);
			archive_pubkey_free(key);
			return EXIT_USAGE;
		}
	}
	if (hist) {
		GError *herr = NULL;

		if (key_history_load(hist, &history, &herr) != 0) {
			printf(_("FAILED %s: %s\n"), argv[1], herr->message);
			g_error_free(herr);
			cosig_policy_free(policy);
			archive_pubkey_free(key);
			archive_pubkey_free(key2);
			g_free(hist);
			return EXIT_TAMPERED;
		}
	}
	r = tool_open(argv[1]);
	if (!r) {
		cosig_policy_free(policy);
		key_history_free(history);
		archive_pubkey_free(key2);
		archive_pubkey_free(key);
		g_free(pub);
		return EXIT_BAD_FILE;
	}
	rc = archive_verify_history(r, key, key2, history, &rep);
	if (rc == 0)
		rc = archive_verify_timestamps(r, tsa_ca, &rep);
	if (rc == 0) {
		rc = check_cosignatures(r, policy, min_cosigners, &cosig_lines, &cosig_problem);
		if (rc != 0) {
			g_free(rep.problem);
			rep.problem =
			    g_strdup(cosig_problem ? cosig_problem : "cosignatures unreadable");
		}
	}
	if (rc == 0) {
		char n[5][24];
		const uint64_t v[5] = {rep.leaves, rep.events, rep.segments, rep.gaps,
		                       rep.checkpoints};
		for (int i = 0; i < 5; i++)
			g_snprintf(n[i], sizeof(n[i]), "%" G_GUINT64_FORMAT, v[i]);
		/* The verdict keyword stays OK in every language; the sentence is translated. */
		printf("OK %s: ", argv[1]);
		printf(
		    _("%s records (%s events, %s segments, %s gaps), %s checkpoints, all records "
		      "signed; %s\n"),
		    n[0], n[1], n[2], n[3], n[4],
		    rep.sealed ? _("sealed") : _("NOT sealed (tender still open)"));
		if (rep.unsigned_by_design)
			printf(
			    _("note: format version %d: not covered by any signature, by design of "
			      "that version: %s\n"),
			    rep.version, rep.unsigned_by_design);
		if (rep.second_key && rep.key2_signers)
			printf(_("second signatures: every checkpoint is also signed by the %s key "
			         "the key history has in use at its time%s\n"),
			       strcmp(rep.second_key, "sm2-sm3") == 0 ? "SM2 (SM3)" : "Ed25519",
			       key2 ? _(", --pubkey2 one of them") : "");
		else if (rep.second_key)
			printf(_("second signatures: every checkpoint is also signed by the %s key "
			         "recorded in the file%s\n"),
			       strcmp(rep.second_key, "sm2-sm3") == 0 ? "SM2 (SM3)" : "Ed25519",
			       key2 ? _(", the one given with --pubkey2") : "");
		if (rep.key_signers || rep.key2_signers)
			printf(_("keys: %u rotation(s), %u revocation(s) in the key history; "
			         "signed by "
			         "%s\n"),
			       rep.key_rotations, rep.key_revocations,
			       rep.key_signers ? rep.key_signers : _("the key recorded in the file"));
		if (rep.key2_signers)
			printf(_("second keys: signed by %s\n"), rep.key2_signers);
		print_timestamp(&rep, argv[1]);
		if (rep.key_embedded)
			printf(
			    _("note: signatures checked against the key recorded in the file; pass "
			      "--pubkey controller-signing.pub to prove who signed\n"));
		fputs(cosig_lines, stdout);
		X509 *site_ca = NULL;
		if (ca) {
			site_ca = cert_read_file(ca);
			if (!site_ca)
				tool_err(_("%s: not a readable PEM certificate; signers' "
				           "certificates not "
				           "checked against a site CA"),
				         ca);
		}
		check_witness_log(r, site_ca);
		check_handovers(r, site_ca);
		X509_free(site_ca);
		check_reviews(r, key, history);
		if (roots)
			rc = check_roots(roots, key, history, &rep, argv[1]);
	} else {
		printf(_("FAILED %s: %s\n"), argv[1], rep.problem ? rep.problem : "unreadable");
		if (cosig_lines)
			fputs(cosig_lines, stdout);
	}
	cosig_policy_free(policy);
	g_free(cosigners);
	g_free(cosig_lines);
	g_free(cosig_problem);
	archive_verify_report_clear(&rep);
	archive_reader_free(r);
	archive_pubkey_free(key);
	archive_pubkey_free(key2);
	key_history_free(history);
	g_free(hist);
	g_free(pub);
	g_free(pub2);
	g_free(roots);
	g_free(tsa_ca);
	g_free(ca);
	return rc == 0 ? EXIT_INTACT : rc == -EBADMSG ? EXIT_TAMPERED : EXIT_BAD_FILE;
}
