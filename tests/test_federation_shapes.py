"""Real shapes: the documents Mastodon sends (tests/fixtures/fediverse/, written from the
ActivityPub spec and Mastodon's documentation), signed and posted to copps' real inbox
endpoints, with their effect checked: followers, held replies and mentions, counted
reactions, reports, deletions and profile updates."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from copps.federation import actions as fediverse
from copps.federation import outgoing
from copps.federation.models import (
    Follower,
    FollowState,
    InboxItem,
    ItemKind,
    Reaction,
    RemoteActor,
    Report,
)
from copps.newsroom import actions
from tests.support_fediverse import FakeServer, fast_keys, fixture, signed_post

SITE = "http://testserver"
REMOTE = "buurt.example"  # stands in for the fixtures' mastodon.example


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch):
    fast_keys(monkeypatch)


@pytest.fixture
def noord(db, admin_user, area):
    return fediverse.create_actor(
        by=admin_user, username="noord", kind="area", name="Politie Noord", area=area
    )


@pytest.fixture
def server():
    fake = FakeServer(REMOTE)
    yield fake
    fake.close()


@pytest.fixture
def alice(server):
    return server.user("alice")


@pytest.fixture
def posted(news, make_message, communicator, editor):
    """A message published to the fediverse by @news (so its note URL is ours)."""
    message = make_message(communicator, channels=["web", "fediverse"])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def load(name: str, **values) -> dict:
    return fixture(name, remote_host=REMOTE, site=SITE, **values)


def post(client, activity: dict, user, path: str = "/inbox"):
    return signed_post(client, path, activity, user)


def test_the_fixtures_fill_in_hosts_and_ids_and_keep_mastodons_id_shapes():
    follow = load("follow", uuid="5e0c")
    assert follow["id"] == f"https://{REMOTE}/5e0c"
    assert follow["object"] == f"{SITE}/@news"
    reply = load("create_reply", status=7, message=3)
    assert reply["object"]["inReplyTo"] == f"{SITE}/@news/posts/3"
    assert reply["object"]["tag"][0]["name"] == "@news@testserver"
    with pytest.raises(KeyError):
        load("like")  # a placeholder left empty is the test's mistake, not a silent blank


def test_a_mastodon_follow_is_accepted_and_its_undo_removes_the_follower(client, news, alice):
    follow_id = str(uuid.uuid4())
    response = post(client, load("follow", uuid=follow_id), alice, "/@news/inbox")
    assert response.status_code == 202, response.content
    follower = Follower.objects.get(actor=news)
    assert follower.state == FollowState.ACCEPTED
    assert follower.activity_id == f"https://{REMOTE}/{follow_id}"
    assert follower.remote.shared_inbox == f"https://{REMOTE}/inbox"

    assert outgoing.send_due() == 1
    [accept] = alice.server.of_type("Accept")
    assert accept.verified
    assert accept.inbox == alice.inbox  # the Accept goes to the follower's own inbox
    assert accept.activity["object"]["id"] == f"https://{REMOTE}/{follow_id}"

    undo = load("undo_follow", uuid=follow_id, follow=41)
    assert post(client, undo, alice, "/@news/inbox").status_code == 202
    assert not Follower.objects.exists()


def test_a_reply_with_mention_hashtags_and_content_warning_is_held_for_moderation(
    client, posted, alice
):
    reply = load("create_reply", status=110, message=posted.pk)
    response = post(client, reply, alice)
    assert response.status_code == 202, response.content
    item = InboxItem.objects.get()
    assert item.kind == ItemKind.REPLY
    assert item.message == posted
    assert item.actor.username == "news"
    assert item.remote.uri == alice.id
    assert item.object_id == f"https://{REMOTE}/users/alice/statuses/110"
    assert item.url == f"https://{REMOTE}/@alice/110"
    assert item.summary == "Fietsdiefstal, details over de buurt"  # the content warning
    assert item.language == "nl"
    assert item.published.year == 2025
    assert "twee fietsen weg" in item.content_html
    assert "#fietsdiefstal" in item.content_html and "#Noord" in item.content_html
    assert "@news" in item.content_html  # the mention's text survives, its markup does not
    assert "onerror" not in item.content_html and "<img" not in item.content_html
    assert 'rel="nofollow noopener noreferrer"' in item.content_html
    assert item.state == "new"


def test_a_direct_mention_of_an_area_account_lands_with_that_account(client, noord, alice):
    mention = load("create_mention", status=120)
    assert post(client, mention, alice, "/@noord/inbox").status_code == 202
    item = InboxItem.objects.get()
    assert item.kind == ItemKind.MENTION
    assert item.actor == noord
    assert item.message is None
    assert item.summary == ""  # "summary": null is no content warning
    assert "spreekuur" in item.content_html


def test_a_post_that_is_neither_reply_nor_mention_nor_followed_is_not_kept(client, news, alice):
    mention = load("create_mention", status=121)
    mention["object"]["tag"] = []  # nobody of ours is mentioned
    assert post(client, mention, alice).status_code == 202
    assert not InboxItem.objects.exists()


def test_likes_and_boosts_are_counted_and_an_undone_boost_is_uncounted(client, posted, alice):
    assert post(client, load("like", like=9001, message=posted.pk), alice).status_code == 202
    assert post(client, load("announce", status=130, message=posted.pk), alice).status_code == 202
    kinds = sorted(Reaction.objects.filter(message=posted).values_list("kind", flat=True))
    assert kinds == ["announce", "like"]
    # Who reacted is kept only as a hash, never as an account.
    assert all(alice.id not in r.remote_hash for r in Reaction.objects.all())

    undo = load("undo_announce", status=130, message=posted.pk)
    assert post(client, undo, alice).status_code == 202
    assert list(Reaction.objects.values_list("kind", flat=True)) == ["like"]


def test_a_like_of_someone_elses_post_is_acknowledged_and_not_counted(client, posted, alice):
    like = load("like", like=9002, message=posted.pk)
    like["object"] = f"https://{REMOTE}/users/bob/statuses/1"
    assert post(client, like, alice).status_code == 202
    assert not Reaction.objects.exists()


def test_an_edit_replaces_the_held_text_and_marks_it_edited(client, posted, alice):
    assert (
        post(client, load("create_reply", status=140, message=posted.pk), alice).status_code == 202
    )
    edit = load("update_note", status=140, message=posted.pk)
    assert post(client, edit, alice).status_code == 202
    item = InboxItem.objects.get()
    assert "drie fietsen" in item.content_html
    assert "twee fietsen" not in item.content_html
    assert item.summary == "Fietsdiefstal"
    assert item.edited_at is not None


def test_an_edit_by_another_account_of_the_same_server_changes_nothing(
    client, posted, alice, server
):
    assert (
        post(client, load("create_reply", status=141, message=posted.pk), alice).status_code == 202
    )
    mallory = server.user("mallory")
    edit = load("update_note", status=141, message=posted.pk)
    edit["id"] = f"https://{REMOTE}/users/mallory/statuses/141#updates/1"
    edit["actor"] = edit["object"]["attributedTo"] = mallory.id
    assert post(client, edit, mallory).status_code == 202
    assert "twee fietsen" in InboxItem.objects.get().content_html


def test_a_delete_with_a_tombstone_removes_the_held_reply(client, posted, alice):
    assert (
        post(client, load("create_reply", status=150, message=posted.pk), alice).status_code == 202
    )
    assert post(client, load("delete_tombstone", status=150), alice).status_code == 202
    assert not InboxItem.objects.exists()


def test_a_deleted_account_is_forgotten_with_everything_it_sent(client, posted, alice, news):
    assert post(client, load("follow", uuid="f-160"), alice).status_code == 202
    assert (
        post(client, load("create_reply", status=160, message=posted.pk), alice).status_code == 202
    )
    assert post(client, load("like", like=160, message=posted.pk), alice).status_code == 202
    assert post(client, load("delete_actor"), alice).status_code == 202
    assert not Follower.objects.exists()
    assert not InboxItem.objects.exists()
    assert not Reaction.objects.exists()


def test_a_deleted_account_whose_cached_key_is_stale_is_still_forgotten(client, news, alice):
    """Mastodon signs an account's Delete with the account's key while its document already
    answers 410: the key we cached when it followed us must still count for that Delete."""
    assert post(client, load("follow", uuid="f-170"), alice).status_code == 202
    RemoteActor.objects.update(fetched_at=timezone.now() - timedelta(days=30))
    alice.gone = True
    response = post(client, load("delete_actor"), alice)
    assert response.status_code == 202, response.content
    assert not Follower.objects.exists()


def test_a_delete_of_an_unknown_account_is_acknowledged_without_fetching_anything(
    client, news, server
):
    """Servers announce deleted accounts to every server they know; copps never saw this one,
    so there is nothing to verify it against and nothing to delete."""
    ghost = server.user("ghost")
    ghost.gone = True
    delete = load("delete_actor")
    delete["id"], delete["actor"], delete["object"] = f"{ghost.id}#delete", ghost.id, ghost.id
    assert post(client, delete, ghost).status_code == 202
    assert server.gets == []
    assert not RemoteActor.objects.exists()


def test_a_report_from_the_instance_actor_names_only_our_objects(client, posted, server, news):
    instance = server.user("actor", path="/actor", kind="Application")
    flag = load("flag", uuid="r-1", message=posted.pk, status=5)
    response = post(client, flag, instance)
    assert response.status_code == 202, response.content
    report = Report.objects.get()
    assert report.actor == news
    assert report.remote.uri == f"https://{REMOTE}/actor"
    assert report.objects_reported == [f"{SITE}/@news", f"{SITE}/@news/posts/{posted.pk}"]
    assert "verkeerd telefoonnummer" in report.content
    assert "<script>" not in report.content


def test_a_report_about_nothing_of_ours_is_refused(client, news, server):
    instance = server.user("actor", path="/actor", kind="Application")
    flag = load("flag", uuid="r-2", message=1, status=5)
    flag["object"] = [f"https://{REMOTE}/users/alice"]
    assert post(client, flag, instance).status_code == 422
    assert not Report.objects.exists()


def test_a_profile_update_renames_the_account_and_rotates_its_key_without_a_fetch(
    client, news, alice
):
    assert post(client, load("follow", uuid="f-180"), alice, "/@news/inbox").status_code == 202
    fetched = len(alice.server.gets)
    old_private = alice.private_pem
    alice.rotate_key()
    update = load("update_person", public_key_pem=alice.public_pem)
    # The Update itself is signed with the key the server had until now.
    assert signed_post(client, "/inbox", update, alice, key_pem=old_private).status_code == 202
    remote = RemoteActor.objects.get(uri=alice.id)
    assert remote.name == "Alice van Noord"
    assert remote.public_key_pem == alice.public_pem
    like = load("like", like=180, message=1)
    assert post(client, like, alice).status_code == 202  # signed with the new key
    assert len(alice.server.gets) == fetched  # no fetch was needed


def test_a_profile_update_for_another_account_is_ignored(client, news, alice, server):
    bob = server.user("bob")
    follow = load("follow", uuid="f-190")
    follow["actor"] = bob.id
    assert post(client, follow, bob).status_code == 202
    update = load("update_person", public_key_pem=alice.public_pem)
    update["object"]["id"] = bob.id  # alice tries to rewrite bob's profile
    response = post(client, update, alice)
    assert response.status_code == 202
    assert RemoteActor.objects.get(uri=bob.id).name == "Bob"


def test_an_edit_of_an_approved_reply_goes_back_to_moderation(client, posted, alice, admin_user):
    assert (
        post(client, load("create_reply", status=200, message=posted.pk), alice).status_code == 202
    )
    fediverse.moderate(InboxItem.objects.get(), by=admin_user, approve=True)
    assert (
        post(client, load("update_note", status=200, message=posted.pk), alice).status_code == 202
    )
    item = InboxItem.objects.get()
    assert "drie fietsen" in item.content_html
    assert item.state == "new"  # approved text is not what it says now
    assert item.moderated_by == "" and item.moderated_at is None
