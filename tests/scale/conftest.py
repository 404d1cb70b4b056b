"""A local Ray cluster of 2 CPUs, started once for the tests of this folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def ray_cluster():
    """A 2-CPU Ray instance on this machine; skipped (with the reason) without the ray extra."""
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra (pip install ray)")
    pytest.importorskip("ray.data", reason="the Ray tests need ray[data]")
    if ray.is_initialized():
        yield ray
        return
    # the workers import skim and the tests' fake encoders from this checkout
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false"}},
    )  # fmt: skip
    yield ray
    ray.shutdown()


from ..map.conftest import dataset, q2l_synthetic  # noqa: E402, F401 (the mapping fixtures)
