import json

import pytest

from skim.distill import distill, load_student, read_manifest
from skim.distill import train as train_module
from skim.errors import SkimError
from skim.generate import generate

from .helpers import save_tiny_base, toy_dataset, write_demos

SMALL = {
    "hidden_size": 32,
    "num_layers": 2,
    "vocab_size": 300,
    "batch_size": 4,
    "show_progress": False,
}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return save_tiny_base(tmp_path_factory.mktemp("base"))


def test_from_scratch_learns_and_generates_with_hf(tmp_path):
    demos = write_demos(tmp_path / "demos.jsonl", range(8))
    out = distill(
        demos, tmp_path / "student", from_scratch=True, max_steps=40, learning_rate=3e-3, **SMALL
    )
    manifest = read_manifest(out)
    assert manifest["kind"] == "scratch" and manifest["steps"] == 40
    assert manifest["final_loss"] < manifest["first_loss"] * 0.7
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert not (out / "checkpoint").exists()

    summary = generate(
        toy_dataset(),
        tmp_path / "synthetic.jsonl",
        "queries-to-labels",
        generator="hf",
        model=str(out),
        temperature=0,
        max_new_tokens=8,
        shard_size=3,
        show_progress=False,
    )
    records = [json.loads(x) for x in (tmp_path / "synthetic.jsonl").read_text().splitlines()]
    assert [r["source"] for r in records] == list(range(8))
    assert summary["generator"] == "hf" and summary["generated_tokens"] > 0
    assert records[0]["settings"]["temperature"] == 0
    assert sum(len(r["texts"]) for r in records) > 0


def test_finished_model_is_not_trained_again(tmp_path, monkeypatch):
    demos = write_demos(tmp_path / "demos.jsonl")
    out = distill(demos, tmp_path / "student", from_scratch=True, max_steps=2, **SMALL)
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    monkeypatch.setattr(train_module, "_collate", lambda *a: pytest.fail("trained again"))
    distill(demos, out, from_scratch=True, max_steps=2, **SMALL)
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp


def test_lora_adapter_loads_in_transformers_and_generates(tmp_path, tiny_base):
    demos = write_demos(tmp_path / "demos.jsonl")
    extra = [("bus", "a large vehicle", ["vehicle"])]
    out = distill(
        demos,
        tmp_path / "adapter",
        base=str(tiny_base),
        lora_r=4,
        max_steps=3,
        extra_pairs=extra,
        show_progress=False,
        batch_size=4,
    )
    manifest = read_manifest(out)
    assert manifest["kind"] == "lora" and manifest["n_extra_pairs"] == 1
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 4 and (out / "adapter_model.safetensors").is_file()

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_base), out)
    model, tokenizer, found = load_student(None, str(out))
    assert found["base"] == str(tiny_base)
    summary = generate(
        toy_dataset(),
        tmp_path / "s.jsonl",
        "queries-to-labels",
        "hf",
        adapter=str(out),
        max_new_tokens=4,
        items=[0, 5],
        show_progress=False,
    )
    assert summary["items"] == 2 and summary["model"] is None


def test_interrupted_training_resumes_from_checkpoint(tmp_path, monkeypatch):
    demos = write_demos(tmp_path / "demos.jsonl", range(8))
    mark = train_module._mark_checkpoint
    calls = {"save": 0, "steps": 0}

    def crash_after_second(folder, *args):
        mark(folder, *args)
        calls["save"] += 1
        if calls["save"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_mark_checkpoint", crash_after_second)
    with pytest.raises(KeyboardInterrupt):
        distill(
            demos, tmp_path / "student", from_scratch=True, max_steps=6, checkpoint_every=2, **SMALL
        )
    assert (tmp_path / "student" / "checkpoint" / "checkpoint-4" / "skim_checkpoint.json").is_file()
    assert read_manifest(tmp_path / "student") is None

    collate = train_module._collate

    def counting(*args):
        calls["steps"] += 1
        return collate(*args)

    monkeypatch.setattr(train_module, "_collate", counting)
    out = distill(
        demos, tmp_path / "student", from_scratch=True, max_steps=6, checkpoint_every=2, **SMALL
    )
    assert calls["steps"] == 2  # steps 5 and 6 only
    manifest = read_manifest(out)
    assert manifest["steps"] == 6 and not (out / "checkpoint").exists()


def test_a_checkpoint_cut_short_is_not_resumed(tmp_path, monkeypatch):
    """Trainer wrote checkpoint-4 but crashed before skim marked it: resume from checkpoint-2."""
    demos = write_demos(tmp_path / "demos.jsonl", range(8))
    mark = train_module._mark_checkpoint

    def crash_before_second_mark(folder, step, settings):
        if step == 4:
            raise KeyboardInterrupt
        mark(folder, step, settings)

    monkeypatch.setattr(train_module, "_mark_checkpoint", crash_before_second_mark)
    settings = dict(from_scratch=True, max_steps=6, checkpoint_every=2, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        distill(demos, tmp_path / "student", **settings)
    assert (tmp_path / "student" / "checkpoint" / "checkpoint-4").is_dir()
    monkeypatch.setattr(train_module, "_mark_checkpoint", mark)
    calls = {"steps": 0}
    collate = train_module._collate

    def counting(*args):
        calls["steps"] += 1
        return collate(*args)

    monkeypatch.setattr(train_module, "_collate", counting)
    assert read_manifest(distill(demos, tmp_path / "student", **settings))["steps"] == 6
    assert calls["steps"] == 4  # steps 3 to 6


def test_gradient_accumulation_takes_the_mean_over_the_accumulated_step(tmp_path):
    """4 examples in one batch of 4, or in 2 accumulated batches of 2: the same first step."""
    demos = write_demos(tmp_path / "demos.jsonl", range(4))
    small = {**SMALL, "batch_size": 4}
    one = distill(demos, tmp_path / "a", from_scratch=True, max_steps=1, **small)
    small["batch_size"] = 2
    two = distill(
        demos, tmp_path / "b", from_scratch=True, max_steps=1, gradient_accumulation=2, **small
    )
    first = [read_manifest(x)["first_loss"] for x in (one, two)]
    assert first[0] == pytest.approx(first[1], rel=1e-4)
    assert read_manifest(two)["settings"]["gradient_accumulation"] == 2
    with pytest.raises(SkimError, match="gradient_accumulation must be a positive integer"):
        distill(demos, tmp_path / "c", from_scratch=True, gradient_accumulation=0)


def test_clear_errors_for_bad_model_settings(tmp_path):
    demos = write_demos(tmp_path / "demos.jsonl")
    with pytest.raises(SkimError, match="cannot load model .*no-such-model"):
        distill(demos, tmp_path / "o", base=str(tmp_path / "no-such-model"))
    with pytest.raises(SkimError, match="either a base model"):
        distill(demos, tmp_path / "o", base="x", from_scratch=True)
    with pytest.raises(SkimError, match="does not exist"):
        generate(
            toy_dataset(),
            tmp_path / "s.jsonl",
            "queries-to-labels",
            "hf",
            model=str(tmp_path / "missing" / "model"),
            show_progress=False,
        )


def test_cli_distill_adds_observed_pairs(tmp_path, capsys):
    from skim.cli import main
    from skim.data import save_dataset

    data = save_dataset(toy_dataset(), tmp_path / "data")
    demos = write_demos(tmp_path / "demos.jsonl")
    argv = [
        "distill",
        str(demos),
        str(tmp_path / "m"),
        "--from-scratch",
        "--max-steps",
        "2",
        "--hidden-size",
        "32",
        "--num-layers",
        "2",
        "--observed",
        str(data),
        "--max-observed",
        "5",
        "--json",
        "--gradient-accumulation",
        "2",
        "--gradient-checkpointing",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["n_demonstrations"] == 4 and printed["n_extra_pairs"] == 5
    assert printed["steps"] == 2
    assert read_manifest(tmp_path / "m")["settings"]["gradient_accumulation"] == 2


def test_lora_in_bf16_with_gradient_checkpointing(tmp_path, tiny_base):
    """The settings a large student needs run on CPU too; checkpointing does not enter the stamp."""
    demos = write_demos(tmp_path / "demos.jsonl")
    settings = {"lora_r": 4, "max_steps": 2, "batch_size": 2, "show_progress": False}
    out = distill(
        demos, tmp_path / "a", base=str(tiny_base), precision="bf16", gradient_checkpointing=True,
        **settings,
    )  # fmt: skip
    manifest = read_manifest(out)
    assert manifest["steps"] == 2 and manifest["settings"]["precision"] == "bf16"
    assert "gradient_checkpointing" not in manifest["settings"]
    assert (out / "adapter_model.safetensors").is_file()


def test_default_length_keeps_the_item_of_a_prompt_with_full_metadata():
    """200 metadata words (the default cut) and 10 texts of 6 words fit whole in the default
    max_length (at 256 the prompt lost its task and item lines)."""
    from skim.distill import DistillParams, format_prompt
    from skim.distill.model import train_tokenizer
    from skim.distill.train import _tokenize

    words = ["canine", "feline", "tree", "vehicle", "animal", "plant"]
    metadata = " ".join(words[i % 6] for i in range(250))
    texts = [" ".join(words[(i + j) % 6] for j in range(6)) for i in range(10)]
    prompt = format_prompt("wolf", metadata, "queries-to-labels")
    completion = "\n".join(texts)
    tokenizer = train_tokenizer([prompt + completion] * 4, vocab_size=300)
    ((ids, labels),) = _tokenize(tokenizer, [prompt], [completion], DistillParams().max_length)
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    assert decoded.startswith("task: queries-to-labels\nitem: wolf\nmetadata: ")
    assert decoded.endswith("output:\n" + completion)
    assert len(decoded.split("metadata: ")[1].split("\n")[0].split()) == 200


def test_the_default_adapter_is_the_authors_r8_on_every_linear_layer(tmp_path, tiny_base):
    demos = write_demos(tmp_path / "demos.jsonl")
    out = distill(demos, tmp_path / "a", base=str(tiny_base), max_steps=1, show_progress=False)
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["lora_alpha"] == 16
    layers = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert {name.rsplit(".", 1)[-1] for name in config["target_modules"]} == layers  # no head


def test_on_a_gpu_the_trainer_gets_bf16_the_gpu_and_the_memory_settings(tmp_path, monkeypatch):
    """The settings a CUDA run hands transformers, with the GPU and the Trainer mocked."""
    import torch

    from skim.distill import DistillParams

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert train_module.resolve_precision("auto", "cuda:1") == "bf16"
    assert train_module.resolve_precision("auto", "cuda:1", from_scratch=True) == "fp32"
    chosen, given = [], {}
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)

    class Recorded(Exception):
        pass

    def arguments(self, **kwargs):
        given.update(kwargs)
        raise Recorded

    from transformers.training_args import TrainingArguments  # the class _fit builds

    monkeypatch.setattr(TrainingArguments, "__init__", arguments)
    p = DistillParams(batch_size=4, gradient_accumulation=16, gradient_checkpointing=True)
    stamp = {"precision": "bf16", "learning_rate": 2e-4}
    with pytest.raises(Recorded):
        train_module._fit(None, None, [], p, stamp, "cuda:1", None, tmp_path)
    assert chosen == [1]  # Trainer (through accelerate) uses the current GPU
    assert given["bf16"] is True and given["use_cpu"] is False
    assert (given["per_device_train_batch_size"], given["gradient_accumulation_steps"]) == (4, 16)
    assert given["activation_checkpointing"] is True
