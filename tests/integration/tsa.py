"""A local RFC 3161 timestamp authority for the tests: its own CA and TSA certificate made
with openssl, `openssl ts -reply` answering each request, behind a small HTTP server
(RFC 3161 over HTTP: POST application/timestamp-query)."""
import http.server
import os
import socket
import subprocess
import tempfile
import threading

TSA_CNF = """
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = {d}
serial = {d}/serial
crypto_device = builtin
signer_cert = {d}/tsa.pem
certs = {d}/ca.pem
signer_key = {d}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ tsa_signer_only ]
dir = {d}
serial = {d}/serial
crypto_device = builtin
signer_cert = {d}/tsa.pem
signer_key = {d}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def sh(*cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, timeout=60, **kw)
    assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    return r.stdout


def make_tsa_pki(d):
    """CA (ca.pem), TSA key and certificate for time stamping, openssl ts config."""
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem",
       "-subj", "/CN=evalroom test TSA CA", "-days", "30",
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sh("openssl", "req", *ec, "-keyout", f"{d}/tsa.key", "-out", f"{d}/tsa.csr",
       "-subj", "/CN=evalroom test TSA")
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n")
    sh("openssl", "x509", "-req", "-in", f"{d}/tsa.csr", "-CA", f"{d}/ca.pem", "-CAkey",
       f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/tsa.pem", "-days", "30",
       "-extfile", f"{d}/ext.cnf")
    with open(f"{d}/serial", "w") as f:
        f.write("01\n")
    with open(f"{d}/tsa.cnf", "w") as f:
        f.write(TSA_CNF.format(d=d))
    return d


def reply_for(d, query, section="tsa1"):
    """openssl ts -reply for the DER TimeStampReq QUERY: the DER TimeStampResp (tsa1 carries
    the CA certificate beside the signer's, as many TSAs do; tsa_signer_only does not)."""
    with tempfile.NamedTemporaryFile(dir=d, suffix=".tsq", delete=False) as q:
        q.write(query)
    try:
        return sh("openssl", "ts", "-reply", "-config", f"{d}/tsa.cnf", "-section", section,
                  "-queryfile", q.name)
    finally:
        os.unlink(q.name)


class TSA:
    """The HTTP front. mode: "ok", "wrong-hash" (answers with a token for another hash) or
    "down" (closes the connection without answering)."""

    def __init__(self, d):
        self.dir = make_tsa_pki(d)
        self.mode = "ok"
        self.requests = 0
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(n)
                tsa.requests += 1
                if tsa.mode == "down":
                    self.close_connection = True
                    return
                if tsa.mode == "wrong-hash":
                    query = sh("openssl", "ts", "-query", "-digest", "00" * 32, "-sha256",
                               "-cert")
                body = reply_for(tsa.dir, query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/tsr" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def ca(self):
        return f"{self.dir}/ca.pem"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dead_url():
    """A URL where nothing listens (a port just bound and released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d/tsr" % port
