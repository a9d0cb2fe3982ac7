/* The person's own signature in evalroomctl: the witness log (witness sign) and a handover
 * of a post (staff sign) with the Ed25519 and/or SM2 keys of the identity's signing
 * certificates, an archive transfer's manifest and receipt (archive transfer) with the
 * Ed25519 one (provisioning's clients/NAME.signing.{crt,key}, NAME.sm2-signing.{crt,key}). */
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

/* ctl_sign_any: the signature of the LEN bytes of MSG with the Ed25519 or SM2 private key in
 * PATH (the archive's own signing code, signing.h), as base64 (new), its algorithm's name
 * ("ed25519" or "sm2-sm3", static) in *alg; or NULL with *why (new text). */
char *ctl_sign_any(const char *path, const void *msg, size_t len, const char **alg, char **why);

/* ctl_signing_keys: the signing certificates and keys of this identity, beside its TLS
 * files: NAME.signing.{crt,key} (Ed25519) and NAME.sm2-signing.{crt,key} (SM2), those that
 * exist; when neither does, the TLS pair itself. Fills paths[0..n) of {certificate, key}
 * (g_free each) and returns n (1 or 2). */
size_t ctl_signing_keys(const struct ctl *ctl, char *paths[2][2]);
