/* evalroomctl: the operator's, security desk's and auditor's command-line tool.
 * Each subcommand is a function that turns its argv into one or more requests to the
 * controller (see request.h) and prints the answer: plain sentences and tables by
 * default, the raw result object with --json. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ctl;

/* ctl_request: send COMMAND with ARGS (reference stolen; NULL = {}) and wait for the
 * answer (timeout from --timeout, default 10 s). Returns 0 with *result (a new
 * reference) when ok; otherwise -errno with *err holding the controller's error
 * message (domain REQUEST_ERROR, code = its error code) or the transport fault
 * ("controller unreachable: ..."). */
int ctl_request(struct ctl *ctl, const char *command, json_t *args, json_t **result, GError **err);
/* ctl_set_exact: with EXACT, results come back exactly as sent also without --json (the
 * witness log's bytes are hashed and signed); the caller then makes what it shows safe
 * for the terminal itself (text_safe.h); error messages are made safe as ever. Without
 * (the default), every string of an answer is already in its text_display form unless
 * --json. */
void ctl_set_exact(struct ctl *ctl, bool exact);
/* ctl_timeout_at_least: wait at least S seconds for answers (a command that makes the
 * controller wait, e.g. tender close --wait). */
void ctl_timeout_at_least(struct ctl *ctl, int s);
/* ctl_set_timeout: lower the answer timeout to TIMEOUT_S seconds (a long-lived view
 * must notice an unreachable controller quickly); a shorter --timeout stays. */
void ctl_set_timeout(struct ctl *ctl, int timeout_s);
/* ctl_poll: handle what arrived meanwhile (e.g. the controller's status) without
 * waiting. */
void ctl_poll(struct ctl *ctl);
/* ctl_want_json: the user asked for --json output. */
bool ctl_want_json(const struct ctl *ctl);
/* ctl_cert_path, ctl_key_path: this identity's certificate and private key files (the
 * configuration's [mqtt] cert and key). */
const char *ctl_cert_path(const struct ctl *ctl);
const char *ctl_key_path(const struct ctl *ctl);
/* ctl_ca_path: the site CA certificate file (the configuration's [mqtt] ca). */
const char *ctl_ca_path(const struct ctl *ctl);
/* ctl_time: UTC_US (microseconds) as people read it, in the zone of the client
 * configuration's [display] time_zone ($EVALROOM_TIME_ZONE, default Asia/Shanghai) with
 * the zone shown: "2026-12-07 19:20:05 +08:00" into BUF (at least 40 bytes). --json
 * output keeps the UTC numbers. Returns BUF. */
char *ctl_time(const struct ctl *ctl, int64_t utc_us, char *buf, size_t len);
/* ctl_time_of_day: the same without the date ("19:20:05 +08:00"). */
char *ctl_time_of_day(const struct ctl *ctl, int64_t utc_us, char *buf, size_t len);
/* ctl_parse_time: a time the user typed (--since): ISO 8601 or a date, read in the same
 * zone as ctl_time unless TEXT names its own, into UTC microseconds *US. 0 or -EINVAL. */
int ctl_parse_time(const struct ctl *ctl, const char *text, int64_t *us);
/* ctl_print_json: print OBJ as indented JSON on stdout. */
void ctl_print_json(const json_t *obj);
/* ctl_fail: print "evalroomctl: <what>: <err message>" on stderr (or {"error":..} with
 * --json on stdout) and return the exit code for ERR (1 refused by the controller,
 * 2 usage or local input, 3 controller unreachable). */
int ctl_fail(struct ctl *ctl, const char *what, const GError *err);

/* A subcommand: NAME may have a space ("tender add"); RUN gets argv starting at the
 * subcommand's own arguments (argv[0] is the subcommand name) and returns the exit
 * code. USAGE is one line; HELP is the --help text. */
struct ctl_command {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	bool local; /* runs without connecting (provision) */
};
