"""pytest options of the fault-injection suite: --build (the CMake build directory),
--rounds N (fault episodes per run; ./dev faults N) and --seed S (default: random, always
printed so a failing run can be repeated)."""
import os
import random

import pytest


def pytest_addoption(parser):
    parser.addoption("--build", default=os.environ.get("EVALROOM_BUILD",
                     os.path.join(os.path.dirname(__file__), "..", "..", "build")),
                     help="CMake build directory holding bin/")
    parser.addoption("--rounds", type=int, default=4, help="fault episodes per run")
    parser.addoption("--seed", type=int, default=None, help="seed of the fault schedule")


@pytest.fixture(scope="session")
def bin_dir(request):
    return os.path.join(os.path.abspath(request.config.getoption("--build")), "bin")


@pytest.fixture(scope="session")
def rounds(request):
    return request.config.getoption("--rounds")


@pytest.fixture(scope="session")
def seed(request):
    s = request.config.getoption("--seed")
    return s if s is not None else random.SystemRandom().randrange(1, 2**31)
