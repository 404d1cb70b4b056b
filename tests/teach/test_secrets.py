"""The API key and URL credentials never reach the terminal, the manifest or the failed file."""

import json

import pytest

from skim.cli import main

from .fake_openai import FakeChatServer

KEY = "sk-test-SECRET-0123456789"
PASSWORD = "PASSW0RD-xyz"


@pytest.fixture
def data_dir(tmp_path, served_dataset, monkeypatch):
    from skim.data import save_dataset

    monkeypatch.setenv("SKIM_API_KEY", KEY)
    return save_dataset(served_dataset, tmp_path / "data")


def _teach(data_dir, out, endpoint, *extra: str) -> int:
    return main([
        "teach", str(data_dir), str(out), "--direction", "labels-to-queries", "--endpoint",
        endpoint, "--model", "m", "--max-retries", "1", "--quiet", "--json", *extra,
    ])  # fmt: skip


def _everything(capsys, folder) -> dict[str, str]:
    captured = capsys.readouterr()
    written = {p.name: p.read_text() for p in folder.iterdir() if p.is_file()}
    return {"stdout": captured.out, "stderr": captured.err, **written}


def test_a_key_the_server_echoes_is_hidden_everywhere(tmp_path, data_dir, capsys):
    out = tmp_path / "demos.jsonl"
    with FakeChatServer({"item-3": ["echo"] * 2}) as server:
        assert _teach(data_dir, out, server.url) == 1  # one item failed after its retries
        assert f"Bearer {KEY}" in server.auth  # the key was sent...
    seen = _everything(capsys, tmp_path)
    assert {"demos.jsonl", "demos.failed.jsonl", "demos.manifest.json"} <= set(seen)
    for where, text in seen.items():
        assert KEY not in text, where  # ...but is never printed nor written
    (failed,) = [json.loads(line) for line in seen["demos.failed.jsonl"].splitlines()]
    assert failed["source"] == 3 and "bad gateway for Bearer ***" in failed["error"]


def test_credentials_in_the_endpoint_url_are_hidden_everywhere(tmp_path, data_dir, capsys):
    out = tmp_path / "demos.jsonl"
    with FakeChatServer({"item-0": ["401"]}) as server:  # a refused key stops the run
        endpoint = server.url.replace("http://", f"http://alice:{PASSWORD}@")
        assert _teach(data_dir, out, endpoint, "--concurrency", "1") == 2
        assert _teach(data_dir, out, endpoint) == 0  # every item answered now
    seen = _everything(capsys, tmp_path)
    for where, text in seen.items():
        assert PASSWORD not in text, where
    assert "http://***@127.0.0.1" in seen["stderr"]  # the error still says which endpoint
    manifest = json.loads(seen["demos.manifest.json"])
    assert manifest["endpoint"] == endpoint.replace(f"alice:{PASSWORD}", "***")
