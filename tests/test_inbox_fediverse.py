"""Fediverse replies and mentions into the inbox, and our answer back as a signed reply Note:
through copps' real inbox endpoint and outgoing queue, with a fake remote server
(``tests.support_fediverse``) receiving and verifying the signed POST."""

from __future__ import annotations

import pytest

from copps.federation import outgoing
from copps.federation.models import InboxItem, Outgoing
from copps.inbox import actions, pull
from copps.inbox.models import Conversation, PullCursor, SendState, Source
from copps.newsroom import actions as newsroom
from tests.support_fediverse import fast_keys, signed_post

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS = []


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch):
    fast_keys(monkeypatch)


@pytest.fixture
def alice(social):
    return social.user("alice")


@pytest.fixture
def posted(news, make_message, communicator, editor):
    message = make_message(communicator, channels=["web", "fediverse"])
    newsroom.submit_message(message, by=communicator)
    newsroom.approve_message(message, by=editor)
    return message


def create(user, n: int, content: str, *, in_reply_to: str = "", mention: str = "") -> dict:
    note = {
        "id": f"{user.id}/statuses/{n}",
        "type": "Note",
        "attributedTo": user.id,
        "content": content,
        "url": f"https://{user.server.host}/@{user.username}/{n}",
        "contentMap": {"nl": content},
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    if in_reply_to:
        note["inReplyTo"] = in_reply_to
    if mention:
        note["tag"] = [{"type": "Mention", "href": mention, "name": "@news"}]
    return {"id": f"{note['id']}/activity", "type": "Create", "actor": user.id, "object": note}


def send(client, user, activity):
    assert signed_post(client, "/inbox", activity, user).status_code == 202


def test_it_brings_a_mention_into_the_inbox_as_plain_text(client, news, alice):
    send(
        client,
        alice,
        create(
            alice,
            1,
            '<p><a href="x">@news</a> Mijn fiets is gestolen &amp; nu?<script>x</script></p>',
            mention=f"{SITE}/@news",
        ),
    )
    assert pull.pull_due() == 1
    conversation = Conversation.objects.get()
    assert conversation.source == Source.FEDIVERSE and conversation.desk == "communication"
    assert conversation.author == "@alice@social.example"
    assert conversation.channel == news.channel
    entry = conversation.entries.get()
    assert entry.text == "@news Mijn fiets is gestolen & nu?"
    assert entry.external_id == f"{alice.id}/statuses/1"
    assert entry.url == "https://social.example/@alice/1"


def test_a_reply_to_our_post_is_about_that_message(client, posted, alice):
    send(
        client,
        alice,
        create(alice, 1, "Goed bericht", in_reply_to=f"{SITE}/@news/posts/{posted.pk}"),
    )
    pull.pull_due()
    assert Conversation.objects.get().message == posted


def test_pulling_again_stores_nothing_new_and_the_cursor_is_the_last_item(client, news, alice):
    send(client, alice, create(alice, 1, "een", mention=f"{SITE}/@news"))
    send(client, alice, create(alice, 2, "twee", mention=f"{SITE}/@news"))
    assert pull.pull_due() == 2
    cursor = PullCursor.objects.get(name="fediverse")
    assert cursor.cursor == str(InboxItem.objects.order_by("pk").last().pk)
    cursor.cursor = ""
    cursor.pulled_at = None
    cursor.save()
    assert pull.pull_due() == 0
    # Mentions by the same person are one conversation with us.
    assert Conversation.objects.get().entries.count() == 2


def test_our_answer_reaches_the_citizens_inbox_as_a_signed_reply_note(
    client, news, alice, social, communicator
):
    send(client, alice, create(alice, 7, "Is de weg weer open?", mention=f"{SITE}/@news"))
    pull.pull_due()
    conversation = Conversation.objects.get()
    entry = actions.reply(conversation, by=communicator, text="Ja, sinds vanmorgen.")
    assert entry.send_state == SendState.SENT
    assert Outgoing.objects.get().inbox == alice.inbox
    assert outgoing.send_due() == 1
    [received] = social.of_type("Create")
    assert received.verified and received.inbox == alice.inbox
    note = received.activity["object"]
    assert note["id"] == entry.external_id
    assert note["inReplyTo"] == f"{alice.id}/statuses/7"
    assert note["attributedTo"] == f"{SITE}/@news" == received.activity["actor"]
    assert note["to"] == [alice.id]
    assert note["cc"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert {"type": "Mention", "href": alice.id, "name": "@alice@social.example"} in note["tag"]
    assert "Ja, sinds vanmorgen." in note["content"] and "@<span>alice</span>" in note["content"]


def test_an_answer_to_a_suspended_server_fails_visibly(
    client, news, alice, communicator, admin_user
):
    from copps.federation import actions as fediverse

    send(client, alice, create(alice, 1, "hallo", mention=f"{SITE}/@news"))
    pull.pull_due()
    fediverse.block_domain(by=admin_user, domain="social.example")
    entry = actions.reply(Conversation.objects.get(), by=communicator, text="Antwoord")
    assert entry.send_state == SendState.FAILED
    assert not Outgoing.objects.filter(inbox=alice.inbox).exists()


def test_posts_of_followed_accounts_stay_out_of_the_inbox(news, alice):
    from copps.federation.models import ItemKind, RemoteActor

    remote = RemoteActor.objects.create(uri=alice.id, domain="social.example", username="alice")
    InboxItem.objects.create(
        object_id=f"{alice.id}/statuses/9",
        kind=ItemKind.POST,
        actor=news,
        remote=remote,
        content_html="<p>Nieuws</p>",
    )
    assert pull.pull_due() == 0
    assert not Conversation.objects.exists()
    assert PullCursor.objects.get(name="fediverse").cursor == str(InboxItem.objects.get().pk)


def test_a_post_with_nothing_to_read_opens_no_conversation(client, news, alice):
    send(client, alice, create(alice, 1, "<script>only()</script>", mention=f"{SITE}/@news"))
    assert pull.pull_due() == 0
    assert not Conversation.objects.exists()
    assert PullCursor.objects.get(name="fediverse").cursor == str(InboxItem.objects.get().pk)
