"""A chat client for any OpenAI-compatible endpoint that keeps asking until it gets an answer.

Built on the official ``openai`` SDK and its own retries: 408, 409, 429 and 5xx statuses,
timeouts and dropped connections are retried by the SDK with its exponential backoff, honouring
``x-should-retry``. Every attempt, retries included, goes through one
:class:`~skim.teach.pacer.Pacer`: at most ``max_rpm`` starts a minute, and a ``Retry-After``
(or ``retry-after-ms``) pauses every worker, up to ``max_retry_after``, in a wait that
:meth:`ChatClient.stop` and Ctrl-C end at once (the SDK's own sleep could not be cut short).
On top, this client retries what the SDK cannot see as a failure: malformed replies (invalid
JSON, no choices, empty content) and text that ``accept`` rejects, with its own backoff. Not
retried: 400/422 (this item's request is bad: the item fails), except a ``max_tokens`` that
the model refuses in favour of ``max_completion_tokens`` (newer OpenAI models): the client
then sends that name for the rest of the run. Fatal for the whole run: 401/403/404 (wrong
key, model or URL), and, before any request has succeeded, a 400/422 (e.g. a parameter the
model does not take) or an endpoint that stayed unreachable through all retries.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from skim._redact import redact, redact_url, url_secrets
from skim.errors import SkimError, Unreachable
from skim.teach.pacer import RETRY_AFTER_HEADERS, Pacer, Stopped


class ItemFailed(Exception):
    """An item got no usable answer after the last retry."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class _Retry(Exception):
    """A reply the SDK accepted but this client cannot use: ask again."""


@dataclass
class Reply:
    """A usable answer and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    seconds: float
    finish_reason: str | None


def sdk_client(
    endpoint: str | None, api_key: str | None, pacer: Pacer, timeout: float, max_retries: int
) -> Any:
    """An ``openai.OpenAI`` client whose every request, retries too, takes a turn of ``pacer``.

    Local servers that ignore keys get the key ``"EMPTY"``.
    """
    import openai

    return openai.OpenAI(
        base_url=endpoint,
        api_key=api_key or "EMPTY",
        timeout=timeout,
        max_retries=max_retries,
        http_client=_paced_http_client(pacer, timeout),
    )


def _paced_http_client(pacer: Pacer, timeout: float) -> Any:
    """The SDK's default HTTP client, with every request (retries too) taking a pacer turn."""
    import openai

    class PacedHttpClient(openai.DefaultHttpxClient):
        def send(self, request: Any, **kwargs: Any) -> Any:
            with pacer.turn():
                try:
                    response = super().send(request, **kwargs)
                except Exception as exc:  # httpx's or httpx2's transport errors alike
                    timed_out = any(c.__name__ == "TimeoutException" for c in type(exc).__mro__)
                    pacer.count("timeout" if timed_out else "connection")
                    raise
            if pacer.answered(response.status_code, response.headers):
                # the pacer now holds every worker back for the server's Retry-After, in a wait
                # that stop() and Ctrl-C end; without the header the SDK sleeps only its short
                # backoff (at most 8 s) before the paced retry, and retries a Retry-After above
                # its own 120 s limit instead of failing the item
                for name in RETRY_AFTER_HEADERS:
                    response.headers.pop(name, None)
            return response

    return PacedHttpClient(timeout=timeout)


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
        Retries after the first attempt, by the SDK for failed requests and by this client
        for unusable replies.
    backoff, max_backoff
        Before asking again after an unusable reply, wait ``min(max_backoff, backoff *
        2**retry)`` seconds, times a jitter in [0.5, 1].
    max_rpm
        At most this many request starts per minute across all threads (``None``: no limit).
    max_retry_after
        Cap on a server's ``Retry-After`` pause, in seconds.
    pacer
        Share one :class:`~skim.teach.pacer.Pacer` between clients of the same endpoint
        (``max_rpm`` and ``max_retry_after`` are then the pacer's own).
    """

    def __init__(
        self,
        endpoint: str | None,
        model: str,
        api_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float = 120.0,
        max_retries: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_rpm: float | None = None,
        max_retry_after: float = 600.0,
        pacer: Pacer | None = None,
    ) -> None:
        import openai

        if max_retries < 0 or timeout <= 0:
            raise SkimError("max retries must be >= 0 and the timeout positive")
        self.endpoint, self.model = endpoint, model
        self.shown_endpoint = redact_url(endpoint) or "the default endpoint"
        self._secrets = [api_key, *url_secrets(endpoint)]  # never printed nor written
        self.params = dict(params or {})
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.pacer = pacer or Pacer(max_rpm, max_pause=max_retry_after)
        self._lock = threading.Lock()
        self._answered = 0
        self._openai = openai
        self._client = sdk_client(endpoint, api_key, self.pacer, timeout, max_retries)

    @property
    def answered(self) -> int:
        """How many requests got a usable answer so far."""
        with self._lock:
            return self._answered

    @property
    def errors(self) -> dict[str, int]:
        """How many attempts failed, by kind (``"429"``, ``"500"``, ``"timeout"``, ...)."""
        return self.pacer.errors

    def _request_fields(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.params)

    def _use_max_completion_tokens(self, sent: Mapping[str, Any], message: str) -> bool:
        """True when a request that ``sent`` ``max_tokens`` was refused by ``message`` in
        favour of ``max_completion_tokens``: the client switches names for good."""
        if "max_tokens" not in sent or "max_completion_tokens" not in message:
            return False
        with self._lock:
            if "max_tokens" in self.params:
                self.params["max_completion_tokens"] = self.params.pop("max_tokens")
        return True

    def _attempt(
        self, messages: list[dict[str, str]], accept: Callable[[str], bool] | None, retries: int
    ) -> tuple[str, Any]:
        """One request, which the SDK retries at most ``retries`` times."""
        oa = self._openai
        fields = self._request_fields()
        try:
            response = self._client.with_options(max_retries=retries).chat.completions.create(
                model=self.model, messages=messages, **fields
            )
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
            raise SkimError(
                f"{self.shown_endpoint} refused model {self.model!r} with status {exc.status_code} "
                f"({status_message(exc)}); check --endpoint, --model and SKIM_API_KEY"
            ) from None
        except (oa.BadRequestError, oa.UnprocessableEntityError) as exc:
            message = f"status {exc.status_code}: {status_message(exc)}"
            if self._use_max_completion_tokens(fields, str(exc.body) + str(exc.message)):
                if retries < 1:  # the refused request was this item's last attempt
                    raise ItemFailed(message, 0) from None
                return self._attempt(messages, accept, retries - 1)
            if not self.answered:  # nothing ever worked: the settings, not this item, are wrong
                raise SkimError(
                    f"{self.shown_endpoint} rejected the request for model {self.model!r} "
                    f"({message}); check --model, --max-tokens, --temperature and "
                    "--max-meta-tokens"
                ) from None
            raise ItemFailed(message, 0) from None
        except oa.APITimeoutError:
            raise ItemFailed("request timed out", 0) from None
        except oa.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            if not self.answered:  # a wrong URL or a server that is down: stop the run
                raise Unreachable(
                    f"cannot reach {self.shown_endpoint} (connection error: {cause}); "
                    "check --endpoint"
                ) from None
            raise ItemFailed(f"connection error ({cause})", 0) from None
        except oa.APIStatusError as exc:
            raise ItemFailed(f"status {exc.status_code}: {status_message(exc)}", 0) from None
        except (oa.APIResponseValidationError, ValueError) as exc:  # JSON errors are ValueErrors
            self.pacer.count("malformed")
            raise _Retry(f"malformed reply ({short_text(str(exc))})") from None
        try:
            choice = response.choices[0]
            text = choice.message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            text, choice = None, None
        if not isinstance(text, str) or not text.strip():
            self.pacer.count("malformed")
            raise _Retry("malformed reply (no message content)")
        if accept is not None and not accept(text):
            self.pacer.count("unusable")
            raise _Retry(f"unusable reply ({short_text(text)})")
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
        except SkimError as exc:  # the same class, the message without secrets
            raise type(exc)(redact(str(exc), self._secrets)) from None

    def _complete(
        self, messages: list[dict[str, str]], accept: Callable[[str], bool] | None
    ) -> Reply:
        started = time.monotonic()
        self.pacer.sends(reset=True)
        error = ""
        while (sent := self.pacer.sends()) <= self.max_retries:  # one budget for all attempts
            try:
                text, response = self._attempt(messages, accept, self.max_retries - sent)
            except Stopped:
                raise ItemFailed("stopped", self.pacer.sends()) from None
            except ItemFailed as exc:
                sent = self.pacer.sends()
                raise ItemFailed(_gave_up(str(exc), sent), sent) from None
            except _Retry as exc:
                error = str(exc)
                retry = self.pacer.sends() - 1
                if retry < self.max_retries:
                    wait = min(self.max_backoff, self.backoff * 2**retry)
                    self.pacer.wait(wait * random.uniform(0.5, 1))
                continue
            with self._lock:
                self._answered += 1
            usage = getattr(response, "usage", None)
            return Reply(
                text=text,
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                attempts=self.pacer.sends(),
                seconds=round(time.monotonic() - started, 3),
                finish_reason=getattr(response.choices[0], "finish_reason", None),
            )
        sent = self.pacer.sends()
        raise ItemFailed(_gave_up(error, sent), sent)

    def stop(self) -> None:
        """Make every pending and future ``complete`` call give up at its next attempt."""
        self.pacer.stop()

    def close(self) -> None:
        self._client.close()


def _gave_up(error: str, attempts: int) -> str:
    return error if attempts <= 1 else f"gave up after {attempts} attempts: {error}"


def status_message(exc: Any) -> str:
    """The server's own error message when its body has one, else the SDK's."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner.get("message"), str):
            return short_text(inner["message"])
    return short_text(exc.message)


def short_text(text: object, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
