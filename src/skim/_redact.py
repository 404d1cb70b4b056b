"""Keep secrets out of what skim prints and writes: credentials in URLs and the API key.

Used by ``teach`` (manifest, failed items, error messages) and ``generate`` (settings
recorded in every record and manifest), and by ``skim run`` for the config it saves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

HIDDEN = "***"

# scheme://user:password@ or scheme://token@ in free text
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")
# ?api_key=..., &token=..., and the like
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&][^=&#\s]*(?:key|token|secret|password|passwd|sig)[^=&#\s]*=)(?P<value>[^&#\s]+)",
    re.IGNORECASE,
)


def redact_url(url: str | None) -> str | None:
    """``url`` with its user information and secret-looking query values hidden.

    >>> redact_url("http://user:PASSWORD@host:8000/v1?api_key=abc&x=1")
    'http://***@host:8000/v1?api_key=***&x=1'
    """
    if url is None:
        return None
    return redact(url)


def url_secrets(url: str | None) -> list[str]:
    """The password and user name of ``url``, to be hidden wherever they are echoed."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        found = [parts.password, parts.username]
    except ValueError:
        return []
    return [s for s in found if s]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret value, URL credentials and secret query values hidden.

    Secrets shorter than 4 characters are not searched for: hiding them would garble text.
    """
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{HIDDEN}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['name']}{HIDDEN}", text)


def redact_values(obj: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A copy of a JSON-like ``obj`` whose strings went through :func:`redact`."""
    secrets = list(secrets)
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {key: redact_values(value, secrets) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_values(value, secrets) for value in obj]
    return obj
