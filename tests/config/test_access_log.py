"""The access log gunicorn writes (config/access_log.py): a feed subscription token in a
request line, query string or referer is never written, and the rest of the line is."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from config.access_log import RedactingLogger

TOKEN = "eyJ1IjoxLCJwIjoiYWJjIn0:1tQk3x:Zx9-secret"


@pytest.fixture
def access_log(tmp_path):
    """A gunicorn logger as config/gunicorn.conf.py configures it, writing to a file."""
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("access_log_format", "%(r)s | %(q)s | %(f)s | %(s)s")
    logger = RedactingLogger(config)

    def write(uri: str, referer: str = "-") -> str:
        path, _, query = uri.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": uri,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_REFERER": referer,
        }
        response = SimpleNamespace(status="200 OK", headers=[], sent=10)
        logger.access(response, [], environ, timedelta(milliseconds=3))
        for handler in logger.access_log.handlers:
            handler.flush()
        return (tmp_path / "access.log").read_text().splitlines()[-1]

    return write


def test_a_feed_token_is_not_written_in_any_part_of_the_line(access_log):
    line = access_log(
        f"/changes/feed/?kind=added&token={TOKEN}&category=llm",
        referer=f"https://dash.example/changes/feed/?token={TOKEN}",
    )
    assert TOKEN not in line and TOKEN[:10] not in line
    assert line == (
        "GET /changes/feed/?kind=added&token=[redacted]&category=llm HTTP/1.1"
        " | kind=added&token=[redacted]&category=llm"
        " | https://dash.example/changes/feed/?token=[redacted] | 200"
    )


@pytest.mark.parametrize(
    "uri",
    ["/?q=token", "/?q=mytoken%3Dx&sort=name", "/models/acme/token=shaped/", "/?subtoken=1"],
)
def test_everything_else_is_written_as_it_came(access_log, uri):
    assert access_log(uri).startswith(f"GET {uri} HTTP/1.1 | ")
