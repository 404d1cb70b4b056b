"""Batched decoding of a causal LM on a CPU budget: pay only for the tokens that matter.

``transformers``' ``generate`` keeps every row of a batch running until the longest one ends
and, at the prompt, projects every position onto the vocabulary (262K x 640 for Gemma 3, most
of a small model's cost). :func:`decode` runs the decoder on a key-value cache and

- projects only each row's last hidden state onto the vocabulary;
- reads each prompt once, however many samples it is decoded into (``num_return``);
- drops a row from the batch (and its cache) as soon as it writes the end-of-sequence token;
- optionally projects onto a restricted vocabulary (a :class:`Head` with ``keep_ids``, e.g.
  the tokens of the dataset's texts, or a label trie): far less work per token, but the model
  can then write only those tokens. The head is built once per generator, not per batch.

Greedy decoding over the full vocabulary gives the same tokens as ``generate``; sampling
follows ``generate``'s recipe (temperature, then top-k, then a multinomial draw).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sampling:
    """How each next token is chosen: ``temperature`` 0 decodes greedily; above 0 samples from
    the ``top_k`` most likely tokens (all when None); ``num_return`` rows per prompt, drawn
    with ``generator`` (a ``torch.Generator``)."""

    temperature: float = 0.0
    top_k: int | None = None
    num_return: int = 1
    generator: Any = None


GREEDY = Sampling()


class Head:
    """The LM head as decoding uses it, built once per model and output vocabulary.

    Parameters
    ----------
    model
        A transformers causal LM (``get_output_embeddings``).
    keep_ids
        1-D LongTensor of the token ids the model may write (must hold the end ids); None
        keeps the whole vocabulary.
    constraint
        A :class:`skim.generate.constrain.LabelTrie`: each row writes only its names; the
        projection is then restricted to the trie's tokens (``keep_ids`` must be None).
    """

    def __init__(self, model: Any, keep_ids: Any = None, constraint: Any = None) -> None:
        import torch

        device = next(model.parameters()).device
        self.constraint = constraint
        if constraint is not None:
            keep_ids = torch.tensor(constraint.vocabulary(), dtype=torch.long)
            self.column = {token: j for j, token in enumerate(keep_ids.tolist())}
        head = model.get_output_embeddings()
        self.weight, self.bias = head.weight, getattr(head, "bias", None)
        self.keep_ids = keep_ids.to(device) if keep_ids is not None else None
        if self.keep_ids is not None:  # a copy of the kept rows, made once, not per batch
            self.weight = self.weight[self.keep_ids]
            self.bias = self.bias[self.keep_ids] if self.bias is not None else None
        self.cap = getattr(model.config, "final_logit_softcapping", None)

    def logits(self, hidden: Any, states: list | None) -> Any:
        """Float logits over the kept tokens; a constrained row's barred tokens at -inf."""
        import torch

        logits = torch.nn.functional.linear(hidden, self.weight, self.bias).float()
        if self.cap:
            logits = torch.tanh(logits / self.cap) * self.cap
        if states is not None:
            rows, cols = [], []
            for i, state in enumerate(states):
                allowed = [self.column[t] for t in self.constraint.allowed(state)]
                rows.extend([i] * len(allowed))
                cols.extend(allowed)
            barred = torch.ones_like(logits, dtype=torch.bool)
            barred[rows, cols] = False
            logits = logits.masked_fill(barred, float("-inf"))
        return logits

    def tokens(self, chosen: Any) -> Any:
        """Vocabulary ids of the chosen columns."""
        return self.keep_ids[chosen] if self.keep_ids is not None else chosen


def decode(
    model: Any,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    sampling: Sampling = GREEDY,
    head: Head | None = None,
) -> list[list[int]]:
    """New token ids for each prompt (``sampling.num_return`` consecutive rows per prompt).

    Parameters
    ----------
    model
        A transformers causal LM (``get_decoder``, ``get_output_embeddings``).
    prompts
        Token ids per prompt, special tokens included; left-padded here.
    eos_ids
        Token ids that end a row; the ending token is not part of the output.
    sampling
        Greedy by default.
    head
        The output projection (a restricted vocabulary, a label constraint); build it once
        and pass it to every batch. None projects onto the whole vocabulary.

    Returns
    -------
    list of list of int
        ``len(prompts) * num_return`` rows of generated ids, without the end token.
    """
    import torch

    head = head or Head(model)
    device = next(model.parameters()).device
    eos = torch.tensor(sorted(set(eos_ids)), device=device)
    decoder = model.get_decoder()
    n_rows = len(prompts) * sampling.num_return
    alive = torch.arange(n_rows, device=device)
    out: list[list[int]] = [[] for _ in range(n_rows)]
    constraint = head.constraint
    states = [constraint.start() for _ in range(n_rows)] if constraint is not None else None
    with torch.inference_mode():
        hidden, mask, last, cache = _prefill(model, decoder, prompts, pad_id, sampling.num_return)
        for step in range(max_new_tokens):
            chosen = _choose(head.logits(hidden, states), sampling)
            tokens = head.tokens(chosen)
            ended = torch.isin(tokens, eos)
            for row, token, end in zip(
                alive.tolist(), tokens.tolist(), ended.tolist(), strict=True
            ):
                if not end:
                    out[row].append(token)
            if states is not None:
                states = [
                    constraint.advance(a, t) for a, t in zip(states, tokens.tolist(), strict=True)
                ]
            if step == max_new_tokens - 1 or bool(ended.all()):
                if states is not None:  # rows cut by the budget drop a half-written name
                    for row, state, end in zip(alive.tolist(), states, ended.tolist(), strict=True):
                        if not end:
                            out[row] = constraint.trim(out[row], state)
                break
            if bool(ended.any()):  # finished rows leave the batch, and their cache with them
                running = (~ended).nonzero().squeeze(-1)
                if states is not None:
                    states = [states[i] for i in running.tolist()]
                cache.batch_select_indices(running)
                alive, mask, tokens, last = (t[running] for t in (alive, mask, tokens, last))
            mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
            last = last + 1
            hidden = decoder(
                input_ids=tokens[:, None], attention_mask=mask, position_ids=last[:, None],
                cache=cache, use_cache=True,
            ).last_hidden_state[:, -1]  # fmt: skip
    return out


def _prefill(model, decoder, prompts, pad_id: int, num_return: int):
    """Read the left-padded prompts once into a key-value cache; return each row's last hidden
    state, attention mask, last position and the cache, repeated ``num_return`` times."""
    import torch
    from transformers import DynamicCache

    device = next(model.parameters()).device
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, row in enumerate(prompts):
        ids[i, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
        mask[i, width - len(row) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
    hidden = decoder(
        input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
    ).last_hidden_state[:, -1]  # fmt: skip
    last = positions[:, -1]
    if num_return > 1:  # each prompt is read once; its cache is copied for its samples
        cache.batch_repeat_interleave(num_return)
        hidden, mask, last = (t.repeat_interleave(num_return, dim=0) for t in (hidden, mask, last))
    return hidden, mask, last, cache


def _choose(logits, sampling: Sampling):
    """Greedy (``temperature`` 0) or sampled next-token indices, one per row.

    Sampling draws from the softmax of the ``top_k`` largest logits over ``temperature``, the
    distribution of ``generate``'s temperature-then-top-k recipe, but the softmax and the draw
    run over ``top_k`` values instead of the whole vocabulary (there most of the time went).
    """
    import torch

    temperature, top_k = sampling.temperature, sampling.top_k
    if temperature <= 0:
        return logits.argmax(-1)
    if top_k and top_k < logits.shape[-1]:
        values, indices = torch.topk(logits, top_k, dim=-1)
    else:
        values, indices = logits, None
    probs = torch.softmax(values / temperature, dim=-1)
    drawn = torch.multinomial(probs, 1, generator=sampling.generator)
    return (indices.gather(-1, drawn) if indices is not None else drawn).squeeze(-1)


def dataset_vocabulary(tokenizer, texts: Sequence[str], always: Sequence[int] = ()) -> Any:
    """Sorted LongTensor of the token ids that ``texts`` use, with and without a leading space.

    ``always`` (end-of-sequence, newline, ...) is added. Decoding restricted to these ids is
    much cheaper for a large-vocabulary model, but it is a constraint, not an approximation:
    the model can write only words made of these tokens.
    """
    import torch

    keep = set(int(i) for i in always)
    batch = list(dict.fromkeys(t for text in texts for t in (text, " " + text, "\n" + text)))
    for start in range(0, len(batch), 4096):
        for row in tokenizer(batch[start : start + 4096], add_special_tokens=False)["input_ids"]:
            keep.update(row)
    return torch.tensor(sorted(keep), dtype=torch.long)
