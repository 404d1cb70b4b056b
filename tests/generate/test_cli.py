"""``skim generate --help``: each generator-specific option names the generators that use it,
and the defaults it states are theirs."""

import inspect
import re

from skim.cli import build_parser, commands_of
from skim.generate.hf import HFGenerator
from skim.generate.openai import OpenAIGenerator
from skim.generate.vllm import VLLMGenerator

CLASSES = {"hf": HFGenerator, "vllm": VLLMGenerator, "openai": OpenAIGenerator}
RENAMED = {("openai", "max_new_tokens"): "max_tokens"}  # the endpoint's name for it
ENGINE_OPTIONS = {("vllm", "tensor_parallel_size")}  # passed on to vLLM's engine as is
GENERAL = {"help", "dataset", "out", "direction", "generator", "num_return", "limit",
           "shard_size", "overwrite", "seed", "json", "ray", "verbosity"}  # fmt: skip


def _takes(generator: str, option: str) -> bool:
    parameters = inspect.signature(CLASSES[generator]).parameters
    return RENAMED.get((generator, option), option) in parameters or (
        (generator, option) in ENGINE_OPTIONS
    )


def _stated_defaults(help_text: str, users: list[str]) -> dict[str, str]:
    """``(default: 128 for hf and vllm, 256 for openai)`` -> {hf: 128, vllm: 128, openai: 256};
    ``(default: 0.8)`` -> that value for every user."""
    found = re.search(r"\(default: ([^)]*)\)", help_text)
    if found is None:
        return {}
    stated = {}
    for part in found.group(1).split(", "):
        value, _, names = part.partition(" for ")
        for name in names.split(" and ") if names else users:
            stated[name] = value
    return stated


def test_each_generator_option_says_which_generators_use_it_and_their_default():
    parser = dict(commands_of(build_parser()))["generate"]
    checked = 0
    for action in parser._actions:
        if action.dest in GENERAL:
            continue
        head = action.help.split(": ")[0]
        users = [name for name in re.split(r",\s*", head) if name in CLASSES]
        expected = [name for name in CLASSES if _takes(name, action.dest)]
        assert users == expected, (action.option_strings, action.help)
        for name, value in _stated_defaults(action.help, users).items():
            default = inspect.signature(CLASSES[name]).parameters.get(
                RENAMED.get((name, action.dest), action.dest)
            )
            number = default is not None and not isinstance(default.default, bool)
            if number and isinstance(default.default, (int, float)):
                assert float(value) == default.default, (action.option_strings, name)
                checked += 1
    assert checked >= 8  # temperature x3, top-k x2, max-new-tokens x3, batch size, ...
    shown = " ".join(parser.format_help().split())
    assert "(default: 128 for hf and vllm, 256 for openai)" in shown
    assert "--top-k TOP_K hf, vllm: sampling top-k (default: 200)" in shown
