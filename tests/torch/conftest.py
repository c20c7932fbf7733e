"""The runtime tests use small matrices: one torch thread is as fast, and on a shared 2-core machine it avoids
OpenMP threads waiting for each other's descheduled partner (100× slowdowns were observed)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
