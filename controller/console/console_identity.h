/* Who is asking: the identity of a web console request, from the client certificate the
 * TLS handshake verified against the site CA. */
#pragma once
#include <gio/gio.h>
#include <stdbool.h>

#include "request.h"

#define CONSOLE_IDENTITY_MAX 64

/* console_identity_of: the CN of PEER (a certificate the handshake accepted, ERRORS its
 * verification flags) into ID (CONSOLE_IDENTITY_MAX bytes) and its role into *ROLE.
 * Returns 0, or -EACCES when there is no certificate, it did not verify, it has no CN
 * or one CN that is not a plain identifier. A CN whose prefix names no role gives 0
 * with ROLE_NONE (a device's certificate: the caller refuses it). */
int console_identity_of(GTlsCertificate *peer, GTlsCertificateFlags errors, char *id,
                        enum role *role);

/* console_role_name: "operator", "desk", "auditor", "witness" or "none". */
const char *console_role_name(enum role role);
