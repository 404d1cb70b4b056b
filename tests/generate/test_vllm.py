"""The vllm generator's engine settings (vLLM itself needs a GPU and is not installed in CI)."""

import pytest
from transformers import LlamaConfig

from skim.errors import SkimError
from skim.generate.vllm import DEFAULT_MAX_MODEL_LEN, engine_max_len, vllm_lora_rank


@pytest.mark.parametrize(("rank", "served"), [(1, 1), (2, 8), (8, 8), (12, 16), (16, 16),
                                              (300, 320), (512, 512)])  # fmt: skip
def test_lora_rank_is_rounded_up_to_one_vllm_serves(rank, served):
    assert vllm_lora_rank(rank) == served


def test_lora_rank_above_vllms_largest_is_one_sentence():
    with pytest.raises(SkimError, match="above the largest vLLM serves"):
        vllm_lora_rank(1024)


def test_engine_length_follows_the_models_own_limit(tmp_path):
    short, long = tmp_path / "short", tmp_path / "long"
    LlamaConfig(max_position_embeddings=256).save_pretrained(short)  # a from-scratch student
    LlamaConfig(max_position_embeddings=131072).save_pretrained(long)
    assert engine_max_len(str(short)) == 256
    assert engine_max_len(str(long)) == DEFAULT_MAX_MODEL_LEN
    assert engine_max_len(str(long), 8192) == 8192
    with pytest.raises(SkimError, match="above the model's 256 positions"):
        engine_max_len(str(short), 512)


def test_cli_engine_flags_reach_vllm_with_the_engine_mocked(tmp_path, monkeypatch):
    from skim.cli import main
    from skim.data import save_dataset

    from ..distill.helpers import save_tiny_base, toy_dataset
    from .helpers import fake_vllm

    engines = fake_vllm(monkeypatch)["engines"]
    data = save_dataset(toy_dataset(), tmp_path / "data")
    base = save_tiny_base(tmp_path / "base")
    argv = ["generate", str(data), str(tmp_path / "s.jsonl"), "--direction", "queries-to-labels",
            "--generator", "vllm", "--model", str(base), "--limit", "2",
            "--tensor-parallel-size", "2", "--gpu-memory-utilization", "0.5",
            "--max-model-len", "64"]  # fmt: skip
    assert main(argv) == 0
    (engine,) = engines
    assert engine["tensor_parallel_size"] == 2 and engine["gpu_memory_utilization"] == 0.5
    assert engine["max_model_len"] == 64
    assert (tmp_path / "s.jsonl").read_text().count("canine") == 2
