"""Listening to the mentions and replies of our own channels, copied from the citizens' inbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copps.inbox import actions as inbox
from copps.inbox.models import Entry, Visibility
from copps.listening import runner
from copps.listening.models import Match, Post, Purpose, Source, SourceKind, Watch
from copps.listening.sources import own

pytestmark = pytest.mark.django_db

AT = datetime(2026, 7, 4, 10, 0, tzinfo=UTC)


def _purpose(kind="reputation", **fields) -> Purpose:
    return Purpose.objects.create(name=kind, kind=kind, **fields)


def _source(purpose: Purpose | None) -> Source:
    config = {"purpose": purpose.pk} if purpose else {}
    return Source.objects.create(kind=SourceKind.OWN, name="our channels", config=config)


def _said(channel: str, text: str, *, author="@anna@example.social", thread="t1", **kw) -> Entry:
    conversation, _ = inbox.open_conversation(
        source=channel, external_id=f"{channel}-{thread}", author=author, language="nl",
        route={"account": author},
    )  # fmt: skip
    entry = inbox.receive(
        conversation, text=text, author=author, external_id=f"{thread}-{text}",
        url="https://example.social/@anna/1", at=AT, **kw,
    )  # fmt: skip
    assert entry is not None
    return entry


def test_it_copies_channel_mentions_with_the_minimum_and_nothing_sent_privately():
    purpose = _purpose()
    source = _source(purpose)
    mention = _said("mastodon", "Dank aan de politie van Gent!")
    reply = _said("bluesky", "Goed gedaan", author="anna.bsky.social")
    fedi = _said("fediverse", "Merci la police", author="@luc@mamot.fr")
    _said("tip", "Ik zag de dader", author="")
    _said("sms", "Help", author="")
    _said("email", "Vraag over mijn aangifte", author="jan@example.org")
    _said("comment", "Mooi artikel", author="Jan")
    conversation = mention.conversation
    inbox.add_note(conversation, by=None, text="interne notitie")

    assert runner.poll_one(source) == 3

    posts = {p.external_id: p for p in Post.objects.filter(source=source)}
    assert set(posts) == {
        f"mastodon:{mention.pk}",
        f"bluesky:{reply.pk}",
        f"fediverse:{fedi.pk}",
    }
    post = posts[f"mastodon:{mention.pk}"]
    assert post.text == "Dank aan de politie van Gent!"
    assert post.author == "@anna@example.social" and post.language == "nl"
    assert post.published_at == AT
    assert post.url == ""  # the minimum: no link back to the citizen's thread
    source.refresh_from_db()
    assert source.cursor == str(fedi.pk) and source.last_error == ""


def test_it_resumes_from_the_last_entry_without_loss_or_duplicates():
    source = _source(_purpose())
    first = _said("x", "een")
    assert own.poll(source) == 1
    assert own.poll(source) == 0
    second = _said("facebook", "twee", thread="t2")
    third = _said("x", "drie")
    assert own.poll(source) == 2
    assert sorted(Post.objects.values_list("external_id", flat=True)) == sorted(
        [f"x:{first.pk}", f"facebook:{second.pk}", f"x:{third.pk}"]
    )
    source.refresh_from_db()
    assert source.cursor == str(third.pk) and source.received == 3


def test_an_entry_committed_late_below_the_cursor_is_still_handed_over():
    source = _source(_purpose())
    early = _said("mastodon", "een")
    assert own.poll(source) == 1
    late = _said("mastodon", "twee")
    newest = _said("mastodon", "drie")
    # ``late`` was still being committed when the source read: its id was a hole.
    late_row = Entry.objects.filter(pk=late.pk)
    saved = late_row.values()[0]
    late_row.delete()
    assert own.poll(source) == 1
    source.refresh_from_db()
    assert source.cursor == f"{newest.pk}|{late.pk}"
    Entry.objects.create(**saved)
    assert own.poll(source) == 1
    assert own.poll(source) == 0
    assert Post.objects.filter(source=source).count() == 3
    assert Post.objects.filter(external_id=f"mastodon:{late.pk}").exists()
    source.refresh_from_db()
    assert source.cursor == str(newest.pk)
    assert early.pk < late.pk < newest.pk


def test_removed_entries_and_unusable_texts_are_not_copied():
    source = _source(_purpose())
    removed = _said("mastodon", "weg", visibility=Visibility.REMOVED)
    huge = _said("mastodon", "x" * 20_000)
    kept = _said("mastodon", "blijft")
    assert own.poll(source) == 1
    assert list(Post.objects.values_list("external_id", flat=True)) == [f"mastodon:{kept.pk}"]
    source.refresh_from_db()
    assert source.skipped == 1 and removed.pk < kept.pk and huge.pk < kept.pk


@pytest.mark.parametrize("problem", ["none", "missing", "investigation", "inactive"])
def test_it_refuses_to_run_without_an_active_communication_purpose(problem):
    if problem == "none":
        source = _source(None)
    elif problem == "missing":
        source = Source.objects.create(kind=SourceKind.OWN, name="x", config={"purpose": 999})
    elif problem == "investigation":
        source = _source(
            _purpose(
                "investigation", case_reference="PV 1", legal_basis="art. 28bis",
                authorised_by="Magistrate", ends_on=AT.date(),
            )
        )  # fmt: skip
    else:
        source = _source(_purpose(active=False))
    _said("mastodon", "politie")
    assert runner.poll_one(source) == 0
    source.refresh_from_db()
    assert source.last_error.startswith("SourceError") and source.cursor == ""
    assert not Post.objects.exists()


def test_its_posts_match_only_the_watches_of_its_own_communication_purpose():
    mine = _purpose("reputation")
    other = _purpose("mood")
    secret = _purpose(
        "investigation", case_reference="PV 1", legal_basis="art. 28bis",
        authorised_by="Magistrate", ends_on=datetime(2099, 1, 1).date(),
    )  # fmt: skip
    watch = Watch.objects.create(purpose=mine, name="politie", query="politie")
    Watch.objects.create(purpose=other, name="politie elders", query="politie")
    Watch.objects.create(purpose=secret, name="politie onderzoek", query="politie")
    source = _source(mine)
    _said("mastodon", "De politie was snel")
    assert own.poll(source) == 1
    assert list(Match.objects.values_list("watch", flat=True)) == [watch.pk]

    # The purpose turned into an investigation after the fact: nothing more is matched.
    mine.kind = "investigation"
    mine.save()
    from copps.listening import pipeline

    assert pipeline.watches_for(source) == set()
