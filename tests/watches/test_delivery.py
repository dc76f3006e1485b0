"""Delivery after a sync, end to end (watches.delivery, watches.tasks, watches.services): a
sync that adds a model matching a saved search and deprecates and reprices shortlisted
ones tells each watch once through the inbox, mail and webhooks; a second sync and a
re-run task tell nothing more; a receiver that fails is retried until it has each
notification once; one that fails for a day pauses its watch and says so in the inbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Shortlist, ShortlistEntry
from watches.delivery import deliver_due
from watches.models import Delivery, DeliveryLog, InboxItem, Notification
from watches.services import watch_create, watch_resume
from watches.tasks import deliver_watches

pytestmark = pytest.mark.django_db

NEW = "acme/new-video"


def priced_image_models(models, prices, count):
    """Active text-to-image models with a price, in the API's order."""
    priced = {p["endpoint_id"] for p in prices}
    found = [
        m["endpoint_id"] for m in models
        if m["metadata"].get("category") == "text-to-image"
        and m["metadata"].get("status") != "deprecated" and m["endpoint_id"] in priced
    ]  # fmt: skip
    return found[:count]


@pytest.fixture
def changed_catalog(catalog_copy):
    """fal's catalog with a new text-to-video model, one text-to-image model deprecated and
    another's price cut by half; returns (models, documents, prices, deprecated, cheaper)."""
    models, documents, prices = catalog_copy
    deprecated, cheaper = priced_image_models(models, prices, 2)
    for model in models:
        if model["endpoint_id"] == deprecated:
            model["metadata"]["status"] = "deprecated"
    for price in prices:
        if price["endpoint_id"] == cheaper:
            price["unit_price"] = float(Decimal(str(price["unit_price"])) / 2)
    models.append({"endpoint_id": NEW, "metadata": {
        "display_name": "Acme Video", "category": "text-to-video", "status": "active",
        "license_type": "commercial", "kind": "inference"}})  # fmt: skip
    return models, documents, prices, deprecated, cheaper


@pytest.fixture
def watched(member, curator, changed_catalog, receiver, webhooks_to_loopback, mail_on):
    """A member's saved search (text-to-video) with a JSON webhook and mail, and the team's
    shortlist of the two image models watched by the curator with a Slack webhook."""
    member.email, curator.email = "mia@example.com", "cora@example.com"
    member.save(), curator.save()
    _, _, _, deprecated, cheaper = changed_catalog
    shortlist = Shortlist.objects.create(title="Images", slug="images", curator=curator)
    for endpoint_id in (deprecated, cheaper):
        ShortlistEntry.objects.create(shortlist=shortlist, endpoint_id=endpoint_id)
    search = watch_create(
        owner=member, name="Video", subject="search", query="?category=text-to-video",
        email=True, webhook_url=receiver.url + "/search",
    ).watch  # fmt: skip
    team = watch_create(
        owner=curator, name="Images list", subject="shortlist", shortlist=shortlist, team=True,
        email=True, webhook_url=receiver.url + "/slack", webhook_format="slack",
    ).watch  # fmt: skip
    return search, team


def test_a_sync_tells_each_watch_once_through_every_channel(
    watched, changed_catalog, sync_and_deliver, receiver, member, curator
):
    models, documents, prices, deprecated, cheaper = changed_catalog
    search, team = watched

    sync_and_deliver(models, documents, prices)

    found = {(n.watch.name, n.endpoint_id, n.topic) for n in Notification.objects.all()}
    assert found == {
        ("Video", NEW, "added"),
        ("Images list", deprecated, "deprecated"),
        ("Images list", cheaper, "price_down"),
    }
    # The deprecated model comes with what could replace it, when catalog.watch has one.
    (notice,) = Notification.objects.filter(topic="deprecated")
    assert deprecated in notice.text and all(s != deprecated for s in notice.successors)
    # Inbox: the member's own watch to the member; the team's watch to everyone.
    inbox = {(i.user.username, i.notification.endpoint_id) for i in InboxItem.objects.all()}
    assert inbox == {
        ("mia", NEW), ("mia", deprecated), ("mia", cheaper),
        ("cora", deprecated), ("cora", cheaper),
    }  # fmt: skip
    # Mail to each watch's owner.
    assert sorted((m.to[0], m.subject.split("] ")[0]) for m in mail.outbox) == [
        ("cora@example.com", "[Images list"), ("cora@example.com", "[Images list"),
        ("mia@example.com", "[Video"),
    ]  # fmt: skip
    # Webhooks: the generic JSON body for the search, Slack's for the list.
    (body,) = receiver.bodies("/search")
    assert body["notification"]["endpoint_id"] == NEW
    assert body["notification"]["change"]["kind"] == "added"
    assert body["watch"]["name"] == "Video" and body["watch"]["watches"] == "text-to-video"
    slack = receiver.bodies("/slack")
    assert len(slack) == 2 and all(set(b) == {"text"} for b in slack)
    assert Delivery.objects.exclude(state="sent").count() == 0
    assert DeliveryLog.objects.filter(ok=True).count() == 6  # 3 mails, 3 webhooks

    # The same catalog again: nothing changed, nothing more is told; nor by the task re-run.
    sync_and_deliver(models, documents, prices)
    deliver_watches.call()
    assert Notification.objects.count() == 3 and InboxItem.objects.count() == 5
    assert len(mail.outbox) == 3 and len(receiver.requests) == 3


def age(deliveries, by: timedelta) -> None:
    """Time passes: each waiting delivery's retry (and failure) is `by` further back."""
    for delivery in deliveries:
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=delivery.next_attempt_at - by,
            first_failed_at=delivery.first_failed_at and delivery.first_failed_at - by,
        )


def test_a_receiver_failing_then_recovering_gets_each_notification_once(
    watched, changed_catalog, sync_and_deliver, receiver
):
    models, documents, prices, _, _ = changed_catalog
    receiver.answers = [500, 500, 503, 200]

    sync_and_deliver(models, documents, prices)
    assert Delivery.objects.filter(channel="webhook", state="pending").count() == 3
    # One try per receiver URL: a receiver that failed is not tried again in the same sweep.
    tried = len(receiver.requests)
    assert tried == 2
    failed = Delivery.objects.filter(attempts=1, state="pending")
    assert all(d.next_attempt_at > timezone.now() for d in failed)
    for _ in range(6):
        age(Delivery.objects.filter(state="pending"), timedelta(hours=2))
        deliver_due()
    assert len(receiver.requests) > tried
    assert not Delivery.objects.filter(state="pending").exists()
    # Each notification reached the receiver with a 2xx exactly once.
    answered = [500, 500, 503] + [200] * (len(receiver.requests) - 3)
    ok = [r for r, answer in zip(receiver.requests, answered, strict=True) if answer == 200]
    ids = [r["body"] for r in ok]
    assert len(ids) == len(set(ids)) == Delivery.objects.filter(channel="webhook").count() == 3
    failures = DeliveryLog.objects.filter(ok=False, channel="webhook")
    assert {f.status for f in failures} == {"500", "503"}


def test_a_webhook_failing_for_a_day_pauses_its_watch_and_tells_its_owner(
    watched, changed_catalog, sync_and_deliver, receiver, member
):
    models, documents, prices, _, _ = changed_catalog
    receiver.answers = [500]
    search, _ = watched

    sync_and_deliver(models, documents, prices)
    age(Delivery.objects.filter(notification__watch=search), timedelta(days=1))
    deliver_due()

    search.refresh_from_db()
    assert search.paused_at is not None and "failed for a day" in search.paused_reason
    (note,) = InboxItem.objects.filter(user=member, notification=None)
    assert "paused" in note.note and note.watch == search
    # Paused: its deliveries wait, and are not tried again until its owner resumes it.
    before = len(receiver.requests)
    age(Delivery.objects.filter(notification__watch=search), timedelta(days=1))
    deliver_due()
    assert len([r for r in receiver.requests[before:] if r["path"] == "/search"]) == 0
    # Its owner fixes the receiver and resumes it: what waited goes out at once.
    receiver.answers = [200]
    watch_resume(watch=search)
    assert deliver_due()["sent"] >= 1
    assert not Delivery.objects.filter(notification__watch=search, state="pending").exists()


def test_a_channel_turned_off_sends_nothing_of_what_waited_for_it(
    watched, changed_catalog, sync_and_deliver, receiver
):
    from watches.services import watch_update

    models, documents, prices, _, _ = changed_catalog
    receiver.answers = [500]
    search, _ = watched
    sync_and_deliver(models, documents, prices)
    assert Delivery.objects.filter(notification__watch=search, state="pending").exists()

    watch_update(watch=search, name=search.name, topics=search.topics, email=False,
                 webhook_url="", webhook_format="json")  # fmt: skip

    assert not Delivery.objects.filter(notification__watch=search, state="pending").exists()
    assert Notification.objects.filter(watch=search).count() == 1  # the inbox keeps it


def test_a_digest_watch_sends_one_mail_and_one_webhook_a_day(
    member, catalog_copy, sync_and_deliver, receiver, webhooks_to_loopback, mail_on
):
    member.email = "mia@example.com"
    member.save()
    watch = watch_create(
        owner=member, name="Daily video", subject="search", query="?category=text-to-video",
        email=True, webhook_url=receiver.url + "/digest", digest=True,
    ).watch  # fmt: skip
    models, documents, prices = catalog_copy
    for n in range(3):
        metadata = {"display_name": f"Acme {n}", "category": "text-to-video", "status": "active"}
        models.append({"endpoint_id": f"acme/video-{n}", "metadata": metadata})

    sync_and_deliver(models, documents, prices)

    assert Notification.objects.filter(watch=watch).count() == 3
    assert InboxItem.objects.filter(user=member).count() == 3  # the inbox does not wait
    waiting = Delivery.objects.filter(notification__watch=watch)
    assert {d.next_attempt_at.hour for d in waiting} == {8} and not receiver.requests
    age(waiting, timedelta(days=1))
    assert deliver_due() == {"sent": 6, "failed": 0}

    (body,) = receiver.bodies("/digest")
    assert body["digest"] is True
    assert sorted(n["endpoint_id"] for n in body["notifications"]) == [
        "acme/video-0", "acme/video-1", "acme/video-2"
    ]  # fmt: skip
    (message,) = mail.outbox
    assert message.subject == "[Daily video] 3 changes today" and "acme/video-2" in message.body
    assert [e.reason for e in DeliveryLog.objects.filter(watch=watch)] == ["Digest of 3."] * 2


@pytest.mark.postgres
def test_a_retried_check_makes_and_sends_each_notification_once(watched, changed_catalog, receiver):
    """The task retried, even from scratch (every watch's place in the history forgotten):
    the constraints on (watch, change), (user, notification) and (notification, channel)
    hold on every database, so nothing is made or sent twice."""
    from catalog import upstream
    from catalog.sync import sync_catalog
    from fal_emulator import Emulator
    from watches.models import Watch

    models, documents, prices, _, _ = changed_catalog
    with upstream.offline_source(Emulator(models, documents, prices)):
        sync_catalog(trigger="test")
    deliver_watches.call()
    counts = (Notification.objects.count(), InboxItem.objects.count(), Delivery.objects.count())
    assert counts == (3, 5, 6) and len(receiver.requests) == 3
    Watch.objects.update(checked_sync=0, matched=[])
    deliver_watches.call()
    deliver_watches.call()
    assert (
        Notification.objects.count(),
        InboxItem.objects.count(),
        Delivery.objects.count(),
    ) == counts
    assert len(receiver.requests) == 3 and len(mail.outbox) == 3


def test_a_change_whose_text_has_a_newline_is_mailed_on_one_subject_line(
    member, catalog_copy, sync_and_deliver, mail_on
):
    member.email = "mia@example.com"
    member.save()
    models, documents, prices = catalog_copy
    metadata = {"display_name": "Two\nlines\r\nBcc: x@evil.example", "category": "text-to-video"}
    models.append({"endpoint_id": "acme/two-lines", "metadata": metadata})
    watch_create(owner=member, name="v", subject="search", query="?category=text-to-video",
                 email=True)  # fmt: skip

    sync_and_deliver(models, documents, prices)

    (message,) = mail.outbox
    assert "\n" not in message.subject and "Two lines Bcc: x@evil.example" in message.subject
    assert message.to == ["mia@example.com"] and not message.bcc


def test_a_sweep_reads_each_watch_with_its_deliveries_not_once_per_delivery(
    curator, receiver, webhooks_to_loopback, waiting
):
    shortlist = Shortlist.objects.create(title="Images", slug="images", curator=curator)
    watch = watch_create(
        owner=curator, name="List", subject="shortlist", shortlist=shortlist,
        webhook_url=receiver.url + "/hook",
    ).watch  # fmt: skip
    waiting(watch, "webhook", 3)

    with CaptureQueriesContext(connection) as queries:
        assert deliver_due() == {"sent": 3, "failed": 0}

    shortlists = f'FROM "{Shortlist._meta.db_table}"'
    assert not [q["sql"] for q in queries if shortlists in q["sql"]]
    assert [b["watch"]["watches"] for b in receiver.bodies()] == [
        "Changes to the models on “Images”"
    ] * 3


def test_a_sweep_of_mails_reads_each_owner_with_the_deliveries(member, mail_on, waiting):
    member.email = "mia@example.com"
    member.save()
    watch = watch_create(
        owner=member, name="v", subject="search", query="?category=text-to-video", email=True
    ).watch
    waiting(watch, "email", 3)

    with CaptureQueriesContext(connection) as queries:
        assert deliver_due() == {"sent": 3, "failed": 0}

    users = f'FROM "{get_user_model()._meta.db_table}"'
    assert not [q["sql"] for q in queries if users in q["sql"]]
    assert [m.to for m in mail.outbox] == [["mia@example.com"]] * 3


@pytest.mark.postgres
def test_a_refusal_longer_than_the_log_keeps_is_cut_to_fit_it(member, waiting):
    host = ".".join(["h" * 60] * 9)  # a name whose refusal runs past the log's 500 characters
    watch = watch_create(
        owner=member, name="Long", subject="search", query="?category=text-to-video",
        webhook_url=f"https://{host}/hook",
    ).watch  # fmt: skip
    waiting(watch, "webhook", 1)

    def unresolvable(host, port, **kwargs):
        raise OSError("Name or service not known")

    assert deliver_due(resolver=unresolvable) == {"sent": 0, "failed": 1}
    (entry,) = DeliveryLog.objects.filter(watch=watch)
    assert entry.status == "refused" and entry.reason.startswith(f"The webhook's host {host[:60]}")
    assert len(entry.reason) == DeliveryLog._meta.get_field("reason").max_length


def test_a_watch_on_the_models_we_call_tells_of_their_changes_once_and_of_no_other(
    member, catalog_copy, usage_synced, sync_and_deliver, receiver, webhooks_to_loopback, mail_on
):
    """After a usage sync over the demo team, a catalog sync that reprices one model the
    team calls, deprecates another and reprices one it does not call tells the watch of
    the first two, once each, in the inbox, by mail and by webhook."""
    models, documents, prices = catalog_copy
    priced = {p["endpoint_id"] for p in prices}
    active = [
        m["endpoint_id"] for m in models
        if m["metadata"].get("status") != "deprecated" and m["endpoint_id"] in priced
    ]  # fmt: skip
    repriced, deprecated = [e for e in active if e in usage_synced][:2]
    elsewhere = next(e for e in active if e not in usage_synced)
    member.email = "mia@example.com"
    member.save()
    watch = watch_create(
        owner=member, name="Ours", subject="usage", email=True, webhook_url=receiver.url + "/ours"
    ).watch
    for model in models:
        if model["endpoint_id"] == deprecated:
            model["metadata"]["status"] = "deprecated"
    for price in prices:
        if price["endpoint_id"] in (repriced, elsewhere):
            price["unit_price"] = float(Decimal(str(price["unit_price"])) * 2)

    sync_and_deliver(models, documents, prices)

    found = {(n.endpoint_id, n.topic) for n in Notification.objects.filter(watch=watch)}
    assert found == {(repriced, "price_up"), (deprecated, "deprecated")}
    (notice,) = Notification.objects.filter(topic="deprecated")
    assert all(s not in usage_synced for s in notice.successors)  # not one we call already
    assert sorted(i.notification.endpoint_id for i in InboxItem.objects.filter(user=member)) == (
        sorted([repriced, deprecated])
    )
    assert len(mail.outbox) == 2 and {m.to[0] for m in mail.outbox} == {"mia@example.com"}
    sent = sorted(b["notification"]["endpoint_id"] for b in receiver.bodies("/ours"))
    assert sent == sorted([repriced, deprecated])
    assert {b["watch"]["watches"] for b in receiver.bodies("/ours")} == {
        f"Changes to the {len(usage_synced)} models the team called in the last 30 days"
        " (demo usage)"
    }

    sync_and_deliver(models, documents, prices)
    deliver_watches.call()
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2
    assert len(receiver.requests) == 2
