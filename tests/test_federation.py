"""copps' own fediverse accounts: discovery, following, posting, replies, through the real
endpoints with a fake remote server that checks our signatures."""

from __future__ import annotations

import pytest

from copps.channels import deliveries
from copps.channels.models import Delivery, Recipient
from copps.federation import outgoing
from copps.federation.models import Follower, FollowState, InboxItem, Reaction
from copps.newsroom import actions
from tests.support_fediverse import FakeServer, signed_post

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]


def follow(client, news, user, n=1):
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{user.id}#follows/{n}",
        "type": "Follow",
        "actor": user.id,
        "object": f"{SITE}/@news",
    }
    return signed_post(client, "/@news/inbox", activity, user)


def test_webfinger_finds_the_actor_and_links_activity_json(client, news):
    response = client.get("/.well-known/webfinger", {"resource": "acct:news@testserver"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jrd+json"
    links = {link["rel"]: link for link in response.json()["links"]}
    assert links["self"]["type"] == "application/activity+json"
    assert links["self"]["href"] == f"{SITE}/@news"
    actor = client.get("/@news", HTTP_ACCEPT="application/activity+json")
    assert actor["Content-Type"] == "application/activity+json"
    assert actor.json()["publicKey"]["publicKeyPem"] == news.public_key_pem
    assert client.get("/@news", HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")


def test_webfinger_refuses_other_domains_and_unknown_accounts(client, news):
    assert (
        client.get(
            "/.well-known/webfinger", {"resource": "acct:news@elsewhere.example"}
        ).status_code
        == 404
    )
    assert (
        client.get("/.well-known/webfinger", {"resource": "acct:nobody@testserver"}).status_code
        == 404
    )
    assert client.get("/.well-known/webfinger").status_code == 400


def test_a_follow_is_accepted_and_the_accept_is_signed(client, news, social):
    alice = social.user("alice")
    response = follow(client, news, alice)
    assert response.status_code == 202, response.content
    follower = Follower.objects.get(actor=news)
    assert follower.state == FollowState.ACCEPTED
    assert outgoing.send_due() == 1
    accept = social.of_type("Accept")
    assert len(accept) == 1 and accept[0].verified
    assert accept[0].activity["object"]["id"] == f"{alice.id}#follows/1"


def test_an_unsigned_post_is_refused_and_nothing_is_stored(client, news, social):
    alice = social.user("alice")
    response = client.post(
        "/@news/inbox",
        data={
            "id": f"{alice.id}#f",
            "type": "Follow",
            "actor": alice.id,
            "object": f"{SITE}/@news",
        },
        content_type="application/activity+json",
    )
    assert response.status_code == 401
    assert not Follower.objects.exists()


def test_a_post_signed_with_the_wrong_key_is_refused(client, news, social):
    from tests.support_fediverse import key_pair

    alice = social.user("alice")
    activity = {
        "id": f"{alice.id}#f",
        "type": "Follow",
        "actor": alice.id,
        "object": f"{SITE}/@news",
    }
    response = signed_post(client, "/@news/inbox", activity, alice, key_pem=key_pair()[0])
    assert response.status_code == 401
    assert not Follower.objects.exists()


def test_a_published_message_reaches_followers_once_per_shared_inbox(
    client, news, social, make_message, communicator, editor
):
    for name in ("alice", "bob", "carol"):
        assert follow(client, news, social.user(name)).status_code == 202
    message = make_message(
        communicator, channels=["web", "fediverse"], body="Let op #fietsdiefstal"
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    delivery = Delivery.objects.get(message=message, channel=news.channel)
    deliveries.deliver_due()
    deliveries.deliver_recipients()
    creates = social.of_type("Create")
    assert len(creates) == 1  # three followers, one shared inbox
    assert creates[0].verified
    note = creates[0].activity["object"]
    assert note["contentMap"]["nl"]
    assert note["tag"][0]["name"] == "#fietsdiefstal"
    delivery.refresh_from_db()
    assert delivery.state == "sent"
    assert Recipient.objects.filter(delivery=delivery).count() == 1


def test_a_reply_lands_in_the_holding_table_and_a_like_is_counted(
    client, news, social, published_message, settings
):
    from copps.channels.models import Delivery

    alice = social.user("alice")
    # The message must have been posted by @news for the reply to be one of ours.
    note_id = f"{SITE}/@news/posts/{published_message.pk}"
    reply = {
        "id": f"{alice.id}/statuses/1/activity",
        "type": "Create",
        "actor": alice.id,
        "object": {
            "id": f"{alice.id}/statuses/1",
            "type": "Note",
            "attributedTo": alice.id,
            "inReplyTo": note_id,
            "content": "<p>Thanks! <script>alert(1)</script></p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }
    assert signed_post(client, "/inbox", reply, alice).status_code == 202
    item = InboxItem.objects.get()
    assert item.message == published_message
    assert "script" not in item.content_html
    like = {"id": f"{alice.id}#likes/1", "type": "Like", "actor": alice.id, "object": note_id}
    assert signed_post(client, "/inbox", like, alice).status_code == 202
    assert Reaction.objects.filter(message=published_message, kind="like").count() == 1
    # A redelivery is acknowledged and not counted twice.
    assert signed_post(client, "/inbox", like, alice).status_code == 202
    assert Reaction.objects.count() == 1
    assert Delivery.objects.count() >= 0


@pytest.mark.parametrize(
    "accept",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/activity+json, application/ld+json",
    ],
)
def test_servers_get_the_actor_as_json_whatever_accept_form_they_use(client, news, accept):
    response = client.get("/@news", HTTP_ACCEPT=accept)
    assert response["Content-Type"] == "application/activity+json"
    assert response.json()["id"] == f"{SITE}/@news"


def test_webfinger_answers_activity_json_when_asked_for_it(client, news):
    response = client.get(
        "/.well-known/webfinger",
        {"resource": "acct:news@testserver"},
        HTTP_ACCEPT="application/activity+json",
    )
    assert response["Content-Type"] == "application/activity+json"


def test_a_correction_does_not_wait_for_a_slow_server_and_its_late_copy_is_corrected(
    client, news, social, make_message, communicator, editor
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.support_socialb import correct

    slow = FakeServer("slow.example")
    try:
        assert follow(client, news, social.user("alice")).status_code == 202
        assert follow(client, news, slow.user("bob")).status_code == 202
        slow.status = 503
        message = make_message(communicator, channels=["web", "fediverse"])
        actions.submit_message(message, by=communicator)
        actions.approve_message(message, by=editor)
        deliveries.deliver_due()
        deliveries.deliver_recipients()
        assert len(social.of_type("Create")) == 1 and len(slow.of_type("Create")) == 1
        post = Delivery.objects.get(message=message, channel=news.channel, operation="post")
        assert post.state == "sending"  # the slow server's copy waits for its retry

        correct(message, communicator, editor)
        deliveries.deliver_due()
        deliveries.deliver_recipients()
        updates = social.of_type("Update")
        assert len(updates) == 1 and updates[0].verified  # not held up by slow.example
        assert "Zuidstation" in updates[0].activity["object"]["content"]

        slow.status = 202
        later = timezone.now() + timedelta(hours=1)
        deliveries.deliver_recipients(later)
        late_creates = slow.of_type("Create")
        assert len(late_creates) == 2
        assert "Zuidstation" in late_creates[-1].activity["object"]["content"]
    finally:
        slow.close()


def test_replies_and_likes_aimed_at_a_message_the_account_never_posted_are_ignored(
    client, news, social, make_message, communicator
):
    draft = make_message(communicator, channels=["web", "fediverse"])  # never published
    alice = social.user("alice")
    note_id = f"{SITE}/@news/posts/{draft.pk}"
    reply = {
        "id": f"{alice.id}/statuses/9/activity",
        "type": "Create",
        "actor": alice.id,
        "object": {
            "id": f"{alice.id}/statuses/9",
            "type": "Note",
            "attributedTo": alice.id,
            "inReplyTo": note_id,
            "content": "<p>Guessing ids</p>",
        },
    }
    like = {"id": f"{alice.id}#likes/9", "type": "Like", "actor": alice.id, "object": note_id}
    assert signed_post(client, "/inbox", reply, alice).status_code == 202
    assert signed_post(client, "/inbox", like, alice).status_code == 202
    assert not InboxItem.objects.exists()
    assert not Reaction.objects.exists()


def test_a_key_that_cannot_be_fetched_is_not_fetched_again_for_every_request(client, news, social):
    alice = social.user("alice")
    social.close()  # alice's server is gone: her key cannot be fetched
    gone = FakeServer("social.example")  # answers 404 for everything
    try:
        activity = {
            "id": f"{alice.id}#f",
            "type": "Follow",
            "actor": alice.id,
            "object": f"{SITE}/@news",
        }
        fetches = []
        original = gone.handle
        gone.handle = lambda request: fetches.append(request) or original(request)
        from copps.lib import http

        http.register_fake("social.example", gone.handle)
        for _ in range(5):
            assert signed_post(client, "/@news/inbox", activity, alice).status_code == 401
        assert len(fetches) == 1
    finally:
        gone.close()
