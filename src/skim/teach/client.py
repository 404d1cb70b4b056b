"""A chat client for any OpenAI-compatible endpoint that keeps asking until it gets an answer.

Built on the official ``openai`` SDK (with its own retries off, so that every retry is counted
and paced here). Requests share one rate limiter: at most ``max_rpm`` starts a minute, and a
``Retry-After`` from the server pauses every worker, not just the one that was told. Retried
with exponential backoff and jitter: 429, 5xx and other unexpected statuses, timeouts,
dropped connections and malformed replies (invalid JSON, no choices, empty content, or text
that ``accept`` rejects). Not retried: 400/422 (this item's request is bad: the item
fails). Fatal for the whole run: 401/403/404 (wrong key, model or URL), and, before any
request has succeeded, a 400/422 (e.g. a parameter the model does not take) or an endpoint
that stayed unreachable through all retries of an item.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from skim._redact import redact, redact_url, url_secrets
from skim.errors import SkimError


class ItemFailed(Exception):
    """An item got no usable answer after the last retry."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class _Retry(Exception):
    def __init__(
        self, message: str, retry_after: float | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after, self.unreachable = retry_after, unreachable


@dataclass
class Reply:
    """A usable answer and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    seconds: float
    finish_reason: str | None


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
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


class ChatClient:
    """Send one-message chat requests to ``endpoint`` for ``model``, with retries and pacing.

    Parameters
    ----------
    endpoint
        Base URL of the OpenAI-compatible API, e.g. ``http://localhost:8000/v1``.
    model
        Model name as the endpoint knows it.
    api_key
        The key; never logged or stored. Local servers that ignore keys get ``"EMPTY"``.
    params
        Extra request fields, e.g. ``{"temperature": 0.7, "max_tokens": 1000}``.
    timeout
        Seconds one request may take before it is abandoned and retried.
    max_retries
        Retries after the first attempt (so ``max_retries + 1`` attempts at most).
    backoff, max_backoff
        Wait ``min(max_backoff, backoff * 2**retry)`` seconds, times a jitter in [0.5, 1].
    max_rpm
        At most this many request starts per minute across all threads (``None``: no limit).
    max_retry_after
        Cap on a server's ``Retry-After``, in seconds.
    """

    def __init__(
        self,
        endpoint: str,
        model: str,
        api_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float = 120.0,
        max_retries: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_rpm: float | None = None,
        max_retry_after: float = 600.0,
    ) -> None:
        import openai

        if max_retries < 0 or timeout <= 0:
            raise SkimError("max retries must be >= 0 and the timeout positive")
        self.endpoint, self.model = endpoint, model
        self.shown_endpoint = redact_url(endpoint) or "the default endpoint"
        self._secrets = [api_key, *url_secrets(endpoint)]  # never printed nor written
        self.params = dict(params or {})
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.max_retry_after = max_retry_after
        self._lock = threading.Lock()
        self._errors: dict[str, int] = {}
        self._stopped = threading.Event()
        self.limiter = RateLimiter(max_rpm, self._stopped)
        self._answered = 0
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=endpoint, api_key=api_key or "EMPTY", timeout=timeout, max_retries=0
        )

    @property
    def answered(self) -> int:
        """How many requests got a usable answer so far."""
        with self._lock:
            return self._answered

    @property
    def errors(self) -> dict[str, int]:
        """How many attempts failed, by kind (``"429"``, ``"500"``, ``"timeout"``, ...)."""
        with self._lock:
            return dict(self._errors)

    def _count(self, kind: str) -> None:
        with self._lock:
            self._errors[kind] = self._errors.get(kind, 0) + 1

    def _attempt(
        self, messages: list[dict[str, str]], accept: Callable[[str], bool] | None
    ) -> tuple[str, Any]:
        oa = self._openai
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, **self.params
            )
        except oa.APITimeoutError:
            self._count("timeout")
            raise _Retry("request timed out") from None
        except oa.APIConnectionError as exc:
            self._count("connection")
            raise _Retry(f"connection error ({exc.__cause__ or exc})", unreachable=True) from None
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
            raise SkimError(
                f"{self.shown_endpoint} refused model {self.model!r} with status {exc.status_code} "
                f"({_status_message(exc)}); check --endpoint, --model and SKIM_API_KEY"
            ) from None
        except (oa.BadRequestError, oa.UnprocessableEntityError) as exc:
            self._count(str(exc.status_code))
            message = f"status {exc.status_code}: {_status_message(exc)}"
            if not self.answered:  # nothing ever worked: the settings, not this item, are wrong
                raise SkimError(
                    f"{self.shown_endpoint} rejected the request for model {self.model!r} "
                    f"({message}); check --model, --max-tokens, --temperature and "
                    "--max-meta-tokens"
                ) from None
            raise ItemFailed(message, 0) from None
        except oa.APIStatusError as exc:
            self._count(str(exc.status_code))
            wait = retry_after_seconds(exc.response.headers)
            raise _Retry(f"status {exc.status_code}: {_status_message(exc)}", wait) from None
        except (oa.APIResponseValidationError, ValueError) as exc:  # JSON errors are ValueErrors
            self._count("malformed")
            raise _Retry(f"malformed reply ({_short(str(exc))})") from None
        try:
            choice = response.choices[0]
            text = choice.message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            text, choice = None, None
        if not isinstance(text, str) or not text.strip():
            self._count("malformed")
            raise _Retry("malformed reply (no message content)")
        if accept is not None and not accept(text):
            self._count("unusable")
            raise _Retry(f"unusable reply ({_short(text)})")
        return text, response

    def complete(
        self, prompt: str, accept: Callable[[str], bool] | None = None, system: str | None = None
    ) -> Reply:
        """Ask until a usable reply arrives; raise :class:`ItemFailed` after the last retry.

        ``accept(text)`` may reject a well-formed but unusable reply (e.g. no list items);
        ``system`` is sent as a system message before the prompt. Error messages never hold
        the API key or the endpoint's credentials, even when the server echoes them.
        """
        messages = [{"role": "user", "content": prompt}]
        if system is not None:
            messages.insert(0, {"role": "system", "content": system})
        try:
            return self._complete(messages, accept)
        except ItemFailed as exc:
            raise ItemFailed(redact(str(exc), self._secrets), exc.attempts) from None
        except SkimError as exc:
            raise SkimError(redact(str(exc), self._secrets)) from None

    def _complete(
        self, messages: list[dict[str, str]], accept: Callable[[str], bool] | None
    ) -> Reply:
        started = time.monotonic()
        error, unreachable = "", False
        for attempt in range(self.max_retries + 1):
            if self._stopped.is_set():
                raise ItemFailed("stopped", attempt)
            self.limiter.wait()
            try:
                text, response = self._attempt(messages, accept)
            except _Retry as exc:
                error, unreachable = str(exc), exc.unreachable
                if attempt == self.max_retries:
                    break
                wait = min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(0.5, 1)
                if exc.retry_after is not None:
                    wait = max(wait, min(exc.retry_after, self.max_retry_after))
                    self.limiter.pause(wait)
                self._stopped.wait(wait)
                continue
            except ItemFailed as exc:
                raise ItemFailed(str(exc), attempt + 1) from None
            with self._lock:
                self._answered += 1
            usage = getattr(response, "usage", None)
            return Reply(
                text=text,
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                attempts=attempt + 1,
                seconds=round(time.monotonic() - started, 3),
                finish_reason=getattr(response.choices[0], "finish_reason", None),
            )
        if unreachable and not self.answered:  # a wrong URL or a server that is down: stop the run
            raise SkimError(f"cannot reach {self.shown_endpoint} ({error}); check --endpoint")
        raise ItemFailed(f"gave up after {self.max_retries + 1} attempts: {error}", attempt + 1)

    def stop(self) -> None:
        """Make every pending and future ``complete`` call give up at its next attempt."""
        self._stopped.set()

    def close(self) -> None:
        self._client.close()


def _status_message(exc: Any) -> str:
    """The server's own error message when its body has one, else the SDK's."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner.get("message"), str):
            return _short(inner["message"])
    return _short(exc.message)


def _short(text: object, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
