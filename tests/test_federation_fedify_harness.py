"""The Fedify harness itself, without copps: two real Fedify servers on loopback find each other,
follow and reply with signed deliveries, and each records only what Fedify verified. The copps
interop tests rely on exactly these behaviours of tests/support_fedify.py."""

import uuid

import httpx
import pytest

from tests.support_fedify import FedifyError, FedifyPeer, require_fedify


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    base = require_fedify()
    logs = tmp_path_factory.mktemp("fedify")
    a = FedifyPeer(dir=base, username="alice", log_path=logs / "a.log")
    b = FedifyPeer(dir=base, username="bob", log_path=logs / "b.log")
    with a, b:
        yield a, b


def test_a_fedify_peer_finds_another_by_handle_and_by_url(peers):
    a, b = peers
    by_handle = a.lookup(b.handle)
    by_url = a.lookup(url=b.actor_id)
    for found in (by_handle, by_url):
        assert found["id"] == b.actor_id
        assert found["type"] == "Person"
        assert found["preferredUsername"] == "bob"
        assert found["inbox"] == b.inbox
        assert found["sharedInbox"] == b.shared_inbox
        assert found["publicKeyId"] == f"{b.actor_id}#main-key"
        assert found["publicKeyOwner"] == b.actor_id


def test_without_the_http_webfinger_shim_fedify_cannot_resolve_a_plain_http_handle(peers):
    _, b = peers
    # Fedify asks https://HOST/.well-known/webfinger for acct: handles, whatever the peer speaks.
    with FedifyPeer(dir=b.dir, username="carol", webfinger_http=False) as c:
        with pytest.raises(FedifyError) as failed:
            c.lookup(b.handle)
        assert failed.value.status == 404
        assert c.lookup(url=b.actor_id)["id"] == b.actor_id


def test_a_fedify_peer_delivers_a_verified_follow_and_gets_the_accept(peers):
    a, b = peers
    sent = a.follow(b.actor_id)
    follow = b.wait_for("Follow", lambda r: r["id"] == sent["id"])
    assert follow["actor"] == a.actor_id
    assert follow["object"] == b.actor_id
    assert follow["recipient"] == "bob"
    assert follow["signature"] == {"scheme": "rfc9421", "keyId": f"{a.actor_id}#main-key"}
    accept = a.wait_for("Accept", lambda r: r["object"]["id"] == sent["id"])
    assert accept["actor"] == b.actor_id


def test_a_fedify_peer_delivers_a_verified_reply_that_mentions_its_addressee(peers):
    a, b = peers
    in_reply_to = f"{b.actor_id}/notes/{uuid.uuid4()}"
    sent = a.reply(in_reply_to, b.actor_id, "<p>Dank voor de melding</p>")
    create = b.wait_for("Create", lambda r: r["id"] == sent["id"])
    note = create["object"]
    assert note["id"] == sent["note"]
    assert note["inReplyTo"] == in_reply_to
    assert note["content"] == "<p>Dank voor de melding</p>"
    assert note["attributedTo"] == a.actor_id
    assert note["tag"]["type"] == "Mention" and note["tag"]["href"] == b.actor_id
    # The note can be fetched from its author, as a receiving server may do.
    fetched = httpx.get(
        sent["note"], headers={"Accept": "application/activity+json"}, trust_env=False
    )
    assert fetched.status_code == 200 and fetched.json()["inReplyTo"] == in_reply_to


def test_a_fedify_peer_records_an_unsigned_delivery_as_refused_not_received(peers):
    _, b = peers
    forged = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"http://127.0.0.1:9/{uuid.uuid4()}",
        "type": "Like",
        "actor": f"{b.base_url}/users/bob",
        "object": f"{b.actor_id}/notes/1",
    }
    response = httpx.post(
        b.inbox,
        json=forged,
        headers={"Content-Type": "application/activity+json"},
        trust_env=False,
    )
    assert response.status_code == 401
    assert forged["id"] not in [r["id"] for r in b.received()]
    assert forged["id"] in [r["id"] for r in b.rejected()]


def test_a_fedify_peer_signs_with_draft_cavage_when_told_to_knock_with_it_first(peers):
    _, b = peers
    with FedifyPeer(dir=b.dir, username="dave", first_knock="draft-cavage-http-signatures-12") as d:
        sent = d.like(f"{b.actor_id}/notes/1", b.actor_id)
        like = b.wait_for("Like", lambda r: r["id"] == sent["id"])
        assert like["signature"] == {"scheme": "draft-cavage", "keyId": f"{d.actor_id}#main-key"}


def test_a_fedify_peer_delivers_announce_undo_delete_and_a_raw_activity_verified(peers):
    a, b = peers
    note = f"{b.actor_id}/notes/{uuid.uuid4()}"
    announced = a.announce(note, b.actor_id)
    assert b.wait_for("Announce", lambda r: r["id"] == announced["id"])["object"] == note
    followed = a.follow(b.actor_id)
    undone = a.unfollow(b.actor_id)
    undo = b.wait_for("Undo", lambda r: r["id"] == undone["id"])
    assert undo["object"]["type"] == "Follow" and undo["object"]["id"] == followed["id"]
    replied = a.reply(note, b.actor_id, "<p>weg</p>")
    deleted = a.delete(replied["note"], b.actor_id)
    delete = b.wait_for("Delete", lambda r: r["id"] == deleted["id"])
    assert delete["object"]["id"] == replied["note"]
    assert delete["object"]["type"] == "Tombstone"
    raw = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.actor_id}/raw/{uuid.uuid4()}",
        "type": "Flag",
        "actor": a.actor_id,
        "object": note,
        "content": "spam",
    }
    a.send(b.actor_id, raw)
    assert b.wait_for("Flag", lambda r: r["id"] == raw["id"])["json"]["content"] == "spam"
