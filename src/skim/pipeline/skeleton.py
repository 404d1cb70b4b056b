"""``skim run --example``: a commented ``skim run`` config, written from the config's schema.

Every section and key of :data:`skim.pipeline.config.SCHEMA` appears, with its default and one
line on what it does, so the skeleton cannot fall behind the schema (a key without a note here
fails a test; a note of a key the schema lacks is not printed). A key whose default is
"unset" is shown commented out with an example value; the optional ``[simulate]`` section is
commented out as a whole, since its presence alone turns the simulation stage on. The active
lines are the defaults, plus :data:`STARTER` (what a run needs
and has no default: an output folder and a dataset), so ``skim run`` accepts the file as is.
"""

from __future__ import annotations

import json
from typing import Any

from skim.generate.registry import RUNS
from skim.index.build import INDEX_KINDS
from skim.learners.registry import LEARNERS, METHODS
from skim.pipeline.config import RUN_CONTROLS, SCHEMA
from skim.simulate.builders import BUILDERS

# What a runnable config must set that has no default.
STARTER: dict[str, dict[str, Any]] = {"run": {"out": "skim-run"}, "dataset": {"builder": "wordnet"}}

# Sections whose mere presence turns a stage on: written commented out.
OPTIONAL_SECTIONS = ("simulate",)

SECTION_NOTES = {
    "run": "the whole run: `skim run CONFIG` skips every stage whose inputs and settings are "
    "unchanged, so a rerun continues where it stopped",
    "dataset": "the data: a folder in the DATASET.md layout (path) or one built (builder)",
    "simulate": "present: rewrite the dataset's observed labels from its complete ones "
    "(click bias, as skim simulate)",
    "teach": "demonstrations: an LLM teacher at an endpoint, or the gold stand-in",
    "distill": "the student that learns the teacher's task (used by the slm generator)",
    "generate": "synthetic texts for every item",
    "map": "synthetic texts -> new train pairs, kept at tau",
    "train": "the XC learners, each trained with each method on base and SKIM labels",
    "evaluate": "metrics on the observed and the unbiased test labels",
    "ray": "generate (extractive, hf) and map on a Ray cluster (skim run --ray overrides address)",
}


def _names(names) -> str:
    return ", ".join(f'"{name}"' for name in names)


# section -> key -> (what it does, an example value for a key that is unset by default)
KEY_NOTES: dict[str, dict[str, tuple[str, Any]]] = {
    "run": {
        "out": ("output folder (skim run --out overrides it)", None),
        "seed": ("random seed of every stage", None),
        "device": (
            "torch device of every stage: cpu, cuda, cuda:N (default: a GPU if any; not part "
            "of any stage's settings, so moving a run does not redo it)",
            "cpu",
        ),
    },
    "dataset": {
        "path": ("a dataset folder (DATASET.md layout), instead of builder", "my-dataset"),
        "builder": (f"a built-in dataset with complete labels: {_names(BUILDERS)}", None),
        "depth": ('wordnet: labels are hypernym ancestors up to this distance, or "all"', None),
        "exposure_topk": ("wordnet: a true pair is observed only if its label is in the "
                          "encoder's top-K (click bias; 0 keeps every pair)", None),
        "lexfiles": ("wordnet: only queries of these lexicographer files (unset: every noun)",
                     ["noun.food", "noun.plant"]),
        "source": ("wordnet: a WordNet dict folder or data.noun (unset: the shipped copy)",
                   "wordnet-3.0/dict"),
        "encoder": ("wordnet: the encoder of the exposure simulation (unset: MiniLM)",
                    "all-MiniLM-L6-v2"),
    },
    "simulate": {
        "exposure_topk": ("observe a true pair only if its label is in the top-K", None),
        "encoder": ("the encoder ranking the labels (unset: MiniLM)", "all-MiniLM-L6-v2"),
        "click_model": ("after exposure, keep a pair w.p. sigmoid(score/T)", "sigmoid"),
        "temperature": ("T of the click model", None),
        "mar_fraction": ("instead: keep this random fraction of the true pairs (MAR)", 0.1),
    },
    "teach": {
        "teacher": ('"gold" (offline: complete labels of a seed) or "endpoint" (an LLM; "llm" '
                    "too, as skim teach --teacher llm)", None),
        "seed_fraction": ("gold: share of the items in the seed", None),
        "endpoint": ("OpenAI-compatible base URL", "http://localhost:8000/v1"),
        "model": ("model name at the endpoint", "Qwen/Qwen2.5-7B-Instruct"),
        "n": ("texts asked per item", None),
        "sample": ("items to ask: a count or a fraction (unset: all)", 500),
        "concurrency": ("requests in flight", None),
        "max_rpm": ("request starts per minute (unset: unlimited)", 600),
        "batch_api": ("ask through the OpenAI Batch API at half price; the run waits for the "
                      "batches, and a rerun after Ctrl-C collects them", True),
    },
    "distill": {
        "base": ("pretrained student for LoRA: a Hugging Face name, a .gguf file or "
                 "gemma3-270m (unset: from_scratch)", "gemma3-270m"),
        "from_scratch": ("train a tiny Llama and its tokenizer when no base is set", None),
        "epochs": ("passes over the demonstrations", None),
        "lora_r": ("LoRA rank", None),
        "max_steps": ("stop after this many optimizer steps (unset: the epochs')", 200),
        "observed_demos": ("observed pairs added as extra demonstrations of the format", None),
        "hidden_size": ("from scratch: model width", None),
        "num_layers": ("from scratch: layers", None),
        "batch_size": ("demonstrations per forward pass (memory grows with it)", None),
        "gradient_accumulation": ("forward passes summed into one optimizer step", None),
        "gradient_checkpointing": ("recompute activations in the backward pass: far less "
                                   "memory for a large student (GPU), a third more compute", True),
        "precision": ('"auto", "bf16" (the base in bfloat16: a 7B student on a GPU) or "fp32"',
                      None),
        "learning_rate": ("peak learning rate (unset: 2e-4 LoRA, 1e-3 from scratch)", 0.0003),
    },
    "generate": {
        "direction": ('"queries-to-labels" or "labels-to-queries"', None),
        "generators": (f"any of {_names(RUNS)} (slm: the distilled student with transformers; "
                       '"hf" too, as skim generate --generator hf)', None),
        "num_return": ("texts per item", None),
        "no_metadata": ("prompts without metadata", None),
        "model": ("the openai generator's model (unset: [teach] model)", "gpt-4o-mini"),
        "student": ("slm, udapdr, vllm: this distilled folder (skim distill's output) instead "
                    "of distilling one here", "runs/first/slm"),
        "model_items": ("model generators: only this many sampled items (unset: all)", 100),
        "max_new_tokens": ("slm, vllm, openai: tokens generated per item (unset: 128; openai "
                           "256)", 256),
        "temperature": ("slm, vllm, openai: sampling temperature, 0 greedy (unset: 0.8)", 0.7),
        "tensor_parallel_size": ("vllm: GPUs one engine splits the student over (unset: 1)", 2),
        "gpu_memory_utilization": ("vllm: share of each GPU's memory the engine takes (unset: "
                                   "0.9)", 0.8),
        "max_model_len": ("vllm: the engine's context length (unset: 2048, or the model's "
                          "own limit if lower)", 1024),
    },
    "map": {
        "tau": ('keep a pair if (cos+1)/2 >= tau, or "auto" with target_precision', None),
        "topk": ("neighbours per synthetic text", None),
        "encoder": ('the mapping encoder, or "dual": the dual learner trained on the base '
                    "labels (unset: MiniLM)", "dual"),
        "index": (f"nearest-neighbour index: {_names(INDEX_KINDS)}", None),
        "target_precision": ('with tau = "auto": the estimated precision to reach', 0.5),
        "min_votes": ("keep a pair only if this many of an item's texts propose it", None),
        "agree_learner": ("keep a pair only if this learner, trained on the base labels, ranks "
                          "it in its top agree_topk", next(iter(LEARNERS))),
        "agree_topk": ("labels per query of the agreement filter", None),
        "calibrated": ("store the precision estimated at each pair's score", None),
    },
    "train": {
        "learners": (f"any of {_names(LEARNERS)}", None),
        "methods": (f"any of {_names((*METHODS, *RUN_CONTROLS))}", None),
        "oracle": ("also train on the complete labels (the upper bound)", None),
        "epochs": ("a number, or a table {ova = 5, dual = 8} (unset: skim train's)",
                   {"ova": 5, "dual": 8}),
        "encoder": ("the learners' text encoder (unset: MiniLM)", "all-MiniLM-L6-v2"),
        "with_metadata": ("append each query's metadata to its text", None),
    },
    "evaluate": {
        "k": ("cut-offs of P/R/nDCG/PSP@k", None),
        "empty_rows": ('test rows without a label: "skip" (the paper\'s R@k) or "keep" (as 0)',
                       None),
    },
    "ray": {
        "address": ('"local", "auto", "HOST:PORT" or "ray://HOST:PORT" (unset: one process)',
                    "local"),
        "actors": ("workers in the actor pool (unset: one per CPU)", 4),
        "cpus_per_actor": ("CPUs each actor reserves", None),
    },
}  # fmt: skip


def toml_value(value: Any) -> str:
    """``value`` as a TOML value: booleans, numbers, strings, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same quotes and escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def config_skeleton() -> str:
    """The commented config ``skim run --example`` prints; ``skim run`` accepts it as is."""
    lines = [
        "# skim run config: every key with its default. Lines starting with '#' are off;",
        "# remove the '#' to set one. Run it: skim run config.toml (--out FOLDER overrides",
        "# [run] out). The docs: docs/ARCHITECTURE.md; more examples: examples/*.toml.",
    ]
    for section, keys in SCHEMA.items():
        off = "# " if section in OPTIONAL_SECTIONS else ""
        lines += ["", f"# {SECTION_NOTES[section]}", f"{off}[{section}]"]
        for key, (_, default) in keys.items():
            note, example = KEY_NOTES[section][key]
            value = STARTER.get(section, {}).get(key, default)
            if value is None:
                lines.append(f"# {key} = {toml_value(example)}  # {note}")
            else:
                lines.append(f"{off}{key} = {toml_value(value)}  # {note}")
    return "\n".join(lines) + "\n"
