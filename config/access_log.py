"""gunicorn's access log without secrets: a member's feed subscription link carries its
token in the query string (catalog/feeds.py), and gunicorn would write the request line,
the query and the referer as they came. Their token values are replaced before logging."""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

# `token=` at the start or after a separator (?, &, ;, a space), up to the next one.
SECRET_PARAMETER = re.compile(r"(?<![^?&;\s])(token=)[^&;\s]*", re.IGNORECASE)
REDACTED = r"\1[redacted]"
LOGGED_URLS = ("r", "q", "f")  # the request line, the query string, the referer


def redact(text: str) -> str:
    return SECRET_PARAMETER.sub(REDACTED, text)


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in LOGGED_URLS:
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
