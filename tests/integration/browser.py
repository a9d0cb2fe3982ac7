"""A real browser for the web console's tests: Debian's Chromium, headless, driven by
selenium, holding one client certificate of the site (or none).

How the certificate gets in: Chromium on Linux reads client certificates and trusted
CAs from the NSS database in $HOME/.pki/nssdb, so each browser gets a HOME of its own
with a fresh database (certutil, pk12util from libnss3-tools): the site CA trusted for
TLS servers and, when asked, one identity's certificate and key. Headless Chromium
cannot show the "select a certificate" dialog, and without an answer the page never
loads; the AutoSelectCertificateForUrls policy answers it. Chromium reads policies only
from /etc/chromium/policies/managed/, so ensure_policy() writes one there, limited to
https://127.0.0.1 and https://localhost (any port); each test browser's database holds
at most one certificate, so "the first that fits" is that one."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

POLICY_DIR = "/etc/chromium/policies/managed"
POLICY_FILE = os.path.join(POLICY_DIR, "evalroom-tests.json")
POLICY = {"AutoSelectCertificateForUrls": [
    json.dumps({"pattern": "https://127.0.0.1:*", "filter": {}}),
    json.dumps({"pattern": "https://localhost:*", "filter": {}}),
]}
# The flags these machines need (no network beyond loopback; root; no GPU).
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900"]


# A browser with a microphone: Chromium's fake device (a beep) without asking.
MICROPHONE = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required")


def available():
    """Why the browser tests cannot run here, or None."""
    for tool in ("chromium", "chromedriver", "certutil", "pk12util"):
        if shutil.which(tool) is None:
            return "%s not installed (./dev deps installs the test packages)" % tool
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium not installed"
    return None


def ensure_policy():
    """The auto-select policy in place (written when missing and we may); else skip."""
    try:
        with open(POLICY_FILE) as f:
            if json.load(f) == POLICY:
                return
    except (OSError, ValueError):
        pass
    if os.geteuid() != 0:
        pytest.skip("%s is missing and only root may write it: %s" % (POLICY_FILE,
                                                                     json.dumps(POLICY)))
    os.makedirs(POLICY_DIR, exist_ok=True)
    with open(POLICY_FILE + ".tmp", "w") as f:
        json.dump(POLICY, f)
    os.replace(POLICY_FILE + ".tmp", POLICY_FILE)


def nss_home(prov, identity=None):
    """A new HOME whose NSS database trusts the site CA and holds IDENTITY's certificate
    (none when IDENTITY is None). Returns its path."""
    home = tempfile.mkdtemp(prefix="evalroom-browser-")
    db = "sql:" + os.path.join(home, ".pki", "nssdb")
    os.makedirs(db[4:])
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)
    run("certutil", "-N", "-d", db, "--empty-password")
    run("certutil", "-A", "-d", db, "-n", "evalroom site CA", "-t", "CT,C,C", "-i", prov.ca)
    if identity:
        cert, key = prov.cert(identity)
        p12 = os.path.join(home, identity + ".p12")
        run("openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-name", identity,
            "-out", p12, "-passout", "pass:")
        run("pk12util", "-i", p12, "-d", db, "-W", "")
        os.unlink(p12)
    return home


class Browser:
    """Headless Chromium with IDENTITY's certificate (or none). close() ends it.
    LANGUAGE (e.g. "zh-CN"): the browser's language, sent as Accept-Language. FLAGS:
    more Chromium switches (e.g. MICROPHONE)."""

    def __init__(self, prov, identity=None, language=None, flags=()):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        ensure_policy()
        self.home = nss_home(prov, identity)
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium")
        for flag in FLAGS + list(flags):
            opts.add_argument(flag)
        opts.add_argument("--user-data-dir=" + os.path.join(self.home, "profile"))
        if language:
            opts.add_argument("--lang=" + language)
            opts.add_experimental_option("prefs", {"intl.accept_languages": language})
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(shutil.which("chromedriver"),
                          env={**os.environ, "HOME": self.home})
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_page_load_timeout(30)

    def get(self, url):
        self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def text(self):
        return self.js("return document.body ? document.body.innerText : ''")

    def console_errors(self):
        return [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
