"""One budget for every HTTP request a run sends to an endpoint: starts a minute, requests in
flight, and the pauses the server asks for.

The SDK retries a request by itself (429, 5xx, timeouts, dropped connections, honouring
``retry-after``, ``retry-after-ms`` and ``x-should-retry``); those retries go through the
same :class:`Pacer` as first attempts, so ``max_rpm`` holds for retries too, and a server's
``Retry-After`` pauses every worker, not only the one that was told. The pacer also counts the
failed attempts by kind, for the run's manifest.
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
import time
from collections.abc import Iterator, Mapping

from skim.errors import SkimError


class Stopped(Exception):
    """The run stopped: no further request may start."""


RETRY_AFTER_HEADERS = ("retry-after-ms", "retry-after")


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    for name, scale in zip(RETRY_AFTER_HEADERS, (1e-3, 1.0), strict=True):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            continue
        return max(0.0, when - (time.time() if now is None else now))
    return None


class RateLimiter:
    """Spaces request starts ``60 / max_rpm`` seconds apart across threads.

    :meth:`pause` holds every thread back, e.g. for a server's ``Retry-After``. Waiting
    ends early when ``stopped`` is set.
    """

    def __init__(self, max_rpm: float | None, stopped: threading.Event | None = None) -> None:
        if max_rpm is not None and max_rpm <= 0:
            raise SkimError(f"max requests per minute must be positive, got {max_rpm}")
        self.interval = 60.0 / max_rpm if max_rpm else 0.0
        self._stopped = stopped or threading.Event()
        self._lock = threading.Lock()
        self._next_start = 0.0  # monotonic time before which no request may start

    def wait(self) -> float:
        """Block until this thread's turn; return the (monotonic) time the turn was set for."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
        if start > now:
            self._stopped.wait(start - now)
        return start

    def pause(self, seconds: float) -> None:
        """No request starts during the next ``seconds``."""
        with self._lock:
            self._next_start = max(self._next_start, time.monotonic() + seconds)


class Pacer:
    """Rate, concurrency and server pauses shared by every request of a run.

    Parameters
    ----------
    max_rpm
        At most this many request starts a minute, retries included (``None``: no limit).
    max_in_flight
        At most this many requests awaiting their answer at once (``None``: no limit beyond
        the caller's threads).
    max_pause
        Cap, in seconds, on a server's ``Retry-After``.
    """

    def __init__(
        self,
        max_rpm: float | None = None,
        max_in_flight: int | None = None,
        max_pause: float = 600.0,
    ) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise SkimError(f"requests in flight must be at least 1, got {max_in_flight}")
        self.stopped = threading.Event()
        self.limiter = RateLimiter(max_rpm, self.stopped)
        self.max_pause = max_pause
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None
        self._lock = threading.Lock()
        self._errors: dict[str, int] = {}
        self._local = threading.local()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold one request's place: its start in the rate and a slot in flight.

        Raises :class:`Stopped` once :meth:`stop` was called, before or after the wait.
        """
        if self.stopped.is_set():
            raise Stopped
        self.limiter.wait()
        if self._slots is not None:
            while not self._slots.acquire(timeout=0.1):
                if self.stopped.is_set():
                    raise Stopped
        try:
            if self.stopped.is_set():
                raise Stopped
            self._local.sends = getattr(self._local, "sends", 0) + 1
            yield
        finally:
            if self._slots is not None:
                self._slots.release()

    def answered(self, status: int, headers: Mapping[str, str]) -> float:
        """Note an HTTP answer: count an error status, and pause everyone for its Retry-After
        (capped at ``max_pause``); return the pause, 0 if none."""
        if status < 400:
            return 0.0
        self.count(str(status))
        wait = min(retry_after_seconds(headers) or 0.0, self.max_pause)
        if wait:
            self.limiter.pause(wait)
        return wait

    def count(self, kind: str) -> None:
        """Count one failed attempt of ``kind`` (``"429"``, ``"timeout"``, ``"malformed"``...)."""
        with self._lock:
            self._errors[kind] = self._errors.get(kind, 0) + 1

    @property
    def errors(self) -> dict[str, int]:
        """Failed attempts so far, by kind."""
        with self._lock:
            return dict(self._errors)

    def sends(self, reset: bool = False) -> int:
        """Requests sent by the calling thread since its last reset."""
        sent = getattr(self._local, "sends", 0)
        if reset:
            self._local.sends = 0
        return sent

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the run stops meanwhile."""
        self.stopped.wait(seconds)

    def stop(self) -> None:
        """Make every waiting and future turn raise :class:`Stopped`."""
        self.stopped.set()
