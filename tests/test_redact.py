import pytest

from skim._redact import redact, redact_url, redact_values, url_secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:PASSWORD@host:8000/v1", "http://***@host:8000/v1"),
        ("https://TOKEN@api.example.org/v1", "https://***@api.example.org/v1"),
        ("http://host/v1?api_key=abc&x=1&access_token=t", "http://host/v1?api_key=***&x=1&access_token=***"),
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        (None, None),
    ],
)  # fmt: skip
def test_redact_url_hides_credentials_only(url, shown):
    assert redact_url(url) == shown


def test_redact_hides_secret_values_in_free_text():
    text = "401 for Bearer sk-abcdef (user alice:s3cret at http://alice:s3cret@h/v1)"
    secrets = ["sk-abcdef", *url_secrets("http://alice:s3cret@h/v1")]
    assert url_secrets("http://alice:s3cret@h/v1") == ["s3cret", "alice"]
    assert redact(text, secrets) == "401 for Bearer *** (user ***:*** at http://***@h/v1)"
    assert redact("a b", ["a", None, ""]) == "a b"  # too short to hide without garbling


def test_redact_values_walks_json_like_objects():
    config = {"teach": {"endpoint": "http://u:p4ss@h/v1", "n": 10, "tags": ["http://u:p4ss@h"]}}
    assert redact_values(config) == {
        "teach": {"endpoint": "http://***@h/v1", "n": 10, "tags": ["http://***@h"]}
    }
