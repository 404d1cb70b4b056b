import email.utils

import pytest

from skim.errors import SkimError
from skim.teach import ChatClient, ItemFailed, retry_after_seconds

from .fake_openai import FakeChatServer


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "0.5"}) == 0.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_seconds({"retry-after": date}, now=1_000_000) == pytest.approx(30)
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None and retry_after_seconds(None) is None


def test_complete_counts_attempts_and_usage():
    with FakeChatServer({"item-1": ["503", "malformed"]}) as server:
        client = ChatClient(server.url, "m", backoff=0.01, max_backoff=0.02, timeout=1)
        reply = client.complete("write for item-1")
        assert reply.attempts == 3 and (reply.prompt_tokens, reply.completion_tokens) == (100, 10)
        assert reply.text.startswith("Here are the queries:") and reply.finish_reason == "stop"
        assert client.errors == {"503": 1, "malformed": 1}
        client.close()


def test_gives_up_after_max_retries_and_stop_ends_waiting():
    with FakeChatServer({"item-2": ["500"] * 5, "item-3": ["500"] * 5}) as server:
        client = ChatClient(server.url, "m", max_retries=2, backoff=0.01, max_backoff=0.02)
        with pytest.raises(ItemFailed, match="gave up after 3 attempts: status 500") as info:
            client.complete("item-2")
        assert info.value.attempts == 3 and server.outcomes("item-2") == ["500"] * 3
        client.stop()
        with pytest.raises(ItemFailed, match="stopped"):
            client.complete("item-3")
        assert server.outcomes("item-3") == []
        client.close()


def test_bad_settings_are_user_errors():
    with pytest.raises(SkimError, match="per minute must be positive"):
        ChatClient("http://127.0.0.1:9/v1", "m", max_rpm=0)


def test_an_endpoint_that_never_answered_stops_the_run(tmp_path, served_dataset):
    import socket

    from skim.teach import teach

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with pytest.raises(SkimError, match=f"cannot reach {url}"):
        teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", url, "m",
              max_retries=1, backoff=0.01, progress=False)  # fmt: skip
    assert not (tmp_path / "d.jsonl").exists()


def test_rate_limiter_spaces_turns_across_threads_and_pauses():
    import threading
    import time

    from skim.teach import RateLimiter

    limiter = RateLimiter(max_rpm=1200)  # one start per 0.05 s
    turns, woke = [], []

    def worker():
        for _ in range(3):
            turn = limiter.wait()
            woke.append(time.monotonic() - turn)
            turns.append(turn)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns.sort()
    assert len(turns) == 12
    assert all(b - a >= 0.05 - 1e-9 for a, b in zip(turns[:-1], turns[1:], strict=True))
    assert min(woke) >= -1e-3  # nobody started before its turn
    paused_at = time.monotonic()
    limiter.pause(0.3)
    assert limiter.wait() >= paused_at + 0.3
    assert RateLimiter(None).interval == 0.0
