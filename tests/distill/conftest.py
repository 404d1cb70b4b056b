import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models train far faster on one thread when the CPU is shared; restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
