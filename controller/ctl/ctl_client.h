/* evalroomctl's connection to the controller (see ctl.h for the subcommand side). */
#pragma once
#include "ctl.h"

struct ctl_options {
	const char *config; /* NULL: $EVALROOM_CTL_CONFIG, ~/.config/evalroom/ctl.conf,
	                       /etc/evalroom/ctl.conf */
	bool json;
	int timeout_s;
};

/* ctl_new: read the configuration (but do not connect yet). NULL with *err on failure. */
struct ctl *ctl_new(const struct ctl_options *opt, GError **err);
void ctl_free(struct ctl *ctl);
/* ctl_identity: the certificate's CN, e.g. "operator-alice". */
const char *ctl_identity(const struct ctl *ctl);
