"""Interop with a real second ActivityPub implementation: a Fedify server (tests/support_fedify.py)
on loopback talks to copps over real HTTP.

copps runs in a live server thread on ``http://127.0.0.1:<port>`` with ``SITE_URL`` set to exactly
that (Fedify checks that ids share the origin they were fetched from). Fedify finds ``@news`` by
handle and by URL, follows it and gets a verified Accept; a message published to "fediverse"
reaches Fedify as a verified Create, its correction as Update, its retraction as Delete (the note
then answers 410 with a Tombstone); Fedify's reply lands in copps' holding table. Forged posts to
the real inbox get 401 and leave nothing behind. Fedify signs with RFC 9421 first and falls back
to draft-cavage on a 401: copps must accept the RFC 9421 signature on the first knock.
"""

from __future__ import annotations

import json

import httpx
import pytest

from copps.channels import deliveries
from copps.federation import actions as fediverse
from copps.federation import httpsig, ids, outgoing
from copps.federation.models import (
    Follower,
    Following,
    FollowState,
    InboxItem,
    Reaction,
    Rejection,
    RemoteActor,
    Report,
    SeenActivity,
)
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
from tests.support_fedify import FedifyPeer, require_fedify

pytestmark = pytest.mark.django_db(transaction=True)

# The actor's key pair is made once: Fedify caches the keys it fetched, and a new key under the
# same key id in every test would only exercise its refetch-on-failure path.
_KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """copps over HTTP on 127.0.0.1 (the in-memory test database shared with the test thread)."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        live = LiveServer("127.0.0.1:0")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    base = require_fedify()
    logs = tmp_path_factory.mktemp("fedify")
    # No auto-accept: the peer's background Accept would reach copps while the test thread may
    # be using the database connection the server thread shares (see the copps-follows test).
    with FedifyPeer(
        dir=base, username="tester", auto_accept=False, log_path=logs / "tester.log"
    ) as fedify:
        yield fedify


@pytest.fixture
def site(server, peer, settings):
    settings.SITE_URL = server.url
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
    peer.reset()
    return server.url


@pytest.fixture
def schemes(monkeypatch):
    """The signature scheme of every request copps verified (the inbox runs in the server
    thread, in this process)."""
    seen: list[str] = []
    verify = httpsig.verify

    def recording(parsed, pem):
        verify(parsed, pem)
        seen.append(parsed.scheme)

    monkeypatch.setattr(httpsig, "verify", recording)
    return seen


@pytest.fixture
def news(site, admin_user):
    actor = fediverse.create_actor(by=admin_user, username="news", kind="force", name="Police news")
    if _KEYS:
        actor.private_key_encrypted = _KEYS["private"]
        actor.public_key_pem = _KEYS["public"]
        actor.save(update_fields=["private_key_encrypted", "public_key_pem"])
    else:
        _KEYS.update(private=actor.private_key_encrypted, public=actor.public_key_pem)
    return actor


def run_worker() -> None:
    """What the worker's rounds do for the fediverse: queued activities, then post fan-out."""
    outgoing.send_due()
    deliveries.deliver_due()
    deliveries.deliver_recipients()


def followed(peer: FedifyPeer, news) -> str:
    """Fedify follows @news, copps accepts at once and the worker sends the Accept, which
    Fedify verifies; returns the Follow's id."""
    actor_id = ids.actor(news.username)
    sent = peer.follow(actor_id)
    follower = Follower.objects.get(actor=news)
    assert follower.state == FollowState.ACCEPTED
    assert follower.activity_id == sent["id"]
    run_worker()
    accept = peer.wait_for("Accept", lambda r: r["json"]["object"]["id"] == sent["id"])
    assert accept["actor"] == actor_id
    return sent["id"]


def test_fedify_finds_the_copps_actor_by_handle_and_by_url(site, news, peer):
    port = site.rsplit(":", 1)[1]
    by_handle = peer.lookup(f"@news@127.0.0.1:{port}")
    by_url = peer.lookup(url=f"{site}/@news")
    for found in (by_handle, by_url):
        assert found["id"] == f"{site}/@news"
        assert found["preferredUsername"] == "news"
        assert found["inbox"] == f"{site}/@news/inbox"
        assert found["sharedInbox"] == f"{site}/inbox"
        assert found["publicKeyId"] == f"{site}/@news#main-key"
        assert found["publicKeyOwner"] == f"{site}/@news"
        assert found["publicKeyLoaded"] is True


def test_fedify_follows_and_receives_a_verified_accept_signed_after_an_rfc9421_follow(
    site, news, peer, schemes
):
    followed(peer, news)
    # Fedify knocked with RFC 9421 and copps took it: no refusal, no draft-cavage retry.
    assert schemes == ["rfc9421"]
    assert not Rejection.objects.exists()
    accept = peer.wait_for("Accept")
    assert accept["signature"]["keyId"] == f"{site}/@news#main-key"
    assert accept["recipient"] == "tester"
    remote = RemoteActor.objects.get(uri=peer.actor_id)
    assert remote.inbox == peer.inbox and remote.shared_inbox == peer.shared_inbox


def publish(make_message, communicator, editor, body: str):
    message = make_message(communicator, channels=["web", "fediverse"], body=body)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    run_worker()
    message.refresh_from_db()
    return message


def test_a_published_message_then_its_correction_and_retraction_reach_fedify_verified(
    site, news, peer, make_message, communicator, editor, second_editor
):
    followed(peer, news)
    message = publish(
        make_message, communicator, editor, "Wees alert op #fietsdiefstal bij het station."
    )
    note_id = f"{site}/@news/posts/{message.pk}"
    create = peer.wait_for("Create", lambda r: r["json"]["object"]["id"] == note_id)
    assert create["id"] == f"{note_id}/activity"
    assert create["actor"] == f"{site}/@news"
    assert create["signature"]["keyId"] == f"{site}/@news#main-key"
    note = create["json"]["object"]
    permalink = message.permalink("nl")
    assert "fietsdiefstal" in note["contentMap"]["nl"]
    assert f'href="{permalink}"' in note["contentMap"]["nl"]
    assert note["url"] == permalink
    assert {"type": "Hashtag", "name": "#fietsdiefstal"}.items() <= note["tag"][0].items()
    # The note is also what copps serves at its id.
    fetched = peer.lookup(url=note_id)
    assert fetched["type"] == "Note" and fetched["attributedTo"] == f"{site}/@news"

    correction = actions.propose_correction(
        message,
        by=editor,
        note="Het station Noord, niet Zuid.",
        versions=[
            VersionInput("nl", message.primary_version().title, "Station Noord #fietsdiefstal")
        ],
    )
    actions.approve_correction(correction, by=second_editor)
    run_worker()
    update = peer.wait_for("Update", lambda r: r["json"]["object"]["id"] == note_id)
    assert "Station Noord" in update["json"]["object"]["contentMap"]["nl"]
    assert update["json"]["object"]["updated"]

    message.refresh_from_db()
    actions.retract_message(message, by=editor, reason="Dubbel bericht")
    run_worker()
    delete = peer.wait_for("Delete")
    assert delete["id"] == f"{note_id}/delete"
    assert delete["json"]["object"] == {"id": note_id, "type": "Tombstone"}
    gone = httpx.get(note_id, headers={"Accept": "application/activity+json"}, trust_env=False)
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone" and gone.json()["id"] == note_id
    # One copy of each: Fedify recorded every delivery, repeated ones included.
    kinds = [r["type"] for r in peer.received()]
    assert kinds == ["Accept", "Create", "Update", "Delete"]


def test_a_fedify_reply_arrives_in_the_holding_table_linked_to_the_message_and_a_mention_too(
    site, news, peer, make_message, communicator, editor, schemes
):
    followed(peer, news)
    message = publish(make_message, communicator, editor, "Getuigen gezocht.")
    note_id = f"{site}/@news/posts/{message.pk}"
    peer.wait_for("Create")
    sent = peer.reply(note_id, f"{site}/@news", "<p>Ik heb iets gezien</p>")
    item = InboxItem.objects.get(object_id=sent["note"])
    assert item.kind == "reply"
    assert item.message == message
    assert item.actor == news
    assert item.remote.uri == peer.actor_id
    assert "Ik heb iets gezien" in item.content_html
    # Not a reply to one of ours, but it mentions @news: a mention.
    elsewhere = peer.reply(f"{peer.actor_id}/notes/other", f"{site}/@news", "<p>@news kijk</p>")
    mention = InboxItem.objects.get(object_id=elsewhere["note"])
    assert (mention.kind, mention.actor, mention.message) == ("mention", news, None)
    assert set(schemes) == {"rfc9421"}


def forged_follow(peer: FedifyPeer, site: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}/follows/forged",
        "type": "Follow",
        "actor": peer.actor_id,
        "object": f"{site}/@news",
    }


def test_copps_refuses_an_unsigned_post_through_the_real_inbox(site, news, peer):
    activity = forged_follow(peer, site)
    response = httpx.post(
        f"{site}/@news/inbox",
        json=activity,
        headers={"Content-Type": "application/activity+json"},
        trust_env=False,
    )
    assert response.status_code == 401
    assert not Follower.objects.exists()
    assert not SeenActivity.objects.exists()
    assert Rejection.objects.get().reason.startswith("signature_")


def test_copps_refuses_a_post_signed_with_the_wrong_key_through_the_real_inbox(site, news, peer):
    from tests.support_fediverse import key_pair

    activity = forged_follow(peer, site)
    body = json.dumps(activity).encode()
    url = f"{site}/@news/inbox"
    headers = {"Content-Type": "application/activity+json"}
    # Fedify's real key id, but a key that is not the one Fedify publishes.
    headers |= httpsig.sign_request(
        "POST",
        url,
        body=body,
        key_id=f"{peer.actor_id}#main-key",
        private_key_pem=key_pair()[0],
        headers=headers,
    )
    response = httpx.post(url, content=body, headers=headers, trust_env=False)
    assert response.status_code == 401
    assert not Follower.objects.exists()
    assert not SeenActivity.objects.exists()
    assert Rejection.objects.get().reason == "signature_bad_signature"
    # copps did fetch the real key from Fedify to find out.
    assert RemoteActor.objects.filter(uri=peer.actor_id).exists()


def test_fedify_likes_boosts_reports_deletes_its_reply_and_unfollows_and_copps_keeps_count(
    site, news, peer, make_message, communicator, editor
):
    followed(peer, news)
    message = publish(make_message, communicator, editor, "Getuigen gezocht.")
    note_id = f"{site}/@news/posts/{message.pk}"
    peer.like(note_id, f"{site}/@news")
    peer.announce(note_id, f"{site}/@news")
    assert sorted(Reaction.objects.filter(message=message).values_list("kind", flat=True)) == [
        "announce",
        "like",
    ]
    reply = peer.reply(note_id, f"{site}/@news", "<p>Foutje</p>")
    assert InboxItem.objects.filter(object_id=reply["note"]).exists()
    peer.delete(reply["note"], f"{site}/@news")
    assert not InboxItem.objects.filter(object_id=reply["note"]).exists()
    flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}/flags/1",
        "type": "Flag",
        "actor": peer.actor_id,
        "object": [f"{site}/@news", note_id],
        "content": "Onjuiste informatie",
    }
    peer.send(f"{site}/@news", flag)
    report = Report.objects.get(activity_id=flag["id"])
    assert (report.actor, report.content) == (news, "Onjuiste informatie")
    assert report.objects_reported == [f"{site}/@news", note_id]
    peer.unfollow(f"{site}/@news")
    assert not Follower.objects.filter(actor=news).exists()
    assert not Rejection.objects.exists()


def test_copps_follows_a_fedify_account_by_handle_takes_its_posts_and_unfollows(site, news, peer):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("fediverse", "follow", "news", peer.handle, stdout=out)
    assert out.getvalue().strip() == f"@news requested @tester@127.0.0.1:{peer.port}"
    following = Following.objects.get(actor=news)
    run_worker()
    follow = peer.wait_for("Follow")
    assert follow["id"] == following.activity_id
    assert follow["object"] == peer.actor_id
    # copps signs what it sends with draft-cavage, which Fedify verified.
    assert follow["signature"] == {"scheme": "draft-cavage", "keyId": f"{site}/@news#main-key"}
    # Fedify's Accept, as its auto-accept sends it (the Follow by reference), but delivered in
    # step: copps' test thread and its server thread share one database connection, and a
    # background Accept could arrive while this thread is writing.
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}/accepts/1",
        "type": "Accept",
        "actor": peer.actor_id,
        "object": {
            "id": follow["id"],
            "type": "Follow",
            "actor": f"{site}/@news",
            "object": peer.actor_id,
        },
    }
    peer.send(f"{site}/@news", accept)
    following.refresh_from_db()
    assert following.state == FollowState.ACCEPTED
    post = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}/posts/1/activity",
        "type": "Create",
        "actor": peer.actor_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": f"{peer.actor_id}/posts/1",
            "type": "Note",
            "attributedTo": peer.actor_id,
            "content": "<p>Hallo buren</p>",
            "contentMap": {"nl": "<p>Hallo buren</p>"},
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }
    peer.send(f"{site}/@news", post)
    item = InboxItem.objects.get(object_id=f"{peer.actor_id}/posts/1")
    assert (item.kind, item.actor, item.language) == ("post", news, "nl")
    assert "Hallo buren" in item.content_html
    fediverse.unfollow(following, by="test")
    run_worker()
    undo = peer.wait_for("Undo")
    assert undo["object"]["type"] == "Follow" and undo["object"]["id"] == follow["id"]


def test_fedify_sees_a_profile_change_as_a_verified_update_of_the_actor(site, news, peer):
    followed(peer, news)
    fediverse.update_actor(news, by="test", name="Politie nieuws")
    run_worker()
    update = peer.wait_for("Update")
    assert update["json"]["object"]["id"] == f"{site}/@news"
    assert update["json"]["object"]["name"] == "Politie nieuws"


def test_copps_accepts_draft_cavage_signatures_from_fedify_too(site, news, peer, schemes):
    with FedifyPeer(
        dir=peer.dir, username="cavage", first_knock="draft-cavage-http-signatures-12"
    ) as old:
        sent = old.follow(f"{site}/@news")
    assert Follower.objects.get(actor=news).activity_id == sent["id"]
    assert schemes == ["cavage"]
    assert not Rejection.objects.exists()


def test_a_long_press_release_in_two_languages_reaches_fedify_as_an_article(
    site, news, peer, communicator, editor
):
    followed(peer, news)
    paragraph = "De politie onderzoekt een reeks inbraken in de wijk Noord. " * 20
    message, _ = actions.create_message(
        by=communicator,
        kind="news",
        versions=[
            VersionInput("nl", "Inbraken in Noord", paragraph, teaser="Reeks inbraken in Noord."),
            VersionInput("fr", "Cambriolages au nord", "La police enquête. " * 60),
        ],
        channels=["web", "fediverse"],
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    run_worker()
    create = peer.wait_for("Create")
    article = create["json"]["object"]
    assert article["type"] == "Article"
    assert article["nameMap"] == {"nl": "Inbraken in Noord", "fr": "Cambriolages au nord"}
    assert article["summaryMap"]["nl"] == "Reeks inbraken in Noord."
    assert "reeks inbraken" in article["contentMap"]["nl"]
    assert "La police enquête." in article["contentMap"]["fr"]
    assert peer.lookup(url=article["id"])["type"] == "Article"
