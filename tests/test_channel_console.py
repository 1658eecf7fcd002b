"""The channel console: channel accounts, the deliveries panel of a message, resolving unknown
outcomes, the dashboard's "Needs attention" panel and the sandbox viewer.

Access checklist per view (ARCHITECTURE.md §6): works / outsider 404 / wrong method 405 /
read-only 403, through the real endpoints. Channels are sandbox webhooks (the reference adapter);
faults are injected at the one HTTP entry point with ``sandbox.inject``.
"""

import json

import pytest
from django.db import connection
from django.urls import reverse

from copps.accounts import roles
from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.channels import deliveries, sandbox
from copps.channels.adapters.webhook import WebhookAdapter
from copps.channels.models import Alert, Channel, ChannelStatus, Delivery, SandboxPost
from copps.newsroom import actions as newsroom

pytestmark = pytest.mark.django_db

SECRET = "hunter2-very-secret-signing-key"
LIST = reverse("channel_console:list")


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


@pytest.fixture
def analyst(make_user):
    """Read-only: sees messages, decides nothing."""
    return make_user(Role.ANALYST, "erik")


@pytest.fixture
def outsider(make_user, monkeypatch):
    """Staff who may enter the console but may not see messages."""
    user = make_user(Role.INVESTIGATOR, "ivo")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.INVESTIGATOR, frozenset({roles.VIEW_CONSOLE}))
    return user


@pytest.fixture
def hook(make_channel):
    return make_channel(
        "webhook",
        slug="hook-nl",
        config={"url": "https://hooks.example.org/nl"},
        secrets={"signing_secret": SECRET},
    )


@pytest.fixture
def live(make_message, communicator, editor, hook):
    message = make_message(communicator)
    newsroom.submit_message(message, by=communicator)
    newsroom.approve_message(message, by=editor)
    return message


@pytest.fixture
def unknown(live, monkeypatch):
    """A delivery whose request went out and got no answer, on a channel without idempotency."""
    monkeypatch.setattr(WebhookAdapter, "idempotent", False)
    sandbox.inject("webhook", "timeout")
    deliveries.deliver_due()
    d = live.deliveries.get()
    assert d.state == "unknown"
    return d


def create_form(**overrides):
    data = {
        "name": "Webhook Gent",
        "slug": "webhook-gent",
        "language": "nl",
        "sandbox": "on",
        "cfg_url": "https://hooks.example.org/copps",
        "secret_signing_secret": SECRET,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_form(channel, **overrides):
    data = {
        "name": channel.name,
        "language": channel.language,
        "sandbox": "on" if channel.sandbox else None,
        "cfg_url": channel.config.get("url", ""),
        "secret_signing_secret": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def audit(action):
    return AuditRecord.objects.filter(action=action).order_by("seq")


def raw_row(channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM channels_channel WHERE id = %s", [channel.pk])
        return repr(cursor.fetchone())


# Access checklist ------------------------------------------------------------------------------


def channel_pages(slug):
    return [
        ("get", reverse("channel_console:list")),
        ("get", reverse("channel_console:new")),
        ("get", reverse("channel_console:create", args=["webhook"])),
        ("get", reverse("channel_console:edit", args=[slug])),
        ("post", reverse("channel_console:test", args=[slug])),
        ("post", reverse("channel_console:enabled", args=[slug])),
        ("post", reverse("channel_console:resume", args=[slug])),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, hook):
    for method, url in channel_pages(hook.slug):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMIN])
def test_only_administrators_may_use_the_channel_pages(role, make_user, login, hook):
    client = login(make_user(role))
    for method, url in channel_pages(hook.slug):
        assert getattr(client, method)(url).status_code == 403, (role, url)
    alert = Alert.objects.create(channel=hook, text="x")
    ack = reverse("channel_console:alert-acknowledge", args=[alert.pk])
    assert client.post(ack).status_code == 403
    assert Channel.objects.get(pk=hook.pk).enabled and not Alert.objects.get().acknowledged_at


def test_administrators_see_the_channel_pages(login, admin_user, hook):
    client = login(admin_user)
    for url in (
        LIST,
        reverse("channel_console:new"),
        reverse("channel_console:edit", args=[hook.slug]),
    ):
        assert client.get(url).status_code == 200, url


def test_a_channel_or_kind_that_does_not_exist_is_404(login, admin_user):
    client = login(admin_user)
    for method, url in channel_pages("no-such-channel")[3:]:
        assert getattr(client, method)(url).status_code == 404, url
    assert client.get(reverse("channel_console:create", args=["telex"])).status_code == 404
    ack = reverse("channel_console:alert-acknowledge", args=[999])
    assert client.post(ack).status_code == 404


def test_wrong_methods_are_405(login, admin_user, hook, unknown):
    client = login(admin_user)
    assert client.post(LIST).status_code == 405
    assert client.post(reverse("channel_console:new")).status_code == 405
    for name in ("test", "enabled", "resume"):
        assert client.get(reverse(f"channel_console:{name}", args=[hook.slug])).status_code == 405
    alert = Alert.objects.create(channel=hook, text="x")
    assert (
        client.get(reverse("channel_console:alert-acknowledge", args=[alert.pk])).status_code == 405
    )
    fragment = reverse("channel_console:message-deliveries", args=[unknown.message_id])
    assert client.post(fragment).status_code == 405
    resolve = reverse("channel_console:delivery-resolve", args=[unknown.pk, "mark-sent"])
    assert client.get(resolve).status_code == 405
    assert client.put(reverse("channel_console:sandbox", args=[hook.slug])).status_code == 405


def test_the_channel_list_shows_kind_language_sandbox_status_and_alerts(
    login, admin_user, hook, make_channel
):
    paused = make_channel("webhook", slug="paused-hook", language="fr")
    Channel.objects.filter(pk=paused.pk).update(
        status=ChannelStatus.PAUSED, status_reason="HTTP 503 five times"
    )
    Alert.objects.create(channel=paused, text="paused-hook: paused after 5 failures")
    page = login(admin_user).get(LIST).content.decode()
    assert "Signed webhook" in page and "Sandbox" in page and "Active" in page
    assert "Paused" in page and "HTTP 503 five times" in page
    assert "paused after 5 failures" in page and "Acknowledge" in page
    assert "Test and resume" in page  # only for the stopped one
    assert page.count("Test and resume") == 1


# Creating and editing a channel ---------------------------------------------------------------


def test_it_creates_a_sandbox_webhook_channel_through_the_form(login, admin_user):
    client = login(admin_user)
    response = client.post(reverse("channel_console:create", args=["webhook"]), create_form())
    assert response.status_code == 302 and response["Location"] == LIST
    channel = Channel.objects.get(slug="webhook-gent")
    assert (channel.kind, channel.language, channel.sandbox) == ("webhook", "nl", True)
    assert channel.config == {"url": "https://hooks.example.org/copps"}
    assert channel.get_secrets() == {"signing_secret": SECRET}
    # Encrypted at rest: the secret appears nowhere in the stored row.
    assert SECRET not in raw_row(channel) and channel.secrets_encrypted
    assert channel.tested_at and channel.test_result.startswith("ok: ")
    (record,) = audit("channel.create")
    assert record.actor == admin_user.username and record.data["secrets_set"] == ["signing_secret"]
    assert SECRET not in json.dumps(record.data)


def test_the_secret_is_never_shown_back(login, admin_user, hook):
    client = login(admin_user)
    page = client.get(reverse("channel_console:edit", args=[hook.slug])).content.decode()
    assert SECRET not in page
    assert "••••••••" + SECRET[-4:] in page  # the masked hint: last four characters only
    assert 'type="password"' in page and 'value="' + SECRET not in page
    assert SECRET not in client.get(LIST).content.decode()


def test_editing_without_a_secret_keeps_the_stored_one(login, admin_user, hook):
    client = login(admin_user)
    url = reverse("channel_console:edit", args=[hook.slug])
    response = client.post(url, edit_form(hook, name="Webhook renamed"))
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.name == "Webhook renamed" and hook.get_secrets() == {"signing_secret": SECRET}
    (record,) = audit("channel.update")
    assert record.data == {"changed": ["name"], "secrets_changed": []}


def test_a_new_secret_is_tested_stored_and_audited_by_name_only(login, admin_user, hook):
    new = "another-signing-secret-0123456789"
    response = login(admin_user).post(
        reverse("channel_console:edit", args=[hook.slug]),
        edit_form(hook, secret_signing_secret=new),
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.get_secrets() == {"signing_secret": new} and new not in raw_row(hook)
    (record,) = audit("channel.update")
    assert record.data["secrets_changed"] == ["signing_secret"]
    assert new not in json.dumps(record.data) and SECRET not in json.dumps(record.data)


def test_a_bad_configuration_gets_field_errors_and_nothing_is_saved(login, admin_user):
    client = login(admin_user)
    response = client.post(
        reverse("channel_console:create", args=["webhook"]),
        create_form(cfg_url="ftp://files.example.org", secret_signing_secret="short"),
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors["cfg_url"] == ["Enter an http or https URL."]
    assert not Channel.objects.exists() and not audit("channel.create").exists()
    response = client.post(
        reverse("channel_console:create", args=["webhook"]),
        create_form(cfg_url="https://ok.example.org", secret_signing_secret="short"),
    )
    assert response.context["form"].errors["secret_signing_secret"] == [
        "Use at least 16 characters."
    ]
    assert "short" not in response.content.decode().split("</h1>", 1)[1].split("errorlist")[0]


def test_missing_and_hostile_input_is_a_field_error_not_a_500(login, admin_user, hook):
    client = login(admin_user)
    url = reverse("channel_console:create", args=["webhook"])
    response = client.post(url, {"slug": "../../etc", "language": "xx", "audiences": ["nope"]})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {"name", "slug", "language", "audiences", "cfg_url", "secret_signing_secret"} <= set(
        errors
    )
    taken = client.post(url, create_form(slug=hook.slug))
    assert taken.status_code == 422 and "slug" in taken.context["form"].errors
    reserved = client.post(url, create_form(slug="new"))
    assert reserved.status_code == 422 and "slug" in reserved.context["form"].errors
    assert Channel.objects.count() == 1


def test_a_channel_whose_connection_test_fails_is_not_saved(login, admin_user):
    sandbox.inject("webhook", 401)
    response = login(admin_user).post(
        reverse("channel_console:create", args=["webhook"]), create_form()
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The connection test failed, so the channel was not saved" in page
    assert "HTTP 401" in page
    assert not Channel.objects.exists() and not audit("channel.create").exists()


def test_an_edit_whose_connection_test_fails_changes_nothing(login, admin_user, hook):
    sandbox.inject("webhook", 401)
    response = login(admin_user).post(
        reverse("channel_console:edit", args=[hook.slug]),
        edit_form(hook, name="Renamed", secret_signing_secret="a-new-but-revoked-secret"),
    )
    assert response.status_code == 422
    assert "the changes were not saved" in response.content.decode()
    hook.refresh_from_db()
    assert hook.name == "hook-nl"
    assert hook.get_secrets() == {"signing_secret": SECRET}
    assert not audit("channel.update").exists()


def test_the_test_button_stores_the_outcome(login, admin_user, hook):
    client = login(admin_user)
    url = reverse("channel_console:test", args=[hook.slug])
    assert client.post(url).status_code == 302
    hook.refresh_from_db()
    assert hook.tested_at and hook.test_result == "ok: https://webhook.sandbox.invalid/hook"
    sandbox.inject("webhook", 401)
    response = client.post(url, follow=True)
    hook.refresh_from_db()
    assert hook.test_result.startswith("error: ") and "HTTP 401" in hook.test_result
    assert (
        "Connection test of" in response.content.decode() and "failed" in response.content.decode()
    )
    assert [r.data["ok"] for r in audit("channel.test")] == [True, False]
    # A failing test reports; it does not switch the channel off by itself.
    assert hook.enabled and hook.status == ChannelStatus.ACTIVE


def test_switching_a_channel_off_and_on_is_audited(login, admin_user, hook):
    client = login(admin_user)
    url = reverse("channel_console:enabled", args=[hook.slug])
    assert client.post(url, {"enabled": "0"}).status_code == 302
    assert not Channel.objects.get(pk=hook.pk).enabled
    assert client.post(url, {"enabled": "1"}).status_code == 302
    assert Channel.objects.get(pk=hook.pk).enabled
    assert [r.action for r in AuditRecord.objects.filter(action__startswith="channel.")] == [
        "channel.switch_off",
        "channel.enable",
    ]
    assert client.post(url, {"enabled": "maybe"}).status_code == 400


def test_resuming_a_disabled_channel_needs_a_passing_test(login, admin_user, hook):
    deliveries.disable_channel(hook, reason="HTTP 401: revoked")
    client = login(admin_user)
    url = reverse("channel_console:resume", args=[hook.slug])
    sandbox.inject("webhook", 401)
    client.post(url)
    assert Channel.objects.get(pk=hook.pk).status == ChannelStatus.DISABLED
    client.post(url)
    hook.refresh_from_db()
    assert hook.status == ChannelStatus.ACTIVE and hook.status_reason == ""
    (record,) = audit("channel.resume")
    assert (record.actor, record.from_state, record.to_state) == ("dirk", "disabled", "active")


def test_administrators_acknowledge_alerts(login, admin_user, hook):
    alert = Alert.objects.create(channel=hook, text="hook: disabled: HTTP 401")
    client = login(admin_user)
    response = client.post(
        reverse("channel_console:alert-acknowledge", args=[alert.pk]),
        {"next": reverse("console:home")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("console:home")
    alert.refresh_from_db()
    assert alert.acknowledged_by == "dirk" and alert.acknowledged_at
    assert audit("alert.acknowledge").count() == 1
    evil = client.post(
        reverse("channel_console:alert-acknowledge", args=[alert.pk]),
        {"next": "https://evil.example/"},
    )
    assert evil["Location"] == LIST  # never an open redirect
    assert audit("alert.acknowledge").count() == 1  # acknowledged once


# The deliveries panel -----------------------------------------------------------------------


def fragment(client, message):
    return client.get(reverse("channel_console:message-deliveries", args=[message.pk]))


def test_the_message_page_shows_its_deliveries_with_state_text(login, communicator, live):
    client = login(communicator)
    page = client.get(reverse("console:message-detail", args=[live.pk])).content.decode()
    assert 'id="deliveries"' in page and "hook-nl" in page
    assert "Pending" in page and 'hx-trigger="every 3s"' in page
    deliveries.deliver_due()
    page = client.get(reverse("console:message-detail", args=[live.pk])).content.decode()
    assert "✓</span> Sent" in page and "hx-trigger" not in page.split('id="deliveries"')[1]


def test_the_fragment_polls_while_something_moves_and_stops_when_all_are_final(
    login, communicator, live
):
    client = login(communicator)
    response = fragment(client, live)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<section id="deliveries"') and 'hx-trigger="every 3s"' in body
    assert reverse("channel_console:message-deliveries", args=[live.pk]) in body
    deliveries.deliver_due()
    body = fragment(client, live).content.decode()
    assert "Sent" in body and "hx-trigger" not in body and "hx-get" not in body
    assert "Every delivery is settled." in body


def test_a_retryable_failure_keeps_polling_and_shows_the_next_attempt(login, communicator, live):
    sandbox.inject("webhook", 503)
    deliveries.deliver_due()
    body = fragment(login(communicator), live).content.decode()
    assert "Failed, will retry" in body and "Next attempt" in body and "HTTP 503" in body
    assert 'hx-trigger="every 3s"' in body


def test_deliveries_are_404_for_staff_who_may_not_see_the_message(login, outsider, live):
    client = login(outsider)
    assert fragment(client, live).status_code == 404
    (d,) = live.deliveries.all()
    for resolution in ("mark-sent", "send-again", "cancel"):
        url = reverse("channel_console:delivery-resolve", args=[d.pk, resolution])
        assert client.post(url, {"checked": "1"}).status_code == 404


def test_a_delivery_that_does_not_exist_is_404(login, editor):
    client = login(editor)
    assert (
        client.post(reverse("channel_console:delivery-resolve", args=[999, "cancel"])).status_code
        == 404
    )
    assert client.get(reverse("channel_console:message-deliveries", args=[999])).status_code == 404


def test_an_unknown_delivery_offers_the_three_decisions_to_editors_only(
    login, editor, analyst, communicator, unknown
):
    for user in (analyst, communicator):
        body = fragment(login(user), unknown.message).content.decode()
        assert "Outcome unknown" in body and "It went out" not in body
    body = fragment(login(editor), unknown.message).content.decode()
    assert "It went out" in body and "Send again" in body and "Cancel the delivery" in body
    assert "people will see it twice" in body and "csrfmiddlewaretoken" in body
    # Unknown on a channel that cannot read back waits for a person: no polling.
    assert "hx-trigger" not in body


@pytest.mark.parametrize("resolution", ["mark-sent", "send-again", "cancel"])
def test_read_only_staff_may_not_resolve(resolution, login, analyst, communicator, unknown):
    for user in (analyst, communicator):
        url = reverse("channel_console:delivery-resolve", args=[unknown.pk, resolution])
        assert login(user).post(url, {"checked": "1"}).status_code == 403
    assert Delivery.objects.get(pk=unknown.pk).state == "unknown"


def test_an_editor_marks_an_unknown_delivery_as_sent(login, editor, unknown):
    client = login(editor)
    url = reverse("channel_console:delivery-resolve", args=[unknown.pk, "mark-sent"])
    assert client.post(url, {"url": "javascript:alert(1)"}).status_code == 400
    assert Delivery.objects.get(pk=unknown.pk).state == "unknown"
    response = client.post(url, {"url": "https://social.example/@politie/1"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/messages/{unknown.message_id}/#deliveries")
    d = Delivery.objects.get(pk=unknown.pk)
    assert (d.state, d.url, d.resolved_by) == ("sent", "https://social.example/@politie/1", "bob")
    (record,) = audit("delivery.mark_sent")
    assert record.actor == "bob" and record.object_id == str(d.pk)
    # Acting on a settled delivery is a conflict, not a second change.
    assert client.post(url).status_code == 409


def test_sending_again_needs_the_confirmation_and_goes_out_once_more(login, editor, unknown):
    client = login(editor)
    url = reverse("channel_console:delivery-resolve", args=[unknown.pk, "send-again"])
    assert client.post(url).status_code == 400
    assert Delivery.objects.get(pk=unknown.pk).state == "unknown"
    assert client.post(url, {"checked": "1"}).status_code == 302
    assert Delivery.objects.get(pk=unknown.pk).state == "pending"
    assert audit("delivery.send_again").count() == 1
    deliveries.deliver_due()
    assert Delivery.objects.get(pk=unknown.pk).state == "sent"


def test_cancelling_an_unknown_delivery_is_recorded_with_the_reason(login, admin_user, unknown):
    url = reverse("channel_console:delivery-resolve", args=[unknown.pk, "cancel"])
    assert login(admin_user).post(url, {"reason": "Posted by hand"}).status_code == 302
    d = Delivery.objects.get(pk=unknown.pk)
    assert d.state == "cancelled" and d.resolved_by == "dirk"
    (record,) = audit("delivery.cancel")
    assert record.reason == "Posted by hand"


def test_an_unknown_resolution_name_is_404(login, editor, unknown):
    url = reverse("channel_console:delivery-resolve", args=[unknown.pk, "explode"])
    assert login(editor).post(url).status_code == 404


def test_a_delete_that_could_not_be_done_says_remove_by_hand(
    login, editor, live, hook, monkeypatch
):
    deliveries.deliver_due()
    monkeypatch.setattr(WebhookAdapter, "can_delete", False)
    newsroom.retract_message(live, by=editor, reason="Wrong street")
    body = fragment(login(editor), live).content.decode()
    assert "Could not be removed — remove by hand" in body
    post = live.deliveries.get(operation="post")
    card = SandboxPost.objects.get(external_id=post.external_id)
    link = reverse("channel_console:sandbox", args=[hook.slug]) + f"?post={card.pk}"
    assert link in body


# Dashboard ---------------------------------------------------------------------------------


def test_the_dashboard_shows_an_unknown_delivery(login, communicator, unknown):
    page = login(communicator).get(reverse("console:home")).content.decode()
    assert "Needs attention" in page and "1 delivery with an unknown outcome" in page
    assert f"#delivery-{unknown.pk}" in page


def test_the_dashboard_shows_stopped_channels_and_alerts_for_administrators(
    login, admin_user, editor, hook
):
    deliveries.disable_channel(hook, reason="HTTP 401: token revoked")
    page = login(admin_user).get(reverse("console:home")).content.decode()
    assert "Channels that stopped" in page and "HTTP 401: token revoked" in page
    assert "Acknowledge" in page
    page = login(editor).get(reverse("console:home")).content.decode()
    assert "HTTP 401: token revoked" in page and "Acknowledge" not in page


def test_the_dashboard_is_quiet_when_nothing_needs_attention(login, admin_user, hook):
    assert "Needs attention" not in login(admin_user).get(reverse("console:home")).content.decode()


# Sandbox viewer ----------------------------------------------------------------------------


def test_the_sandbox_viewer_shows_what_the_service_received(
    login, communicator, editor, make_message, hook
):
    message = make_message(
        communicator, body="Meer tips op https://preventie.example.org/fiets vandaag."
    )
    newsroom.submit_message(message, by=communicator)
    newsroom.approve_message(message, by=editor)
    deliveries.deliver_due()
    client = login(communicator)
    response = client.get(reverse("channel_console:sandbox", args=[hook.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fietsdiefstallen" in page and "message.published" in page
    assert '<a href="https://preventie.example.org/fiets"' in page  # links are links
    assert ">HN</div>" in page or ">H</div>" in page  # avatar initials of the account


def test_the_sandbox_viewer_marks_edited_and_deleted_posts(login, editor, live, hook):
    deliveries.deliver_due()
    newsroom.retract_message(live, by=editor, reason="Wrong street")
    deliveries.deliver_due()
    page = login(editor).get(reverse("channel_console:sandbox", args=[hook.slug])).content.decode()
    assert "deleted" in page and "sb-post--deleted" in page


def test_the_sandbox_viewer_is_only_for_sandbox_accounts_and_message_readers(
    login, communicator, outsider, make_channel
):
    real = make_channel("webhook", slug="real-hook", sandbox=False, config={"url": "https://x.org"})
    assert (
        login(communicator).get(reverse("channel_console:sandbox", args=[real.slug])).status_code
        == 404
    )
    assert (
        login(communicator).get(reverse("channel_console:sandbox", args=["nope"])).status_code
        == 404
    )
    sandboxed = make_channel("webhook", slug="sb-hook")
    assert (
        login(outsider).get(reverse("channel_console:sandbox", args=[sandboxed.slug])).status_code
        == 403
    )


# Compose form ------------------------------------------------------------------------------


def test_the_compose_form_names_the_accounts_each_format_reaches(login, communicator, hook):
    page = login(communicator).get(reverse("console:message-new")).content.decode()
    assert "Webhook — hook-nl (nl, sandbox)" in page
    # A format without any account is not offered; the home base always is.
    assert 'value="x"' not in page and 'value="web"' in page and 'value="rss"' in page


def test_a_format_already_chosen_stays_listed_so_it_can_be_unticked(
    login, communicator, make_message, hook
):
    message = make_message(communicator, channels=["web", "x"])
    page = login(communicator).get(reverse("console:message-edit", args=[message.pk]))
    body = page.content.decode()
    assert 'value="x"' in body and "X — no account" in body


def test_an_editor_may_try_a_permanently_failed_post_again(login, editor, communicator, live):
    sandbox.inject("webhook", 422)
    deliveries.deliver_due()
    d = live.deliveries.get()
    assert d.state == "failed" and d.permanent
    assert "Try again" not in fragment(login(communicator), live).content.decode()
    client = login(editor)
    assert "Try again" in fragment(client, live).content.decode()
    url = reverse("channel_console:delivery-resolve", args=[d.pk, "send-again"])
    assert client.post(url, {"checked": "1"}).status_code == 302
    deliveries.deliver_due()
    assert Delivery.objects.get(pk=d.pk).state == "sent"


def test_a_paused_channel_is_named_on_its_waiting_deliveries(login, communicator, live, hook):
    from datetime import timedelta

    from django.utils import timezone

    Channel.objects.filter(pk=hook.pk).update(
        status=ChannelStatus.PAUSED, paused_until=timezone.now() + timedelta(minutes=5)
    )
    body = fragment(login(communicator), live).content.decode()
    assert "The channel is paused until" in body and 'hx-trigger="every 3s"' in body


def test_the_kind_chooser_lists_only_installed_adapters(login, admin_user):
    page = login(admin_user).get(reverse("channel_console:new")).content.decode()
    assert reverse("channel_console:create", args=["webhook"]) in page
    assert "safe retries" in page
    from copps.channels.actions import available_kinds

    for kind, _label in available_kinds():
        assert reverse("channel_console:create", args=[kind]) in page


def test_the_panel_reads_a_fixed_number_of_queries_however_many_channels(
    login, communicator, editor, make_message, make_channel, django_assert_max_num_queries
):
    for n in range(6):
        make_channel("webhook", slug=f"hook-{n}", config={"url": "https://hooks.example.org"})
    message = make_message(communicator)
    newsroom.submit_message(message, by=communicator)
    newsroom.approve_message(message, by=editor)
    deliveries.deliver_due()
    client = login(communicator)
    with django_assert_max_num_queries(6):
        body = fragment(client, message).content.decode()
    assert body.count("✓</span> Sent") == 6 and body.count("?post=") == 6


def test_a_web_push_channel_gets_its_keys_generated_when_left_empty(admin_user):
    from copps.channels import actions as channel_actions
    from copps.channels.adapters.webpush import WebPushAdapter

    channel = channel_actions.create_channel(
        by=admin_user,
        kind="webpush",
        name="Web push",
        slug="push",
        language="nl",
        sandbox=True,
        config={"contact": "mailto:webmaster@police.example"},
        secrets={},
    )
    assert channel.config["vapid_public_key"]
    assert channel.get_secrets()["vapid_private_key"]
    assert WebPushAdapter.validate_config(channel.config, channel.get_secrets()) == {}
