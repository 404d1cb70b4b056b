import pytest
import torch

from skim.generate.decode import Head, Sampling, dataset_vocabulary, decode


@pytest.fixture(scope="module")
def lm():
    """A tiny random Llama with large weights, so greedy outputs vary from step to step."""
    from skim.distill.model import scratch_model, train_tokenizer

    texts = ["hello world foo bar baz", "another text here qux", "soup bread fruitcake"] * 30
    tokenizer = train_tokenizer(texts, 300)
    model = scratch_model(tokenizer, hidden_size=64, num_layers=2, seed=1).eval()
    rng = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 1.0, generator=rng)
    prompts = ["hello world", "another text here and more", "soup", "bar baz qux"]
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    return model, tokenizer, [[tokenizer.bos_token_id] + row for row in ids]


def _reference(model, tokenizer, prompts, new, eos):
    """transformers' greedy generate, cut at the end token."""
    tokenizer.padding_side = "left"
    batch = tokenizer.pad({"input_ids": prompts}, return_tensors="pt")
    out = model.generate(
        **batch, max_new_tokens=new, do_sample=False, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos,
    )  # fmt: skip
    rows = out[:, batch["input_ids"].shape[1] :].tolist()
    return [row[: row.index(eos)] if eos in row else row for row in rows]


def test_greedy_decoding_equals_generate_when_rows_end_at_different_steps(lm):
    model, tokenizer, prompts = lm
    free = decode(model, prompts, 12, [tokenizer.eos_token_id], tokenizer.pad_token_id)
    assert len({tuple(r) for r in free}) == len(prompts)  # varied, so the check means something
    row = free[1]
    cut = next(k for k in range(2, len(row)) if row[k] not in row[:k])
    eos = row[cut]  # row 1 now ends after ``cut`` tokens, while others run on
    ours = decode(model, prompts, 12, [eos], tokenizer.pad_token_id)
    assert ours == _reference(model, tokenizer, prompts, 12, eos)
    assert len(ours[1]) == cut and max(len(r) for r in ours) > cut


def test_restricted_vocabulary_writes_only_its_tokens_and_matches_when_it_holds_the_argmax(lm):
    model, tokenizer, prompts = lm
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    free = decode(model, prompts, 8, [eos], pad)
    holding = torch.tensor(sorted({t for row in free for t in row} | {eos, 7}))
    assert decode(model, prompts, 8, [eos], pad, head=Head(model, holding)) == free
    narrow = torch.tensor(sorted({free[0][0], free[2][1], eos}))
    constrained = decode(model, prompts, 8, [eos], pad, head=Head(model, narrow))
    assert {t for row in constrained for t in row} <= set(narrow.tolist())


def test_sampling_is_reproducible_and_top_k_1_is_greedy(lm):
    model, tokenizer, prompts = lm
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id

    def sample(seed, **kw):
        rng = torch.Generator().manual_seed(seed)
        return decode(model, prompts, 8, [eos], pad, Sampling(1.0, generator=rng, **kw))

    assert sample(0, num_return=3) == sample(0, num_return=3)
    assert len(sample(0, num_return=3)) == 3 * len(prompts)
    greedy = decode(model, prompts, 8, [eos], pad)
    assert sample(5, top_k=1) == greedy
    twice = decode(model, prompts, 8, [eos], pad, Sampling(num_return=2))  # one read, cache copied
    assert twice == [row for row in greedy for _ in range(2)]


def test_dataset_vocabulary_holds_the_texts_tokens_with_and_without_a_space(lm):
    _, tokenizer, _ = lm
    keep = dataset_vocabulary(tokenizer, ["soup", "bread"], always=[tokenizer.eos_token_id])
    for text in ("soup", " soup", "bread", " bread"):
        assert set(tokenizer(text, add_special_tokens=False)["input_ids"]) <= set(keep.tolist())
    assert tokenizer.eos_token_id in keep.tolist()
    assert keep.tolist() == sorted(set(keep.tolist()))


def _lines(row, newline):
    lines, current = [], []
    for token in row:
        if token == newline:
            lines.append(tuple(current))
            current = []
        else:
            current.append(token)
    return lines + ([tuple(current)] if current else [])


@pytest.mark.parametrize("budget", [3, 5, 16])
def test_constrained_decoding_writes_whole_names_only(lm, budget):
    from skim.generate.constrain import LabelTrie

    model, tokenizer, prompts = lm
    names = ["soup", "bread", "fruitcake", "hello world"]
    eos = tokenizer.eos_token_id
    trie = LabelTrie.from_texts(tokenizer, names, [eos])
    newline = trie.newline
    sequences = {tuple(tokenizer(n, add_special_tokens=False)["input_ids"]) for n in names}
    rng = torch.Generator().manual_seed(0)
    for temperature in (0.0, 1.0):
        head, sampling = Head(model, constraint=trie), Sampling(temperature, generator=rng)
        rows = decode(model, prompts, budget, [eos], tokenizer.pad_token_id, sampling, head)
        for row in rows:
            assert len(row) <= budget
            assert all(line in sequences for line in _lines(row, newline)), row
    assert any(rows)


def test_hf_generator_constrained_to_labels_writes_label_names(tmp_path):
    from skim.generate import generate

    from ..distill.helpers import LABELS, save_tiny_base, toy_dataset

    base = save_tiny_base(tmp_path / "base")
    summary = generate(
        toy_dataset(), tmp_path / "s.jsonl", "queries-to-labels", "hf", model=str(base),
        constrain="labels", max_new_tokens=12, num_return=2, show_progress=False,
    )  # fmt: skip
    import json

    records = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    texts = [t for r in records for t in r["texts"]]
    assert texts and set(texts) <= set(LABELS)
    assert summary["constrain"] == "labels"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"direction": "labels-to-queries", "constrain": "labels"}, "works for queries-to-labels"),
        ({"constrain": "labels", "vocabulary": "dataset"}, "leave it full"),
        ({"vocabulary": "tiny"}, "vocabulary must be one of full, dataset"),
        ({"precision": "fp16"}, "precision must be auto, bf16 or fp32"),
    ],
)
def test_bad_output_options_are_one_sentence_errors(tmp_path, options, message):
    from skim.errors import SkimError
    from skim.generate import generate

    from ..distill.helpers import toy_dataset

    direction = options.pop("direction", "queries-to-labels")
    with pytest.raises(SkimError, match=message):
        generate(toy_dataset(), tmp_path / "s.jsonl", direction, "hf", model="unused",
                 show_progress=False, **options)  # fmt: skip
