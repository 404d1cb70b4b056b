"""skim cache info / clear / compact on a cache filled through encode_texts."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from skim.cache import cache_info, clear_cache, compact_cache
from skim.cli import main
from skim.encode import encode_texts, encoder_store
from skim.errors import SkimError
from tests.conftest import HashEncoder


@pytest.fixture
def filled(tmp_path):
    """hash-16: 3 calls with 2, 1 (+1 already cached) and 2 new texts; hash-8: one call of 2."""
    enc16, enc8 = HashEncoder(16), HashEncoder(8)
    encode_texts(enc16, ["a", "b"], tmp_path)
    encode_texts(enc16, ["b", "c"], tmp_path)  # "b" is cached: one new text
    encode_texts(enc16, ["d", "e", "d"], tmp_path)
    encode_texts(enc8, ["x", "y"], tmp_path)
    gguf = tmp_path / "gguf" / "abc"
    gguf.mkdir(parents=True)
    (gguf / "model.safetensors").write_bytes(b"0" * 1000)
    return tmp_path, enc16, enc8


def _by_id(info):
    return {e["id"]: e for e in info["encoders"]}


def test_info_counts_texts_shards_and_bytes_per_encoder(filled):
    root, enc16, enc8 = filled
    info = cache_info(root)
    found = _by_id(info)
    assert (found["hash-16"]["texts"], found["hash-16"]["shards"]) == (5, 3)
    assert (found["hash-8"]["texts"], found["hash-8"]["shards"]) == (2, 1)
    store = encoder_store("hash-16", root)
    assert found["hash-16"]["folder"] == store.name
    assert found["hash-16"]["bytes"] == sum(f.stat().st_size for f in store.iterdir())
    assert (info["gguf_conversions"], info["gguf_bytes"]) == (1, 1000)
    assert info["total_bytes"] == info["embedding_bytes"] + 1000


def test_clear_needs_a_scope_and_removes_only_the_encoder_named(filled):
    root, enc16, _ = filled
    with pytest.raises(SkimError, match="say what to clear"):
        clear_cache(root)
    removed = clear_cache(root, encoder="hash-8")
    assert (removed["shards"], removed["texts"], removed["encoders"]) == (1, 2, ["hash-8"])
    assert list(_by_id(cache_info(root))) == ["hash-16"]
    assert (root / "gguf" / "abc").is_dir()
    with pytest.raises(SkimError, match="no cached encoder 'hash-8'"):
        clear_cache(root, encoder="hash-8")
    encode_texts(enc16, ["a", "b", "c", "d", "e"], root)
    assert enc16.calls == 3  # nothing of hash-16 was re-encoded


def test_clear_older_than_removes_only_old_shards(filled):
    root, enc16, _ = filled
    store = encoder_store("hash-16", root)
    old = time.time() - 10 * 86400
    first = sorted(store.glob("*.keys.npy"), key=lambda f: f.stat().st_mtime_ns)[0]
    for f in (first, first.with_name(first.name.replace(".keys.", ".vecs."))):
        os.utime(f, (old, old))
    removed = clear_cache(root, older_than_days=9)
    assert (removed["shards"], removed["texts"], removed["encoders"]) == (1, 2, [])
    assert _by_id(cache_info(root))["hash-16"]["shards"] == 2


def test_clear_all_removes_embeddings_and_gguf(filled):
    root, _, _ = filled
    removed = clear_cache(root, everything=True)
    assert (removed["shards"], removed["texts"], removed["gguf_conversions"]) == (4, 7, 1)
    info = cache_info(root)
    assert (info["encoders"], info["total_bytes"]) == ([], 0)


def test_compaction_keeps_every_vector_in_one_shard(filled):
    root, enc16, _ = filled
    texts = ["e", "a", "d", "c", "b", "a"]
    before = encode_texts(HashEncoder(16), texts, root)
    done = compact_cache(root)
    assert [(e["id"], e["texts"], e["shards_before"]) for e in done["encoders"]] == [
        ("hash-16", 5, 3)
    ]  # hash-8 has one shard: nothing to merge
    assert _by_id(cache_info(root))["hash-16"]["shards"] == 1
    fresh = HashEncoder(16)  # a new process's view: nothing encoded, the same vectors
    np.testing.assert_array_equal(encode_texts(fresh, texts, root), before)
    assert fresh.calls == 0
    assert compact_cache(root)["encoders"] == []  # already compact


def test_cache_commands_print_json_or_lines_for_a_person(filled, capsys):
    root, _, _ = filled
    assert main(["cache", "info", "--cache-dir", str(root), "--json"]) == 0
    assert {e["id"] for e in json.loads(capsys.readouterr().out)["encoders"]} == {
        "hash-16", "hash-8"
    }  # fmt: skip
    assert main(["cache", "clear", "--cache-dir", str(root)]) == 2
    assert "say what to clear" in capsys.readouterr().err
    assert main(["cache", "clear", "--cache-dir", str(root), "--encoder", "hash-8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["texts"] == 2
    assert main(["cache", "compact", "--cache-dir", str(root)]) == 0
    folder = encoder_store("hash-16", root).name
    cache, merged = capsys.readouterr().out.splitlines()  # lines for a person, no Python repr
    assert cache == f"cache: {root}" and "{" not in merged
    assert merged.startswith(f"  {folder}  5 texts, 3 shards -> 1, ") and merged.endswith("hash-16")
    assert main(["cache", "info", "--cache-dir", str(root)]) == 0
    assert "5 texts in 1 shards" in capsys.readouterr().out
    assert main(["cache", "compact", "--cache-dir", str(root)]) == 0
    assert capsys.readouterr().out.endswith(
        "nothing to compact: no encoder has more than one shard\n"
    )
    assert main(["cache", "clear", "--cache-dir", str(root), "--all"]) == 0
    assert capsys.readouterr().out == (
        f"cache: {root}\nremoved: 5 texts in 1 shards, 0.0 MiB in all\n"
        "encoders removed: hash-16\nGGUF conversions removed: 1\n"
    )


def test_a_folder_written_before_the_id_file_gets_its_id_on_the_next_lookup(filled):
    root, enc16, _ = filled
    (encoder_store("hash-16", root) / "encoder.txt").unlink()
    assert _by_id(cache_info(root))[None]["texts"] == 5
    encode_texts(enc16, ["a"], root)  # a cache hit only
    assert _by_id(cache_info(root))["hash-16"]["shards"] == 3
