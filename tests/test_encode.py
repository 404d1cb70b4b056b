import numpy as np
import pytest

from skim.encode import (
    DEFAULT_ENCODER,
    SentenceEncoder,
    encode_texts,
    load_text_encoder,
    resolve_model_name,
)
from skim.errors import SkimError


def test_cache_by_content_skips_the_second_encode(tmp_path, hash_encoder):
    texts = ["exon", "gene", "exon"]
    first = encode_texts(hash_encoder, texts, cache_dir=tmp_path)
    assert hash_encoder.calls == 1
    np.testing.assert_array_equal(first[0], first[2])  # duplicates encoded once, rows restored
    second = encode_texts(hash_encoder, texts, cache_dir=tmp_path)
    assert hash_encoder.calls == 1
    np.testing.assert_array_equal(first, second)
    mixed = encode_texts(hash_encoder, ["intron", "exon"], cache_dir=tmp_path)
    assert hash_encoder.calls == 2 and hash_encoder.seen[-1] == ["intron"]  # only the new text
    np.testing.assert_array_equal(mixed[1], first[0])
    encode_texts(hash_encoder, ["gene", "intron"], cache_dir=tmp_path)
    assert hash_encoder.calls == 2  # a new list of known texts costs nothing


def test_a_corrupt_cache_file_is_recomputed(tmp_path, hash_encoder):
    encode_texts(hash_encoder, ["a"], cache_dir=tmp_path)
    (store,) = (tmp_path / "embeddings").iterdir()
    (vecs,) = store.glob("*.vecs.npy")
    vecs.write_bytes(b"garbage")
    out = encode_texts(hash_encoder, ["a"], cache_dir=tmp_path)
    assert out.shape == (1, 16) and hash_encoder.calls == 2


def test_a_projection_over_a_base_encoder_caches_only_the_base(tmp_path, hash_encoder):
    from skim.encode import DualTextEncoder

    projection = np.eye(16, dtype=np.float32)[::-1].copy()  # reverses the coordinates
    dual = DualTextEncoder(hash_encoder, projection, model_id="m1")
    out = encode_texts(dual, ["exon", "gene"], cache_dir=tmp_path)
    base = encode_texts(hash_encoder, ["exon", "gene"], cache_dir=tmp_path)
    assert hash_encoder.calls == 1  # the base vectors came from the first call's cache
    expected = base[:, ::-1] / np.linalg.norm(base, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    retrained = DualTextEncoder(hash_encoder, projection, model_id="m2")
    encode_texts(retrained, ["gene"], cache_dir=tmp_path)
    assert hash_encoder.calls == 1  # a newly trained model reuses the base's vectors
    assert len(list((tmp_path / "embeddings").iterdir())) == 1  # one store: the base's


def test_default_encoder_is_the_bundled_minilm():
    path = resolve_model_name(None)
    assert resolve_model_name(DEFAULT_ENCODER) == path and path.endswith("model")
    assert resolve_model_name("my/model") == "my/model"


def test_bundled_minilm_encodes_offline(tmp_path):
    enc = SentenceEncoder(show_progress=False)
    v = encode_texts(enc, ["violin", "cello", "exon"], cache_dir=tmp_path)
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2  # rows stay in input order


def test_missing_encoder_path_is_a_clear_error(tmp_path):
    with pytest.raises(SkimError, match="cannot load encoder"):
        SentenceEncoder(str(tmp_path / "no-such-model"))


def test_non_dual_skim_model_has_no_text_encoder(tmp_path):
    (tmp_path / "skim_model.json").write_text('{"learner": "ova"}')
    with pytest.raises(SkimError, match="has no text encoder"):
        load_text_encoder(str(tmp_path))


def test_a_cache_that_cannot_be_created_warns_once_and_encodes(tmp_path, hash_encoder, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    first = encode_texts(hash_encoder, ["exon", "gene"], cache_dir=blocker)
    second = encode_texts(hash_encoder, ["exon"], cache_dir=blocker)
    np.testing.assert_array_equal(first[0], second[0])
    assert hash_encoder.calls == 2  # nothing cached, nothing crashed
    warned = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "skim.encode"]
    assert len(warned) == 1 and "going on without it" in warned[0].getMessage()
    assert blocker.read_text() == "a file where the cache folder should be"


def test_a_full_disk_while_caching_warns_once_and_keeps_encoding(
    tmp_path, hash_encoder, caplog, monkeypatch
):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full_disk)
    out = encode_texts(hash_encoder, ["exon", "gene"], cache_dir=tmp_path)
    encode_texts(hash_encoder, ["intron"], cache_dir=tmp_path)
    assert out.shape == (2, 16) and hash_encoder.calls == 2
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "No space left on device" in warned[0]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no partial shard


def test_resolve_encoder_takes_an_instance_a_dual_folder_or_refuses(hash_encoder, tmp_path):
    from skim.encode import resolve_encoder
    from skim.errors import SkimError

    assert resolve_encoder(hash_encoder) is hash_encoder
    (tmp_path / "skim_model.json").write_text('{"learner": "ova"}')
    with pytest.raises(SkimError, match="a 'ova' model has no text encoder"):
        resolve_encoder(tmp_path)  # a path: read as a model folder, not a sentence-transformer
    with pytest.raises(SkimError, match="encoder must be a TextEncoder, a model name or a path"):
        resolve_encoder(42)
