"""pytest configuration shared by the integration tests (see harness.py)."""
import os
import subprocess

import pytest

# The programs speak the person's language (docs/i18n.md); the tests read their English
# unless a test asks for another language in the environment it passes.
for _name in ("LANGUAGE", "LC_MESSAGES", "LANG"):
    os.environ.pop(_name, None)
os.environ["LC_ALL"] = "C.UTF-8"


def pytest_addoption(parser):
    parser.addoption("--build", default=os.environ.get("EVALROOM_BUILD",
                     os.path.join(os.path.dirname(__file__), "..", "..", "build")),
                     help="CMake build directory holding bin/")


@pytest.fixture(scope="session")
def build_dir(request):
    return os.path.abspath(request.config.getoption("--build"))


@pytest.fixture(scope="session")
def bin_dir(build_dir):
    return os.path.join(build_dir, "bin")


@pytest.fixture
def tmpfs(tmp_path):
    """tmpfs(name, size): a directory NAME under tmp_path with a tmpfs of SIZE ("48m",
    "64k") mounted on it, unmounted after the test; the test is skipped where mounting is
    not allowed (not root)."""
    mounted = []

    def mount(name, size):
        path = str(tmp_path / name)
        os.mkdir(path, 0o700)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size,
                            "evalroom-test", path], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root): " + r.stderr.strip())
        mounted.append(path)
        return path
    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", path], check=False)
