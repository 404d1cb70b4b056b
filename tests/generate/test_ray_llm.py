"""``--generator vllm --ray`` up to Ray Data's LLM processor, which is mocked: no vLLM, no GPU
here. What is checked: the processor's config from the student folder, the rows it is given
(the student's prompt as token ids, the LoRA adapter, one seeded sample per row) and the
records written from its answers."""

from __future__ import annotations

import json
import sys
import types

import pytest

from skim.generate import generate
from skim.records import manifest_path
from skim.scale.cluster import RayOptions

from ..distill.helpers import save_tiny_base, toy_dataset


class _Rows(list):
    def iter_rows(self):
        return iter(self)


@pytest.fixture
def fake_llm(monkeypatch):
    """``ray.data.llm`` whose engine answers ``text <source> <seed>`` per row."""
    seen: dict = {"rows": []}

    def build_processor(config, postprocess):
        seen["config"] = config

        def run(rows):
            seen["rows"] += rows
            answer = "text {source} {sampling_params[seed]}"
            return _Rows(
                postprocess({**r, "num_generated_tokens": 3, "generated_text": answer.format(**r)})
                for r in rows
            )

        return run

    llm = types.ModuleType("ray.data.llm")
    llm.vLLMEngineProcessorConfig = lambda **kwargs: kwargs
    llm.build_processor = build_processor
    monkeypatch.setitem(sys.modules, "ray.data.llm", llm)
    fake_ray = types.SimpleNamespace(data=types.SimpleNamespace(from_items=_Rows))
    monkeypatch.setattr("skim.generate.ray_llm.connect", lambda address: fake_ray)
    return seen


def test_vllm_on_ray_builds_the_processor_from_the_student_and_writes_its_texts(tmp_path, fake_llm):
    base = save_tiny_base(tmp_path / "base")
    adapter = tmp_path / "student"
    adapter.mkdir()  # a LoRA student: its manifest names the base; the tokenizer beside it
    (adapter / "skim_distill.json").write_text(
        json.dumps({"kind": "lora", "base": str(base), "settings": {"lora_r": 4}})
    )
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (base / name).exists():
            (adapter / name).write_bytes((base / name).read_bytes())
    out = tmp_path / "s.jsonl"
    generate(toy_dataset(), out, "queries-to-labels", "vllm", model=str(adapter), num_return=2,
             seed=5, shard_size=2, items=[0, 1, 2], ray=RayOptions(actors=3),
             show_progress=False)  # fmt: skip
    config = fake_llm["config"]
    assert config["model_source"] == str(base) and config["concurrency"] == 3
    assert config["engine_kwargs"]["enable_lora"] and config["engine_kwargs"]["max_lora_rank"] == 8
    assert config["engine_kwargs"]["max_model_len"] == 256  # the tiny base's positions
    assert config["tokenize_stage"] is False and config["chat_template_stage"] is False
    rows = fake_llm["rows"]
    assert [(r["shard"], r["source"], r["sampling_params"]["seed"]) for r in rows] == [
        (0, 0, 5), (0, 0, 6), (0, 1, 5), (0, 1, 6), (1, 2, 5), (1, 2, 6)
    ]  # fmt: skip
    assert all(r["model"] == str(adapter) and r["tokenized_prompt"] for r in rows)
    assert rows[0]["sampling_params"]["max_tokens"] == 64
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["texts"] for r in records] == [[f"text {s} 5", f"text {s} 6"] for s in range(3)]
    assert records[0]["generator"] == "vllm" and records[0]["settings"]["num_return"] == 2
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["generated_tokens"] == 18
