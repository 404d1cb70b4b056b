import email.utils
import threading
import time

import pytest

from skim.errors import SkimError
from skim.teach.pacer import Pacer, RateLimiter, Stopped, retry_after_seconds


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "0.5"}) == 0.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_seconds({"retry-after": date}, now=1_000_000) == pytest.approx(30)
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None and retry_after_seconds(None) is None


def test_rate_limiter_spaces_turns_across_threads_and_pauses():
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


def test_pacer_bounds_requests_in_flight_and_counts_sends_per_thread():
    pacer = Pacer(max_in_flight=2)
    inside, most, sends = [0], [0], []
    lock = threading.Lock()

    def worker():
        pacer.sends(reset=True)
        for _ in range(3):
            with pacer.turn():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.02)
                with lock:
                    inside[0] -= 1
        sends.append(pacer.sends())

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2 and sends == [3] * 5


def test_pacer_pauses_for_retry_after_counts_errors_and_stops():
    pacer = Pacer(max_pause=0.2)
    pacer.answered(200, {"retry-after": "5"})  # a success is neither counted nor obeyed
    pacer.answered(503, {})
    before = time.monotonic()
    pacer.answered(429, {"retry-after": "30"})  # capped at max_pause
    with pacer.turn():
        waited = time.monotonic() - before
    assert 0.19 <= waited < 1.0
    assert pacer.errors == {"503": 1, "429": 1}
    pacer.stop()
    with pytest.raises(Stopped):
        with pacer.turn():
            pass
    with pytest.raises(SkimError, match="in flight must be at least 1"):
        Pacer(max_in_flight=0)
