"""Generation on a local Ray cluster writes the single-process records, and resumes by shard."""

from __future__ import annotations

import json

import pytest

from skim.errors import SkimError
from skim.generate import generate
from skim.generate.extractive import ExtractiveGenerator
from skim.scale.cluster import RayOptions

from ..distill.helpers import save_tiny_base, toy_dataset

RAY = RayOptions(actors=2)


class CrashingExtractive(ExtractiveGenerator):
    """The extractive generator killed on its second shard (same settings, same run key)."""

    calls = 0

    def generate(self, items):
        CrashingExtractive.calls += 1
        if CrashingExtractive.calls == 2:
            raise KeyboardInterrupt
        return super().generate(items)


def test_extractive_on_ray_resumes_a_crashed_run_into_the_same_file(ray_cluster, tmp_path):
    data = toy_dataset()
    alone = tmp_path / "alone.jsonl"
    generate(data, alone, "queries-to-labels", "extractive", shard_size=3, show_progress=False)
    out = tmp_path / "ray.jsonl"
    crashing = CrashingExtractive(data, "queries-to-labels")
    with pytest.raises(KeyboardInterrupt):
        generate(data, out, "queries-to-labels", crashing, shard_size=3, show_progress=False)
    assert [p.name for p in (tmp_path / "ray.jsonl.shards").glob("shard-*")] == [
        "shard-000000.jsonl"
    ]
    summary = generate(
        data, out, "queries-to-labels", "extractive", shard_size=3, show_progress=False, ray=RAY
    )
    assert summary["generated_this_run"] == 5  # shards 1 and 2 only: items 3..7
    assert out.read_text() == alone.read_text()  # same records, same order
    assert not (tmp_path / "ray.jsonl.shards").exists()


def test_hf_sampling_on_ray_writes_the_single_process_records(ray_cluster, tmp_path):
    base = save_tiny_base(tmp_path / "base")
    options = dict(model=str(base), num_return=2, max_new_tokens=8, temperature=0.8,
                   shard_size=3, show_progress=False)  # fmt: skip
    data = toy_dataset()
    generate(data, tmp_path / "alone.jsonl", "queries-to-labels", "hf", **options)
    summary = generate(data, tmp_path / "ray.jsonl", "queries-to-labels", "hf", ray=RAY, **options)
    alone = [json.loads(x) for x in (tmp_path / "alone.jsonl").read_text().splitlines()]
    on_ray = [json.loads(x) for x in (tmp_path / "ray.jsonl").read_text().splitlines()]
    assert on_ray == alone and any(r["texts"] for r in alone)
    assert summary["generated_tokens"] > 0  # counted by the actors, reported by the driver


def test_a_generator_object_cannot_go_to_ray(tmp_path):
    gen = ExtractiveGenerator(toy_dataset(), "queries-to-labels")
    with pytest.raises(SkimError, match="runs the extractive and hf generators by name"):
        generate(toy_dataset(), tmp_path / "s.jsonl", "queries-to-labels", gen, ray=RAY)
