"""Fixtures shared by several test files."""

import pytest


@pytest.fixture
def one_thread():
    """Tiny models: one torch thread is fastest, and steadier on a busy 2-core machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
