"""``--generator vllm --ray``: the student through Ray Data's LLM processor (``ray.data.llm``).

vLLM engine replicas, one per GPU, each with the distilled LoRA adapter, serve every unfinished
shard in one Ray Data pass; the driver loads only the tokenizer (the prompts are the student's
token ids, as in :class:`skim.generate.vllm.VLLMGenerator`) and writes each shard as before.
The processor returns one sample per row, so an item asking ``num_return`` texts is
``num_return`` rows with seeds ``seed``, ``seed + 1``, ...: samples of the same distribution,
not the one-process samples. Needs ``ray[llm]`` and vLLM on GPU nodes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from skim.distill.format import parse_completion
from skim.generate.base import make_items
from skim.generate.student import check_sampling, student_prompt_ids, student_settings
from skim.generate.vllm import student_engine
from skim.scale.cluster import RayOptions, connect, pool_size


class RayVLLMGenerator:
    """The vllm generator's settings and prompts on the driver; its engines on the cluster."""

    name = "vllm"

    def __init__(self, model: str | None, adapter: str | None = None,
                 direction: str = "queries-to-labels", no_metadata: bool = False,
                 num_return: int = 1, max_texts: int = 10, max_new_tokens: int = 64,
                 temperature: float = 0.8, top_k: int = 200, max_metadata_words: int | None = None,
                 gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                 seed: int = 0, **engine_options: Any) -> None:  # fmt: skip
        from transformers import AutoTokenizer

        check_sampling(num_return, temperature)
        self.base, self.adapter, manifest, self.engine = student_engine(
            model, adapter, gpu_memory_utilization, max_model_len, seed, engine_options
        )
        self.tokenizer = AutoTokenizer.from_pretrained(self.adapter or self.base)
        self.sampling = {"max_tokens": max_new_tokens, "temperature": temperature}
        if temperature > 0:
            self.sampling["top_k"] = top_k
        self.direction, self.generated_tokens = direction, 0
        self.settings = student_settings(
            model, adapter, manifest, no_metadata, num_return, max_texts, max_new_tokens,
            temperature, top_k, max_metadata_words, seed,
        )  # fmt: skip

    def config(self, options: RayOptions):
        """The ``vLLMEngineProcessorConfig``: the base as model source, one replica per GPU
        (``[ray] actors`` replicas if set); the prompts come tokenized, the engine gives text."""
        from ray.data.llm import vLLMEngineProcessorConfig

        return vLLMEngineProcessorConfig(
            model_source=self.base, engine_kwargs=self.engine,
            concurrency=options.actors or pool_size(gpus_per_actor=options.gpus_per_actor or 1),
            batch_size=64, chat_template_stage=False, tokenize_stage=False,
            detokenize_stage=False,
        )  # fmt: skip

    def rows(self, items: list, shard: int) -> list[dict[str, Any]]:
        """One row per item and sample: the student's prompt as token ids, the LoRA adapter
        (a ``model`` other than the base), the sampling parameters with the sample's seed."""
        rows = []
        prompt_ids = student_prompt_ids(self.tokenizer, items, self.direction, self.settings)
        for item, ids in zip(items, prompt_ids, strict=True):
            for j in range(self.settings["num_return"]):
                sampling = dict(self.sampling, seed=self.settings["seed"] + j)
                rows.append(
                    {
                        "shard": shard,
                        "source": item.source,
                        "tokenized_prompt": ids,
                        "model": self.adapter or self.base,
                        "sampling_params": sampling,
                    }
                )
        return rows  # fmt: skip

    def generate_shards(self, dataset, todos: dict[int, list[int]], no_metadata: bool,
                        options: RayOptions) -> Iterator[tuple[int, list, float]]:  # fmt: skip
        """Every shard's texts per source, by one pass of the processor over all of them."""
        ray = connect(options.address)
        from ray.data.llm import build_processor

        tick = time.perf_counter()
        rows = [row for number, todo in todos.items()
                for row in self.rows(make_items(dataset, self.direction, todo, no_metadata),
                                     number)]  # fmt: skip
        keep = ("shard", "source", "generated_text", "num_generated_tokens")
        processor = build_processor(
            self.config(options), postprocess=lambda row: {k: row[k] for k in keep}
        )
        texts: dict[tuple[int, int], list[str]] = {}
        for row in processor(ray.data.from_items(rows)).iter_rows():
            texts.setdefault((int(row["shard"]), int(row["source"])), []).append(
                row["generated_text"])  # fmt: skip
            self.generated_tokens += int(row["num_generated_tokens"])
        seconds = (time.perf_counter() - tick) / max(1, len(todos))
        for number, todo in todos.items():
            parsed = [parse_completion("\n".join(texts.get((number, s), [])),
                                       self.settings["max_texts"]) for s in todo]  # fmt: skip
            yield number, parsed, seconds
