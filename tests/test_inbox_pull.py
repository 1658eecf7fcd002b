"""Replies and mentions pulled from the channels into the inbox, and answers going back the same
way: through the real adapters against the sandbox services at the one HTTP entry point."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.fakes import mastodon as fake_mastodon
from copps.channels.models import SandboxPost
from copps.inbox import actions, pull
from copps.inbox.models import Conversation, Entry, PullCursor, SendState, Source
from copps.lib import http

pytestmark = pytest.mark.django_db


@pytest.fixture
def mastodon(make_channel):
    return make_channel(
        "mastodon",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-1"},
    )


def later(seconds=3600):
    return timezone.now() + timedelta(seconds=seconds)


def test_it_pulls_a_mastodon_mention_into_the_communication_inbox(mastodon):
    fake_mastodon.inject_mention(
        "Er staat een auto op het fietspad <b>hier</b>", acct="an@social.example"
    )
    assert pull.pull_due() == 1
    conversation = Conversation.objects.get()
    assert conversation.source == Source.MASTODON and conversation.desk == "communication"
    assert conversation.channel == mastodon and conversation.author == "@an@social.example"
    entry = conversation.entries.get()
    assert "Er staat een auto op het fietspad <b>hier</b>" in entry.text
    assert entry.text.startswith("@sandbox_police")
    assert entry.url.startswith("https://social.example/@an/")


def test_it_stores_nothing_new_when_pulling_twice(mastodon):
    fake_mastodon.inject_mention("één")
    fake_mastodon.inject_mention("twee")
    assert pull.pull_due() == 2
    PullCursor.objects.update(cursor="")  # even from the start again: nothing is doubled
    assert pull.pull_due(later()) == 0
    assert Entry.objects.count() == 2


def test_it_asks_each_account_at_most_once_per_interval(mastodon, settings):
    settings.COPPS_INBOX_PULL_SECONDS = 60
    now = timezone.now()
    pull.pull_due(now)
    fake_mastodon.inject_mention("nog iets")
    assert pull.pull_due(now + timedelta(seconds=30)) == 0
    assert pull.pull_due(now + timedelta(seconds=61)) == 1


def test_it_keeps_the_cursor_and_reads_only_what_is_newer(mastodon):
    fake_mastodon.inject_mention("eerste")
    pull.pull_due()
    cursor = PullCursor.objects.get(channel=mastodon)
    first = SandboxPost.objects.get(service="mastodon-notif").external_id
    assert cursor.cursor == first and cursor.pulled_at and not cursor.last_error
    seen = []
    original = http._fakes[sandbox.host("mastodon")]

    def spy(request):
        seen.append(request)
        return original(request)

    http.register_fake(sandbox.host("mastodon"), spy)
    try:
        fake_mastodon.inject_mention("tweede")
        assert pull.pull_due(later()) == 1
    finally:
        http.register_fake(sandbox.host("mastodon"), original)
    [request] = [r for r in seen if r.url.path == "/api/v1/notifications"]
    assert request.url.params["min_id"] == first
    assert request.url.params.get_list("types[]") == ["mention"]


def test_it_pages_through_more_mentions_than_one_page_without_skipping(mastodon, monkeypatch):
    from copps.channels.adapters.mastodon import MastodonAdapter

    monkeypatch.setattr(MastodonAdapter, "MENTIONS_PAGE", 2)
    pull.pull_due()  # nothing yet: the cursor starts empty
    for n in range(5):
        fake_mastodon.inject_mention(f"bericht {n}")
    total = sum(pull.pull_due(later(3600 * (n + 1))) for n in range(4))
    assert total == 5
    texts = sorted(e.text.split()[-1] for e in Entry.objects.all())
    assert texts == ["0", "1", "2", "3", "4"]


@pytest.fixture
def broken_mastodon():
    original = http._fakes[sandbox.host("mastodon")]

    def set_answer(response):
        http.register_fake(sandbox.host("mastodon"), lambda request: response)

    yield set_answer
    http.register_fake(sandbox.host("mastodon"), original)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"{not json"),
        httpx.Response(200, json={"error": "not a list"}),
        httpx.Response(200, json=[{"id": "x'; DROP TABLE", "type": "mention"}]),
        httpx.Response(200, json=[None, 5, "mention"]),
        httpx.Response(502, content=b"<html>Bad gateway</html>"),
    ],
    ids=["garbage", "object", "bad-id", "bad-items", "502"],
)
def test_a_hostile_answer_records_the_error_and_keeps_the_cursor(mastodon, broken_mastodon, answer):
    fake_mastodon.inject_mention("eerste")
    pull.pull_due()
    before = PullCursor.objects.get(channel=mastodon).cursor
    broken_mastodon(answer)
    assert pull.pull_due(later()) == 0
    cursor = PullCursor.objects.get(channel=mastodon)
    assert cursor.cursor == before and cursor.last_error
    assert Entry.objects.count() == 1


def test_a_failing_account_does_not_stop_the_others(mastodon, make_channel):
    other = make_channel(
        "mastodon",
        slug="mastodon-fr",
        language="fr",
        config={"instance_url": "https://social.example"},
        secrets={"access_token": "token-2"},
    )
    fake_mastodon.inject_mention("pour le compte deux", token="token-2")
    sandbox.inject("mastodon", "refuse")  # the first account's call fails at the transport
    assert pull.pull_due() == 1
    errors = dict(PullCursor.objects.values_list("channel__slug", "last_error"))
    assert errors[mastodon.slug] and not errors[other.slug]
    assert Conversation.objects.get().channel == other


def test_a_disabled_account_is_not_asked(mastodon):
    mastodon.enabled = False
    mastodon.save()
    fake_mastodon.inject_mention("hallo")
    assert pull.pull_due() == 0
    assert not PullCursor.objects.filter(channel=mastodon).exists()


def test_the_answer_goes_back_as_a_reply_mentioning_the_citizen(mastodon, communicator):
    note = fake_mastodon.inject_mention("Waar kan ik aangifte doen?", acct="an@social.example")
    pull.pull_due()
    conversation = Conversation.objects.get()
    entry = actions.reply(conversation, by=communicator, text="Op elk politiekantoor.")
    assert entry.send_state == SendState.SENT
    status = SandboxPost.objects.get(service="mastodon")
    assert status.payload["in_reply_to_id"] == note["status"]["id"]
    assert status.text == "@an@social.example Op elk politiekantoor."
    assert status.payload["visibility"] == "unlisted"
    assert entry.external_id == status.external_id


def test_a_direct_mention_is_answered_directly(mastodon, communicator):
    fake_mastodon.inject_mention("privé vraag", visibility="direct")
    pull.pull_due()
    actions.reply(Conversation.objects.get(), by=communicator, text="Antwoord")
    assert SandboxPost.objects.get(service="mastodon").payload["visibility"] == "direct"


def test_a_followers_only_mention_is_answered_directly_never_in_public(mastodon, communicator):
    # Unlisted would show on the thread that this citizen wrote to the police.
    fake_mastodon.inject_mention("vraag voor volgers", visibility="private")
    pull.pull_due()
    actions.reply(Conversation.objects.get(), by=communicator, text="Antwoord")
    assert SandboxPost.objects.get(service="mastodon").payload["visibility"] == "direct"


def test_the_citizens_answer_to_our_reply_continues_the_conversation(mastodon, communicator):
    fake_mastodon.inject_mention("vraag")
    pull.pull_due()
    conversation = Conversation.objects.get()
    ours = actions.reply(conversation, by=communicator, text="Wat bedoelt u?")
    fake_mastodon.inject_mention("Dit bedoel ik", in_reply_to_id=ours.external_id)
    assert pull.pull_due(later()) == 1
    assert Conversation.objects.count() == 1
    conversation.refresh_from_db()
    assert conversation.state == "open"
    assert [e.direction for e in conversation.entries.all()] == ["in", "out", "in"]
    # The next answer goes to the citizen's latest message.
    actions.reply(conversation, by=communicator, text="Dank u")
    latest = SandboxPost.objects.filter(service="mastodon").order_by("-pk").first()
    assert (
        latest.payload["in_reply_to_id"]
        == conversation.entries.filter(direction="in").last().external_id
    )


def test_replies_to_our_post_are_one_conversation_per_author_about_that_message(
    mastodon, make_message, communicator, editor
):
    from copps.channels import deliveries
    from copps.newsroom import actions as newsroom

    message = make_message(communicator)
    newsroom.submit_message(message, by=communicator)
    newsroom.approve_message(message, by=editor)
    deliveries.deliver_due()
    post = message.deliveries.get(channel=mastodon)
    fake_mastodon.inject_mention(
        "Goed bericht", acct="an@a.example", in_reply_to_id=post.external_id
    )
    fake_mastodon.inject_mention(
        "Nog een vraag", acct="an@a.example", in_reply_to_id=post.external_id
    )
    fake_mastodon.inject_mention(
        "Slecht bericht", acct="bo@b.example", in_reply_to_id=post.external_id
    )
    assert pull.pull_due() == 3
    assert Conversation.objects.count() == 2
    assert {c.message for c in Conversation.objects.all()} == {message}
    assert sorted(c.entries.count() for c in Conversation.objects.all()) == [1, 2]


def test_a_refused_reply_is_recorded_as_failed(mastodon, communicator):
    fake_mastodon.inject_mention("vraag")
    pull.pull_due()
    sandbox.inject("mastodon", 422)
    entry = actions.reply(Conversation.objects.get(), by=communicator, text="Antwoord")
    assert entry.send_state == SendState.FAILED and "422" in entry.send_error


def test_a_reply_without_an_answer_is_unknown_never_resent(mastodon, communicator):
    fake_mastodon.inject_mention("vraag")
    pull.pull_due()
    sandbox.inject("mastodon", "timeout")
    entry = actions.reply(Conversation.objects.get(), by=communicator, text="Antwoord")
    assert entry.send_state == SendState.UNKNOWN


# X ----------------------------------------------------------------------------------------------


@pytest.fixture
def x_channel(make_channel):
    return make_channel("x", secrets={"access_token": "token-x"})


def test_it_pulls_x_mentions_and_answers_in_reply_to_the_post(x_channel, communicator):
    from copps.channels.fakes import x as fake_x

    tweet = fake_x.inject_mention("Waarom staat er politie in de straat? <3 & zo", username="jan")
    assert pull.pull_due() == 1
    conversation = Conversation.objects.get()
    assert conversation.source == Source.X and conversation.author == "@jan"
    assert conversation.external_id == f"{tweet['id']}~@jan"
    entry = conversation.entries.get()
    assert entry.text == "@politie_sandbox Waarom staat er politie in de straat? <3 & zo"
    assert entry.url == f"https://x.com/jan/status/{tweet['id']}"
    assert pull.pull_due(later()) == 0
    reply = actions.reply(conversation, by=communicator, text="Een controle, niets ernstigs.")
    assert reply.send_state == SendState.SENT
    sent = SandboxPost.objects.get(service="x")
    assert sent.payload["request"]["reply"] == {"in_reply_to_tweet_id": tweet["id"]}
    # The citizen answers our reply: the same conversation (X's conversation id).
    fake_x.inject_mention("Dank je", username="jan", in_reply_to=sent.external_id)
    assert pull.pull_due(later(7200)) == 1
    assert Conversation.objects.count() == 1


def test_x_mentions_follow_the_pages_back_to_the_cursor(x_channel):
    from copps.channels.fakes import x as fake_x

    fake_x.inject_mention("eerste")
    pull.pull_due()
    for n in range(150):
        fake_x.inject_mention(f"nummer {n}")
    assert pull.pull_due(later()) == 150
    cursor = PullCursor.objects.get(channel=x_channel).cursor
    assert cursor == SandboxPost.objects.filter(service="x-mention").order_by("-pk")[0].external_id


def test_an_x_problem_document_is_recorded_not_raised(x_channel):
    sandbox.inject("x", 503)
    assert pull.pull_due() == 0
    assert "503" in PullCursor.objects.get(channel=x_channel).last_error


# Bluesky ----------------------------------------------------------------------------------------

BSKY = "politie.bsky.social"


@pytest.fixture
def bluesky_channel(make_channel):
    return make_channel(
        "bluesky", config={"handle": BSKY}, secrets={"app_password": "abcd-efgh-ijkl-mnop"}
    )


def test_it_pulls_bluesky_mentions_and_replies_with_root_and_parent(bluesky_channel, communicator):
    from copps.channels.fakes import bluesky as fake_bsky

    note = fake_bsky.inject_mention("Is de markt vandaag afgesloten?", to=BSKY)
    assert pull.pull_due() == 1
    conversation = Conversation.objects.get()
    assert conversation.source == Source.BLUESKY
    assert conversation.author == "@burger.bsky.social"
    entry = conversation.entries.get()
    assert entry.text == f"@{BSKY} Is de markt vandaag afgesloten?"
    assert entry.url.startswith("https://bsky.app/profile/burger.bsky.social/post/")
    reply = actions.reply(conversation, by=communicator, text="Ja, tot 18 uur.")
    assert reply.send_state == SendState.SENT
    sent = SandboxPost.objects.get(service="bluesky")
    ref = {"uri": note["uri"], "cid": note["cid"]}
    assert sent.payload["value"]["reply"] == {"root": ref, "parent": ref}
    assert reply.external_id == sent.external_id
    # The citizen answers our reply: same conversation, and our next answer keeps the root.
    answer = fake_bsky.inject_mention("Dank!", to=BSKY, reply_to=sent.external_id)
    assert pull.pull_due(later()) == 1
    assert Conversation.objects.count() == 1
    actions.reply(conversation, by=communicator, text="Graag gedaan.")
    latest = SandboxPost.objects.filter(service="bluesky").order_by("-pk")[0]
    assert latest.payload["value"]["reply"]["root"] == ref
    assert latest.payload["value"]["reply"]["parent"] == {
        "uri": answer["uri"],
        "cid": answer["cid"],
    }


def test_bluesky_pulling_twice_stores_nothing_new_and_likes_are_ignored(bluesky_channel):
    from copps.channels.fakes import bluesky as fake_bsky

    fake_bsky.inject_mention("een", to=BSKY)
    fake_bsky.inject_mention("vind ik leuk", to=BSKY, reason="like")
    assert pull.pull_due() == 1
    cursor = PullCursor.objects.get(channel=bluesky_channel).cursor
    assert cursor.endswith("Z")
    fake_bsky.inject_mention("twee", to=BSKY)
    assert pull.pull_due(later()) == 1
    assert pull.pull_due(later(7200)) == 0
    assert Entry.objects.count() == 2


def test_a_bluesky_answer_without_notifications_is_an_error_kept_with_the_cursor(
    bluesky_channel, monkeypatch
):
    from copps.channels.fakes import bluesky as fake_bsky

    fake_bsky.inject_mention("een", to=BSKY)
    pull.pull_due()
    before = PullCursor.objects.get(channel=bluesky_channel).cursor
    monkeypatch.setattr(
        fake_bsky,
        "_notifications",
        lambda request, did: httpx.Response(200, json={"notifications": "nope"}),
    )
    assert pull.pull_due(later()) == 0
    cursor = PullCursor.objects.get(channel=bluesky_channel)
    assert cursor.cursor == before and "malformed" in cursor.last_error


# Facebook ---------------------------------------------------------------------------------------

PAGE = "100200300400500"


@pytest.fixture
def facebook_channel(make_channel):
    return make_channel(
        "facebook", config={"page_id": PAGE}, secrets={"page_access_token": "page-token"}
    )


@pytest.fixture
def page_post(facebook_channel, make_message, communicator, editor):
    from copps.channels import deliveries
    from copps.newsroom import actions as newsroom

    message = make_message(communicator)
    newsroom.submit_message(message, by=communicator)
    newsroom.approve_message(message, by=editor)
    deliveries.deliver_due()
    return message.deliveries.get(channel=facebook_channel)


def test_it_pulls_comments_under_the_pages_posts_and_answers_the_comment(
    page_post, facebook_channel, communicator
):
    from copps.channels.fakes import facebook as fake_fb

    comment = fake_fb.inject_comment(page_post.external_id, "Waar precies?", name="Els Janssens")
    fake_fb.inject_comment(page_post.external_id, "Ik zag het ook", anonymous=True)
    assert pull.pull_due() == 2
    els = Conversation.objects.get(author="Els Janssens")
    assert els.source == Source.FACEBOOK and els.message == page_post.message
    assert Conversation.objects.count() == 2  # one per author, the unnamed one on its own
    assert els.entries.get().url.startswith("https://www.facebook.com/")
    reply = actions.reply(els, by=communicator, text="Aan het station.")
    assert reply.send_state == SendState.SENT
    ours = SandboxPost.objects.get(
        service="facebook-comment", payload__comment__parent__id=comment["id"]
    )
    assert ours.text == "Aan het station." and reply.external_id == ours.external_id
    # Our own reply is not pulled back in; the citizen's answer continues the conversation.
    fake_fb.inject_comment(
        page_post.external_id, "Dank u", name="Els Janssens", parent=comment["id"]
    )
    assert pull.pull_due(later()) == 1
    assert els.entries.filter(direction="in").count() == 2
    assert pull.pull_due(later(7200)) == 0


def test_a_facebook_token_error_is_recorded_with_the_cursor_kept(page_post, facebook_channel):
    from copps.channels.fakes import facebook as fake_fb

    fake_fb.inject_comment(page_post.external_id, "een")
    pull.pull_due()
    before = PullCursor.objects.get(channel=facebook_channel).cursor
    fake_fb.throttle(5)
    assert pull.pull_due(later()) == 0
    cursor = PullCursor.objects.get(channel=facebook_channel)
    assert cursor.cursor == before and "32" in cursor.last_error


def test_the_pull_command_pulls_every_account_now_and_reports_each(mastodon):
    import io

    from django.core.management import call_command

    fake_mastodon.inject_mention("hallo")
    pull.pull_due()  # just pulled: the command does not wait for the interval
    fake_mastodon.inject_mention("nog eens")
    sandbox.inject("mastodon", 500)
    out = io.StringIO()
    call_command("inbox", "pull", stdout=out)
    assert f"mastodon:{mastodon.slug}: failed:" in out.getvalue()
    out = io.StringIO()
    call_command("inbox", "pull", stdout=out)
    assert f"mastodon:{mastodon.slug}: 1 new" in out.getvalue()
    assert "fediverse: 0 new" in out.getvalue()


def test_the_worker_tick_pulls_the_inbox(mastodon):
    from copps.worker import jobs

    fake_mastodon.inject_mention("via de worker")
    result = jobs.tick()
    assert result["inbox_pulled"] == 1
    assert Entry.objects.get().text.endswith("via de worker")


def test_someone_else_answering_our_reply_gets_their_own_conversation(mastodon, communicator):
    fake_mastodon.inject_mention("vraag", acct="an@social.example", visibility="direct")
    pull.pull_due()
    first = Conversation.objects.get()
    ours = actions.reply(first, by=communicator, text="Antwoord")
    fake_mastodon.inject_mention("ik ook", acct="bo@other.example", in_reply_to_id=ours.external_id)
    assert pull.pull_due(later()) == 1
    assert Conversation.objects.count() == 2
    first.refresh_from_db()
    assert first.route["acct"] == "an@social.example" and first.route["visibility"] == "direct"
