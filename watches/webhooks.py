"""Sending a webhook safely: only https (http in development), only to a public address
checked when sending (the connection goes to the checked address, keeping the name for
the Host header and TLS), a short deadline for the whole exchange, no redirects, and at
most a few KB of the answer read. Also the bodies (signed JSON, Slack, Discord).

The signature: `X-Watch-Signature: sha256=<hex>` is HMAC-SHA256 with the watch's secret
over "<X-Watch-Timestamp>.<body>" (docs/watches.md has a verifier).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = 5.0  # seconds for the whole exchange: resolve, connect, send, status and headers
MAX_BODY = 4096  # bytes of the answer read, at most (for the log's reason)
SIGNATURE_HEADER = "X-Watch-Signature"
TIMESTAMP_HEADER = "X-Watch-Timestamp"
USER_AGENT = "fal-catalog-watches/1"

Resolver = Callable[..., list[tuple[Any, ...]]]


class Refused(ValueError):
    """A URL or address we will not send to; the message says why."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: str  # the HTTP status, or "refused", "timeout", "error"
    reason: str


def check_url(url: str, *, allow_http: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL we may send to; raises Refused."""
    if any(c <= " " or c == "\x7f" for c in url):
        raise Refused("Webhook URLs may not hold a space or control character.")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        raise Refused("Webhook URLs must start with https://.")
    if parts.username or parts.password:
        raise Refused("Webhook URLs may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("The webhook URL's port is not a number.") from None
    if not parts.hostname:
        raise Refused("The webhook URL has no host.")
    return parts.scheme, parts.hostname, port


# IPv6 prefixes whose last 32 bits are the IPv4 address the packet goes to: IPv4-compatible
# (deprecated) and NAT64's well-known prefix (a gateway forwards to the IPv4 address).
_CARRY_IPV4_LAST = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b::/96"))


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, compatible, NAT64 or 6to4), if any."""
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if any(ip in network for network in _CARRY_IPV4_LAST):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """Whether `address`, and any IPv4 address inside it, is a public unicast one."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address) and (carried := _carried_ipv4(ip)) is not None:
        if not (carried.is_global and not carried.is_multicast):
            return False
        # A mapped address is the IPv4 one (its own prefix is never "global").
        ip = carried if ip.ipv4_mapped else ip
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, *, allow_private: bool, resolver: Resolver) -> str:
    """The address to connect to: every address the name has must be allowed (a name that
    also resolves to a private address is refused), the first is used."""
    try:
        found = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Refused(f"The webhook's host {host} does not resolve ({error}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise Refused(f"The webhook's host {host} does not resolve.")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise Refused(
                    f"{host} resolves to {address}, a loopback, private or link-local address."
                )
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; the Host header keeps the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the checked address; SNI, the certificate check and Host keep the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    allow_http: bool,
    timeout: float | None = None,
    resolver: Resolver = socket.getaddrinfo,
) -> Outcome:
    """POST `body` to `url`; never raises, never waits much past `timeout` (TIMEOUT)."""
    timeout = TIMEOUT if timeout is None else timeout
    try:
        scheme, host, port = check_url(url, allow_http=allow_http)
        address = resolve(host, port, allow_private=allow_private, resolver=resolver)
    except Refused as error:
        return Outcome(False, "refused", str(error))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = kind(host, port, address, timeout)
    # The socket timeout bounds each wait; this bounds the whole (a receiver that trickles
    # a byte at a time would otherwise hold the worker for as long as it likes).
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, cut_off)
    timer.start()
    started = time.monotonic()
    try:
        connection.request(
            "POST", target, body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )  # fmt: skip
        response = connection.getresponse()
        answer = response.read(MAX_BODY)
        status = response.status
    except TimeoutError:
        return Outcome(False, "timeout", f"No answer within {timeout:g} s.")
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set() or time.monotonic() - started >= timeout:
            return Outcome(False, "timeout", f"Cut off after {timeout:g} s.")
        return Outcome(False, "error", f"{type(error).__name__}: {error}"[:500])
    finally:
        timer.cancel()
        connection.close()
    if expired.is_set():
        return Outcome(False, "timeout", f"Cut off after {timeout:g} s.")
    if 200 <= status < 300:
        return Outcome(True, str(status), "")
    if 300 <= status < 400:
        where = response.getheader("Location", "")[:200]
        return Outcome(False, str(status), f"Redirect to {where} not followed.")
    text = answer.decode("utf-8", "replace").strip()
    return Outcome(False, str(status), text[:300])


# --- Bodies and the signature ----------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


_DISCORD_MARKDOWN = re.compile(r"[\\*_~`|>#\[\]()<-]")


def body_for(fmt: str, payload: dict[str, Any], line: str) -> bytes:
    """The body for a receiver's format: our JSON, or a chat message for Slack or Discord."""
    if fmt == "slack":
        # Slack reads <…> as links and mentions (<!channel>): upstream text must not ping.
        escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        data: dict[str, Any] = {"text": escaped}
    elif fmt == "discord":
        # Discord reads markdown ([text](url) is a link that hides where it goes): upstream
        # text is shown as written. Mentions are off (allowed_mentions).
        escaped = _DISCORD_MARKDOWN.sub(r"\\\g<0>", line)
        data = {"content": escaped[:2000], "allowed_mentions": {"parse": []}}
    else:
        data = payload
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
