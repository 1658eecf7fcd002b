"""Findings of the adversarial review of the fediverse presence, each pinned by a test: a profile
Update cannot take over another account's key id or wipe its own, a flood of bad signatures does
not make copps fetch the key again for each one, a key document redirecting to a private address
is never followed there, Accepts and other non-post activities obey the per-server pause and
dead rules, and remote accounts nothing refers to any more are not kept."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from copps.channels import deliveries
from copps.channels.models import Recipient
from copps.federation import jobs, outgoing
from copps.federation.models import (
    Follower,
    InboxItem,
    ItemKind,
    Outgoing,
    OutgoingState,
    Reaction,
    RemoteActor,
    Report,
    Server,
)
from copps.newsroom import actions
from tests.support_fediverse import (
    RemoteUser,
    fast_keys,
    key_pair,
    signed_post,
    stranger_key_pair,
)

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS = []


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch):
    fast_keys(monkeypatch)


def own_keys(user: RemoteUser) -> RemoteUser:
    """A key pair no other user of the test shares (the shared pool repeats after four)."""
    user.private_pem, user.public_pem = key_pair()
    return user


@pytest.fixture
def alice(social):
    return own_keys(social.user("alice"))


@pytest.fixture
def bob(social):
    return own_keys(social.user("bob"))


@pytest.fixture
def posted(news, make_message, communicator, editor):
    message = make_message(communicator, channels=["web", "fediverse"])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def follow(user: RemoteUser, n: int = 1) -> dict:
    return {
        "id": f"{user.id}#follows/{n}",
        "type": "Follow",
        "actor": user.id,
        "object": f"{SITE}/@news",
    }


def like(user: RemoteUser, message, n: int = 1) -> dict:
    return {
        "id": f"{user.id}#likes/{n}",
        "type": "Like",
        "actor": user.id,
        "object": f"{SITE}/@news/posts/{message.pk}",
    }


def profile_update(user: RemoteUser, doc: dict, n: int = 1) -> dict:
    return {"id": f"{user.id}#updates/{n}", "type": "Update", "actor": user.id, "object": doc}


# A profile Update names only the sender's own key ------------------------------------------


def test_a_profile_update_cannot_claim_another_accounts_key_id(client, news, alice, bob):
    assert signed_post(client, "/inbox", follow(bob), bob).status_code == 202
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    doc = alice.document() | {
        "publicKey": {"id": bob.key_id, "owner": alice.id, "publicKeyPem": alice.public_pem}
    }
    assert signed_post(client, "/inbox", profile_update(alice, doc), alice).status_code == 202
    mine = RemoteActor.objects.get(uri=alice.id)
    assert (mine.key_id, mine.public_key_pem) == (alice.key_id, alice.public_pem)
    theirs = RemoteActor.objects.get(uri=bob.id)
    assert (theirs.key_id, theirs.public_key_pem) == (bob.key_id, bob.public_pem)
    assert list(RemoteActor.objects.filter(key_id=bob.key_id)) == [theirs]


def test_a_profile_update_cannot_claim_a_key_on_another_server(client, news, alice):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    elsewhere = "https://other.example/users/carol#main-key"
    doc = alice.document() | {
        "publicKey": {"id": elsewhere, "owner": alice.id, "publicKeyPem": alice.public_pem}
    }
    assert signed_post(client, "/inbox", profile_update(alice, doc), alice).status_code == 202
    assert not RemoteActor.objects.filter(key_id=elsewhere).exists()


def test_a_profile_update_without_a_key_keeps_the_cached_one(client, news, alice):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    doc = {k: v for k, v in alice.document().items() if k != "publicKey"} | {"name": "Alice B."}
    assert signed_post(client, "/inbox", profile_update(alice, doc), alice).status_code == 202
    remote = RemoteActor.objects.get(uri=alice.id)
    assert remote.name == "Alice B."
    assert (remote.key_id, remote.public_key_pem) == (alice.key_id, alice.public_pem)
    gets = len(alice.server.gets)
    assert signed_post(client, "/inbox", follow(alice, 2), alice).status_code == 202
    assert len(alice.server.gets) == gets  # still verified from the cache


def test_a_profile_update_may_rotate_the_key_under_the_same_key_id(client, news, alice):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    old_private = alice.private_pem
    alice.rotate_key()
    response = signed_post(
        client, "/inbox", profile_update(alice, alice.document()), alice, key_pem=old_private
    )
    assert response.status_code == 202
    assert RemoteActor.objects.get(uri=alice.id).public_key_pem == alice.public_pem


# Bad signatures do not make copps fetch keys over and over ------------------------------------


def test_a_flood_of_bad_signatures_under_a_real_key_fetches_it_again_only_once(
    client, posted, alice
):
    assert signed_post(client, "/inbox", like(alice, posted), alice).status_code == 202
    assert len(alice.server.gets) == 1
    forged = stranger_key_pair()[0]
    for n in range(2, 8):
        response = signed_post(client, "/inbox", like(alice, posted, n), alice, key_pem=forged)
        assert response.status_code == 401
        assert response.json()["reason"] == "signature_bad_signature"
    assert len(alice.server.gets) == 2  # one fetch for a possible rotation, then none
    assert Reaction.objects.count() == 1
    # Her own requests still pass with the cached key.
    assert (
        signed_post(
            client, "/inbox", like(alice, posted, 9) | {"type": "Announce"}, alice
        ).status_code
        == 202
    )


def test_a_key_rotated_after_the_pause_is_fetched_again(client, posted, alice):
    assert signed_post(client, "/inbox", like(alice, posted), alice).status_code == 202
    forged = stranger_key_pair()[0]
    signed_post(client, "/inbox", like(alice, posted, 2), alice, key_pem=forged)
    assert len(alice.server.gets) == 2
    cache.clear()  # the pause is over
    alice.rotate_key()
    response = signed_post(client, "/inbox", like(alice, posted, 3) | {"type": "Announce"}, alice)
    assert response.status_code == 202, response.content
    assert len(alice.server.gets) == 3


# Redirects of key documents -------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:8000/users/alice",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/users/alice",
        "http://10.1.2.3/users/alice",
    ],
)
def test_a_key_document_redirecting_to_a_private_address_is_not_followed(
    client, news, alice, location
):
    alice.server.routes["/users/alice"] = lambda request: httpx.Response(
        302, headers={"Location": location}
    )
    response = signed_post(client, "/inbox", follow(alice), alice)
    assert response.status_code == 401
    assert response.json()["reason"] == "key_unavailable"
    assert "private" in response.json()["error"]
    assert not RemoteActor.objects.exists()
    assert not Follower.objects.exists()


# Accepts and other non-post activities follow the per-server rules ---------------------------


def test_an_accept_to_a_paused_server_waits_for_the_pause_without_a_call(client, news, alice):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    until = timezone.now() + timedelta(minutes=30)
    Server.objects.create(domain="social.example", consecutive_failures=9, paused_until=until)
    assert outgoing.send_due() == 0
    assert alice.server.received == []
    row = Outgoing.objects.get()
    assert row.state == OutgoingState.PENDING and row.attempts == 0
    assert row.next_attempt_at >= until - timedelta(seconds=5)


def test_an_accept_to_a_dead_server_fails_without_a_call(client, news, alice, settings):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    Server.objects.create(
        domain="social.example",
        consecutive_failures=50,
        failing_since=timezone.now() - timedelta(days=settings.COPPS_AP_DEAD_SERVER_DAYS + 1),
    )
    outgoing.send_due()
    assert alice.server.received == []
    row = Outgoing.objects.get()
    assert row.state == OutgoingState.FAILED and "has not answered" in row.last_error


def test_accepts_failing_count_towards_the_servers_pause(client, news, social, settings):
    settings.COPPS_AP_SERVER_FAILURE_THRESHOLD = 2
    social.status = 503
    for n, name in enumerate(("u1", "u2", "u3")):
        user = social.user(name, shared_inbox=False)
        assert signed_post(client, "/inbox", follow(user, n), user).status_code == 202
    outgoing.send_due()  # one failed round for the server, however many rows
    assert Server.objects.get(domain="social.example").consecutive_failures == 1
    Outgoing.objects.update(next_attempt_at=None)
    outgoing.send_due()
    server = Server.objects.get(domain="social.example")
    assert server.consecutive_failures == 2 and server.paused_until is not None
    calls = len(social.received)
    Outgoing.objects.update(next_attempt_at=None)
    outgoing.send_due()
    assert len(social.received) == calls  # paused: not called
    social.status = 202
    Server.objects.update(paused_until=None)
    Outgoing.objects.update(next_attempt_at=None)
    assert outgoing.send_due() == 3
    assert Server.objects.get(domain="social.example").consecutive_failures == 0


# Remote accounts nothing refers to are forgotten ----------------------------------------------


def test_retention_forgets_remote_accounts_nothing_refers_to(client, posted, social, news):
    follower, liker, author, reporter, fresh = (
        own_keys(social.user(name)) for name in ("fol", "liker", "author", "reporter", "fresh")
    )
    assert signed_post(client, "/inbox", follow(follower), follower).status_code == 202
    assert signed_post(client, "/inbox", like(liker, posted), liker).status_code == 202
    reply = {
        "id": f"{author.id}/statuses/1/activity",
        "type": "Create",
        "actor": author.id,
        "object": {
            "id": f"{author.id}/statuses/1",
            "type": "Note",
            "attributedTo": author.id,
            "inReplyTo": f"{SITE}/@news/posts/{posted.pk}",
            "content": "<p>hello</p>",
        },
    }
    assert signed_post(client, "/inbox", reply, author).status_code == 202
    flag = {
        "id": f"{reporter.id}#flags/1",
        "type": "Flag",
        "actor": reporter.id,
        "object": [f"{SITE}/@news"],
        "content": "spam",
    }
    assert signed_post(client, "/inbox", flag, reporter).status_code == 202
    assert signed_post(client, "/inbox", like(fresh, posted), fresh).status_code == 202
    assert InboxItem.objects.filter(kind=ItemKind.REPLY).exists() and Report.objects.exists()
    RemoteActor.objects.exclude(uri=fresh.id).update(fetched_at=timezone.now() - timedelta(days=2))
    jobs.retention()
    kept = set(RemoteActor.objects.values_list("uri", flat=True))
    assert kept == {follower.id, author.id, reporter.id, fresh.id}
    assert Reaction.objects.count() == 2  # the counts stay (hashed), the account goes
    # The liker comes back: fetched again, and an Undo of the like still finds it.
    undo = {
        "id": f"{liker.id}#undo/1",
        "type": "Undo",
        "actor": liker.id,
        "object": like(liker, posted),
    }
    assert signed_post(client, "/inbox", undo, liker).status_code == 202
    assert Reaction.objects.count() == 1


def test_retention_keeps_no_remote_account_whose_follow_was_undone(client, news, alice):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    undo = {"id": f"{alice.id}#undo/1", "type": "Undo", "actor": alice.id, "object": follow(alice)}
    assert signed_post(client, "/inbox", undo, alice).status_code == 202
    assert not Follower.objects.exists()
    RemoteActor.objects.update(fetched_at=timezone.now() - timedelta(days=2))
    jobs.retention()
    assert not RemoteActor.objects.exists()


# A follower's inbox on a private address ------------------------------------------------------


def test_a_follower_inbox_on_a_private_address_fails_for_good_without_a_call(
    client, news, alice, make_message, communicator, editor
):
    assert signed_post(client, "/inbox", follow(alice), alice).status_code == 202
    # Its server's DNS now points at our LAN (or the row was stored when it did not).
    RemoteActor.objects.update(inbox="http://10.0.0.9/inbox", shared_inbox="")
    message = make_message(communicator, channels=["web", "fediverse"])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    deliveries.deliver_due()
    deliveries.deliver_recipients()
    Recipient.objects.filter(state="pending").update(next_attempt_at=None)
    deliveries.deliver_recipients()
    copy = Recipient.objects.get(inbox="http://10.0.0.9/inbox")
    assert copy.state == "failed" and copy.attempts == 1
    assert "private" in copy.last_error
    assert not Server.objects.filter(domain="10.0.0.9", consecutive_failures__gt=0).exists()
    news.channel.refresh_from_db()
    assert news.channel.enabled and news.channel.status != "disabled"
