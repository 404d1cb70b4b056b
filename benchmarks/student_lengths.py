"""Token lengths behind the student's defaults: completions, metadata, and what a cap cuts.

Usage::

    python benchmarks/student_lengths.py DATASET --base gemma3-270m

For every train query with a true label (the gold teacher's demonstrations are these, all of
the item's true labels, one per line), in ``queries-to-labels``: the completion's tokens with its
end-of-sequence token (what generation must write before it stops), how many completions a cap
of ``--new-tokens`` cuts and how many of their texts survive the cut whole; and the metadata's
words and tokens, and how many metadata a cap of ``--meta-words`` words shortens. Prints one
JSON object of percentiles and shares.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from skim.data import load_dataset
from skim.direction import source_texts, target_texts
from skim.distill.gguf import resolve_base
from skim.prompts.parse import format_completion


def percentiles(values: list[int]) -> dict[str, float]:
    arr = np.asarray(values)
    points = {f"p{q}": float(np.percentile(arr, q)) for q in (50, 90, 95, 99)}
    return {"mean": round(float(arr.mean()), 1), **points, "max": int(arr.max()), "n": len(arr)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("--base", default="gemma3-270m")
    parser.add_argument("--new-tokens", default="64,128,250")
    parser.add_argument("--meta-words", default="200")
    parser.add_argument("--max-texts", type=int, default=10, help="texts the generator keeps")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_base(args.base))
    dataset = load_dataset(args.dataset)
    direction = "queries-to-labels"
    texts, meta = source_texts(dataset, direction)
    labels = target_texts(dataset, direction)
    full = dataset.trn_X_Y_unbiased if dataset.trn_X_Y_unbiased is not None else dataset.trn_X_Y
    rows = [i for i in range(full.shape[0]) if full.indptr[i + 1] > full.indptr[i]]
    per_row = [[labels[j] for j in full[i].indices] for i in rows]
    completions = [format_completion(t) for t in per_row]
    tokens = [len(ids) + 1 for ids in tokenizer(completions, add_special_tokens=False)["input_ids"]]
    # what generation must write to give the generator its max_texts texts: up to the end of
    # the max_texts-th line, or the whole completion with its end token if it has fewer
    needed = [
        n if len(t) <= args.max_texts else len(x)
        for n, t, x in zip(
            tokens,
            per_row,
            tokenizer(
                [format_completion(t[: args.max_texts]) + "\n" for t in per_row],
                add_special_tokens=False,
            )["input_ids"],
            strict=True,
        )
    ]
    result: dict = {
        "dataset": args.dataset,
        "items": len(rows),
        "texts_per_item": percentiles([len(t) for t in per_row]),
        "completion_tokens_with_eos": percentiles(tokens),
        f"tokens_for_first_{args.max_texts}_texts": percentiles(needed),
    }
    for cap in (int(c) for c in args.new_tokens.split(",")):
        cut = [i for i, n in enumerate(tokens) if n > cap]
        kept = []
        for i in cut:  # texts whose line ends within the cap
            lines = per_row[i]
            ends = np.cumsum(
                [len(x) for x in tokenizer([t + "\n" for t in lines], add_special_tokens=False)[
                    "input_ids"]]
            )  # fmt: skip
            kept.append(int((ends <= cap).sum()) / len(lines))
        result[f"cut_at_{cap}_new_tokens"] = {
            "share_of_completions": round(len(cut) / len(tokens), 4),
            "mean_tokens_written": round(float(np.minimum(tokens, cap).mean()), 1),
            f"share_short_of_{args.max_texts}_texts": round(
                float(np.mean(np.array(needed) > cap)), 4
            ),
            "texts_kept_whole_in_cut_ones": round(float(np.mean(kept)), 3) if kept else None,
            "texts_lost_overall": round(
                sum((1 - k) * len(per_row[i]) for k, i in zip(kept, cut, strict=True))
                / sum(len(t) for t in per_row),
                4,
            ),
        }
    if meta is not None:
        meta_rows = [meta[i] or "" for i in rows]
        words = [len(m.split()) for m in meta_rows]
        meta_tokens = [len(x) for x in tokenizer(meta_rows, add_special_tokens=False)["input_ids"]]
        result["metadata_words"] = percentiles(words)
        result["metadata_tokens"] = percentiles(meta_tokens)
        result["tokens_per_word"] = round(sum(meta_tokens) / max(1, sum(words)), 3)
        for cap in (int(c) for c in args.meta_words.split(",")):
            result[f"metadata_over_{cap}_words"] = round(float(np.mean(np.array(words) > cap)), 5)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
