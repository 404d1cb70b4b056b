import pytest

from skim.errors import SkimError, Unreachable
from skim.teach import ChatClient, ItemFailed, Pacer

from .fake_openai import FakeChatServer


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
    with pytest.raises(Unreachable, match=f"cannot reach {url}"):  # a SkimError, exit 1
        teach(served_dataset, tmp_path / "d.jsonl", "labels-to-queries", url, "m",
              max_retries=1, backoff=0.01, progress=False)  # fmt: skip
    assert not (tmp_path / "d.jsonl").exists()


def test_retries_are_the_sdks_and_share_one_budget_of_attempts():
    faults = {"item-1": ["500", "malformed", "500"], "item-2": ["noretry"]}
    with FakeChatServer(faults) as server:
        client = ChatClient(server.url, "m", max_retries=2, backoff=0.01, max_backoff=0.02)
        with pytest.raises(ItemFailed, match="gave up after 3 attempts: status 500") as info:
            client.complete("item-1")  # SDK retry, then a retry of the malformed reply here
        assert info.value.attempts == 3 and server.outcomes("item-1") == faults["item-1"]
        with pytest.raises(ItemFailed, match="^status 500") as info:
            client.complete("item-2")  # the server said x-should-retry: false
        assert info.value.attempts == 1 and server.outcomes("item-2") == ["noretry"]
        assert client.errors == {"500": 3, "malformed": 1}
        client.close()


def test_max_rpm_and_retry_after_hold_for_the_sdks_retries_and_every_client_of_a_pacer():
    import threading
    import time

    with FakeChatServer({"item-1": ["500", "500"], "item-2": ["429"]}, retry_after="1") as server:
        pacer = Pacer(max_rpm=600)  # one start per 0.1 s, retries included
        first = ChatClient(server.url, "m", pacer=pacer)
        second = ChatClient(server.url, "m", pacer=pacer)
        first.complete("item-1")
        starts = [t for t, item, _ in server.log if item == "item-1"]
        assert len(starts) == 3 and starts[-1] - starts[0] >= 0.15  # paced 0.1 s apart (else ~2 ms)
        other = threading.Thread(target=second.complete, args=("item-2",))
        other.start()
        while not server.outcomes("item-2"):
            time.sleep(0.01)
        first.complete("item-3")  # the other client's 429 holds this one back for 1 s too
        other.join()
        (told,) = [t for t, item, outcome in server.log if outcome == "429"]
        (asked,) = [t for t, item, _ in server.log if item == "item-3"]
        assert asked - told >= 0.95
        assert first.errors == second.errors == {"500": 2, "429": 1}
        first.close()
        second.close()


def test_max_tokens_becomes_max_completion_tokens_when_the_model_asks_for_it():
    with FakeChatServer({"item-1": ["maxtok"]}) as server:
        client = ChatClient(server.url, "m", params={"max_tokens": 50, "temperature": 0.2})
        assert client.complete("item-1").text.startswith("Here are")
        client.complete("item-2")
        sent = [
            {k: b.get(k) for k in ("max_tokens", "max_completion_tokens")} for b in server.bodies
        ]
        assert sent == [
            {"max_tokens": 50, "max_completion_tokens": None},
            {"max_tokens": None, "max_completion_tokens": 50},
            {"max_tokens": None, "max_completion_tokens": 50},
        ]
        assert client.errors == {"400": 1}
        client.close()
    with FakeChatServer({"item-1": ["maxtokall"] * 3}) as server:  # the new name is no better
        client = ChatClient(server.url, "m", params={"max_tokens": 50})
        with pytest.raises(SkimError, match="rejected the request .*max_completion_tokens"):
            client.complete("item-1")
        assert server.outcomes("item-1") == ["maxtokall"] * 2  # switched once, never looped
        client.close()


def test_stop_ends_a_retry_after_wait_at_once_and_long_retry_afters_are_waited_not_failed():
    import threading
    import time

    with FakeChatServer({"item-1": ["429"] * 5}, retry_after="20") as server:
        client = ChatClient(server.url, "m", max_retries=4)
        threading.Timer(0.3, client.stop).start()
        started = time.monotonic()
        with pytest.raises(ItemFailed, match="stopped"):
            client.complete("item-1")  # not after the server's 20 s: Ctrl-C ends a run now
        assert time.monotonic() - started < 3 and server.outcomes("item-1") == ["429"]
        client.close()
    # the SDK gives up on a Retry-After above 2 minutes; the pacer waits it (up to its cap)
    with FakeChatServer({"item-1": ["429"]}, retry_after="300") as server:
        client = ChatClient(server.url, "m", max_retries=2, max_retry_after=0.3)
        reply = client.complete("item-1")
        (told, _, _), (asked, _, _) = server.log
        assert reply.attempts == 2 and asked - told >= 0.29
        client.close()


def test_the_switch_to_max_completion_tokens_spends_an_attempt_of_the_budget():
    with FakeChatServer({"item-1": ["maxtok"]}) as server:
        client = ChatClient(server.url, "m", params={"max_tokens": 5}, max_retries=0)
        client.complete("item-0")  # something worked: a refusal now fails the item only
        with pytest.raises(ItemFailed, match="max_completion_tokens") as info:
            client.complete("item-1")
        assert info.value.attempts == 1 and server.outcomes("item-1") == ["maxtok"]
        assert client.complete("item-2").attempts == 1  # the new name from now on
        assert server.bodies[-1]["max_completion_tokens"] == 5
        client.close()
