/* The person's own signature in evalroomctl: the witness log (witness sign) and an archive
 * transfer's manifest and receipt (archive transfer) are signed with the Ed25519 key of the
 * identity's signing certificate (provisioning's clients/NAME.signing.crt and .key). */
#pragma once
#include <stddef.h>

#include "ctl.h"

/* ctl_sign_with: the Ed25519 signature of the LEN bytes of MSG with the private key in
 * PATH, as base64 (new), or NULL with *why (new text). */
char *ctl_sign_with(const char *path, const void *msg, size_t len, char **why);

/* ctl_signing_paths: this identity's signing certificate and key: NAME.signing.crt and
 * NAME.signing.key beside its TLS files when they exist, else the TLS files themselves
 * (both new). */
void ctl_signing_paths(const struct ctl *ctl, char **cert_path, char **key_path);
