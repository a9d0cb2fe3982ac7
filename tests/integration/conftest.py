"""pytest configuration shared by the integration tests (see harness.py)."""
import os
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
