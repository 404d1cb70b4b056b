"""Malformed settings: config keys, CLI values, prompt templates and unwritable outputs.

Every case must end the command with exit status 2 and one sentence on stderr that names the
file and the key (or the option), with no traceback, and leave no output (nor a partial or
temporary one) behind. ``benchmarks/reliability_settings.py`` runs the same cases as
subprocesses to count clear errors, tracebacks and silently accepted values.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from skim.cli import main
from skim.data import Dataset, save_dataset

VALID_RUN = """\
[run]
out = "out"
[dataset]
path = "data"
[generate]
generators = ["extractive"]
[train]
learners = ["ova"]
"""


@dataclass(frozen=True)
class Case:
    """A command line (``{tmp}`` is the test's folder) and what its error must say."""

    name: str
    argv: tuple[str, ...]
    says: tuple[str, ...]
    config: str | None = None  # a TOML file written to {tmp}/c.toml first
    template: str | None = None  # a Jinja2 file written to {tmp}/t.j2 first


def _run_case(name: str, edit: str, says: str) -> Case:
    """``skim run`` on the valid config with one key set: ``edit`` is "[section]\nkey = value"."""
    section, line = edit.split("\n", 1)
    key = line.split("=")[0].strip()
    lines, current, done = VALID_RUN.splitlines(), None, False
    for i, text in enumerate(lines):
        if text.startswith("["):
            current = text
        elif current == section and text.split("=")[0].strip() == key:
            lines[i], done = line, True
    if not done and section in lines:
        lines.insert(lines.index(section) + 1, line)
    elif not done:
        lines += [section, line]
    text = "\n".join(lines) + "\n"
    return Case(name, ("run", "{tmp}/c.toml"), ("{tmp}/c.toml", says), config=text)


def _cli_case(name: str, argv: str, *says: str) -> Case:
    return Case(name, tuple(argv.split()), says)


def _template_case(name: str, source: str, *says: str) -> Case:
    argv = "teach {tmp}/data {tmp}/demos.jsonl --direction queries-to-labels --teacher gold "
    argv += "--seed-fraction 0.5 --template {tmp}/t.j2"
    return Case(name, tuple(argv.split()), ("{tmp}/t.j2", *says), template=source)


GEN = "generate {tmp}/data {tmp}/s.jsonl --direction queries-to-labels"
MAP = "map {tmp}/data {tmp}/s.jsonl {tmp}/m.npz --direction queries-to-labels"
GOLD = "teach {tmp}/data OUT --direction queries-to-labels --teacher gold --seed-fraction 0.5"

# fmt: off
CASES = [
    # skim run: the whole config is checked before anything is written
    _run_case("tau > 1", "[map]\ntau = 2", "[map] tau must be in [0, 1]"),
    _run_case("tau nan", "[map]\ntau = nan", "[map] tau must be in [0, 1]"),
    _run_case("tau word", '[map]\ntau = "high"', '[map] tau must be a number or "auto"'),
    _run_case("topk 0", "[map]\ntopk = 0", "[map] topk must be an integer >= 1, got 0"),
    _run_case("topk text", '[map]\ntopk = "ten"', "[map] topk must be int"),
    _run_case("seed -1", "[run]\nseed = -1", "[run] seed must be an integer >= 0, got -1"),
    _run_case("seed float", "[run]\nseed = 1.5", "[run] seed must be int"),
    _run_case("epochs 0", "[train]\nepochs = 0", "[train] epochs must be an integer >= 1, got 0"),
    _run_case("epochs table 0", "[train]\nepochs = {ova = 0}", "[train] epochs must be"),
    _run_case("learners empty", "[train]\nlearners = []", "[train] learners must name"),
    _run_case("learner unknown", '[train]\nlearners = ["svm"]', "unknown learner 'svm'"),
    _run_case("learner twice", '[train]\nlearners = ["ova", "ova"]', "names 'ova' twice"),
    _run_case("method unknown", '[train]\nmethods = ["magic"]', "[train] methods: unknown method"),
    _run_case("generator unknown", '[generate]\ngenerators = ["gpt"]', "unknown generator 'gpt'"),
    _run_case(
        "openai no endpoint", '[generate]\ngenerators = ["openai"]', "needs [teach] endpoint"
    ),
    _run_case("num_return 0", "[generate]\nnum_return = 0", "[generate] num_return must be"),
    _run_case("teach n 0", "[teach]\nn = 0", "[teach] n must be an integer >= 1"),
    _run_case("sample 1.5", "[teach]\nsample = 1.5", "[teach] sample must be a count"),
    _run_case("seed_fraction 0", "[teach]\nseed_fraction = 0", "[teach] seed_fraction must be"),
    _run_case("distill epochs -1", "[distill]\nepochs = -1", "[distill] epochs must be a positive"),
    _run_case("temperature 0", "[simulate]\ntemperature = 0", "[simulate] temperature must be"),
    _run_case("index unknown", '[map]\nindex = "annoy"', "[map] index must be one of"),
    _run_case("k empty", "[evaluate]\nk = []", "[evaluate] k must be a non-empty list"),
    _run_case("unknown key", "[map]\ntua = 0.5", "unknown key 'tua' in [map]"),
    _run_case("missing dataset", '[dataset]\npath = "nowhere"', "[dataset] path 'nowhere' is not"),
    Case(
        "compare --methods",
        ("compare", "{tmp}/c.toml", "--methods", "none,magic"),
        ("--methods", "unknown method 'magic'"),
        config=VALID_RUN,
    ),
    # command-line values, checked as they are parsed
    _cli_case("--num-return 0", GEN + " --num-return 0", "--num-return", "positive integer"),
    _cli_case("--limit -1", GEN + " --limit -1", "--limit", "got '-1'"),
    _cli_case("--shard-size 0", GEN + " --shard-size 0", "--shard-size"),
    _cli_case("--seed -1", GEN + " --seed -1", "--seed", "integer >= 0"),
    _cli_case("--temperature nan", GEN + " --temperature nan", "--temperature"),
    _cli_case("--top-k for extractive", GEN + " --top-k 5", "extractive", "--top-k"),
    _cli_case("map OUT.csv", MAP.replace("m.npz", "m.csv"), "m.csv", "must end in .npz"),
    _cli_case("--chunk-size 0", MAP + " --chunk-size 0", "--chunk-size"),
    _cli_case("--topk 0", MAP + " --topk 0", "--topk"),
    _cli_case("--target-precision 2", MAP + " --target-precision 2", "--target-precision"),
    _cli_case("predict OUT.csv", "predict {tmp}/data {tmp}/m {tmp}/p.csv", "p.csv", ".npz"),
    _cli_case("train --epochs 0", "train {tmp}/data {tmp}/m --epochs 0", "--epochs"),
    _cli_case("train --lr -1", "train {tmp}/data {tmp}/m --lr -1", "--lr"),
    _cli_case(
        "teach --sample -3", GOLD.replace("OUT", "{tmp}/d.jsonl") + " --sample -3", "--sample"
    ),
    _cli_case(
        "teach --seed-fraction 2",
        GOLD.replace("0.5", "2").replace("OUT", "{tmp}/d.jsonl"),
        "--seed-fraction",
    ),
    _cli_case("teach --n 0", GOLD.replace("OUT", "{tmp}/d.jsonl") + " --n 0", "--n"),
    _cli_case(
        "distill --epochs 0",
        "distill {tmp}/d.jsonl {tmp}/slm --from-scratch --epochs 0",
        "--epochs",
    ),
    # prompt templates: errors at parse and at render time, with the line
    _template_case("huge range", "{{ text }}\n{{ range(100000000)|list }}", "line 2", "range()"),
    _template_case("division by zero", "{{ 1 / 0 }}", "line 1", "ZeroDivisionError"),
    _template_case("undefined variable", "{{ title }}", "line 1", "'title' is undefined"),
    _template_case("syntax error", "ok\n{% for x in known %}\n{{ x }\n", "line 3", "syntax error"),
    _template_case("private attribute", "{{ text.__class__ }}", "line 1", "unsafe"),
    # outputs that cannot be written
    _cli_case("output is a folder", GOLD.replace("OUT", "{tmp}/adir.jsonl"),
              "cannot write {tmp}/adir.jsonl: it is a folder"),
    _cli_case("parent is a file", GOLD.replace("OUT", "{tmp}/afile.txt/demos.jsonl"),
              "{tmp}/afile.txt is a file, not a folder"),
    Case("run out is a file", ("run", "{tmp}/c.toml", "--out", "{tmp}/afile.txt"),
         ("cannot write {tmp}/afile.txt: it exists and is not a folder",), config=VALID_RUN),
    _cli_case("generate into a folder", GEN.replace("s.jsonl", "adir.jsonl"),
              "cannot write {tmp}/adir.jsonl: it is a folder"),
    _cli_case("predict into a folder", "predict {tmp}/data {tmp}/m {tmp}/adir.npz",
              "cannot write {tmp}/adir.npz: it is a folder"),
    _cli_case("train into a file", "train {tmp}/data {tmp}/afile.txt",
              "cannot write {tmp}/afile.txt: it exists and is not a folder"),
    _cli_case("train over a folder of other files", "train {tmp}/data {tmp}/data",
              "cannot write {tmp}/data: it holds"),
]
# fmt: on


def _dataset() -> Dataset:
    """3 train queries, 3 labels, with metadata and complete labels (for the gold teacher)."""
    observed = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    complete = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]], np.float32)
    return Dataset(
        trn_texts=["exon", "intron", "gene"],
        tst_texts=["codon"],
        label_texts=["sequence", "nucleic acid", "unit"],
        trn_X_Y=sp.csr_matrix(observed),
        tst_X_Y=sp.csr_matrix(np.array([[1, 0, 0]], np.float32)),
        trn_X_Y_unbiased=sp.csr_matrix(complete),
        trn_meta=["a coding segment", "a non-coding segment", "a unit of heredity"],
        label_meta=["a series", "an acid", "a single thing"],
    )


def prepare(tmp: Path, case: Case) -> list[str]:
    """Write the inputs a case needs under ``tmp``; return its command line."""
    save_dataset(_dataset(), tmp / "data")
    (tmp / "afile.txt").write_text("a file where a folder should be\n")
    (tmp / "adir.jsonl").mkdir()
    (tmp / "adir.npz").mkdir()
    if case.config is not None:
        (tmp / "c.toml").write_text(case.config)
    if case.template is not None:
        (tmp / "t.j2").write_text(case.template)
    return [arg.replace("{tmp}", str(tmp)) for arg in case.argv]


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def check_one_sentence(err: str, case: Case, tmp: Path) -> None:
    """One line from skim, naming what the case says it must name, and no traceback."""
    assert "Traceback" not in err, err
    assert err.startswith("skim ") and err.endswith("\n") and err.count("\n") == 1, err
    for part in case.says:
        assert part.replace("{tmp}", str(tmp)) in err, (part, err)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_setting_is_one_sentence_and_writes_nothing(case, tmp_path, capsys):
    argv = prepare(tmp_path, case)
    before = _tree(tmp_path)
    assert main(argv) == 2
    check_one_sentence(capsys.readouterr().err, case, tmp_path)
    assert _tree(tmp_path) == before  # no output, partial output or temporary file


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 25 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("name", ["epochs 0", "--chunk-size 0", "huge range"])
def test_a_real_process_exits_2_with_one_sentence(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    argv = prepare(tmp_path, case)
    done = subprocess.run(
        [sys.executable, "-m", "skim", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""
    check_one_sentence(done.stderr, case, tmp_path)
