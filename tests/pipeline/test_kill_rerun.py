"""``skim run`` killed with SIGKILL and rerun gives the outputs of an uninterrupted run.

A small version of ``benchmarks/kill_rerun.py`` (whose functions it uses): a hand-made
50-query dataset, ova only, and a hash encoder instead of MiniLM in the child processes, so
that a run takes seconds; one kill, at 45% of the uninterrupted run's wall time.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import skim
from skim.data import Dataset, save_dataset

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ["apple", "river", "engine", "violin", "planet", "forest", "castle", "winter"]

# the child: skim's CLI with every sentence encoder replaced by the tests' hash encoder
MAIN_WITH_HASH_ENCODER = """
import sys
import skim.encode
from tests.conftest import HashEncoder

class NamedHashEncoder(HashEncoder):
    name = "hash"  # stored with a model, so that prediction loads the same encoder

def make(*args, **kwargs):
    return NamedHashEncoder()

skim.encode.SentenceEncoder = make
from skim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _benchmark():
    spec = importlib.util.spec_from_file_location("kill_rerun", ROOT / "benchmarks/kill_rerun.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _topic_dataset(path: Path) -> Path:
    """Queries about two topics each; the observed labels miss the second topic."""
    rng = np.random.default_rng(0)

    def split(n: int, first: int) -> tuple[list[str], sp.csr_matrix, sp.csr_matrix]:
        pairs = [rng.choice(len(TOPICS), size=2, replace=False) for _ in range(n)]
        texts = [
            f"note {first + i} on {TOPICS[a]} and {TOPICS[b]}" for i, (a, b) in enumerate(pairs)
        ]
        full = np.zeros((n, len(TOPICS)), np.float32)
        seen = np.zeros((n, len(TOPICS)), np.float32)
        for i, (a, b) in enumerate(pairs):
            full[i, [a, b]] = seen[i, a] = 1
        return texts, sp.csr_matrix(seen), sp.csr_matrix(full)

    trn, trn_seen, trn_full = split(40, 0)
    tst, tst_seen, tst_full = split(10, 100)
    dataset = Dataset(
        trn_texts=trn, tst_texts=tst, label_texts=TOPICS,
        trn_X_Y=trn_seen, tst_X_Y=tst_seen, trn_X_Y_unbiased=trn_full, tst_X_Y_unbiased=tst_full,
        trn_meta=[f"a text about {t}" for t in trn], tst_meta=[f"a text about {t}" for t in tst],
        label_meta=[f"all about {t}" for t in TOPICS],
    )  # fmt: skip
    return save_dataset(dataset, path)


def test_kill_9_mid_run_then_rerun_gives_identical_outputs(tmp_path):
    bench = _benchmark()
    config = tmp_path / "run.toml"
    config.write_text(
        bench.toml_text(
            {
                "run": {"seed": 0},
                "dataset": {"path": str(_topic_dataset(tmp_path / "data"))},
                "teach": {"seed_fraction": 0.1},
                "generate": {"num_return": 3},
                "map": {"tau": 0.8, "topk": 5},
                "train": {"learners": ["ova"], "oracle": False, "epochs": 1},
                "evaluate": {"k": [1, 5]},
            }
        )
    )
    pythonpath = os.pathsep.join([str(Path(skim.__file__).parents[1]), str(ROOT)])
    env = dict(os.environ, PYTHONPATH=pythonpath, SKIM_CACHE_DIR=str(tmp_path / "cache"))
    launcher = (sys.executable, "-c", MAIN_WITH_HASH_ENCODER)
    summary = bench.kill_rerun(
        tmp_path / "work", config, kills=1, seed=11, launcher=launcher, env=env, clean_rerun=False
    )  # seed 11: the kill comes at 45% of the reference run's wall time
    assert summary["kills"] == 1, summary  # a run was really killed before its end
    assert summary["identical_after_rerun"] == summary["runs_compared"], summary["runs"]
    for name in ("trn_X_Y_skim-extractive.npz", "metrics.json", "predictions/base-none-ova.npz"):
        assert name in summary["byte_identical_files"]
