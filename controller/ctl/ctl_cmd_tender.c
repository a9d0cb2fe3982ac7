/* evalroomctl tender close TENDER [--wait S], archives, and keys list. */
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_table.h"
#include "ctl_words.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* The answer of a close whose seal waits for a secondary venue's rooms. */
static void print_waiting(const json_t *res)
{
	const char *tender = str(res, "tender");
	printf(_("Tender %s is NOT sealed yet: its seal waits for a secondary venue.\n"), tender);
	size_t i, j;
	json_t *v, *r;
	json_array_foreach(json_object_get(res, "waiting_for"), i, v)
	{
		if (strcmp(str(v, "link"), "down") == 0)
			printf(_("venue %s: link DOWN for %lld s\n"), str(v, "venue"),
			       num(v, "down_for_s"));
		else if (strcmp(str(v, "link"), "unknown") == 0)
			printf(_("venue %s: its link state has not been heard of since the controller "
			         "started\n"),
			       str(v, "venue"));
		else
			printf(_("venue %s: link up, its rooms have not flushed yet\n"),
			       str(v, "venue"));
		json_array_foreach(json_object_get(v, "rooms"), j, r)
		    printf(_("  room %-8s %lld segments in its spool when last heard of: %s\n"),
		           str(r, "room"), num(r, "segments"), str(r, "why"));
	}
	printf(_("It seals by itself once these rooms have confirmed their flush (evalroomctl\n"
	         "rooms shows the venue's link and backlog). To seal without them (the 4-hour\n"
	         "fault rule): evalroomctl tender close %s --seal-anyway --reason TEXT\n"),
	       tender);
}

static void print_close(const json_t *res)
{
	if (strcmp(str(res, "state"), "waiting") == 0) {
		print_waiting(res);
		return;
	}
	const json_t *unconf = json_object_get(res, "rooms_unconfirmed");
	printf(_("Tender %s sealed.\n"), str(res, "tender"));
	printf(_("archive    %s\n"), str(res, "path"));
	printf(_("tree size  %lld\n"), num(res, "tree_size"));
	printf(_("root       %s\n"), str(res, "root"));
	printf(_("segments   %lld arrived while waiting %.1f s for the agents\n"),
	       num(res, "segments_received"), (double)num(res, "waited_ms") / 1000.0);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(res, "rooms_confirmed"), i, v)
	    printf(_("room %-8s flushed\n"), json_string_value(v));
	json_array_foreach(unconf, i, v)
	    printf(_("room %-8s DID NOT CONFIRM: %s\n"), str(v, "room"),
	           ctl_state_word("unconfirmed room", str(v, "why")));
	const json_t *anyway = json_object_get(res, "sealed_anyway");
	if (!anyway)
		return;
	printf(_("SEALED ANYWAY by %s: %s\n"), str(anyway, "by"), str(anyway, "reason"));
	json_array_foreach(json_object_get(anyway, "missing"), i, v)
	{
		size_t j, k;
		json_t *r, *st;
		json_array_foreach(json_object_get(v, "rooms"), j, r)
		{
			printf(_("missing: venue %s room %s (%lld segments in its spool when last "
			         "heard of)\n"),
			       str(v, "venue"), str(r, "room"), num(r, "segments"));
			json_array_foreach(json_object_get(r, "streams"), k, st)
			    printf(_("  stream %s: what follows segment %lld up to the close\n"),
			           str(st, "stream"), num(st, "last_seq"));
		}
	}
}

static int cmd_tender_close(struct ctl *ctl, int argc, char **argv)
{
	int wait_s = 30;
	gboolean anyway = FALSE;
	char *reason = NULL;
	const GOptionEntry entries[] = {
	    {"wait", 0, 0, G_OPTION_ARG_INT, &wait_s,
	     "seconds to wait for the agents to flush (0..600, default 30)", "S"},
	    {"seal-anyway", 0, 0, G_OPTION_ARG_NONE, &anyway,
	     "seal without what a cut-off venue's rooms still hold (needs --reason)", NULL},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason,
	     "why the tender is sealed anyway (one line, recorded in the archive)", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "tender close";
	json_t *res;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (rc)
		return rc;
	if (wait_s < 0 || wait_s > 600) {
		g_free(reason);
		return ctl_ops_local_fail(ctl, what, _("--wait must be 0..600 seconds"));
	}
	if (anyway != (reason != NULL)) {
		g_free(reason);
		return ctl_ops_local_fail(ctl, what,
		                          _("--seal-anyway and --reason go together: say why the "
		                            "tender is sealed without what a venue still holds"));
	}
	/* the flush wait, up to 10 s more for a reader of the open archive, and a margin */
	ctl_timeout_at_least(ctl, wait_s + 30);
	json_t *args = json_pack("{s:s, s:i}", "tender", argv[1], "wait_s", wait_s);
	if (anyway) {
		json_object_set_new(args, "seal_anyway", json_true());
		json_object_set_new(args, "reason", json_string(reason));
	}
	g_free(reason);
	rc = ctl_ops_call(ctl, what, "tender.close", args, &res);
	if (rc)
		return rc;
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print_close(res);
	json_decref(res);
	return 0;
}

static int cmd_archives(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	json_t *res;
	int rc = ctl_ops_parse(ctl, "archives", entries, &argc, &argv, 0);
	if (!rc)
		rc = ctl_ops_call(ctl, "archives", "archives.list", json_object(), &res);
	if (rc)
		return rc;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		size_t i;
		json_t *v;
		const char *head[] = {_("ARCHIVE"), _("STATE"), _("BYTES"), _("COPIES"), _("HOLDS"),
		                      _("PATH")};
		struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
		ctl_table_align_right(tab, 2);
		json_array_foreach(json_object_get(res, "archives"), i, v)
		{
			char bytes[24], copies[24] = "-", holds[24];
			g_snprintf(bytes, sizeof(bytes), "%lld", num(v, "bytes"));
			if (json_object_get(v, "copies_wanted"))
				g_snprintf(copies, sizeof(copies), "%lld/%lld", num(v, "copies"),
				           num(v, "copies_wanted"));
			g_snprintf(holds, sizeof(holds), "%lld", num(v, "holds"));
			const char *row[] = {str(v, "name"),
			                     ctl_state_word("archive state", str(v, "state")),
			                     bytes,
			                     copies,
			                     holds,
			                     str(v, "path")};
			ctl_table_add(tab, row);
		}
		ctl_table_print(tab, stdout);
		ctl_table_free(tab);
	}
	json_decref(res);
	return 0;
}

/* A time of the key history, or "-" (the first key has no start, the current no end). */
static const char *key_time(struct ctl *ctl, const json_t *k, const char *field, char *buf,
                            size_t len)
{
	json_t *v = json_object_get(k, field);
	if (!json_is_integer(v))
		return "-";
	return ctl_time(ctl, (int64_t)json_integer_value(v), buf, len);
}

static int cmd_keys_list(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	json_t *res;
	int rc = ctl_ops_parse(ctl, "keys list", entries, &argc, &argv, 0);
	if (!rc)
		rc = ctl_ops_call(ctl, "keys list", "keys.list", json_object(), &res);
	if (rc)
		return rc;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
		json_decref(res);
		return 0;
	}
	const char *head[] = {_("KEY ID"), _("ALGORITHM"), _("FROM"), _("TO"), _("STATE")};
	struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(res, "keys"), i, k)
	{
		char from[48], to[48], state[160];
		const char *st = str(k, "state");
		if (strcmp(st, "revoked") == 0) {
			char when[48];
			g_snprintf(state, sizeof(state), _("revoked from %s"),
			           key_time(ctl, k, "revoked_from_us", when, sizeof(when)));
		} else {
			g_strlcpy(state, strcmp(st, "current") == 0 ? _("current") : _("retired"),
			          sizeof(state));
		}
		const char *row[] = {str(k, "id"), str(k, "algorithm"),
		                     key_time(ctl, k, "from_us", from, sizeof(from)),
		                     key_time(ctl, k, "to_us", to, sizeof(to)), state};
		ctl_table_add(tab, row);
	}
	ctl_table_print(tab, stdout);
	ctl_table_free(tab);
	json_decref(res);
	return 0;
}

const struct ctl_command tender_ctl_commands[] = {
    {"tender close", "tender close TENDER [--wait S] [--seal-anyway --reason TEXT]",
     N_("Close a tender: ask the agents of its rooms to flush what they recorded before now,\n"
        "wait for them (at most S seconds, default 30), then write the final signed\n"
        "checkpoint and seal the archive read-only (waiting up to 10 s more if someone is\n"
        "reading the open archive file). Prints the archive's path, its final tree\n"
        "size and root, how many segments arrived and which rooms did not confirm.\n"
        "If rooms of a secondary venue have not confirmed (its link is down, or what they\n"
        "hold has not drained), the tender is not sealed: it waits, the command says for\n"
        "which venue, rooms and segments, and it seals by itself once they have flushed\n"
        "(`evalroomctl rooms` shows it). --seal-anyway --reason TEXT seals it at once\n"
        "without them; the archive records the reason, who and what is missing."),
     cmd_tender_close, false},
    {"archives", "archives",
     N_("List the archive files on the controller: tenders' (open, sealed) and the site's\n"
        "retention archives (site-YYYY-MM-DD: recordings that belong to no tender), with\n"
        "each sealed archive's verified copies in the backup stores (COPIES, verified of\n"
        "wanted) and its active evidence holds."),
     cmd_archives, false},
    {"keys list", "keys list",
     N_("List the controller's archive signing keys, from its key history: each key's id (the\n"
        "checkpoints' key line), algorithm, when it was introduced (FROM) and replaced (TO),\n"
        "and whether it is current, retired or revoked (from when); the second keys (SM2)\n"
        "after the checkpoint key. Keys are rotated and revoked on the controller's host\n"
        "with the controller stopped: evalroom-controller --rotate-key (--rotate-key2 for\n"
        "the second key) --reason TEXT, or --revoke-key KEY-ID --from TIME --reason TEXT\n"
        "(docs/archives.md)."),
     cmd_keys_list, false},
    {NULL, NULL, NULL, NULL, false},
};
