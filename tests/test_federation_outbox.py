"""What copps publishes and sends on the fediverse, through the real endpoints and the real
delivery engine: discovery (WebFinger, NodeInfo, host-meta), actor documents, outbox and
collections, notes and articles, Tombstones, and the fan-out of Create, Update and Delete to
followers' servers (FakeServer checks each signature), with per-server pauses, dead servers,
permanent refusals, retries of non-post activities, retention and manual approval."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from copps.channels import deliveries
from copps.channels.models import Delivery, Recipient
from copps.federation import actions as fediverse
from copps.federation import jobs, outgoing, views
from copps.federation.models import (
    Follower,
    FollowState,
    InboxItem,
    ItemKind,
    Outgoing,
    OutgoingState,
    RemoteActor,
    SeenActivity,
    Server,
)
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
from tests.support_fediverse import FakeServer, RemoteUser, fast_keys, signed_post

SITE = "http://testserver"
AS_JSON = "application/activity+json"


@pytest.fixture(autouse=True)
def _site(settings, tmp_path):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver", "police.example"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch):
    fast_keys(monkeypatch)


@pytest.fixture
def news(db, admin_user):
    return fediverse.create_actor(
        by=admin_user,
        username="news",
        kind="force",
        name="Police news",
        summary="Het nieuws van de politie.\n\nGeen meldingen hier: bel 112.",
        links=[{"name": "Website", "url": "https://police.example/"}, {"name": "x", "url": "/"}],
    )


@pytest.fixture
def servers():
    made: dict[str, FakeServer] = {}

    def make(host: str) -> FakeServer:
        if host not in made:
            made[host] = FakeServer(host)
        return made[host]

    yield make
    for server in made.values():
        server.close()


def follow(client, user: RemoteUser, target: str = "news", n: int = 1):
    activity = {
        "id": f"{user.id}#follows/{n}",
        "type": "Follow",
        "actor": user.id,
        "object": f"{SITE}/@{target}",
    }
    response = signed_post(client, f"/@{target}/inbox", activity, user)
    assert response.status_code == 202, response.content
    return response


def publish(make_message, communicator, editor, **kwargs):
    kwargs.setdefault("channels", ["web", "fediverse"])
    message = make_message(communicator, **kwargs)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def deliver(now=None) -> None:
    """One worker round: due deliveries (fan-outs expand into copies), then the copies."""
    deliveries.deliver_due(now)
    deliveries.deliver_recipients(now)


def next_round() -> None:
    """The worker's next round once the copies waiting after a failure are due again (their
    backoff is let pass; the clock is not: a server's pause still runs in real time)."""
    Recipient.objects.filter(state="pending").update(next_attempt_at=None)
    deliver()


def later(**delta):
    return timezone.now() + timedelta(**delta)


def png(name: str = "a.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 80, 160)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


# Discovery -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        "acct:news@testserver",
        "acct:@news@testserver",
        "@news@testserver",
        "news@testserver",
        "acct:news@TESTSERVER",
        f"{SITE}/@news",
    ],
)
def test_webfinger_answers_every_usual_spelling_of_the_account(client, news, resource):
    response = client.get("/.well-known/webfinger", {"resource": resource})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/jrd+json"
    data = response.json()
    assert data["subject"] == "acct:news@testserver"
    assert data["aliases"] == [f"{SITE}/@news"]
    [self_link] = [link for link in data["links"] if link["rel"] == "self"]
    assert self_link == {"rel": "self", "type": AS_JSON, "href": f"{SITE}/@news"}
    assert response["Access-Control-Allow-Origin"] == "*"


def test_webfinger_answers_activity_json_to_a_client_that_asks_for_it(client, news):
    response = client.get(
        "/.well-known/webfinger", {"resource": "acct:news@testserver"}, HTTP_ACCEPT=AS_JSON
    )
    assert response.status_code == 200
    assert response["Content-Type"] == AS_JSON
    assert response.json()["subject"] == "acct:news@testserver"


def test_webfinger_on_a_host_with_a_port_names_the_port(client, news, settings):
    settings.SITE_URL = "https://police.example:8443"
    response = client.get(
        "/.well-known/webfinger",
        {"resource": "acct:news@police.example:8443"},
        HTTP_HOST="police.example:8443",
    )
    assert response.status_code == 200, response.content
    assert response.json()["subject"] == "acct:news@police.example:8443"
    assert response.json()["aliases"] == ["https://police.example:8443/@news"]
    # Without the port it is another host.
    other = client.get(
        "/.well-known/webfinger",
        {"resource": "acct:news@police.example"},
        HTTP_HOST="police.example:8443",
    )
    assert other.status_code == 404


@pytest.mark.parametrize(
    "resource",
    [
        "acct:nobody@testserver",
        "acct:news@elsewhere.example",
        "https://elsewhere.example/@news",
        f"{SITE}/@nobody",
        "acct:@testserver",
        "acct:news",
        "mailto:news@testserver",
    ],
)
def test_webfinger_is_a_404_for_unknown_accounts_and_other_hosts(client, news, resource):
    response = client.get("/.well-known/webfinger", {"resource": resource})
    assert response.status_code == 404


def test_webfinger_hides_a_disabled_account_and_needs_a_resource(client, news, admin_user):
    assert client.get("/.well-known/webfinger").status_code == 400
    fediverse.set_enabled(news, False, by=admin_user)
    assert (
        client.get("/.well-known/webfinger", {"resource": "acct:news@testserver"}).status_code
        == 404
    )


def test_nodeinfo_links_to_its_2_1_document_which_describes_the_server(
    client, news, make_message, communicator, editor
):
    publish(make_message, communicator, editor)
    links = client.get("/.well-known/nodeinfo")
    assert links.status_code == 200
    [link] = links.json()["links"]
    assert link["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    assert link["href"] == f"{SITE}/nodeinfo/2.1"

    document = client.get("/nodeinfo/2.1")
    assert document.status_code == 200
    assert document["Content-Type"].startswith("application/json")
    assert "nodeinfo.diaspora.software/ns/schema/2.1" in document["Content-Type"]
    data = document.json()
    assert data["version"] == "2.1"
    assert data["software"]["name"] == "copps"
    assert all(c.islower() or c.isdigit() or c == "-" for c in data["software"]["name"])
    assert data["protocols"] == ["activitypub"]
    assert data["openRegistrations"] is False
    assert data["usage"]["users"]["total"] == 1
    assert data["usage"]["localPosts"] == 1


def test_host_meta_points_to_webfinger(client, news):
    response = client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xrd+xml"
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own reply
    [link] = root.findall("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("rel") == "lrdd"
    assert link.get("template") == f"{SITE}/.well-known/webfinger?resource={{uri}}"


# The actor ------------------------------------------------------------------------------------


def test_the_actor_document_has_what_servers_read(client, news, admin_user):
    fediverse.update_actor(news, by=admin_user, avatar=png("avatar.png"), header=png("header.png"))
    response = client.get("/@news", HTTP_ACCEPT=AS_JSON)
    assert response.status_code == 200
    assert response["Content-Type"] == AS_JSON
    assert "Accept" in response["Vary"]
    doc = response.json()
    assert doc["id"] == f"{SITE}/@news"
    assert doc["type"] == "Organization"
    assert doc["preferredUsername"] == "news"
    assert doc["inbox"] == f"{SITE}/@news/inbox"
    assert doc["outbox"] == f"{SITE}/@news/outbox"
    assert doc["followers"] == f"{SITE}/@news/followers"
    assert doc["following"] == f"{SITE}/@news/following"
    assert doc["endpoints"] == {"sharedInbox": f"{SITE}/inbox"}
    assert doc["publicKey"] == {
        "id": f"{SITE}/@news#main-key",
        "owner": f"{SITE}/@news",
        "publicKeyPem": news.public_key_pem,
    }
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["summary"].count("<p>") == 2
    assert doc["icon"]["type"] == "Image" and doc["icon"]["mediaType"] == "image/png"
    assert doc["icon"]["url"].startswith(f"{SITE}/") and "avatar" in doc["icon"]["url"]
    assert "header" in doc["image"]["url"]
    [website, home] = doc["attachment"]
    assert website["type"] == "PropertyValue" and website["name"] == "Website"
    assert 'href="https://police.example/"' in website["value"]
    assert 'rel="me' in website["value"]
    assert f'href="{SITE}/"' in home["value"]  # a path becomes a link into this site
    assert "https://www.w3.org/ns/activitystreams" in doc["@context"]


def test_an_actor_without_pictures_has_no_icon_and_an_officer_is_a_person(
    client, admin_user, communicator
):
    fediverse.create_actor(
        by=admin_user, username="wijkagent", kind="officer", name="Wijkagent", officer=communicator
    )
    doc = client.get("/@wijkagent", HTTP_ACCEPT=AS_JSON).json()
    assert doc["type"] == "Person"
    assert "icon" not in doc and "image" not in doc


def test_the_actor_url_shows_browsers_a_profile_page(client, news):
    response = client.get("/@news", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Police news" in response.content.decode()
    assert client.get("/@nobody", HTTP_ACCEPT=AS_JSON).status_code == 404


def test_an_actor_approving_by_hand_says_so(client, news, admin_user):
    fediverse.update_actor(news, by=admin_user, manually_approves_followers=True)
    assert client.get("/@news", HTTP_ACCEPT=AS_JSON).json()["manuallyApprovesFollowers"] is True


# Collections --------------------------------------------------------------------------------


def test_the_outbox_pages_through_the_accounts_posts(
    client, news, make_message, communicator, editor, monkeypatch
):
    monkeypatch.setattr(views, "OUTBOX_PAGE", 2)
    posted = [publish(make_message, communicator, editor, title=f"Bericht {n}") for n in range(3)]
    publish(make_message, communicator, editor, channels=["web"])  # not on the fediverse
    outbox = client.get("/@news/outbox", HTTP_ACCEPT=AS_JSON)
    assert outbox["Content-Type"] == AS_JSON
    data = outbox.json()
    assert data["type"] == "OrderedCollection"
    assert data["totalItems"] == 3
    assert data["first"] == f"{SITE}/@news/outbox?page=1"
    assert "orderedItems" not in data

    first = client.get("/@news/outbox", {"page": 1}, HTTP_ACCEPT=AS_JSON).json()
    assert first["type"] == "OrderedCollectionPage"
    assert first["partOf"] == f"{SITE}/@news/outbox"
    assert first["next"] == f"{SITE}/@news/outbox?page=2"
    assert "prev" not in first
    second = client.get("/@news/outbox", {"page": 2}, HTTP_ACCEPT=AS_JSON).json()
    assert second["prev"] == f"{SITE}/@news/outbox?page=1"
    assert "next" not in second
    items = first["orderedItems"] + second["orderedItems"]
    assert [i["type"] for i in items] == ["Create"] * 3
    newest_first = sorted(posted, key=lambda m: (m.published_at, m.pk), reverse=True)
    assert [i["object"]["id"] for i in items] == [
        f"{SITE}/@news/posts/{m.pk}" for m in newest_first
    ]
    assert items[0]["id"] == items[0]["object"]["id"] + "/activity"  # stable ids
    assert "@context" not in items[0]
    # A page past the end is the last page, not an error.
    assert client.get("/@news/outbox", {"page": 99}).status_code == 200


def test_followers_and_following_publish_counts_only(client, news, servers, admin_user):
    server = servers("social.example")
    for name in ("alice", "bob"):
        follow(client, server.user(name))
    fediverse.update_actor(news, by=admin_user, manually_approves_followers=True)
    follow(client, server.user("carol"))  # pending: not counted
    data = client.get("/@news/followers", HTTP_ACCEPT=AS_JSON).json()
    assert data["type"] == "OrderedCollection"
    assert data["totalItems"] == 2
    assert set(data) == {"@context", "id", "type", "totalItems"}  # nobody's name
    assert server.users["alice"].id not in json.dumps(data)
    following = client.get("/@news/following", HTTP_ACCEPT=AS_JSON).json()
    assert following["totalItems"] == 0 and "orderedItems" not in following


# Notes and articles -------------------------------------------------------------------------


def test_a_note_url_answers_servers_with_the_note_and_people_with_the_page(
    client, news, make_message, communicator, editor
):
    message = publish(make_message, communicator, editor, body="Let op #fietsdiefstal")
    url = f"/@news/posts/{message.pk}"
    note = client.get(url, HTTP_ACCEPT=AS_JSON)
    assert note.status_code == 200 and note["Content-Type"] == AS_JSON
    data = note.json()
    assert data["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert data["id"] == f"{SITE}{url}"
    assert data["type"] == "Note"
    assert data["attributedTo"] == f"{SITE}/@news"
    assert data["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert data["url"] == message.permalink("nl")
    assert "summary" not in data  # on a Note a summary would read as a content warning
    assert data["contentMap"]["nl"] == data["content"]
    assert message.permalink("nl") in data["content"]
    assert data["tag"] == [
        {"type": "Hashtag", "href": f"{SITE}/@news?tag=fietsdiefstal", "name": "#fietsdiefstal"}
    ]
    page = client.get(url, HTTP_ACCEPT="text/html")
    assert page.status_code == 302
    assert page["Location"] == message.permalink_path()


def test_a_note_carries_every_language_version(client, news, communicator, editor):
    message, _ = actions.create_message(
        by=communicator,
        versions=[
            VersionInput("nl", "Fietsdiefstal", "Sluit je fiets op slot."),
            VersionInput("fr", "Vol de vélos", "Verrouillez votre vélo."),
        ],
        channels=["web", "fediverse"],
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    data = client.get(f"/@news/posts/{message.pk}", HTTP_ACCEPT=AS_JSON).json()
    assert set(data["contentMap"]) == {"nl", "fr"}
    assert "Verrouillez" in data["contentMap"]["fr"]
    assert message.permalink("fr") in data["contentMap"]["fr"]


def test_a_long_press_release_is_an_article_with_name_summary_and_languages(
    client, news, communicator, editor
):
    body = "Het onderzoek naar de inbraken in Noord is afgerond. " * 25
    assert len(body) >= 1000
    message, _ = actions.create_message(
        by=communicator,
        kind="news",  # "News / press release"
        versions=[
            VersionInput("nl", "Onderzoek afgerond", body, "Drie verdachten aangehouden."),
            VersionInput("en", "Investigation closed", body, "Three suspects arrested."),
        ],
        channels=["web", "fediverse"],
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    data = client.get(f"/@news/posts/{message.pk}", HTTP_ACCEPT=AS_JSON).json()
    assert data["type"] == "Article"
    assert data["name"] == "Onderzoek afgerond"
    assert data["nameMap"] == {"nl": "Onderzoek afgerond", "en": "Investigation closed"}
    assert data["summary"] == "Drie verdachten aangehouden."
    assert data["summaryMap"]["en"] == "Three suspects arrested."
    assert set(data["contentMap"]) == {"nl", "en"}
    assert "inbraken in Noord" in data["contentMap"]["nl"]


def test_a_short_message_or_another_kind_stays_a_note(
    client, news, make_message, communicator, editor
):
    short = publish(make_message, communicator, editor, body="Kort bericht.")
    long_traffic = publish(
        make_message, communicator, editor, kind="traffic", body="Afsluiting A7. " * 100
    )
    for message in (short, long_traffic):
        data = client.get(f"/@news/posts/{message.pk}", HTTP_ACCEPT=AS_JSON).json()
        assert data["type"] == "Note" and "name" not in data


def test_images_become_attachments_with_their_alt_text(
    client, news, make_message, communicator, editor
):
    message = make_message(communicator, channels=["web", "fediverse"])
    actions.add_image(message, by=communicator, upload=png(), alt_text="Een blauwe fiets")
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    data = client.get(f"/@news/posts/{message.pk}", HTTP_ACCEPT=AS_JSON).json()
    [image] = data["attachment"]
    assert image["type"] == "Image"
    assert image["name"] == "Een blauwe fiets"
    assert image["mediaType"].startswith("image/")
    assert image["url"].startswith(f"{SITE}/")
    assert image["width"] == 40 and image["height"] == 30


def test_a_retracted_message_leaves_a_tombstone(client, news, make_message, communicator, editor):
    message = publish(make_message, communicator, editor)
    actions.retract_message(message, by=editor, reason="Verkeerde informatie")
    response = client.get(f"/@news/posts/{message.pk}", HTTP_ACCEPT=AS_JSON)
    assert response.status_code == 410
    data = response.json()
    assert data["type"] == "Tombstone"
    assert data["id"] == f"{SITE}/@news/posts/{message.pk}"
    assert data["formerType"] == "Note"
    assert "deleted" in data
    assert "content" not in json.dumps(data)


def test_a_draft_or_a_message_not_posted_by_the_account_is_a_404(
    client, news, make_message, communicator, editor
):
    draft = make_message(communicator, channels=["web", "fediverse"])
    assert client.get(f"/@news/posts/{draft.pk}", HTTP_ACCEPT=AS_JSON).status_code == 404
    web_only = publish(make_message, communicator, editor, channels=["web"])
    assert client.get(f"/@news/posts/{web_only.pk}", HTTP_ACCEPT=AS_JSON).status_code == 404
    assert client.get("/@news/posts/999999", HTTP_ACCEPT=AS_JSON).status_code == 404


# Fan-out --------------------------------------------------------------------------------------


def test_a_correction_sends_an_update_and_a_retraction_a_delete_to_every_server(
    client, news, servers, make_message, communicator, editor
):
    one, two = servers("one.example"), servers("two.example")
    follow(client, one.user("alice"))
    follow(client, one.user("bob"))
    follow(client, two.user("carol", shared_inbox=False))
    message = publish(make_message, communicator, editor, body="Twee fietsen gestolen.")
    deliver()
    assert [len(s.of_type("Create")) for s in (one, two)] == [1, 1]
    assert two.of_type("Create")[0].inbox == two.users["carol"].inbox  # no shared inbox there

    correction = actions.propose_correction(
        message,
        by=communicator,
        note="Het waren er drie",
        versions=[VersionInput("nl", message.versions.get().title, "Drie fietsen gestolen.")],
    )
    actions.approve_correction(correction, by=editor)
    deliver()
    for server in (one, two):
        [update] = server.of_type("Update")
        assert update.verified
        assert update.activity["object"]["id"] == f"{SITE}/@news/posts/{message.pk}"
        assert "Drie fietsen" in update.activity["object"]["content"]
        assert "updated" in update.activity["object"]
        assert update.activity["id"].startswith(f"{SITE}/@news/posts/{message.pk}/updates/")
    update_delivery = Delivery.objects.get(message=message, operation="update")
    assert update_delivery.state == "sent"

    actions.retract_message(message, by=editor, reason="Onjuist")
    deliver()
    for server in (one, two):
        [delete] = server.of_type("Delete")
        assert delete.verified
        assert delete.activity["id"] == f"{SITE}/@news/posts/{message.pk}/delete"
        assert delete.activity["object"] == {
            "id": f"{SITE}/@news/posts/{message.pk}",
            "type": "Tombstone",
        }
    assert Delivery.objects.get(message=message, operation="delete").state == "sent"


def test_a_server_failing_five_rounds_is_paused_alone(
    client, news, servers, make_message, communicator, editor, settings
):
    settings.COPPS_AP_SERVER_FAILURE_THRESHOLD = 5
    up, down = servers("up.example"), servers("down.example")
    down.status = 500
    follow(client, up.user("alice"))
    follow(client, down.user("bob"))
    publish(make_message, communicator, editor)
    deliver()
    for _ in range(4):
        next_round()
    assert len(down.received) == 5
    server = Server.objects.get(domain="down.example")
    assert server.consecutive_failures == 5
    assert server.paused_until > timezone.now()
    assert len(up.of_type("Create")) == 1
    assert Server.objects.get(domain="up.example").paused_until is None

    next_round()
    assert len(down.received) == 5  # paused: not called
    copy = Recipient.objects.get(inbox="https://down.example/inbox")
    assert copy.state == "pending" and "paused" in copy.last_error
    assert copy.attempts == 6

    publish(make_message, communicator, editor, title="Tweede bericht")
    next_round()
    assert len(up.of_type("Create")) == 2  # the other server still receives
    assert len(down.received) == 5

    # Any signed request from the paused server shows it is back: it is called again.
    down.status = 202
    like = {
        "id": f"{down.users['bob'].id}#likes/1",
        "type": "Like",
        "actor": down.users["bob"].id,
        "object": "https://down.example/x",
    }
    assert signed_post(client, "/inbox", like, down.users["bob"]).status_code == 202
    next_round()
    assert len(down.of_type("Create")) == 7  # the 5 failed tries, then both posts


def test_a_server_dead_for_the_configured_days_is_not_called(
    client, news, servers, make_message, communicator, editor, settings
):
    settings.COPPS_AP_DEAD_SERVER_DAYS = 7
    up, dead = servers("up.example"), servers("dead.example")
    follow(client, up.user("alice"))
    follow(client, dead.user("bob"))
    Server.objects.create(
        domain="dead.example", consecutive_failures=40, failing_since=later(days=-8)
    )
    message = publish(make_message, communicator, editor)
    deliver()
    assert dead.received == []
    copy = Recipient.objects.get(inbox="https://dead.example/inbox")
    assert copy.state == "failed" and "7 days" in copy.last_error
    assert len(up.of_type("Create")) == 1
    delivery = Delivery.objects.get(message=message, channel=news.channel)
    assert delivery.state == "sent"  # one copy got through
    assert (delivery.recipients_sent, delivery.recipients_failed) == (1, 1)


@pytest.mark.parametrize("status", [410, 403, 400])
def test_an_inbox_refusing_a_copy_fails_that_copy_for_good(
    client, news, servers, make_message, communicator, editor, status
):
    gone, fine = servers("gone.example"), servers("fine.example")
    follow(client, gone.user("alice"))
    follow(client, fine.user("bob"))
    gone.status = status
    publish(make_message, communicator, editor)
    deliver()
    next_round()
    assert len(gone.received) == 1  # not retried
    copy = Recipient.objects.get(inbox="https://gone.example/inbox")
    assert copy.state == "failed" and f"HTTP {status}" in copy.last_error
    assert Recipient.objects.get(inbox="https://fine.example/inbox").state == "sent"
    # A refusal is an answer: the server is not paused, and our channel is not switched off.
    assert not Server.objects.filter(domain="gone.example", paused_until__isnull=False).exists()
    news.channel.refresh_from_db()
    assert news.channel.enabled and news.channel.status != "disabled"


def test_a_suspended_server_gets_no_copy(
    client, news, servers, make_message, communicator, editor, admin_user
):
    blocked, fine = servers("blocked.example"), servers("fine.example")
    follow(client, blocked.user("alice"))
    follow(client, fine.user("bob"))
    fediverse.block_domain(by=admin_user, domain="blocked.example")
    publish(make_message, communicator, editor)
    deliver()
    assert blocked.received == []
    assert len(fine.received) == 1


# Activities that are not posts ---------------------------------------------------------------


def test_an_accept_is_retried_with_backoff_and_given_up_after_the_configured_attempts(
    client, news, servers, settings
):
    settings.COPPS_AP_DELIVERY_ATTEMPTS = 3
    flaky = servers("flaky.example")
    flaky.status = 503
    follow(client, flaky.user("alice"))
    row = Outgoing.objects.get()
    waits = []
    for _ in range(3):
        before = timezone.now()
        outgoing.send_due(now=later(days=1))
        row.refresh_from_db()
        if row.next_attempt_at:
            waits.append((row.next_attempt_at - before).total_seconds())
    assert len(flaky.received) == 3
    assert row.state == OutgoingState.FAILED and row.attempts == 3
    assert "HTTP 503" in row.last_error
    assert waits[0] == pytest.approx(30, abs=5) and waits[1] == pytest.approx(60, abs=5)
    outgoing.send_due(now=later(days=2))
    assert len(flaky.received) == 3  # given up: never again


def test_an_accept_refused_with_410_is_not_retried(client, news, servers):
    gone = servers("gone.example")
    gone.status = 410
    follow(client, gone.user("alice"))
    outgoing.send_due()
    outgoing.send_due(now=later(days=1))
    assert len(gone.received) == 1
    assert Outgoing.objects.get().state == OutgoingState.FAILED


def test_a_queued_accept_is_not_sent_once_its_server_is_suspended(
    client, news, servers, admin_user
):
    social = servers("social.example")
    follow(client, social.user("alice"))
    fediverse.block_domain(by=admin_user, domain="social.example")
    outgoing.send_due()
    assert social.received == []
    assert Outgoing.objects.get().state == OutgoingState.FAILED


def test_a_profile_change_is_sent_to_every_follower_server_once(client, news, servers, admin_user):
    one, two = servers("one.example"), servers("two.example")
    follow(client, one.user("alice"))
    follow(client, one.user("bob"))
    follow(client, two.user("carol"))
    outgoing.send_due()
    fediverse.update_actor(news, by=admin_user, name="Politie nieuws")
    assert outgoing.send_due() == 2  # one per shared inbox
    for server in (one, two):
        [update] = server.of_type("Update")
        assert update.verified and update.activity["object"]["name"] == "Politie nieuws"


def test_retention_deletes_old_seen_ids_and_every_old_item_moderated_or_not(
    client, news, servers, admin_user, settings
):
    settings.COPPS_AP_SEEN_DAYS = 14
    settings.COPPS_AP_ITEM_RETENTION_DAYS = 180
    social = servers("social.example")
    alice = social.user("alice")
    follow(client, alice)
    remote = RemoteActor.objects.get()
    SeenActivity.objects.create(activity_id="https://social.example/old", at=later(days=-15))
    SeenActivity.objects.create(activity_id="https://social.example/new", at=later(days=-13))

    def item(n: int, days: int, state: str) -> InboxItem:
        return InboxItem.objects.create(
            object_id=f"https://social.example/notes/{n}",
            kind=ItemKind.MENTION,
            actor=news,
            remote=remote,
            received_at=later(days=-days),
            state=state,
        )

    old_done, old_new, recent_done = (
        item(1, 200, "approved"),
        item(2, 200, "new"),
        item(3, 10, "rejected"),
    )
    outgoing.send_due()
    Outgoing.objects.update(created_at=later(days=-8))
    jobs.retention()
    assert set(SeenActivity.objects.values_list("activity_id", flat=True)) >= {
        "https://social.example/new"
    }
    assert not SeenActivity.objects.filter(activity_id="https://social.example/old").exists()
    # Half a year unmoderated is no reason to keep a citizen's words either.
    assert set(InboxItem.objects.values_list("pk", flat=True)) == {recent_done.pk}
    assert not InboxItem.objects.filter(pk__in=[old_done.pk, old_new.pk]).exists()
    assert not Outgoing.objects.exists()  # sent a week ago


# Who receives what ----------------------------------------------------------------------------


def test_an_area_account_posts_only_its_areas_messages(
    client, news, servers, admin_user, area, other_area, make_message, communicator, editor
):
    noord = fediverse.create_actor(
        by=admin_user, username="noord", kind="area", name="Politie Noord", area=area
    )
    social = servers("social.example")
    follow(client, social.user("alice"), target="noord")
    ours = publish(make_message, communicator, editor, area=area, title="In Noord")
    theirs = publish(make_message, communicator, editor, area=other_area, title="In Zuid")
    general = publish(make_message, communicator, editor, title="Overal")
    deliver()
    assert set(
        Delivery.objects.filter(channel=noord.channel).values_list("message_id", flat=True)
    ) == {ours.pk}
    assert set(
        Delivery.objects.filter(channel=news.channel).values_list("message_id", flat=True)
    ) == {ours.pk, theirs.pk, general.pk}
    [create] = social.of_type("Create")
    assert create.activity["actor"] == f"{SITE}/@noord"
    assert create.activity["object"]["id"] == f"{SITE}/@noord/posts/{ours.pk}"
    assert client.get(f"/@noord/posts/{theirs.pk}", HTTP_ACCEPT=AS_JSON).status_code == 404


def test_an_officer_account_posts_only_the_officers_own_messages(
    client, admin_user, make_message, communicator, editor, make_user
):
    officer = fediverse.create_actor(
        by=admin_user, username="agent", kind="officer", name="Agent", officer=communicator
    )
    someone = make_user("communicator", "someone")
    own = publish(make_message, communicator, editor, title="Van mij")
    other = publish(make_message, someone, editor, title="Van een ander")
    posted = set(
        Delivery.objects.filter(channel=officer.channel).values_list("message_id", flat=True)
    )
    assert posted == {own.pk}
    assert other.pk not in posted


def test_an_account_approving_by_hand_keeps_followers_pending_until_approved(
    client, news, servers, admin_user
):
    fediverse.update_actor(news, by=admin_user, manually_approves_followers=True)
    social = servers("social.example")
    alice, bob = social.user("alice"), social.user("bob")
    follow(client, alice)
    follow(client, bob)
    assert set(Follower.objects.values_list("state", flat=True)) == {FollowState.PENDING}
    outgoing.send_due()
    assert social.of_type("Accept") == []
    assert client.get("/@news/followers", HTTP_ACCEPT=AS_JSON).json()["totalItems"] == 0

    fediverse.approve_follower(Follower.objects.get(remote__uri=alice.id), by=admin_user)
    fediverse.reject_follower(Follower.objects.get(remote__uri=bob.id), by=admin_user)
    outgoing.send_due()
    [accept] = social.of_type("Accept")
    [reject] = social.of_type("Reject")
    assert accept.verified and accept.inbox == alice.inbox
    assert accept.activity["object"]["id"] == f"{alice.id}#follows/1"
    assert reject.verified and reject.inbox == bob.inbox
    assert list(Follower.objects.values_list("state", flat=True)) == [FollowState.ACCEPTED]
    assert client.get("/@news/followers", HTTP_ACCEPT=AS_JSON).json()["totalItems"] == 1


@pytest.mark.parametrize(
    "accept",
    [
        'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/activity+json",
        "application/json",
        "text/html;q=0.1, application/activity+json",
    ],
)
def test_servers_get_json_whichever_way_they_ask(
    client, news, make_message, communicator, editor, accept
):
    message = publish(make_message, communicator, editor)
    for url in ("/@news", f"/@news/posts/{message.pk}"):
        response = client.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Content-Type"] == AS_JSON
        assert "Accept" in response["Vary"]


@pytest.mark.parametrize("accept", ["text/html", "*/*", ""])
def test_browsers_and_undecided_clients_get_the_page(
    client, news, make_message, communicator, editor, accept
):
    message = publish(make_message, communicator, editor)
    assert client.get("/@news", HTTP_ACCEPT=accept)["Content-Type"].startswith("text/html")
    assert client.get(f"/@news/posts/{message.pk}", HTTP_ACCEPT=accept).status_code == 302
