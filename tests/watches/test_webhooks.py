"""Webhooks (watches.webhooks, through watches.delivery): the signature verifies with the
recipe in docs/watches.md; hostile receivers (slow, trickling, endless, redirecting to a
private address, a name that resolves to loopback) are refused or cut off within the
timeout, and each refusal is in the watch's log."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
from django.utils import timezone

from catalog.models import Change, SyncRun
from watches import webhooks
from watches.delivery import deliver_due
from watches.models import Delivery, DeliveryLog, Notification
from watches.services import watch_create

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
DOC = Path(__file__).resolve().parents[2] / "docs" / "watches.md"


def documented_verifier():
    """The `verify` function of docs/watches.md, run as a reader would paste it."""
    (code,) = re.findall(
        r"### Verifying a request \(Python\)\n\n```python\n(.*?)```", DOC.read_text(), re.S
    )
    assert len([line for line in code.splitlines() if line.strip()]) <= 10  # lines of code
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own documentation)
    return namespace["verify"]


def notify(watch) -> Delivery:
    """A notification of `watch`, waiting for its webhook delivery."""
    run = SyncRun.objects.filter(state="succeeded").latest("pk")
    change = Change.objects.create(
        endpoint_id="acme/x", kind="added", sync=run, seen_at=timezone.now()
    )
    notification = Notification.objects.create(
        watch=watch, change=change, topic="added", endpoint_id="acme/x", text="acme/x: new"
    )
    return Delivery.objects.create(
        notification=notification, channel="webhook", next_attempt_at=timezone.now()
    )


@pytest.fixture
def hook(member, receiver, webhooks_to_loopback):
    return watch_create(
        owner=member, name="Hook", subject="search", query="?category=text-to-video",
        webhook_url=receiver.url + "/hook",
    )  # fmt: skip


def test_the_signature_verifies_with_the_documented_recipe(hook, receiver):
    notify(hook.watch)
    assert deliver_due() == {"sent": 1, "failed": 0}
    (request,) = receiver.requests
    verify = documented_verifier()
    assert hook.secret.startswith("whsec_")
    assert verify(hook.secret, request["headers"], request["body"])
    assert not verify(hook.secret, request["headers"], request["body"] + b" ")
    assert not verify("whsec_another", request["headers"], request["body"])
    stale = {**request["headers"], "X-Watch-Timestamp": str(int(time.time()) - 3600)}
    assert not verify(hook.secret, stale, request["body"])


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        ("slow", "timeout"),
        ("trickle", "timeout"),
        ("endless", "500"),
        ("redirect_to_private", "307"),
    ],
)
def test_a_hostile_receiver_is_cut_off_within_the_timeout_and_logged(
    hook, receiver, monkeypatch, behaviour, status
):
    monkeypatch.setattr(webhooks, "TIMEOUT", 2.0)
    receiver.answers = [getattr(receiver, behaviour)]
    delivery = notify(hook.watch)
    started = time.monotonic()
    assert deliver_due() == {"sent": 0, "failed": 1}
    assert time.monotonic() - started < 2.0 + 1.0
    (entry,) = DeliveryLog.objects.filter(watch=hook.watch)
    assert (entry.ok, entry.status) == (False, status)
    if behaviour == "redirect_to_private":
        assert "10.0.0.1" in entry.reason and "not followed" in entry.reason
    assert len(receiver.requests) == 1  # no redirect followed
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.next_attempt_at > timezone.now()


def resolving_to(address: str):
    def resolver(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolver


def test_a_name_that_resolves_to_loopback_is_refused_at_send_time(hook, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.url.rsplit(":", 1)[1]
    hook.watch.webhook_url = f"http://hooks.example.test:{port}/hook"
    hook.watch.save()
    notify(hook.watch)
    assert deliver_due(resolver=resolving_to("127.0.0.1")) == {"sent": 0, "failed": 1}
    (entry,) = DeliveryLog.objects.all()
    assert entry.status == "refused" and "127.0.0.1" in entry.reason
    assert receiver.requests == []


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.16.0.1", "169.254.169.254",
                "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"],  # noqa: S104
)  # fmt: skip
def test_no_private_address_passes_without_the_setting(address):
    with pytest.raises(webhooks.Refused):
        webhooks.resolve("hooks.example.test", 443, allow_private=False,
                         resolver=resolving_to(address))  # fmt: skip


# IPv6 addresses that carry a private IPv4 one to it: IPv4-compatible, NAT64's well-known
# prefix (the cloud's metadata address through a NAT64 gateway) and 6to4.
@pytest.mark.parametrize(
    "address", ["::127.0.0.1", "::10.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
                "2002:7f00:1::1", "2002:a00:1::1"],
)  # fmt: skip
def test_no_private_address_passes_inside_an_ipv6_one(address):
    with pytest.raises(webhooks.Refused):
        webhooks.resolve("hooks.example.test", 443, allow_private=False,
                         resolver=resolving_to(address))  # fmt: skip


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "64:ff9b::5db8:d822"])
def test_a_public_address_passes(address):
    resolver = resolving_to(address)
    assert (
        webhooks.resolve("hooks.example.test", 443, allow_private=False, resolver=resolver)
        == address
    )


def test_a_name_with_one_private_address_among_public_ones_is_refused():
    def resolver(host, port, **kwargs):
        return [(2, 1, 6, "", ("93.184.216.34", port)), (2, 1, 6, "", ("127.0.0.1", port))]

    with pytest.raises(webhooks.Refused, match="127.0.0.1"):
        webhooks.resolve("hooks.example.test", 443, allow_private=False, resolver=resolver)


def test_the_connection_goes_to_the_checked_address_and_keeps_the_name(hook, receiver):
    port = receiver.url.rsplit(":", 1)[1]
    hook.watch.webhook_url = f"http://hooks.example.test:{port}/hook"
    hook.watch.save()
    notify(hook.watch)
    assert deliver_due(resolver=resolving_to("127.0.0.1"))["sent"] == 1
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.test:{port}"


@pytest.mark.parametrize(
    ("url", "debug", "why"),
    [("http://hooks.example.com/x", False, "https"), ("ftp://hooks.example.com/x", True, "https"),
     ("https://user:pw@hooks.example.com/x", False, "password"), ("https:///x", False, "host")],
)  # fmt: skip
def test_webhook_urls_are_https_without_credentials(url, debug, why):
    with pytest.raises(webhooks.Refused, match=why):
        webhooks.check_url(url, allow_http=debug)
    webhooks.check_url("http://hooks.example.com/x", allow_http=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/services/T0/B0/se\x01cret",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\x7f",
    ],
)
def test_a_webhook_url_with_a_space_or_control_character_is_refused(url):
    # Sending it would fail with the path in the error: the log would keep Slack's secret.
    with pytest.raises(webhooks.Refused, match="space or control character"):
        webhooks.check_url(url, allow_http=False)


def test_slack_and_discord_get_their_own_bodies():
    import json

    assert json.loads(webhooks.body_for("slack", {"a": 1}, "line")) == {"text": "line"}
    # Upstream text cannot mention a channel or make a link in Slack.
    hostile = json.loads(webhooks.body_for("slack", {}, "Model <!channel> & <https://x|y>"))
    assert hostile == {"text": "Model &lt;!channel&gt; &amp; &lt;https://x|y&gt;"}
    discord = json.loads(webhooks.body_for("discord", {"a": 1}, "x" * 3000))
    assert len(discord["content"]) == 2000 and discord["allowed_mentions"] == {"parse": []}
    assert json.loads(webhooks.body_for("json", {"a": 1}, "line")) == {"a": 1}


def test_upstream_text_cannot_make_a_link_or_markup_in_discord():
    import json

    line = "Model [Free credits](https://evil.example) is **cheaper**"
    content = json.loads(webhooks.body_for("discord", {}, line))["content"]
    assert content == r"Model \[Free credits\]\(https://evil.example\) is \*\*cheaper\*\*"


def post_to(url: str) -> webhooks.Outcome:
    """A POST of an empty JSON object to `url`, allowed to go to loopback over http."""
    return webhooks.post(url, b"{}", {}, allow_private=True, allow_http=True)


def test_a_webhook_url_is_posted_to_with_its_query(receiver):
    assert post_to(receiver.url + "/hook?token=abc&team=7").ok
    assert [r["path"] for r in receiver.requests] == ["/hook?token=abc&team=7"]


def test_an_error_answer_that_is_not_utf_8_is_logged_not_raised(receiver):
    def latin_1_error(handler) -> None:
        body = "Ungültiger Schlüssel".encode("latin-1")
        handler.send_response(401)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    receiver.answers = [latin_1_error]
    assert post_to(receiver.url + "/hook") == webhooks.Outcome(
        False, "401", "Ung\ufffdltiger Schl\ufffdssel"
    )
