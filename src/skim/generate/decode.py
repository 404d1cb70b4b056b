"""Batched decoding of a causal LM on a CPU budget: pay only for the tokens that matter.

``transformers``' ``generate`` keeps every row of a batch running until the longest one ends
and, at the prompt, projects every position onto the vocabulary (262K x 640 for Gemma 3, most
of a small model's cost). :func:`decode` runs the decoder on a key-value cache and

- projects only each row's last hidden state onto the vocabulary;
- reads each prompt once, however many samples it is decoded into (``num_return``);
- drops a row from the batch (and its cache) as soon as it writes the end-of-sequence token;
- optionally projects onto a restricted vocabulary (``keep_ids``, e.g. the tokens of the
  dataset's texts): far less work per token, but the model can then write only those tokens.

Greedy decoding over the full vocabulary gives the same tokens as ``generate``; sampling
follows ``generate``'s recipe (temperature, then top-k, then a multinomial draw).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def decode(
    model: Any,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    num_return: int = 1,
    keep_ids: Any = None,
    generator: Any = None,
    constraint: Any = None,
) -> list[list[int]]:
    """New token ids for each prompt (``num_return`` consecutive rows per prompt).

    Parameters
    ----------
    model
        A transformers causal LM (``get_decoder``, ``get_output_embeddings``).
    prompts
        Token ids per prompt, special tokens included; left-padded here.
    eos_ids
        Token ids that end a row; the ending token is not part of the output.
    temperature
        0 decodes greedily; above 0 samples (``top_k`` most likely tokens only, when given).
    keep_ids
        1-D LongTensor of the token ids the model may write (must hold ``eos_ids``); None
        keeps the whole vocabulary.
    generator
        ``torch.Generator`` for sampling.
    constraint
        A :class:`skim.generate.constrain.LabelTrie`: each row writes only its names; the
        projection is then restricted to the trie's tokens (``keep_ids`` must be None).

    Returns
    -------
    list of list of int
        ``len(prompts) * num_return`` rows of generated ids, without the end token.
    """
    import torch

    device = next(model.parameters()).device
    if constraint is not None:
        keep_ids = torch.tensor(constraint.vocabulary(), dtype=torch.long)
        column = {token: j for j, token in enumerate(keep_ids.tolist())}
    decoder = model.get_decoder()
    weight = model.get_output_embeddings().weight
    bias = getattr(model.get_output_embeddings(), "bias", None)
    if keep_ids is not None:
        keep_ids = keep_ids.to(device)
        weight = weight[keep_ids]
        bias = bias[keep_ids] if bias is not None else None
    cap = getattr(model.config, "final_logit_softcapping", None)
    eos = torch.tensor(sorted(set(eos_ids)), device=device)

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, row in enumerate(prompts):
        ids[i, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
        mask[i, width - len(row) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)

    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    n_rows = len(prompts) * num_return
    alive = torch.arange(n_rows, device=device)
    out: list[list[int]] = [[] for _ in range(n_rows)]
    states = [constraint.start() for _ in range(n_rows)] if constraint is not None else None
    with torch.inference_mode():
        hidden = decoder(
            input_ids=ids, attention_mask=mask, position_ids=positions,
            cache=cache, use_cache=True,
        ).last_hidden_state[:, -1]  # fmt: skip
        last = positions[:, -1]
        if num_return > 1:  # each prompt is read once; its cache is copied for its samples
            cache.batch_repeat_interleave(num_return)
            hidden, mask, last = (
                t.repeat_interleave(num_return, dim=0) for t in (hidden, mask, last)
            )
        for step in range(max_new_tokens):
            logits = torch.nn.functional.linear(hidden, weight, bias).float()
            if cap:
                logits = torch.tanh(logits / cap) * cap
            if states is not None:
                barred = torch.ones_like(logits, dtype=torch.bool)
                for i, state in enumerate(states):
                    barred[i, [column[t] for t in constraint.allowed(state)]] = False
                logits = logits.masked_fill(barred, float("-inf"))
            chosen = _choose(logits, temperature, top_k, generator)
            tokens = keep_ids[chosen] if keep_ids is not None else chosen
            ended = torch.isin(tokens, eos)
            rows_now = zip(alive.tolist(), tokens.tolist(), ended.tolist(), strict=True)
            for row, token, end in rows_now:
                if not end:
                    out[row].append(token)
            if states is not None:
                written = tokens.tolist()
                states = [constraint.advance(a, t) for a, t in zip(states, written, strict=True)]
            if step == max_new_tokens - 1 or bool(ended.all()):
                if states is not None:  # rows cut by the budget drop a half-written name
                    for row, state, end in zip(alive.tolist(), states, ended.tolist(), strict=True):
                        if not end:
                            out[row] = constraint.trim(out[row], state)
                break
            if bool(ended.any()):
                running = (~ended).nonzero().squeeze(-1)
                if states is not None:
                    states = [states[i] for i in running.tolist()]
                cache.batch_select_indices(running)
                alive, mask, tokens, last = (
                    alive[running],
                    mask[running],
                    tokens[running],
                    last[running],
                )
            mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
            last = last + 1
            hidden = decoder(
                input_ids=tokens[:, None], attention_mask=mask, position_ids=last[:, None],
                cache=cache, use_cache=True,
            ).last_hidden_state[:, -1]  # fmt: skip
    return out


def _choose(logits, temperature: float, top_k: int | None, generator):
    """Greedy (``temperature`` 0) or sampled next-token indices, one per row.

    Sampling draws from the softmax of the ``top_k`` largest logits over ``temperature``, the
    distribution of ``generate``'s temperature-then-top-k recipe, but the softmax and the draw
    run over ``top_k`` values instead of the whole vocabulary (there most of the time went).
    """
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    if top_k and top_k < logits.shape[-1]:
        values, indices = torch.topk(logits, top_k, dim=-1)
    else:
        values, indices = logits, None
    probs = torch.softmax(values / temperature, dim=-1)
    drawn = torch.multinomial(probs, 1, generator=generator)
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
