from tests.distill.conftest import _one_torch_thread  # noqa: F401  (autouse fixture)
