"""skim teach --dry-run: requests, prompt tokens and cost before anything is asked."""

import json

import pytest

from skim.cli import main
from skim.errors import SkimError
from skim.teach import teach, teach_cost

from .fake_openai import FakeChatServer

FAST = {"timeout": 2.0, "max_retries": 0, "progress": False}


@pytest.fixture
def template(tmp_path):
    """Renders ``item-k: the page of document k, with words``: 8 words, ceil(8 / 0.75) = 11."""
    path = tmp_path / "short.j2"
    path.write_text("{{ text }}: {{ metadata }}")
    return str(path)


def test_dry_run_counts_and_prices_without_a_request(tmp_path, served_dataset, template):
    with FakeChatServer() as server:  # reachable, yet never asked
        cost = teach_cost(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", "m",
                          endpoint=server.url, template=template, sample=3, max_tokens=100,
                          price_in=2.5, price_out=10.0)  # fmt: skip
        assert server.log == []
    assert (cost["items"], cost["cached"], cost["requests"]) == (3, 0, 3)
    assert (cost["prompt_tokens"], cost["completion_tokens_max"]) == (33, 300)
    assert cost["prompt_cost_usd"] == pytest.approx(33 * 2.5 / 1e6)  # 8.25e-05
    assert cost["completion_cost_usd_max"] == pytest.approx(0.003)  # 300 x 10 / 1e6
    assert cost["cost_usd_max"] == pytest.approx(0.0030825)
    assert cost["tokens_counted_by"] == "words / 0.75 (estimate)"
    # nothing cached to measure: 10 tokens for each of the 10 texts asked, x 3 requests
    assert (
        cost["completion_tokens_expected"] == 300 and "a guess" in cost["completion_expected_from"]
    )
    assert cost["cost_usd_expected"] == pytest.approx((33 * 2.5 + 300 * 10) / 1e6)
    assert not list(tmp_path.glob("d*"))  # nothing written


def test_dry_run_leaves_out_what_the_cache_already_answered(tmp_path, served_dataset, template):
    out = tmp_path / "d.jsonl"
    with FakeChatServer() as server:
        teach(served_dataset, out, "labels-to-queries", server.url, "m", template=template,
              sample=2, **FAST)  # fmt: skip
        asked = len(server.log)
        cost = teach_cost(served_dataset, out, "labels-to-queries", "m", template=template,
                          sample=5, price_in=1.0)  # fmt: skip
        unbounded = teach_cost(served_dataset, out, "labels-to-queries", "m", template=template,
                               sample=5, max_tokens=None, price_in=1.0)  # fmt: skip
        assert len(server.log) == asked
    assert (cost["cached"], cost["requests"], cost["prompt_tokens"]) == (2, 3, 33)
    assert cost["completion_tokens_max"] == 3000  # the default max_tokens, 1000, x 3
    assert cost["prompt_cost_usd"] == pytest.approx(33e-6)
    assert cost["cost_usd_max"] is None  # no --price-out: no total
    # the fake teacher's two answers took 10 completion tokens each: 3 more requests, 30
    assert cost["completion_tokens_expected"] == 30
    assert cost["completion_expected_from"] == "mean of 2 cached answers of m"
    # max_tokens is part of the cache key, as in teach: nothing cached, and no bound
    assert (unbounded["cached"], unbounded["requests"], unbounded["prompt_tokens"]) == (0, 5, 55)
    assert unbounded["completion_tokens_max"] is None
    with pytest.raises(SkimError, match="price_out must be a price >= 0"):
        teach_cost(served_dataset, out, "labels-to-queries", "m", price_out=-1.0)


def test_cli_dry_run_needs_no_endpoint_and_prints_json(tmp_path, served_dataset, template, capsys):
    from skim.data import save_dataset

    save_dataset(served_dataset, tmp_path / "ds")
    base = ["teach", str(tmp_path / "ds"), str(tmp_path / "d.jsonl"),
            "--direction", "labels-to-queries", "--template", template]  # fmt: skip
    args = [*base, "--dry-run", "--max-tokens", "50", "--price-in", "3", "--price-out", "15"]
    assert main([*args, "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)
    assert (cost["requests"], cost["prompt_tokens"], cost["completion_tokens_max"]) == (8, 88, 400)
    assert cost["cost_usd_max"] == pytest.approx((88 * 3 + 400 * 15) / 1e6)  # 0.006264
    assert main(args) == 0
    assert "requests: 8" in capsys.readouterr().out
    assert main([*base, "--teacher", "gold", "--dry-run"]) == 2
    assert "the gold teacher is free" in capsys.readouterr().err
    assert main([*base, "--price-in", "3"]) == 2
    assert "go with --dry-run" in capsys.readouterr().err
