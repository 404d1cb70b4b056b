from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from skim.data import load_matrix
from skim.errors import SkimError
from skim.map import manifest_path, map_synthetic, sweep_tau, write_mapping

from .conftest import BIRD, CAT, DOG, FISH, R2, score, write_jsonl

BIRD_FROM_KITTY = score(1 / R2)
BIRD_FROM_PUPPY = score(1.4 / R2)
FISH_FROM_FISHY = score(1 / np.sqrt(1.01))


def run(dataset, synthetic, encoder, tmp_path, **kwargs):
    kwargs.setdefault("topk", 2)
    return map_synthetic(
        dataset, synthetic, kwargs.pop("direction", "queries-to-labels"), encoder=encoder,
        cache_dir=tmp_path / "cache", **kwargs,
    )  # fmt: skip


def test_queries_to_labels_hand_checked(dataset, q2l_synthetic, encoder, tmp_path):
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.8)
    expected = {
        (0, CAT): 1.0,  # click 1, score 1
        (0, BIRD): BIRD_FROM_PUPPY,  # max over kitty (0.854) and puppy (0.995)
        (0, DOG): 0.9,
        (1, CAT): 1.0,
        (1, BIRD): BIRD_FROM_KITTY,
        (1, DOG): 1.0,  # click kept though nothing proposes it
        (2, FISH): FISH_FROM_FISHY,  # soft observed 0.5 raised to the score
    }  # (2, CAT) scores 0.55 < tau: dropped
    got = {(int(i), int(j)): float(v) for i, j, v in zip(*sp.find(matrix), strict=True)}
    assert got.keys() == expected.keys()
    for pair, value in expected.items():
        assert got[pair] == pytest.approx(value, abs=1e-6), pair
    assert matrix.dtype == np.float32 and matrix.shape == (3, 4)
    counts = manifest["counts"]
    assert counts["records"] == 4 and counts["texts"] == 6
    assert counts["empty_skipped"] == 1 and counts["duplicate_skipped"] == 1
    assert counts["texts_used"] == 4
    assert counts["neighbours_searched"] == 8
    assert counts["pairs_proposed"] == 7  # hits >= tau before aggregation
    assert counts["pairs_kept"] == 6
    assert counts["new_pairs"] == 4  # (0,bird) (0,dog) (1,cat) (1,bird)
    assert counts["rows_touched"] == 2 and counts["labels_touched"] == 3
    assert counts["observed_pairs"] == 3 and counts["output_pairs"] == 7
    # the dataset has unbiased labels: precision of the 4 new pairs is 2/4, 2 of 4 recovered
    assert manifest["tau_estimate"]["precision"] == 0.5
    assert manifest["tau_estimate"]["recovered"] == 0.5
    assert manifest["settings"]["encoder"] == "fake-3d"
    assert manifest["index"]["kind"] == "exact"
    assert [(ex["source"], ex["text"]) for ex in manifest["examples"]] == [
        (0, "kitty"), (1, "kitty"), (2, "fishy"),
    ]  # fmt: skip
    first = manifest["examples"][0]
    assert first["text"] == "kitty" and [p[:2] for p in first["pairs"]] == [[0, CAT], [0, BIRD]]


def test_tau_threshold_drops_lower_scores(dataset, q2l_synthetic, encoder, tmp_path):
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.95)
    pairs = sorted((int(i), int(j)) for i, j in zip(*matrix.nonzero(), strict=True))
    assert pairs == [(0, CAT), (0, BIRD), (1, CAT), (1, DOG), (2, FISH)]
    assert matrix[2, FISH] == pytest.approx(FISH_FROM_FISHY)  # 0.9975 >= 0.95 raises the 0.5
    assert manifest["counts"]["new_pairs"] == 2  # (2, fish) only raises a soft observed value
    # each example keeps its best neighbours below tau, best first: why a text added nothing
    for ex in manifest["examples"]:
        below = [score for *_, score in ex["rejected"]]
        assert below == sorted(below, reverse=True) and all(s < 0.95 for s in below)
        assert 0 < len(below) <= 3 and all(score >= 0.95 for *_, score in ex["pairs"])
        assert all(row == ex["source"] for row, *_ in ex["pairs"] + ex["rejected"])


def test_labels_to_queries(dataset, encoder, tmp_path):
    synthetic = write_jsonl(
        tmp_path / "l2q.jsonl",
        [{"source": DOG, "texts": ["puppy"]}, {"source": FISH, "texts": ["kitty"]}],
    )
    matrix, manifest = run(
        dataset, synthetic, encoder, tmp_path, direction="labels-to-queries", tau=0.85
    )
    new = {(int(i), int(j)): float(v) for i, j, v in zip(*sp.find(matrix), strict=True)}
    # puppy's neighbours among train queries: qc 0.995, qb 0.9 -> pairs (2, dog), (1, dog)
    # kitty's: qa 1.0, qc 0.854 (< 0.85? no: kept) -> (0, fish), (2, fish)
    assert new[(2, DOG)] == pytest.approx(BIRD_FROM_PUPPY, abs=1e-6)
    assert new[(1, DOG)] == 1.0  # the click, above the 0.9 score
    assert new[(0, FISH)] == pytest.approx(1.0)
    assert new[(2, FISH)] == pytest.approx(BIRD_FROM_KITTY, abs=1e-6)
    assert manifest["counts"]["new_pairs"] == 2
    assert manifest["inputs"]["targets"]["file"] == "trn_X.txt"


def test_binary_stores_ones_and_keeps_clicks(dataset, q2l_synthetic, encoder, tmp_path):
    matrix, _ = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.8, binary=True)
    assert set(matrix.data.tolist()) == {1.0}
    assert matrix.nnz == 7
    assert (matrix.multiply(dataset.trn_X_Y > 0) > 0).sum() == 3


def test_observed_matrix_is_united_and_kept(dataset, q2l_synthetic, encoder, tmp_path):
    seed = dataset.trn_X_Y.toarray()
    seed[1, FISH] = 1  # a gold seed label nothing proposes
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, observed=sp.csr_matrix(seed))
    assert matrix[1, FISH] == 1 and matrix[0, CAT] == 1
    assert manifest["counts"]["observed_pairs"] == 4


def test_chunking_does_not_change_the_result(dataset, q2l_synthetic, encoder, tmp_path):
    whole, _ = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.6)
    pieces, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.6, chunk_size=1)
    assert (whole != pieces).nnz == 0
    # chunks of one record each: the repeated " kitty " is no longer seen in the same chunk
    assert manifest["counts"]["duplicate_skipped"] == 0


def test_rerun_reads_embeddings_from_the_cache(dataset, q2l_synthetic, encoder, tmp_path):
    run(dataset, q2l_synthetic, encoder, tmp_path)
    assert encoder.encoded > 0
    encoder.encoded = 0
    run(dataset, q2l_synthetic, encoder, tmp_path)
    assert encoder.encoded == 0


def test_write_mapping_round_trip(dataset, q2l_synthetic, encoder, tmp_path):
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path)
    out = tmp_path / "trn_X_Y_skim.npz"
    path = write_mapping(out, matrix, manifest)
    assert path == manifest_path(out) == tmp_path / "trn_X_Y_skim.manifest.json"
    assert (load_matrix(out) != matrix).nnz == 0
    saved = json.loads(path.read_text())
    assert saved["counts"] == manifest["counts"] and len(saved["output"]["sha256"]) == 64


def test_sweep_hand_checked(dataset, q2l_synthetic, encoder, tmp_path):
    table = sweep_tau(
        dataset, q2l_synthetic, "queries-to-labels", taus=[0.999, 0.6, 0.86, 0.95], topk=2,
        encoder=encoder, cache_dir=tmp_path,
    )  # fmt: skip
    got = [
        (r["tau"], r["pairs_kept"], r["new_pairs"], r["precision"], r["recovered"]) for r in table
    ]
    # new pairs vs clicks: (1,cat) 1.0 T, (0,bird) .995 T, (0,dog) .9 F, (1,bird) .854 F;
    # 4 true pairs are missing: (0,bird) (1,cat) (1,fish) (2,cat)
    assert got == [
        (0.6, 6, 4, 0.5, 0.5),
        (0.86, 5, 3, pytest.approx(2 / 3), 0.5),
        (0.95, 4, 2, 1.0, 0.5),
        (0.999, 2, 1, 1.0, 0.25),
    ]
    assert [r["pairs_proposed"] for r in table] == [7, 5, 4, 2]


def test_sweep_on_seed_rows(dataset, q2l_synthetic, encoder, tmp_path):
    seed = dataset.trn_X_Y.toarray()
    seed[1, [CAT, FISH]] = 1  # row 1's complete labels: the only row that differs from clicks
    kwargs = dict(topk=2, encoder=encoder, cache_dir=tmp_path, observed=sp.csr_matrix(seed))
    table = sweep_tau(
        dataset, q2l_synthetic, "queries-to-labels", [0.6, 0.86], known=sp.csr_matrix(seed),
        **kwargs,
    )  # fmt: skip
    # row 1: (1,cat) true, (1,bird) false; its missing pairs (1,cat) (1,fish)
    assert [(r["precision"], r["recovered"]) for r in table] == [(0.5, 0.5), (1.0, 0.5)]
    # new pairs are counted against the seed matrix the result is united with
    assert [r["new_pairs"] for r in table] == [3, 2]
    rows_file = tmp_path / "seed_rows.json"
    rows_file.write_text(json.dumps({"rows": [1, 2]}))
    again = sweep_tau(
        dataset, q2l_synthetic, "queries-to-labels", [0.6, 0.86], known=sp.csr_matrix(seed),
        known_rows=str(rows_file), **kwargs,
    )  # fmt: skip
    assert [r["known_new_pairs"] for r in again] == [2, 1]  # row 2 adds nothing new


def test_auto_tau_picks_smallest_reaching_target(dataset, q2l_synthetic, encoder, tmp_path):
    grid = (0.6, 0.86, 0.95, 0.999)
    kwargs = dict(tau="auto", tau_grid=grid, min_known_pairs=1)
    _, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, target_precision=0.6, **kwargs)
    assert manifest["settings"]["tau"] == 0.86
    assert manifest["tau_estimate"]["precision"] == pytest.approx(2 / 3)
    assert [r["tau"] for r in manifest["tau_table"]] == list(grid)
    matrix, manifest = run(
        dataset, q2l_synthetic, encoder, tmp_path, target_precision=0.9, **kwargs
    )
    assert manifest["settings"]["tau"] == 0.95 and manifest["counts"]["new_pairs"] == 2
    assert matrix[0, DOG] == 0  # 0.9 < 0.95


def test_auto_tau_errors(dataset, q2l_synthetic, encoder, tmp_path):
    grid = (0.6, 0.86, 0.95, 0.999)
    auto = dict(tau="auto", tau_grid=grid, target_precision=0.9, min_known_pairs=3)
    # with 3 or more supporting pairs only 0.6 (precision 0.5) and 0.86 (0.667) qualify
    with pytest.raises(SkimError, match="no tau reaches precision 0.9 .*best 0.667 at tau 0.86"):
        run(dataset, q2l_synthetic, encoder, tmp_path, **auto)
    with pytest.raises(SkimError, match="adds 3 or more new pairs .* cannot be estimated"):
        run(dataset, q2l_synthetic, encoder, tmp_path, topk=1, **auto)
    with pytest.raises(SkimError, match="needs rows with known complete labels"):
        run(
            dataset.replace(trn_X_Y_unbiased=None), q2l_synthetic, encoder, tmp_path,
            tau="auto", target_precision=0.5,
        )  # fmt: skip
    with pytest.raises(SkimError, match="needs a target precision"):
        run(dataset, q2l_synthetic, encoder, tmp_path, tau="auto")


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (['{"source": 0, "texts": ["kitty"]}', '{"source": 0, "texts": [}'], "line 2: not a JSON"),
        ([{"source": 3, "texts": ["kitty"]}], r"line 1: source 3 is out of range \[0, 3\) "
         r"\(trn_X.txt has 3 train queries\)"),
        ([{"source": "0", "texts": ["kitty"]}], 'line 1: "source" must be an integer'),
        ([{"source": True, "texts": ["kitty"]}], 'line 1: "source" must be an integer'),
        ([{"source": 0, "texts": "kitty"}], 'line 1: "texts" must be a list of strings'),
        (["[1, 2]"], "line 1: expected an object"),
    ],
)  # fmt: skip
def test_bad_synthetic_lines(dataset, encoder, tmp_path, records, message):
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(SkimError, match=message) as info:
        run(dataset, path, encoder, tmp_path)
    assert "bad.jsonl" in str(info.value)
    assert encoder.encoded == 0  # the file is checked before anything is encoded


def test_labels_to_queries_source_range_names_labels(dataset, encoder, tmp_path):
    path = write_jsonl(tmp_path / "l2q.jsonl", [{"source": 4, "texts": ["kitty"]}])
    with pytest.raises(SkimError, match=r"source 4 .*Y.txt has 4 labels"):
        run(dataset, path, encoder, tmp_path, direction="labels-to-queries")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "up"}, "direction must be one of"),
        ({"tau": 1.5}, "tau must be a number in"),
        ({"topk": 0}, "topk must be a positive integer"),
        ({"target_precision": 0.5}, "only used with tau 'auto'"),
        ({"observed": sp.csr_matrix((2, 4), dtype=np.float32)}, "observed labels .* 2 x 4"),
        ({"index": "annoy"}, "unknown index 'annoy'"),
    ],
)
def test_bad_settings(dataset, q2l_synthetic, encoder, tmp_path, kwargs, message):
    with pytest.raises(SkimError, match=message):
        run(dataset, q2l_synthetic, encoder, tmp_path, **kwargs)


def test_empty_synthetic_file_returns_observed(dataset, encoder, tmp_path):
    path = write_jsonl(tmp_path / "empty.jsonl", [{"source": 0, "texts": ["", "  "]}])
    matrix, manifest = run(dataset, path, encoder, tmp_path)
    assert (matrix != dataset.trn_X_Y).nnz == 0
    assert manifest["counts"]["empty_skipped"] == 2 and manifest["counts"]["new_pairs"] == 0


@pytest.mark.parametrize("index", ["hnsw", "faiss"])
def test_approximate_indexes_and_a_dataset_path(dataset, q2l_synthetic, encoder, tmp_path, index):
    if index == "faiss":
        pytest.importorskip("faiss")
    from skim.data import save_dataset

    path = save_dataset(dataset, tmp_path / "data")
    exact, _ = run(dataset, q2l_synthetic, encoder, tmp_path)
    approx, manifest = run(str(path), q2l_synthetic, encoder, tmp_path, index=index)
    assert (exact != approx).nnz == 0
    assert manifest["index"]["kind"] == index and manifest["inputs"]["dataset"] == str(path)


def _pairs(matrix):
    return {(int(i), int(j)): float(v) for i, j, v in zip(*sp.find(matrix), strict=True)}


def test_min_votes_counts_repeated_texts(dataset, q2l_synthetic, encoder, tmp_path):
    # votes at tau 0.5, top-2: source 0 has kitty twice (cat, bird) and puppy (bird, dog),
    # so (0, cat) 2, (0, bird) 3, (0, dog) 1; every other pair 1
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.5, min_votes=2)
    assert _pairs(matrix) == pytest.approx(
        {(0, CAT): 1.0, (0, BIRD): BIRD_FROM_PUPPY, (1, DOG): 1.0, (2, FISH): 0.5}
    )
    assert manifest["counts"]["removed_by_votes"] == 5
    assert manifest["counts"]["new_pairs"] == 1 and manifest["settings"]["min_votes"] == 2
    matrix, _ = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.5, min_votes=3)
    assert matrix[0, CAT] == 1 and matrix[0, BIRD] == pytest.approx(BIRD_FROM_PUPPY)
    assert matrix.nnz == 4  # the clicks and (0, bird)


def test_agreement_keeps_pairs_the_learner_ranks(dataset, q2l_synthetic, encoder, tmp_path):
    ranked = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [BIRD, CAT, CAT])), shape=(3, 4))
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.5, agree_with=ranked)
    assert _pairs(matrix) == pytest.approx(
        {(0, CAT): 1.0, (0, BIRD): BIRD_FROM_PUPPY, (1, DOG): 1.0, (1, CAT): 1.0,
         (2, FISH): 0.5, (2, CAT): score(0.1 / np.sqrt(1.01))}
    )  # fmt: skip
    assert manifest["counts"]["removed_by_agreement"] == 4  # of the 7 proposed pairs
    assert manifest["settings"]["agree_with"] == "matrix"
    # the guard measures the filtered pairs: 3 new pairs, all true
    assert manifest["tau_estimate"]["precision"] == 1.0


def test_calibrated_values_are_the_precision_at_the_score(
    dataset, q2l_synthetic, encoder, tmp_path
):
    # new pairs on the known rows by score: (2,cat) .55 right, (1,bird) .854 wrong, (0,dog) .9
    # wrong, (0,bird) .995 right, (1,cat) 1.0 right -> steps [.55: 1/3] [.995: 1]
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.5, calibrated=True)
    assert _pairs(matrix) == pytest.approx(
        {(0, CAT): 1.0, (0, BIRD): 1.0, (0, DOG): 1 / 3, (1, CAT): 1.0, (1, BIRD): 1 / 3,
         (1, DOG): 1.0, (2, FISH): 1.0, (2, CAT): 1 / 3}
    )  # fmt: skip
    calibration = manifest["calibration"]
    assert calibration["fitted_on"] == 5
    assert calibration["steps"] == [[pytest.approx(score(0.1 / np.sqrt(1.01))), 0.333333],
                                    [pytest.approx(BIRD_FROM_PUPPY), 1.0]]  # fmt: skip
    assert manifest["settings"]["calibrated"] is True


def test_lever_errors(dataset, q2l_synthetic, encoder, tmp_path):
    with pytest.raises(SkimError, match="binary or calibrated"):
        run(dataset, q2l_synthetic, encoder, tmp_path, binary=True, calibrated=True)
    with pytest.raises(SkimError, match="min_votes must be a positive integer, got 0"):
        run(dataset, q2l_synthetic, encoder, tmp_path, min_votes=0)
    no_known = dataset.replace(trn_X_Y_unbiased=None)
    with pytest.raises(SkimError, match="calibrated needs rows with known complete labels"):
        run(no_known, q2l_synthetic, encoder, tmp_path, calibrated=True)
    with pytest.raises(SkimError, match="calibrated values need new pairs on the rows"):
        run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.5, calibrated=True,
            known_rows=[1], agree_with=sp.csr_matrix((3, 4), dtype=np.float32))  # fmt: skip


def test_a_fixed_tau_records_the_sweep_around_it_from_the_same_pass(
    dataset, q2l_synthetic, encoder, tmp_path
):
    grid = (0.6, 0.86, 0.95)
    matrix, manifest = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.8, tau_grid=grid)
    table = manifest["tau_table"]
    assert [r["tau"] for r in table] == [0.6, 0.8, 0.86, 0.95]
    # the row at the tau used is the estimate (hand-checked above: 2 of 4 new pairs true)
    assert table[1] == manifest["tau_estimate"] and table[1]["precision"] == 0.5
    assert manifest["counts"]["new_pairs"] == 4 and matrix[2, CAT] == 0  # 0.55 < tau: dropped
    # the same sweep sweep_tau measures, from the one pass the mapping made
    swept = sweep_tau(
        dataset, q2l_synthetic, "queries-to-labels", [0.6, 0.8, 0.86, 0.95], topk=2,
        encoder=encoder, cache_dir=tmp_path / "cache",
    )  # fmt: skip
    assert table == swept
    # votes are counted at the pass's lowest tau: with a lever on, only taus above are swept
    _, voted = run(dataset, q2l_synthetic, encoder, tmp_path, tau=0.8, tau_grid=grid, min_votes=2)
    assert [r["tau"] for r in voted["tau_table"]] == [0.8, 0.86, 0.95]
    # no rows with known labels: nothing to estimate, no table
    unknown = dataset.replace(trn_X_Y_unbiased=None)
    _, manifest = run(unknown, q2l_synthetic, encoder, tmp_path, tau=0.8, tau_grid=grid)
    assert manifest["tau_table"] is None
