import shutil

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skim.data import save_matrix
from skim.errors import SkimError
from skim.learners import predict, train
from skim.modelfolder import load_model

LEARNERS = ("ova", "dual")


def _full_scores(dataset, model_dir, encoder) -> np.ndarray:
    """Every label's score for every test query, straight from the saved weights."""
    config, tensors = load_model(model_dir)
    q = encoder.encode(dataset.tst_texts)
    lab = encoder.encode(dataset.label_texts)
    if config["learner"] == "ova":
        return 1 / (1 + np.exp(-(q @ tensors["weight"].numpy().T + tensors["bias"].numpy())))
    p = tensors["projection.weight"].numpy()
    qp, lp = q @ p.T, lab @ p.T
    qp /= np.linalg.norm(qp, axis=1, keepdims=True)
    lp /= np.linalg.norm(lp, axis=1, keepdims=True)
    return (qp @ lp.T + 1) / 2


@pytest.mark.parametrize("learner", LEARNERS)
def test_predictions_are_each_rows_top_k(tmp_path, dataset, encoder, fit_kwargs, learner):
    model = train(dataset, tmp_path / "m", learner=learner, **fit_kwargs)
    pred = predict(dataset, model, k=3, encoder=encoder, cache_dir=fit_kwargs["cache_dir"])
    assert pred.shape == (dataset.n_tst, dataset.n_labels)
    assert (np.diff(pred.indptr) == 3).all()
    assert pred.data.min() > 0 and pred.data.max() <= 1
    full = _full_scores(dataset, model, encoder)
    for i in range(dataset.n_tst):
        row = pred[i]
        best = np.sort(full[i])[::-1][:3]
        np.testing.assert_allclose(np.sort(row.data)[::-1], best, rtol=1e-4, atol=1e-6)
        assert set(row.indices) == set(np.argsort(-full[i])[:3])


@pytest.mark.parametrize("learner", LEARNERS)
def test_trained_model_beats_its_starting_point(tmp_path, dataset, encoder, fit_kwargs, learner):
    from skim.evaluate import evaluate_predictions

    kwargs = {**fit_kwargs, "epochs": 8}
    model = train(dataset, tmp_path / "m", learner=learner, **kwargs)
    pred = predict(dataset, model, k=2, encoder=encoder, cache_dir=kwargs["cache_dir"])
    recall = evaluate_predictions(dataset, pred, k=[2])["unbiased"]["R@2"]
    assert recall > 0.9


@pytest.mark.parametrize("learner", LEARNERS)
def test_saved_model_predicts_the_same_after_a_move(
    tmp_path, dataset, encoder, fit_kwargs, learner
):
    model = train(dataset, tmp_path / "m", learner=learner, **fit_kwargs)
    first = predict(dataset, model, k=4, encoder=encoder)
    moved = shutil.move(str(model), tmp_path / "elsewhere")
    second = predict(dataset, moved, k=4, encoder=encoder)
    assert (first != second).nnz == 0


@pytest.mark.parametrize("learner", LEARNERS)
def test_seed_makes_training_repeatable(tmp_path, dataset, fit_kwargs, learner):
    def weights(name, seed):
        train(dataset, tmp_path / name, learner=learner, seed=seed, **fit_kwargs)
        return load_model(tmp_path / name)[1]

    a, b, c = weights("a", 0), weights("b", 0), weights("c", 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_soft_labels_are_learnt_as_soft_probabilities(tmp_path, dataset, encoder, fit_kwargs):
    soft = dataset.trn_X_Y.copy()
    soft.data[:] = 0.3
    kwargs = {**fit_kwargs, "epochs": 40, "lr": 0.05}
    rows, cols = soft.nonzero()

    def fitted(name, labels):
        model = train(
            dataset.replace(tst_texts=dataset.trn_texts), tmp_path / name, labels=labels, **kwargs
        )
        return _full_scores(dataset.replace(tst_texts=dataset.trn_texts), model, encoder)[
            rows, cols
        ]

    assert fitted("hard", None).mean() > 0.8
    assert fitted("soft", soft).mean() == pytest.approx(0.3, abs=0.1)


def test_labels_can_be_a_file(tmp_path, dataset, fit_kwargs):
    path = tmp_path / "trn_X_Y_skim.npz"
    save_matrix(path, dataset.trn_X_Y_unbiased)
    model = train(dataset, tmp_path / "m", labels=path, **fit_kwargs)
    config = load_model(model)[0]
    assert config["labels"] == str(path)
    assert config["training"]["pairs"] == dataset.trn_X_Y_unbiased.nnz


def test_with_metadata_appends_query_metadata(tmp_path, dataset, fit_kwargs):
    from skim.learners.features import query_texts

    assert query_texts(dataset, "tst", metadata=True)[0] == (
        f"{dataset.tst_texts[0]} | {dataset.tst_meta[0]}"
    )
    model = train(dataset, tmp_path / "m", with_metadata=True, **fit_kwargs)
    assert load_model(model)[0]["params"]["with_metadata"] is True
    with pytest.raises(SkimError, match="tst_X.meta.txt"):
        predict(dataset.replace(tst_meta=None), model, encoder=fit_kwargs["encoder"])


def test_wrong_label_shape_is_a_clear_error(tmp_path, dataset, fit_kwargs):
    bad = sp.csr_matrix((dataset.n_trn, dataset.n_labels + 1), dtype=np.float32)
    with pytest.raises(SkimError, match=r"shape 60 x 11 does not match .* 60 train queries x 10"):
        train(dataset, tmp_path / "m", labels=bad, **fit_kwargs)


def test_unknown_learner_and_method_are_clear_errors(tmp_path, dataset, fit_kwargs):
    with pytest.raises(SkimError, match="unknown learner 'svm'"):
        train(dataset, tmp_path / "m", learner="svm", **fit_kwargs)
    with pytest.raises(SkimError, match="unknown method 'magic'"):
        train(dataset, tmp_path / "m", method="magic", **fit_kwargs)


def test_missing_model_dir_is_a_clear_error(tmp_path, dataset):
    with pytest.raises(SkimError, match="model directory not found"):
        predict(dataset, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SkimError, match="not a trained skim model"):
        predict(dataset, tmp_path / "empty")


def test_custom_encoder_must_be_given_back_at_predict(tmp_path, dataset, fit_kwargs):
    model = train(dataset, tmp_path / "m", **fit_kwargs)
    with pytest.raises(SkimError, match="custom encoder"):
        predict(dataset, model)


def test_dual_text_encoder_encodes_like_the_model(tmp_path, dataset, encoder, fit_kwargs):
    from skim.encode import load_text_encoder

    model = train(dataset, tmp_path / "m", learner="dual", **fit_kwargs)
    text_encoder = load_text_encoder(str(model), encoder=encoder)
    q = text_encoder.encode(dataset.tst_texts)
    lab = text_encoder.encode(dataset.label_texts)
    pred = predict(dataset, model, k=1, encoder=encoder)
    np.testing.assert_allclose(
        pred.max(axis=1).toarray().ravel(), ((q @ lab.T).max(1) + 1) / 2, rtol=1e-5
    )
    assert text_encoder.id != encoder.id
    with pytest.raises(SkimError, match="no text encoder"):
        load_text_encoder(str(train(dataset, tmp_path / "o", **fit_kwargs)))


def test_training_flushes_subnormal_floats_and_restores_the_default(
    tmp_path, dataset, encoder, fit_kwargs
):
    from tests.test_floats import is_flushed

    seen = []

    class Recording:
        id = encoder.id + "-recording"

        def encode(self, texts):
            seen.append(is_flushed())
            return encoder.encode(texts)

    train(dataset, tmp_path / "m", **{**fit_kwargs, "encoder": Recording()})
    assert seen and all(seen)  # from the first torch work of train(), before any fit
    assert not is_flushed()
