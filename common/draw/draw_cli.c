/* The auditor command verify-draw (wired into evalroom-archive by the lead). */
#include "draw_cli.h"
#include "draw.h"
#include "text_safe.h"
#include "staff_draw.h"
#include "venue_draw.h"

#include <errno.h>
#include <stdio.h>

int draw_cli_verify_draw(int argc, char **argv)
{
	json_error_t jerr;
	GString *report;
	json_t *record;
	int rc, code;

	if (argc != 2) {
		fprintf(stderr, "usage: %s RECORD.json\n", argc > 0 ? argv[0] : "verify-draw");
		return 2;
	}
	/* duplicate keys could show one value to us and another to a different parser */
	record = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (!record) {
		char *text = text_display(jerr.text); /* the file's own bytes, quoted */
		if (jerr.line > 0)
			fprintf(stderr, "verify-draw %s: UNREADABLE: %s (line %d, column %d)\n",
			        argv[1], text, jerr.line, jerr.column);
		else
			fprintf(stderr, "verify-draw %s: UNREADABLE: %s\n", argv[1], text);
		g_free(text);
		return 2;
	}
	report = g_string_new(NULL);
	/* a staff draw record (docs/staff.md) and a venue draw record (docs/draw.md section
	 * 12) re-run by their own rules */
	rc = staff_record_is(record)   ? staff_record_verify(record, report)
	     : venue_record_is(record) ? venue_record_verify(record, report)
	                               : draw_record_verify(record, report);
	if (rc == 0) {
		printf("verify-draw %s: VERIFIED: %s\n", argv[1], report->str);
		code = 0;
	} else if (rc == -EINVAL) {
		printf("verify-draw %s: MISMATCH: %s\n", argv[1], report->str);
		code = 1;
	} else {
		fprintf(stderr, "verify-draw %s: UNREADABLE: %s\n", argv[1], report->str);
		code = 2;
	}
	g_string_free(report, TRUE);
	json_decref(record);
	return code;
}
