"""The fediverse console (/console/fediverse/): accounts, followers and following, where a post
went per server, blocked servers, moderation of replies and reports.

Access checklist per view (ARCHITECTURE.md §6), through the real endpoints: anonymous -> login,
a role without the capability -> 403, unknown objects -> 404, wrong method -> 405, bad input ->
422 with the form, stale decisions -> 409; every write is an audited action; every form carries
a CSRF token and a POST without one is refused. Remote servers are in-process fakes
(``tests.support_fediverse.FakeServer``) behind copps' one HTTP entry point.
"""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from copps.accounts import roles
from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.channels import deliveries
from copps.federation import actions as fediverse
from copps.federation.models import (
    Actor,
    DomainBlock,
    Follower,
    Following,
    FollowState,
    InboxItem,
    Outgoing,
    Reaction,
    Rejection,
    RemoteActor,
    Report,
    Server,
)
from copps.newsroom import actions as newsroom
from tests.support_fediverse import FakeServer

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
OVERVIEW = reverse("fediverse:overview")


@pytest.fixture(autouse=True)
def _site(settings, tmp_path):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


@pytest.fixture
def analyst(make_user):
    """Sees messages (MESSAGE_VIEW), decides nothing."""
    return make_user(Role.ANALYST, "erik")


@pytest.fixture
def outsider(make_user, monkeypatch):
    """Staff who may enter the console but may not see messages."""
    user = make_user(Role.INVESTIGATOR, "ivo")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.INVESTIGATOR, frozenset({roles.VIEW_CONSOLE}))
    return user


@pytest.fixture
def news(admin_user):
    return fediverse.create_actor(by=admin_user, username="news", kind="force", name="Police news")


def remote_actor(domain: str, username: str, *, shared: bool = True) -> RemoteActor:
    uri = f"https://{domain}/users/{username}"
    return RemoteActor.objects.create(
        uri=uri,
        domain=domain,
        inbox=uri + "/inbox",
        shared_inbox=f"https://{domain}/inbox" if shared else "",
        username=username,
        name=username.title(),
        url=f"https://{domain}/@{username}",
        kind="Person",
    )


def add_follower(actor, domain, username, state=FollowState.ACCEPTED) -> Follower:
    remote = remote_actor(domain, username)
    return Follower.objects.create(
        actor=actor,
        remote=remote,
        state=state,
        activity_id=f"{remote.uri}#follows/1",
        accepted_at=timezone.now() if state == FollowState.ACCEPTED else None,
    )


@pytest.fixture
def pending(news):
    return add_follower(news, "social.example", "pat", FollowState.PENDING)


@pytest.fixture
def accepted(news):
    return add_follower(news, "social.example", "alice")


@pytest.fixture
def item(news, published_message):
    remote = remote_actor("social.example", "bea")
    return InboxItem.objects.create(
        object_id="https://social.example/users/bea/statuses/1",
        kind="reply",
        actor=news,
        remote=remote,
        message=published_message,
        content_html="<p>Thank you, <strong>officers</strong>!</p>",
        url="https://social.example/@bea/1",
    )


@pytest.fixture
def report(news):
    return Report.objects.create(
        activity_id="https://mod.example/reports/1",
        remote=remote_actor("mod.example", "mod"),
        actor=news,
        content="Looks like spam <script>",
        objects_reported=[f"{SITE}/@news"],
    )


@pytest.fixture
def block(admin_user):
    return fediverse.block_domain(by=admin_user, domain="spam.example", comment="Spam")


@pytest.fixture
def paused_server():
    return Server.objects.create(
        domain="down.example",
        consecutive_failures=7,
        paused_until=timezone.now() + timedelta(hours=1),
        failing_since=timezone.now() - timedelta(hours=3),
        last_error="HTTP 503",
    )


def audit(action):
    return list(AuditRecord.objects.filter(action=action).order_by("seq"))


def png(size=(800, 600), colour=(30, 60, 120)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def actor_form(**overrides):
    data = {
        "username": "noord",
        "kind": "force",
        "name": "Politie Noord",
        "summary": "News from the north.",
        "links": "Website https://police.example\nContact | /contact",
        "enabled": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# Access checklist ------------------------------------------------------------------------------


def view_pages(news, message):
    """Pages every role with MESSAGE_VIEW may see."""
    return [
        OVERVIEW,
        reverse("fediverse:followers", args=[news.username]),
        reverse("fediverse:message-deliveries", args=[message.pk]),
        reverse("fediverse:blocks"),
        reverse("fediverse:moderation"),
        reverse("fediverse:reports"),
    ]


def manage_pages(news):
    return [
        reverse("fediverse:actor-create"),
        reverse("fediverse:actor-edit", args=[news.username]),
    ]


def manage_posts(news, block, server):
    """Writes that need CHANNELS_MANAGE."""
    return [
        reverse("fediverse:actor-create"),
        reverse("fediverse:actor-edit", args=[news.username]),
        reverse("fediverse:follow", args=[news.username]),
        reverse("fediverse:block-add"),
        reverse("fediverse:block-import"),
        reverse("fediverse:block-remove", args=[block.pk]),
        reverse("fediverse:server-reset", args=[server.pk]),
    ]


def review_posts(news, pending, accepted, item, report):
    """Writes that need MESSAGE_REVIEW."""
    return [
        reverse("fediverse:follower-decide", args=[news.username, pending.pk, "approve"]),
        reverse("fediverse:follower-decide", args=[news.username, pending.pk, "reject"]),
        reverse("fediverse:follower-decide", args=[news.username, accepted.pk, "remove"]),
        reverse("fediverse:item-decide", args=[item.pk, "approve"]),
        reverse("fediverse:item-decide", args=[item.pk, "reject"]),
        reverse("fediverse:report-resolve", args=[report.pk]),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(
    client, news, published_message, block, paused_server, pending, accepted, item, report
):
    urls = [
        *view_pages(news, published_message),
        *manage_pages(news),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url in [
        *manage_posts(news, block, paused_server),
        *review_posts(news, pending, accepted, item, report),
    ]:
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_staff_who_may_not_see_messages_get_403_everywhere(
    login, outsider, news, published_message, block, paused_server, pending, accepted, item, report
):
    client = login(outsider)
    for url in [*view_pages(news, published_message), *manage_pages(news)]:
        assert client.get(url).status_code == 403, url
    for url in [
        *manage_posts(news, block, paused_server),
        *review_posts(news, pending, accepted, item, report),
    ]:
        assert client.post(url).status_code == 403, url


@pytest.mark.parametrize("role", Role.values)
def test_every_staff_role_with_message_view_sees_the_fediverse_pages(
    role, make_user, login, news, published_message, item, report
):
    client = login(make_user(role))
    for url in view_pages(news, published_message):
        response = client.get(url)
        assert response.status_code == 200, (role, url)
    manage = [client.get(url).status_code for url in manage_pages(news)]
    assert manage == ([200, 200] if role == Role.ADMIN else [403, 403]), role


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMIN])
def test_only_administrators_manage_accounts_blocks_following_and_servers(
    role, make_user, login, news, block, paused_server
):
    client = login(make_user(role))
    for url in manage_posts(news, block, paused_server):
        assert client.post(url, actor_form()).status_code == 403, (role, url)
    assert DomainBlock.objects.count() == 1
    assert Actor.objects.count() == 1
    assert Server.objects.get().consecutive_failures == 7
    assert not audit("fediverse.domain_unblock") and not audit("fediverse.server_reset")


@pytest.mark.parametrize("role", [r for r in Role.values if r not in (Role.EDITOR, Role.ADMIN)])
def test_only_editors_and_administrators_make_moderation_decisions(
    role, make_user, login, news, pending, accepted, item, report
):
    client = login(make_user(role))
    for url in review_posts(news, pending, accepted, item, report):
        response = client.post(url, {"state": "new", "reason": "x", "resolution": "x"})
        assert response.status_code == 403, (role, url)
    assert Follower.objects.filter(state=FollowState.PENDING).count() == 1
    assert Follower.objects.count() == 2
    item.refresh_from_db()
    report.refresh_from_db()
    assert item.state == "new" and report.state == "open"


def test_pages_show_decision_buttons_only_to_those_who_may_decide(
    login, analyst, editor, news, pending, item, report
):
    client = login(analyst)
    for url in (
        reverse("fediverse:followers", args=[news.username]),
        reverse("fediverse:moderation"),
        reverse("fediverse:reports"),
        reverse("fediverse:blocks"),
    ):
        assert b'method="post"' not in client.get(url).content.split(b"<main", 1)[1], url
    client = login(editor)
    page = client.get(reverse("fediverse:followers", args=[news.username])).content.decode()
    assert reverse("fediverse:follower-decide", args=[news.username, pending.pk, "approve"]) in page
    follow = reverse("fediverse:follow", args=[news.username])
    assert f'action="{follow}"' not in page  # administrators only


def test_unknown_objects_answer_404(
    login, admin_user, news, pending, item, report, paused_server, block
):
    client = login(admin_user)
    other = fediverse.create_actor(by=admin_user, username="noord", kind="force", name="Noord")
    for url in (
        reverse("fediverse:actor-edit", args=["nobody"]),
        reverse("fediverse:followers", args=["nobody"]),
        reverse("fediverse:message-deliveries", args=[999999]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        # a follower of another account
        reverse("fediverse:follower-decide", args=[other.username, pending.pk, "approve"]),
        reverse("fediverse:follower-decide", args=[news.username, 999999, "approve"]),
        reverse("fediverse:follower-decide", args=[news.username, pending.pk, "promote"]),
        reverse("fediverse:unfollow", args=[news.username, 999999]),
        reverse("fediverse:follow", args=["nobody"]),
        reverse("fediverse:item-decide", args=[999999, "approve"]),
        reverse("fediverse:item-decide", args=[item.pk, "delete"]),
        reverse("fediverse:report-resolve", args=[999999]),
        reverse("fediverse:block-remove", args=[999999]),
        reverse("fediverse:server-reset", args=[999999]),
    ):
        assert client.post(url, {"state": "new", "reason": "r"}).status_code == 404, url
    assert Follower.objects.get(pk=pending.pk).state == FollowState.PENDING


def test_wrong_methods_answer_405(
    login,
    admin_user,
    news,
    published_message,
    pending,
    accepted,
    item,
    report,
    block,
    paused_server,
):
    client = login(admin_user)
    for url in view_pages(news, published_message):
        assert client.post(url).status_code == 405, url
    for url in [
        *manage_posts(news, block, paused_server)[2:],
        *review_posts(news, pending, accepted, item, report),
    ]:
        assert client.get(url).status_code == 405, url
    assert client.put(reverse("fediverse:actor-create")).status_code == 405


def test_every_form_carries_a_csrf_token_and_posts_without_one_are_refused(
    admin_user, news, published_message, pending, accepted, item, report, block, paused_server
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    pages = [*view_pages(news, published_message), *manage_pages(news)]
    forms_seen = 0
    for url in pages:
        html = client.get(url).content.decode()
        main = html.split("<main", 1)[1]
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", main, re.S)
        forms_seen += len(forms)
        for form in forms:
            assert 'name="csrfmiddlewaretoken"' in form, url
    assert forms_seen >= 10
    for url in [
        *manage_posts(news, block, paused_server),
        *review_posts(news, pending, accepted, item, report),
    ]:
        assert client.post(url, {"state": "new"}).status_code == 403, url
    assert DomainBlock.objects.filter(pk=block.pk).exists()
    assert Follower.objects.filter(pk=pending.pk, state=FollowState.PENDING).exists()


def test_the_navigation_links_to_the_fediverse_console_for_staff(login, communicator, outsider):
    client = login(communicator)
    nav = client.get(reverse("console:home")).content.decode().split("console-nav", 1)[1]
    assert f'href="{OVERVIEW}"' in nav.split("</nav>", 1)[0]
    client = login(outsider)
    assert f'href="{OVERVIEW}"' not in client.get(reverse("console:home")).content.decode()


# Overview ---------------------------------------------------------------------------------------


def test_the_overview_counts_followers_posts_and_reactions_per_account(
    login, admin_user, news, pending, accepted, published_message
):
    add_follower(news, "other.example", "carl")
    for n, kind in enumerate(["like", "like", "announce"]):
        Reaction.objects.create(
            activity_id=f"https://social.example/r/{n}",
            kind=kind,
            message=published_message,
            actor=news,
            remote_hash=f"h{n}",
            domain="social.example",
        )
    page = login(admin_user).get(OVERVIEW)
    assert page.status_code == 200
    card = page.content.decode().split('id="actor-news"', 1)[1].split("</li>", 1)[0]
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>(?:<a[^>]*>)?(\d+)", card))
    assert figures == {
        "Followers": "2",
        "Waiting": "1",
        "Posts": "1",  # the published message went to the force's account
        "Favourites": "2",
        "Boosts": "1",
    }
    assert "@news@testserver" in card


def test_the_overview_charts_refusals_of_the_last_14_days_per_reason(login, analyst, news):
    today = timezone.localdate()
    Rejection.objects.create(day=today, reason="signature_bad_signature", count=7)
    Rejection.objects.create(day=today - timedelta(days=3), reason="blocked", count=3)
    Rejection.objects.create(day=today - timedelta(days=13), reason="blocked", count=2)
    Rejection.objects.create(day=today - timedelta(days=14), reason="too_large", count=50)
    html = login(analyst).get(OVERVIEW).content.decode()
    reasons = html.split('class="fv-reasons"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r"<td>([^<]+) <span[^>]*>\((\w+)\)</span></td><td class=\"fv-num\">(\d+)", reasons
    )
    assert rows == [
        ("Signature does not verify", "signature_bad_signature", "7"),
        ("Blocked server", "blocked", "5"),
    ]
    assert "too_large" not in html  # older than 14 days
    chart = html.split('<svg class="fv-days"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r"<rect ", chart)) == 3  # three days with refusals
    assert "12 refused" in html
    # The longest bar is the full width, the others in proportion.
    widths = re.findall(r'<rect width="(\d+)"', reasons)
    assert widths == ["200", "143"]


def test_the_overview_lists_troubled_servers_and_the_outgoing_queue(
    login, admin_user, news, paused_server
):
    Server.objects.create(domain="fine.example", last_success_at=timezone.now())
    Outgoing.objects.create(
        actor=news,
        inbox="https://slow.example/inbox",
        activity_id="https://x/1",
        activity={"type": "Accept"},
        state="failed",
        attempts=12,
        last_error="HTTP 500",
    )
    html = login(admin_user).get(OVERVIEW).content.decode()
    servers = html.split('id="servers-title"', 1)[1].split("</section>", 1)[0]
    assert "down.example" in servers and "Paused after failures" in servers
    assert "fine.example" not in servers
    assert reverse("fediverse:server-reset", args=[paused_server.pk]) in servers
    queue = html.split('id="queue-title"', 1)[1].split("</section>", 1)[0]
    assert "slow.example" in queue and "HTTP 500" in queue and "Accept" in queue


def test_an_administrator_lets_a_paused_server_be_tried_again(login, admin_user, paused_server):
    client = login(admin_user)
    response = client.post(
        reverse("fediverse:server-reset", args=[paused_server.pk]),
        {"next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == OVERVIEW
    paused_server.refresh_from_db()
    assert paused_server.consecutive_failures == 0 and paused_server.paused_until is None
    [record] = audit("fediverse.server_reset")
    assert record.actor == admin_user.username and record.data["domain"] == "down.example"


# Accounts ---------------------------------------------------------------------------------------


def test_an_administrator_creates_an_account_with_avatar_and_links(login, admin_user):
    client = login(admin_user)
    data = actor_form()
    data["avatar"] = SimpleUploadedFile("me.png", png((900, 900)), content_type="image/png")
    response = client.post(reverse("fediverse:actor-create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    actor = Actor.objects.get(username="noord")
    assert actor.name == "Politie Noord" and actor.enabled and actor.channel is not None
    assert actor.links == [
        {"name": "Website", "url": "https://police.example"},
        {"name": "Contact", "url": "/contact"},
    ]
    with Image.open(actor.avatar.path) as stored:
        assert max(stored.size) == 400  # scaled to what servers show
    [record] = audit("fediverse.actor_create")
    assert record.actor == admin_user.username and record.data == {"username": "noord"}


def test_an_account_created_switched_off_is_disabled_and_audited(login, admin_user):
    client = login(admin_user)
    response = client.post(reverse("fediverse:actor-create"), actor_form(enabled=None))
    assert response.status_code == 302
    actor = Actor.objects.get(username="noord")
    assert not actor.enabled and not actor.channel.enabled
    assert len(audit("fediverse.actor_disable")) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"username": "News Desk"}, "username", "lower-case letters"),
        ({"username": "news"}, "username", "already an account"),
        ({"username": "new"}, "username", "reserved"),
        ({"kind": "area"}, "area", "needs its area"),
        ({"kind": "officer"}, "officer", "needs its officer"),
        ({"links": "https://no-name.example"}, "links", "Line 1"),
        ({"links": "Site javascript:alert(1)"}, "links", "Line 1"),
        ({"links": "\n".join(f"L{i} https://x.example/{i}" for i in range(5))}, "links", "At most"),
    ],
)
def test_a_wrong_account_form_is_shown_again_with_the_reason(
    login, admin_user, news, overrides, field, text
):
    client = login(admin_user)
    response = client.post(reverse("fediverse:actor-create"), actor_form(**overrides))
    assert response.status_code == 422
    assert text in str(response.context["form"].errors[field])
    assert Actor.objects.count() == 1
    assert not audit("fediverse.actor_create")[1:]


@pytest.mark.parametrize(
    ("upload", "text"),
    [
        (
            SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png"),
            "not an image",
        ),
        (
            SimpleUploadedFile("x.png", b"\0" * (2 * 1024 * 1024 + 1), content_type="image/png"),
            "larger than 2 MB",
        ),
    ],
)
def test_a_profile_image_must_be_a_small_enough_image(login, admin_user, upload, text):
    client = login(admin_user)
    data = actor_form()
    data["header"] = upload
    response = client.post(reverse("fediverse:actor-create"), data)
    assert response.status_code == 422
    assert text in str(response.context["form"].errors["header"])
    assert not Actor.objects.exists()


def test_editing_the_profile_sends_an_update_to_followers_and_is_audited(
    login, admin_user, news, accepted
):
    add_follower(news, "other.example", "carl")
    client = login(admin_user)
    url = reverse("fediverse:actor-edit", args=[news.username])
    form = client.get(url).context["form"]
    assert "username" not in form.fields  # part of every id: fixed once made
    data = actor_form(username=None, name="Police news (official)")
    response = client.post(url, data)
    assert response.status_code == 302
    news.refresh_from_db()
    assert news.name == "Police news (official)"
    updates = Outgoing.objects.filter(activity__type="Update")
    assert sorted(o.inbox for o in updates) == [
        "https://other.example/inbox",
        "https://social.example/inbox",
    ]
    [record] = audit("fediverse.actor_update")
    assert set(record.data["fields"]) == {"name", "summary", "links"}


def test_saving_an_unchanged_profile_sends_nothing(login, admin_user, news, accepted):
    client = login(admin_user)
    url = reverse("fediverse:actor-edit", args=[news.username])
    fediverse.update_actor(news, by=admin_user, summary="S", links=[])
    Outgoing.objects.all().delete()
    response = client.post(
        url, {"kind": "force", "name": news.name, "summary": "S", "links": "", "enabled": "on"}
    )
    assert response.status_code == 302
    assert not Outgoing.objects.exists()
    assert len(audit("fediverse.actor_update")) == 1  # only the one made above


def test_switching_an_account_off_in_the_form_disables_it(login, admin_user, news):
    client = login(admin_user)
    url = reverse("fediverse:actor-edit", args=[news.username])
    response = client.post(url, {"kind": "force", "name": news.name, "summary": "", "links": ""})
    assert response.status_code == 302
    news.refresh_from_db()
    assert not news.enabled
    assert len(audit("fediverse.actor_disable")) == 1
    assert not audit("fediverse.actor_update")


# Followers and following ----------------------------------------------------------------------


def test_the_followers_page_lists_followers_and_filters_by_state(
    login, analyst, news, pending, accepted
):
    client = login(analyst)
    url = reverse("fediverse:followers", args=[news.username])
    html = client.get(url).content.decode()
    assert "@alice@social.example" in html and "@pat@social.example" in html
    waiting = client.get(url, {"state": "pending"}).content.decode()
    assert "@pat@social.example" in waiting and "@alice@social.example" not in waiting


def test_an_editor_approves_a_follow_request_and_an_accept_goes_out(login, editor, news, pending):
    client = login(editor)
    url = reverse("fediverse:follower-decide", args=[news.username, pending.pk, "approve"])
    response = client.post(url)
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == FollowState.ACCEPTED
    [accept] = Outgoing.objects.filter(activity__type="Accept")
    assert accept.inbox == pending.remote.inbox
    [record] = audit("fediverse.follower_approve")
    assert record.actor == editor.username
    # Approving again: someone decided already.
    assert client.post(url).status_code == 409


def test_an_editor_refuses_a_request_and_removes_a_follower(login, editor, news, pending, accepted):
    client = login(editor)
    refuse = reverse("fediverse:follower-decide", args=[news.username, pending.pk, "reject"])
    remove = reverse("fediverse:follower-decide", args=[news.username, accepted.pk, "remove"])
    # "remove" is for followers, "reject" for requests: the other way round is a stale click.
    assert (
        client.post(
            reverse("fediverse:follower-decide", args=[news.username, pending.pk, "remove"])
        ).status_code
        == 409
    )
    assert client.post(refuse).status_code == 302
    assert client.post(remove).status_code == 302
    assert not Follower.objects.exists()
    assert Outgoing.objects.filter(activity__type="Reject").count() == 2
    records = audit("fediverse.follower_remove")
    assert [r.data["state"] for r in records] == ["pending", "accepted"]


@pytest.fixture
def social():
    server = FakeServer("social.example")
    yield server
    server.close()


def test_an_administrator_follows_a_remote_account_and_unfollows_it(
    login, admin_user, news, social
):
    # The fake server has no WebFinger: the account is named by its URL (the form takes both).
    politie = social.user("politie")
    client = login(admin_user)
    response = client.post(
        reverse("fediverse:follow", args=[news.username]), {"handle": politie.id}
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    following = Following.objects.get(actor=news)
    assert following.remote.handle == "@politie@social.example"
    assert Outgoing.objects.filter(activity__type="Follow").count() == 1
    assert len(audit("fediverse.follow")) == 1
    page = client.get(reverse("fediverse:followers", args=[news.username])).content.decode()
    assert "@politie@social.example" in page
    response = client.post(reverse("fediverse:unfollow", args=[news.username, following.pk]))
    assert response.status_code == 302
    assert not Following.objects.exists()
    assert Outgoing.objects.filter(activity__type="Undo").count() == 1
    assert len(audit("fediverse.unfollow")) == 1


@pytest.mark.parametrize("handle", ["@nobody@social.example", "not a handle", "@x@spam.example"])
def test_a_follow_the_remote_side_refuses_is_a_form_error(
    login, admin_user, news, social, block, handle
):
    client = login(admin_user)
    response = client.post(reverse("fediverse:follow", args=[news.username]), {"handle": handle})
    assert response.status_code == 422
    errors = str(response.context["follow_form"].errors["handle"])
    assert "could not be found or followed" in errors
    assert not Following.objects.exists() and not audit("fediverse.follow")


# Where a post went -----------------------------------------------------------------------------


def test_the_deliveries_page_groups_copies_by_server_with_health(
    login, analyst, news, make_message, communicator, editor, settings
):
    good = FakeServer("social.example")
    bad = FakeServer("broken.example", status=500)
    try:
        for name in ("alice", "bob"):
            add_follower(news, "social.example", name)
        add_follower(news, "broken.example", "carl")
        message = make_message(communicator, channels=["web", "fediverse"])
        newsroom.submit_message(message, by=communicator)
        newsroom.approve_message(message, by=editor)
        deliveries.deliver_due()
        deliveries.deliver_recipients()
    finally:
        good.close()
        bad.close()
    client = login(analyst)
    url = reverse("fediverse:message-deliveries", args=[message.pk])
    html = client.get(url).content.decode()
    section = html.split('class="card fv-delivery"', 1)[1].split("</section>", 1)[0]
    assert "2 servers" in section and "2 copies" in section
    # Only the server with an open copy is listed by default; the settled one is counted.
    assert "broken.example" in section and "HTTP 500" in section
    assert "<strong>social.example</strong>" not in section
    assert "1 server received every copy." in section
    every = client.get(url, {"all": "1"}).content.decode()
    assert "<strong>social.example</strong>" in every
    assert "Answering" in every  # social.example's health
    # The overview links the post to this page.
    assert url in client.get(OVERVIEW).content.decode()


def test_a_message_that_did_not_go_to_the_fediverse_says_so(login, analyst, published_message):
    html = (
        login(analyst)
        .get(reverse("fediverse:message-deliveries", args=[published_message.pk]))
        .content.decode()
    )
    assert "This message did not go to the fediverse." in html


# Blocks -----------------------------------------------------------------------------------------


def test_an_administrator_blocks_a_server_and_its_followers_go(login, admin_user, news):
    add_follower(news, "spam.example", "bot")
    add_follower(news, "sub.spam.example", "bot2")
    client = login(admin_user)
    response = client.post(
        reverse("fediverse:block-add"),
        {"domain": "https://SPAM.example/", "severity": "suspend", "public_comment": "Spam"},
    )
    assert response.status_code == 302
    block = DomainBlock.objects.get()
    assert block.domain == "spam.example" and block.public_comment == "Spam"
    assert not Follower.objects.exists()
    [record] = audit("fediverse.domain_block")
    assert record.data == {"domain": "spam.example", "severity": "suspend"}
    html = client.get(reverse("fediverse:blocks")).content.decode()
    assert "spam.example" in html and "Suspended" in html


@pytest.mark.parametrize("domain", ["not a domain", "exa***.org", "localhost", "a/b", ""])
def test_a_block_of_something_that_is_not_a_domain_is_refused(login, admin_user, domain):
    response = login(admin_user).post(
        reverse("fediverse:block-add"), {"domain": domain, "severity": "suspend"}
    )
    assert response.status_code == 422
    assert not DomainBlock.objects.exists() and not audit("fediverse.domain_block")


def test_an_international_domain_is_stored_as_its_ascii_form(login, admin_user):
    login(admin_user).post(
        reverse("fediverse:block-add"), {"domain": "bücher.example", "severity": "silence"}
    )
    assert DomainBlock.objects.get().domain == "xn--bcher-kva.example"


MASTODON_EXPORT = """#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate
spam.example,suspend,false,false,Spam,false
loud.example,silence,false,false,"Harassment, repeatedly",false
media.example,noop,true,false,Only media,false
"""


def test_a_mastodon_block_list_is_imported(login, admin_user):
    client = login(admin_user)
    response = client.post(reverse("fediverse:block-import"), {"text": MASTODON_EXPORT})
    assert response.status_code == 302
    blocks = {b.domain: (b.severity, b.public_comment) for b in DomainBlock.objects.all()}
    assert blocks == {
        "spam.example": ("suspend", "Spam"),
        "loud.example": ("silence", "Harassment, repeatedly"),
    }
    assert len(audit("fediverse.domain_block")) == 2


def test_a_plain_list_is_imported_from_a_file(login, admin_user):
    upload = SimpleUploadedFile(
        "blocklist.txt", b"\xef\xbb\xbf# our list\none.example\n\ntwo.example\n"
    )
    response = login(admin_user).post(reverse("fediverse:block-import"), {"file": upload})
    assert response.status_code == 302
    assert sorted(DomainBlock.objects.values_list("domain", flat=True)) == [
        "one.example",
        "two.example",
    ]


def test_a_list_with_a_wrong_line_imports_nothing(login, admin_user):
    response = login(admin_user).post(
        reverse("fediverse:block-import"), {"text": "good.example\nexa***.org\n"}
    )
    assert response.status_code == 422
    errors = " ".join(response.context["import_form"].non_field_errors())
    assert "Line 2" in errors and "Nothing was imported" in errors
    assert not DomainBlock.objects.exists()


def test_an_administrator_unblocks_a_server(login, admin_user, block):
    response = login(admin_user).post(reverse("fediverse:block-remove", args=[block.pk]))
    assert response.status_code == 302
    assert not DomainBlock.objects.exists()
    [record] = audit("fediverse.domain_unblock")
    assert record.data == {"domain": "spam.example"}


# Moderation -------------------------------------------------------------------------------------


def test_the_moderation_page_shows_sanitised_html_and_escapes_everything_else(
    login, communicator, news, item
):
    item.remote.name = "<b>Bea</b>"
    item.remote.save()
    item.summary = "<i>cw</i>"
    item.save()
    html = login(communicator).get(reverse("fediverse:moderation")).content.decode()
    assert "<p>Thank you, <strong>officers</strong>!</p>" in html  # the stored, sanitised HTML
    assert "&lt;b&gt;Bea&lt;/b&gt;" in html and "&lt;i&gt;cw&lt;/i&gt;" in html


def test_the_moderation_list_filters_by_state_and_kind_newest_first(login, analyst, news, item):
    remote = item.remote
    older = InboxItem.objects.create(
        object_id="https://social.example/users/bea/statuses/0",
        kind="mention",
        actor=news,
        remote=remote,
        content_html="<p>older mention</p>",
        received_at=timezone.now() - timedelta(hours=1),
    )
    InboxItem.objects.create(
        object_id="https://social.example/users/bea/statuses/2",
        kind="reply",
        actor=news,
        remote=remote,
        content_html="<p>already approved</p>",
        state="approved",
    )
    client = login(analyst)
    url = reverse("fediverse:moderation")
    html = client.get(url).content.decode()
    assert html.index("Thank you") < html.index("older mention")
    assert "already approved" not in html
    mentions = client.get(url, {"kind": "mention"}).content.decode()
    assert "older mention" in mentions and "Thank you" not in mentions
    approved = client.get(url, {"state": "approved"}).content.decode()
    assert "already approved" in approved and "older mention" not in approved
    assert older.pk


def test_an_editor_approves_and_rejects_with_a_reason(login, editor, item):
    client = login(editor)
    approve = reverse("fediverse:item-decide", args=[item.pk, "approve"])
    response = client.post(approve + "?state=new&kind=reply", {"state": "new"})
    assert response.status_code == 302
    assert response["Location"] == reverse("fediverse:moderation") + "?state=new&kind=reply"
    item.refresh_from_db()
    assert item.state == "approved" and item.moderated_by == editor.username
    assert len(audit("fediverse.item_approve")) == 1
    reject = reverse("fediverse:item-decide", args=[item.pk, "reject"])
    response = client.post(reject, {"state": "approved", "reason": "Personal data"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == "rejected" and item.moderation_reason == "Personal data"
    [record] = audit("fediverse.item_reject")
    assert record.reason == "Personal data"


def test_a_rejection_needs_a_reason(login, editor, item):
    client = login(editor)
    response = client.post(
        reverse("fediverse:item-decide", args=[item.pk, "reject"]), {"state": "new"}
    )
    assert response.status_code == 422
    assert "Say why it is rejected" in response.content.decode()
    item.refresh_from_db()
    assert item.state == "new" and not audit("fediverse.item_reject")


def test_a_decision_on_an_item_someone_else_decided_is_refused(login, editor, second_editor, item):
    fediverse.moderate(item, by=second_editor, approve=False, reason="Spam")
    response = login(editor).post(
        reverse("fediverse:item-decide", args=[item.pk, "approve"]), {"state": "new"}
    )
    assert response.status_code == 409
    item.refresh_from_db()
    assert item.state == "rejected" and not audit("fediverse.item_approve")


def test_an_editor_resolves_a_report(login, editor, analyst, report):
    html = login(analyst).get(reverse("fediverse:reports")).content.decode()
    assert "Looks like spam &lt;script&gt;" in html and "@mod@mod.example" in html
    client = login(editor)
    url = reverse("fediverse:report-resolve", args=[report.pk])
    response = client.post(url, {"resolution": ""})
    assert response.status_code == 422
    response = client.post(url, {"resolution": "Checked: the post is a genuine appeal."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == "resolved" and report.resolved_by == editor.username
    [record] = audit("fediverse.report_resolve")
    assert record.reason == "Checked: the post is a genuine appeal."
    assert client.post(url, {"resolution": "again"}).status_code == 409


def test_a_new_avatar_replaces_the_old_file_and_remove_clears_it(
    login, admin_user, news, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    url = reverse("fediverse:actor-edit", args=[news.username])
    base = {"kind": "force", "name": news.name, "summary": "", "links": "", "enabled": "on"}
    first = SimpleUploadedFile("a.png", png((64, 64)), content_type="image/png")
    assert client.post(url, {**base, "avatar": first}).status_code == 302
    news.refresh_from_db()
    old_path = news.avatar.path
    second = SimpleUploadedFile("b.png", png((64, 64), (200, 0, 0)), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {**base, "avatar": second}).status_code == 302
    news.refresh_from_db()
    assert news.avatar.path != old_path
    # The old file goes once the new profile is stored.
    assert not os.path.exists(old_path) and os.path.exists(news.avatar.path)
    assert client.post(url, {**base, "avatar-clear": "on"}).status_code == 302
    news.refresh_from_db()
    assert not news.avatar
    fields = [r.data["fields"] for r in audit("fediverse.actor_update")]
    assert fields == [["avatar"], ["avatar"], ["avatar"]]


def test_an_officer_who_left_stays_on_the_account_until_someone_picks_another(
    login, admin_user, make_user
):
    officer = make_user(Role.OFFICER, "olaf")
    actor = fediverse.create_actor(
        by=admin_user, username="olaf", kind="officer", name="Wijkagent Olaf", officer=officer
    )
    officer.is_active = False
    officer.save()
    url = reverse("fediverse:actor-edit", args=[actor.username])
    data = {
        "kind": "officer",
        "name": "Wijkagent Olaf (away)",
        "officer": officer.pk,
        "enabled": "on",
    }
    response = login(admin_user).post(url, data)
    assert response.status_code == 302
    actor.refresh_from_db()
    assert actor.officer_id == officer.pk and actor.name == "Wijkagent Olaf (away)"
