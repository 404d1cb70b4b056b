import pytest
import torch

from skim._floats import flush_denormals

SUBNORMAL = 1e-320  # below float64's smallest normal number (2.2e-308)


def is_flushed() -> bool:
    """Whether this thread treats subnormal floats as zero."""
    return torch.tensor([SUBNORMAL], dtype=torch.float64).item() == 0.0


def test_subnormals_are_flushed_inside_the_block_only():
    assert not is_flushed()
    with flush_denormals():
        assert is_flushed()
    assert not is_flushed()


def test_nested_blocks_keep_flushing_until_the_outermost_ends():
    with flush_denormals():
        with flush_denormals():
            assert is_flushed()
        assert is_flushed()
    assert not is_flushed()


def test_the_default_comes_back_after_an_error_and_as_a_decorator():
    @flush_denormals()
    def fails() -> None:
        assert is_flushed()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fails()
    assert not is_flushed()
