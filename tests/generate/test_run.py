import json

import pytest

from skim.data import save_dataset
from skim.errors import SkimError
from skim.generate import generate
from skim.generate.base import Item

from ..distill.helpers import toy_dataset


class CountingGenerator:
    """Echoes each item's text; can crash on a chosen call to simulate a killed run."""

    name = "echo"

    def __init__(self, crash_on_call=None, tag="a"):
        self.settings = {"tag": tag}
        self.calls, self.seen, self.crash_on_call = 0, [], crash_on_call

    def generate(self, items: list[Item]) -> list[list[str]]:
        self.calls += 1
        if self.calls == self.crash_on_call:
            raise KeyboardInterrupt
        self.seen.extend(it.source for it in items)
        return [[it.text.upper()] for it in items]


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rerun_after_crash_skips_finished_shards_and_writes_one_complete_file(tmp_path):
    out = tmp_path / "synthetic.jsonl"
    crashing = CountingGenerator(crash_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        generate(
            toy_dataset(), out, "queries-to-labels", crashing, shard_size=3, show_progress=False
        )
    assert not out.exists()
    assert sorted(p.name for p in (tmp_path / "synthetic.jsonl.shards").glob("shard-*")) == [
        "shard-000000.jsonl"
    ]
    resumed = CountingGenerator()
    summary = generate(
        toy_dataset(), out, "queries-to-labels", resumed, shard_size=3, show_progress=False
    )
    assert resumed.seen == [3, 4, 5, 6, 7]
    records = _records(out)
    assert [r["source"] for r in records] == list(range(8))
    assert records[0]["texts"] == ["DOG"] and records[0]["generator"] == "echo"
    assert records[0]["settings"] == {"tag": "a"}
    assert summary["items"] == 8 and summary["generated_this_run"] == 5
    assert not (tmp_path / "synthetic.jsonl.shards").exists()
    assert json.loads((tmp_path / "synthetic.manifest.json").read_text())["items"] == 8
    again = CountingGenerator()
    assert (
        generate(toy_dataset(), out, "queries-to-labels", again, shard_size=3, show_progress=False)[
            "generated_this_run"
        ]
        == 0
    )
    assert again.calls == 0 and len(_records(out)) == 8
    changed, fresh = toy_dataset(), CountingGenerator()
    changed.trn_meta[0] = "another gloss"  # the data changed: the old output is stale
    generate(changed, out, "queries-to-labels", fresh, shard_size=3, show_progress=False)
    assert fresh.seen == list(range(8))


def test_leftover_shards_of_other_settings_are_refused_unless_overwrite(tmp_path):
    out = tmp_path / "s.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate(
            toy_dataset(),
            out,
            "queries-to-labels",
            CountingGenerator(2),
            shard_size=2,
            show_progress=False,
        )
    with pytest.raises(SkimError, match="other settings"):
        generate(
            toy_dataset(),
            out,
            "queries-to-labels",
            CountingGenerator(tag="b"),
            shard_size=2,
            show_progress=False,
        )
    other = CountingGenerator(tag="b")
    generate(
        toy_dataset(),
        out,
        "queries-to-labels",
        other,
        shard_size=2,
        overwrite=True,
        show_progress=False,
    )
    assert other.seen == list(range(8))


def test_labels_to_queries_and_item_subset(tmp_path):
    out = tmp_path / "s.jsonl"
    generate(
        toy_dataset(),
        out,
        "labels-to-queries",
        CountingGenerator(),
        items=[4, 1],
        show_progress=False,
    )
    assert [(r["source"], r["texts"]) for r in _records(out)] == [(4, ["ANIMAL"]), (1, ["FELINE"])]
    with pytest.raises(SkimError, match="out of range"):
        generate(toy_dataset(), out, "labels-to-queries", CountingGenerator(), items=[6])


def test_missing_metadata_and_bad_direction_are_clear_errors(tmp_path):
    ds = toy_dataset().replace(trn_meta=None)
    with pytest.raises(SkimError, match="no trn_X.meta.txt; generate with --no-metadata"):
        generate(ds, tmp_path / "s.jsonl", "queries-to-labels", "extractive")
    with pytest.raises(SkimError, match="direction must be one of"):
        generate(ds, tmp_path / "s.jsonl", "up", "extractive")
    with pytest.raises(SkimError, match="unknown generator"):
        generate(ds, tmp_path / "s.jsonl", "queries-to-labels", "magic")


def test_cli_generate_extractive_then_errors_exit_2(tmp_path, capsys):
    from skim.cli import main

    data = save_dataset(toy_dataset(), tmp_path / "data")
    out = tmp_path / "s.jsonl"
    assert (
        main(
            [
                "generate",
                str(data),
                str(out),
                "--direction",
                "queries-to-labels",
                "--num-return",
                "2",
            ]
        )
        == 0
    )
    records = _records(out)
    assert len(records) == 8 and all(len(r["texts"]) <= 2 for r in records)
    assert "canine" in records[0]["texts"]
    capsys.readouterr()
    assert (
        main(["distill", str(tmp_path / "none.jsonl"), str(tmp_path / "m"), "--from-scratch"]) == 2
    )
    assert "none.jsonl does not exist" in capsys.readouterr().err


def test_vllm_without_vllm_installed_says_how_to_get_it(tmp_path):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(SkimError, match=r"skim-xc\[vllm\]"):
        generate(toy_dataset(), tmp_path / "s.jsonl", "queries-to-labels", "vllm", model="m")


def test_num_return_zero_is_an_error_not_the_default(tmp_path):
    with pytest.raises(SkimError, match="num_return must be a positive integer, got 0"):
        generate(toy_dataset(), tmp_path / "s.jsonl", "queries-to-labels", num_return=0)
    assert list(tmp_path.iterdir()) == []


def test_progress_moves_per_batch_within_a_shard(tmp_path, monkeypatch):
    import tqdm.auto

    positions = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.n = 0

        def update(self, n):
            self.n += n
            positions.append(self.n)

        def close(self):
            pass

    class Batched(CountingGenerator):
        """Reports every 3 items it finishes, like the hf generator's batches."""

        def generate(self, items):
            for start in range(0, len(items), 3):
                self.progress(len(items[start : start + 3]))
            return super().generate(items)

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    gen = Batched()
    gen.progress = None
    generate(toy_dataset(), tmp_path / "s.jsonl", "queries-to-labels", gen, shard_size=5)
    assert positions == [3, 5, 5, 8, 8]  # two shards (5 + 3 items), moved per batch of 3


@pytest.mark.parametrize("generator", ["hf", "vllm"])
def test_greedy_decoding_with_several_returns_is_refused_before_a_model_loads(
    tmp_path, capsys, generator
):
    from skim.cli import main

    data = save_dataset(toy_dataset(), tmp_path / "data")
    args = ["generate", str(data), str(tmp_path / "s.jsonl"), "--direction", "queries-to-labels"]
    args += ["--generator", generator, "--model", str(tmp_path / "no-model")]
    assert main([*args, "--temperature", "0", "--num-return", "3"]) == 2
    err = capsys.readouterr().err
    assert "--temperature 0 decodes greedily" in err and "Traceback" not in err
    assert not (tmp_path / "s.jsonl").exists()
