"""pytest configuration shared by the integration tests (see harness.py)."""
import os
import pytest


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
