"""A stand-in for vLLM (it needs a GPU and is not installed in CI) that records what it gets."""

import sys
import types


def fake_vllm(monkeypatch) -> dict[str, list]:
    """Install a fake ``vllm`` module; return the engine arguments (``"engines"``) and the
    sampling settings (``"sampling"``) each run of the vllm generator passed to it."""
    seen: dict[str, list] = {"engines": [], "sampling": []}

    class LLM:
        def __init__(self, model, **engine):
            seen["engines"].append(engine)

        def generate(self, prompts, params, lora_request=None, use_tqdm=False):
            done = types.SimpleNamespace(text="canine\nanimal", token_ids=[1, 2, 3])
            return [types.SimpleNamespace(outputs=[done]) for _ in prompts]

    def sampling_params(**settings):
        seen["sampling"].append(settings)
        return settings

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, sampling_params
    lora = types.ModuleType("vllm.lora.request")
    lora.LoRARequest = lambda *a: a
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.lora", types.ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", lora)
    return seen
