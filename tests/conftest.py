"""Fixtures shared by several test files, and the test settings of the web server."""

import os

import pytest


def pytest_configure(config):
    """Test settings, set before any test module builds an app (some do at import).

    Starlette's TestClient sends ``Host: testserver``: it is announced the way ``pizarra serve
    --host`` announces a name (one more allowed name, never "any host"). Gandalf's guess limit is
    lifted, as fuzz tests hammer one level with one cookie. tests/test_web_security.py checks the
    real defaults with explicit ``Settings``.
    """
    from pizarra.web import security

    security.announce_hosts(["testserver"])
    os.environ[security.ENV_GUESS_LIMIT] = "off"


@pytest.fixture
def one_thread():
    """Tiny models: one torch thread is fastest, and steadier on a busy 2-core machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
