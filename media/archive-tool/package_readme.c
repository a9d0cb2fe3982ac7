/* README.txt of an evidence package (package.h): what each file is, and the bash lines
 * (sha256sum, openssl) that check it without our tool; tests/integration/test_package.py
 * runs them. */
#include <string.h>

#include "package.h"

static const char readme_head[] =
    "Evidence package of tender @TENDER@, @FROM@ .. @TO@ (UTC)\n"
    "=========================================================================\n"
    "Made by `evalroom-archive package` from the tender archive @ARCHIVE@.\n"
    "\n"
    "What is in this folder\n"
    "----------------------\n"
    "- index.html: open it in a browser (no server, no internet needed): the streams side by\n"
    "  side, in sync, with the timeline; click a line of the timeline to see that moment in\n"
    "  every stream.\n"
    "- clips/NAME.mp4: each stream with its audio, remuxed to MP4 without re-encoding: a\n"
    "  viewing copy made of the recorded segments below.\n"
    "- segments/NAME/SEQ.ts: the recorded segments (MPEG-TS), byte for byte as in the\n"
    "  archive: the evidence. `cat segments/NAME/*.ts > NAME.ts` is the original recording of\n"
    "  the span, playable in VLC or mpv.\n"
    "- proofs/NAME/SEQ.json: each segment's RFC 6962 inclusion proof in a signed checkpoint\n"
    "  (`evalroom-archive verify-proof` reads it); SEQ.leaf the exact record of the segment in\n"
    "  the archive's Merkle tree (stream, sequence number, start, end, size, SHA-256);\n"
    "  SEQ.path the proof for a shell: \"LEAF TREE_SIZE CHECKPOINT\", then the audit path, one\n"
    "  hash a line.\n"
    "- checkpoints/ROW.txt: the signed checkpoints (C2SP tlog-checkpoint: origin, tree size,\n"
    "  base64 root, then time, prev, key lines), from the earliest one a proof uses to the\n"
    "  archive's last, each naming the SHA-256 of the one before (prev); ROW.sig its Ed25519\n"
    "  signature, ROW.sig2 its SM2 (SM3) signature when the site signs with a second key,\n"
    "  ROW.note the C2SP signed note, ROW.tst an RFC 3161 timestamp token when one was taken.\n"
    "- keys/: the public keys the archive records (signing.pub, signing2.pub, signing.vkey);\n"
    "  compare them with the keys you got from the site. key-history.log, when the site's\n"
    "  keys were rotated or revoked: the archive's key history (one entry a line: the entry,\n"
    "  its signature and its second signature, each base64), each entry signed by the keys it\n"
    "  concerns; every checkpoint is then signed by the key its key line names, which must be\n"
    "  in use and not revoked at its time line (verify-package checks this; pass the site's\n"
    "  current key-history.log with --key-history to see revocations made later).\n"
    "- timeline.txt, timeline.json: events (door, seats, alerts, witness notes, ...),\n"
    "  recorded spans and gaps in the span.\n"
    "- package.json, package.js: what the package holds (package.js: the same, for\n"
    "  index.html).\n"
    "- manifest.sha256: the SHA-256 of every other file.\n"
    "\n"
    "Streams: @STREAMS@\n"
    "\n"
    "Checking it with evalroom-archive\n"
    "---------------------------------\n"
    "  evalroom-archive verify-package THIS_FOLDER --pubkey controller-signing.pub\n"
    "  (add --pubkey2 sm2-signing.pub for the SM2 signatures, --tsa-ca tsa-ca.pem for the\n"
    "  timestamps)\n"
    "\n"
    "Checking it without evalroom-archive (bash, sha256sum, openssl)\n"
    "-------------------------------------------------------------------\n"
    "Run the lines indented by four spaces below in a bash shell in this folder. Get the "
    "controller's public\n"
    "key from the site (not from this package) and say where it is:\n"
    "\n"
    "    PUB=../controller-signing.pub\n"
    "\n"
    "1. Every file is as it was packaged (prints nothing else when all match):\n"
    "\n"
    "    sha256sum -c --quiet manifest.sha256 && echo \"OK: every file matches manifest.sha256\"\n"
    "\n"
    "2. Every checkpoint is signed by the controller's Ed25519 key:\n"
    "\n"
    "    for c in checkpoints/*.txt; do openssl pkeyutl -verify -pubin -inkey \"$PUB\" -rawin -in "
    "\"$c\" -sigfile \"${c%.txt}.sig\" >/dev/null && echo \"OK $c: Ed25519 signature\" || echo "
    "\"FAILED $c: Ed25519 signature\"; done\n"
    "\n"
    "   (After a key rotation, keys/key-history.log: the checkpoints before the rotation\n"
    "   verify with the old key, those after it with the new one; the key line of each names\n"
    "   its key: the SHA-256 of the last 32 bytes of `openssl pkey -pubin -in KEY.pub\n"
    "   -outform DER`.)\n"
    "\n";

static const char readme_sm2[] =
    "   and by the site's SM2 key (SM3, identifier 1234567812345678; the site's SM2 public\n"
    "   key, or keys/signing2.pub, the one the archive records):\n"
    "\n"
    "    PUB2=keys/signing2.pub\n"
    "    for c in checkpoints/*.sig2; do openssl pkeyutl -verify -pubin -inkey \"$PUB2\" -rawin "
    "-digest sm3 -pkeyopt distid:1234567812345678 -in \"${c%.sig2}.txt\" -sigfile \"$c\" "
    ">/dev/null && echo \"OK $c: SM2 signature\" || echo \"FAILED $c: SM2 signature\"; done\n"
    "\n";

static const char readme_chain[] =
    "3. The checkpoints form one chain: each one's prev line is the SHA-256 of the one before,\n"
    "   so the earliest (which the proofs use) and the last (sealed, timestamped) are one record:\n"
    "\n"
    "    prev=; for c in checkpoints/*.txt; do [ -n \"$prev\" ] && { [ \"$(grep '^prev ' \"$c\" | "
    "cut -d' ' -f2)\" = \"$(sha256sum < \"$prev\" | cut -c1-64)\" ] && echo \"OK $c follows "
    "$prev\" || echo \"FAILED $c: prev is not the SHA-256 of $prev\"; }; prev=$c; done\n"
    "\n";

static const char readme_tsa[] =
    "4. The RFC 3161 timestamps (the time a timestamp authority vouches for, not the site's\n"
    "   clock); TSA_CA is the timestamp authority's CA certificate:\n"
    "\n"
    "    TSA_CA=../tsa-ca.pem\n"
    "    for t in checkpoints/*.tst; do openssl ts -verify -data \"${t%.tst}.txt\" -in \"$t\" "
    "-token_in -CAfile \"$TSA_CA\" >/dev/null && echo \"OK $t: RFC 3161 timestamp\" || echo "
    "\"FAILED $t: RFC 3161 timestamp\"; done\n"
    "    for t in checkpoints/*.tst; do openssl ts -reply -in \"$t\" -token_in -text | grep -E "
    "'^(Time stamp|TSA):'; done\n"
    "\n";

static const char readme_no_tsa[] =
    "4. No checkpoint in this package carries an RFC 3161 timestamp token (the archive has\n"
    "   none for them; `evalroom-archive timestamp` adds one to the archive later).\n"
    "\n";

static const char readme_tail[] =
    "5. Each segment is the one recorded in the archive: its SHA-256 is the one in its leaf,\n"
    "   and its leaf is in the tree whose root a checkpoint signs (RFC 6962 / RFC 9162 2.1.3.2:\n"
    "   leaf hash = SHA-256(0x00 || leaf), node = SHA-256(0x01 || left || right)):\n"
    "\n"
    "    h() { local x=$1 o=; while [ -n \"$x\" ]; do o+=\"\\\\x${x:0:2}\"; x=${x:2}; done; printf "
    "\"$o\"; }\n"
    "    node() { local d; d=$({ printf '\\x01'; h \"$1\"; h \"$2\"; } | openssl dgst -sha256 -r); "
    "echo \"${d:0:64}\"; }\n"
    "    check() {\n"
    "      read -r fn size cp < \"$1.path\"; sn=$((size - 1))\n"
    "      r=$({ printf '\\x00'; cat \"$1.leaf\"; } | openssl dgst -sha256 -r | cut -c1-64)\n"
    "      for p in $(tail -n +2 \"$1.path\"); do\n"
    "        if [ \"$sn\" -eq 0 ]; then r=; break; fi\n"
    "        if [ $((fn & 1)) -eq 1 ] || [ \"$fn\" -eq \"$sn\" ]; then\n"
    "          r=$(node \"$p\" \"$r\")\n"
    "          while [ $((fn & 1)) -eq 0 ] && [ \"$fn\" -ne 0 ]; do fn=$((fn >> 1)); sn=$((sn >> "
    "1)); done\n"
    "        else\n"
    "          r=$(node \"$r\" \"$p\")\n"
    "        fi\n"
    "        fn=$((fn >> 1)); sn=$((sn >> 1))\n"
    "      done\n"
    "      root=$(sed -n 3p \"checkpoints/$cp.txt\" | openssl base64 -d | od -An -tx1 | tr -d ' "
    "\\n')\n"
    "      seg=$(sha256sum < \"segments/${1#proofs/}.ts\" | cut -c1-64)\n"
    "      if [ \"$sn\" -eq 0 ] && [ \"$r\" = \"$root\" ] && grep -qx \"sha256 $seg\" \"$1.leaf\"; "
    "then\n"
    "        echo \"OK $1: the segment is leaf $(head -n 1 \"$1.path\" | cut -d' ' -f1) of "
    "checkpoints/$cp.txt\"\n"
    "      else\n"
    "        echo \"FAILED $1: the segment or its proof does not lead to the signed root\"\n"
    "      fi\n"
    "    }\n"
    "    for f in proofs/*/*.path; do check \"${f%.path}\"; done\n"
    "\n"
    "What the checks prove: the segments are byte for byte what the controller recorded and\n"
    "signed at the times the checkpoints state, and nothing in the chain from them to the\n"
    "archive's last checkpoint was changed. The clips are remuxed from those segments (the\n"
    "same video and audio, another container), so their bytes differ from the segments; the\n"
    "manifest ties them to this package. A clip in H.265 does not play in Chromium-based\n"
    "browsers: open it, or the segments, in VLC or mpv.\n"
    "\n"
    "What each file is covered by\n"
    "----------------------------\n"
    "- segments/: by the SHA-256 in each segment's leaf, which its proof leads to a signed\n"
    "  checkpoint (5.); proofs/ prove themselves (a changed proof leads nowhere).\n"
    "- checkpoints/: by the controller's signatures (2.), the prev chain (3.) and the\n"
    "  timestamps (4.); ROW.note holds the same body and signature, and the signature lines\n"
    "  of any cosigners (c2sp.org/tlog-cosignature), checked with their keys, not here.\n"
    "- keys/: by the key line of every checkpoint (the SHA-256 of the raw Ed25519 key; key2\n"
    "  the second key's); trust comes from the keys you got from the site.\n"
    "- Covered by NO signature, only by manifest.sha256: the clips (viewing copies; the\n"
    "  evidence is the segments they list in package.json), timeline.txt and timeline.json\n"
    "  (a listing of the archive's events in the span: check them against the archive with\n"
    "  `evalroom-archive timeline`), package.json, package.js, index.html and this README.\n"
    "  The manifest itself is signed by nobody: `evalroom-archive package` prints its SHA-256\n"
    "  for the transmittal record, and whoever hands the package over may sign it with their\n"
    "  own key, e.g.\n"
    "  openssl pkeyutl -sign -inkey MY-signing.key -rawin -in manifest.sha256 -out manifest.sig\n";

/* TEXT with each @KEY@ of KEYS (NULL-terminated pairs) replaced; g_free. */
static char *fill(const char *text, const char *const *keys)
{
	char *out = g_strdup(text);

	for (; keys[0]; keys += 2) {
		char **parts = g_strsplit(out, keys[0], -1);

		g_free(out);
		out = g_strjoinv(keys[1], parts);
		g_strfreev(parts);
	}
	return out;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "?";
}

char *package_readme(json_t *pkg)
{
	GString *s = g_string_new(NULL), *streams = g_string_new(NULL);
	int sm2 = 0, tsa = 0;
	json_t *v;
	size_t i;
	char *head;

	json_array_foreach(json_object_get(pkg, "streams"), i, v)
	    g_string_append_printf(streams, "%s%s", i ? ", " : "", str(v, "stream"));
	json_array_foreach(json_object_get(pkg, "checkpoints"), i, v)
	{
		sm2 |= json_is_string(json_object_get(v, "signature2"));
		tsa |= json_is_string(json_object_get(v, "timestamp"));
	}
	const char *const keys[] = {
	    "@TENDER@",  str(pkg, "tender"),  "@FROM@",    str(pkg, "from"), "@TO@", str(pkg, "to"),
	    "@ARCHIVE@", str(pkg, "archive"), "@STREAMS@", streams->str,     NULL};
	head = fill(readme_head, keys);
	g_string_append(s, head);
	g_free(head);
	if (sm2)
		g_string_append(s, readme_sm2);
	g_string_append(s, readme_chain);
	g_string_append(s, tsa ? readme_tsa : readme_no_tsa);
	g_string_append(s, readme_tail);
	g_string_free(streams, TRUE);
	return g_string_free(s, FALSE);
}
