"""Listening alerts by web push to the on-duty staff: the console endpoints where a staff member
turns alerts on and off in a browser, and the push each alert sends, received and decrypted by a
real push endpoint on loopback (tests/support_pushsink.py, as the citizens' web push tests do)
that also verifies the VAPID signature."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from copps.accounts import actions as account_actions
from copps.accounts.models import Role
from copps.audit.models import AuditRecord
from copps.channels import staff_push
from copps.channels.adapters.webpush import generate_vapid_keys
from copps.channels.models import StaffPushSubscription
from copps.inbox.models import Duty
from copps.listening import alerts
from copps.listening.models import ListeningAlert, Purpose, PurposeKind, Source, Watch
from tests.support_pushsink import PushSink, https_subscription
from tests.test_listening_temperature import NOW, flat, spike

pytestmark = pytest.mark.django_db

CONTACT = "mailto:webmaster@police.example"
PAGE = "/console/channels/me/push/"
SUBSCRIBE = "/console/channels/me/push/subscribe"
UNSUBSCRIBE = "/console/channels/me/push/unsubscribe"
STOP = "/console/channels/me/push/stop"


@pytest.fixture
def source(db):
    return Source.objects.create(kind="import", name="test import")


@pytest.fixture
def watch(db):
    mood = Purpose.objects.create(name="mood", kind=PurposeKind.MOOD)
    return Watch.objects.create(
        purpose=mood, name="brand", query="brand", created_at=NOW - timedelta(hours=50)
    )


@pytest.fixture
def vapid():
    return generate_vapid_keys()


@pytest.fixture
def channel(make_channel, vapid):
    public, private = vapid
    return make_channel(
        "webpush",
        sandbox=False,
        config={"vapid_public_key": public, "contact": CONTACT},
        secrets={"vapid_private_key": private},
    )


@pytest.fixture
def sink(vapid, settings):
    settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
    sink = PushSink(vapid[0]).start()
    yield sink
    sink.stop()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def turn_on(user, browser) -> StaffPushSubscription:
    """What the subscribe endpoint stores (it takes only https endpoints; the sink is http)."""
    sub, _created = staff_push.enable(
        user, endpoint=browser.endpoint, p256dh=browser.p256dh, auth=browser.auth_b64
    )
    return sub


# Turning it on and off -----------------------------------------------------------------------


def test_the_page_offers_the_button_with_the_sites_key(channel, vapid, communicator):
    html = client_for(communicator).get(PAGE).content.decode()
    assert f'data-key="{vapid[0]}"' in html
    assert 'data-scope="/console/"' in html and "channels/push.js" in html
    assert "Turn on alerts in this browser" in html


def test_without_a_web_push_channel_the_page_says_so(communicator):
    response = client_for(communicator).get(PAGE)
    assert response.status_code == 200
    assert b"not available" in response.content and b"data-key" not in response.content
    sub = {"subscription": https_subscription()}
    assert post_json(client_for(communicator), SUBSCRIBE, sub).status_code == 404
    assert not StaffPushSubscription.objects.exists()


def test_a_staff_member_turns_alerts_on_and_off(channel, communicator):
    client = client_for(communicator)
    sub = https_subscription()
    response = post_json(client, SUBSCRIBE, {"subscription": sub})
    assert response.status_code == 201, response.content
    saved = StaffPushSubscription.objects.get()
    assert (saved.user, saved.endpoint, saved.p256dh, saved.auth) == (
        communicator,
        sub["endpoint"],
        sub["keys"]["p256dh"],
        sub["keys"]["auth"],
    )
    assert post_json(client, SUBSCRIBE, {"subscription": sub}).status_code == 200
    assert StaffPushSubscription.objects.count() == 1
    assert "turned on" in client.get(PAGE).content.decode()
    record = AuditRecord.objects.filter(action="staff_push.enable").latest("pk")
    assert record.actor == communicator.username and sub["endpoint"] not in str(record.data)
    response = post_json(client, UNSUBSCRIBE, {"endpoint": sub["endpoint"]})
    assert response.status_code == 200
    assert not StaffPushSubscription.objects.exists()
    assert AuditRecord.objects.filter(action="staff_push.disable").count() == 1


def test_nobody_can_turn_off_someone_elses_browser(channel, communicator, editor):
    sub = https_subscription()
    post_json(client_for(communicator), SUBSCRIBE, {"subscription": sub})
    response = post_json(client_for(editor), UNSUBSCRIBE, {"endpoint": sub["endpoint"]})
    assert response.status_code == 200  # the same answer: it tells nobody whose it is
    assert StaffPushSubscription.objects.get().user == communicator


def test_a_shared_browser_moves_to_whoever_turns_it_on(channel, communicator, editor):
    sub = https_subscription()
    post_json(client_for(communicator), SUBSCRIBE, {"subscription": sub})
    assert post_json(client_for(editor), SUBSCRIBE, {"subscription": sub}).status_code == 200
    assert StaffPushSubscription.objects.get().user == editor
    record = AuditRecord.objects.filter(action="staff_push.enable").latest("pk")
    assert record.data["moved_from"] == communicator.pk


def test_the_stop_form_turns_off_every_browser_without_javascript(channel, communicator, editor):
    client = client_for(communicator)
    for _i in range(2):
        post_json(client, SUBSCRIBE, {"subscription": https_subscription()})
    post_json(client_for(editor), SUBSCRIBE, {"subscription": https_subscription()})
    response = client.post(STOP)
    assert response.status_code == 302 and response["Location"] == PAGE
    assert list(StaffPushSubscription.objects.values_list("user", flat=True)) == [editor.pk]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("not json", "application/json", 400, ""),
        ("{}", "text/plain", 415, ""),
        ("[]", "application/json", 400, "subscription"),
        ('{"subscription": "x"}', "application/json", 400, "subscription"),
        ('{"subscription": {"endpoint": "http://push.example.net/x"}}', "application/json", 400, "endpoint"),
        ('{"subscription": {"endpoint": "https://10.0.0.1/x"}}', "application/json", 400, "endpoint"),
        ('{"subscription": {"endpoint": "https://push.example.net/x", "keys": {}}}', "application/json", 400, "keys.p256dh"),
        ("x" * 5000, "application/json", 413, ""),
    ],
)  # fmt: skip
def test_hostile_subscriptions_are_refused_with_a_clear_4xx(
    channel, communicator, body, content_type, status, field
):
    response = client_for(communicator).post(SUBSCRIBE, body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["field"] == field
    assert not StaffPushSubscription.objects.exists()


def test_the_access_checklist(channel, communicator):
    for url in (PAGE, SUBSCRIBE, UNSUBSCRIBE, STOP):
        response = Client().post(url) if url != PAGE else Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client = client_for(communicator)
    assert client.get(SUBSCRIBE).status_code == 405
    assert client.get(STOP).status_code == 405
    assert client.post(PAGE).status_code == 405


def test_a_browser_limit_per_user(channel, communicator):
    client = client_for(communicator)
    for _i in range(10):
        assert (
            post_json(client, SUBSCRIBE, {"subscription": https_subscription()}).status_code == 201
        )
    response = post_json(client, SUBSCRIBE, {"subscription": https_subscription()})
    assert response.status_code == 400 and "stop one first" in response.json()["error"]


def test_deactivating_an_account_deletes_its_browsers(channel, communicator, admin_user):
    post_json(client_for(communicator), SUBSCRIBE, {"subscription": https_subscription()})
    account_actions.set_user_active(communicator, by=admin_user, active=False)
    assert not StaffPushSubscription.objects.exists()
    record = AuditRecord.objects.get(action="accounts.user_deactivate")
    assert record.data == {"push_subscriptions": 1}


# Alerts --------------------------------------------------------------------------------------


def test_a_burst_alert_reaches_the_on_duty_communicators_browser(
    source, watch, channel, sink, make_user, settings
):
    settings.SITE_URL = "https://copps.police.example"
    on_duty = make_user(Role.COMMUNICATOR, "duty", email="duty@police.example")
    off_duty = make_user(Role.COMMUNICATOR, "other", email="other@police.example")
    investigator = make_user(Role.INVESTIGATOR, "ivan")
    Duty.objects.create(user=on_duty, desk="communication")
    Duty.objects.create(user=investigator, desk="investigation")
    phone, desktop, other, ivan = sink.browser(), sink.browser(), sink.browser(), sink.browser()
    turn_on(on_duty, phone)
    turn_on(on_duty, desktop)
    turn_on(off_duty, other)
    turn_on(investigator, ivan)
    flat(source, watch)
    spike(source, watch, n=30, text="brand in de haven")
    assert alerts.evaluate(watch, NOW) == 1
    alert = ListeningAlert.objects.get()
    assert sink.rejections == []  # VAPID verified, body decrypted by the sink
    for browser in (phone, desktop):
        assert browser.received == [
            {
                "title": "Listening: a burst in “brand”",
                "body": "30 posts in the last hour (usually about 3.0).",
                "url": f"https://copps.police.example/console/listening/watches/{watch.pk}"
                f"/dashboard#alert-{alert.pk}",
                "lang": "nl",
                "tag": f"listening-alert-{alert.pk}",
            }
        ]
        assert browser.headers[0]["urgency"] == "high"
        assert browser.headers[0]["topic"] == f"listeningalert{alert.pk}"
    assert other.received == [] and ivan.received == []
    assert "haven" not in json.dumps(phone.received)  # never a post
    record = AuditRecord.objects.get(action="listening.alert")
    assert record.data["push"] == [on_duty.pk]
    assert mail.outbox[0].to == ["duty@police.example"]  # the e-mail still goes


def test_an_emerging_term_alert_names_the_term(source, watch, channel, sink, make_user):
    on_duty = make_user(Role.COMMUNICATOR, "duty")
    Duty.objects.create(user=on_duty, desk="communication")
    browser = sink.browser()
    turn_on(on_duty, browser)
    flat(source, watch, per_hour=1)
    for i in range(6):
        spike(source, watch, n=1, text="brand gasgeur", at=NOW - timedelta(minutes=i))
    alerts.evaluate(watch, NOW)
    pushed = [m for m in browser.received if "emerging term" in m["title"]]
    assert pushed and "“gasgeur”" in pushed[0]["body"]


def test_investigation_alerts_never_reach_communicators_and_name_no_term(
    source, channel, sink, make_user
):
    communicator = make_user(Role.COMMUNICATOR, "duty")
    investigator = make_user(Role.INVESTIGATOR, "ivan")
    Duty.objects.create(user=communicator, desk="communication")
    Duty.objects.create(user=investigator, desk="investigation")
    theirs, ivans = sink.browser(), sink.browser()
    turn_on(communicator, theirs)
    turn_on(investigator, ivans)
    case = Purpose.objects.create(
        name="case",
        kind=PurposeKind.INVESTIGATION,
        case_reference="PV-1",
        legal_basis="x",
        authorised_by="y",
        ends_on=NOW.date() + timedelta(days=30),
    )
    secret = Watch.objects.create(
        purpose=case, name="operation heron", query="brand", created_at=NOW - timedelta(hours=50)
    )
    flat(source, secret)
    spike(source, secret, n=30, text="brand in de loods van Jansens")
    assert alerts.evaluate(secret, NOW) >= 1
    assert theirs.received == []
    assert ivans.received
    text = json.dumps(ivans.received)
    assert "investigation alert" in text
    for secret_word in ("heron", "loods", "Jansens", "brand"):
        assert secret_word not in text


def test_a_role_change_after_going_on_duty_stops_the_push(source, watch, channel, sink, make_user):
    user = make_user(Role.COMMUNICATOR, "duty")
    Duty.objects.create(user=user, desk="communication")
    browser = sink.browser()
    turn_on(user, browser)
    type(user).objects.filter(pk=user.pk).update(role=Role.INVESTIGATOR)
    flat(source, watch)
    spike(source, watch, n=30)
    alerts.evaluate(watch, NOW)
    assert browser.received == []


def test_the_whole_desk_with_push_when_nobody_is_on_duty(source, watch, channel, sink, make_user):
    a, b = make_user(Role.COMMUNICATOR, "a"), make_user(Role.ANALYST, "b")
    investigator = make_user(Role.INVESTIGATOR, "ivan")
    browsers = {u.username: sink.browser() for u in (a, b, investigator)}
    for user in (a, b, investigator):
        turn_on(user, browsers[user.username])
    flat(source, watch)
    spike(source, watch, n=30)
    alerts.evaluate(watch, NOW)
    assert len(browsers["a"].received) == 1 and len(browsers["b"].received) == 1
    assert browsers["ivan"].received == []


def test_a_browser_the_push_service_dropped_is_deleted(source, watch, channel, sink, make_user):
    user = make_user(Role.COMMUNICATOR, "duty", email="duty@police.example")
    Duty.objects.create(user=user, desk="communication")
    gone, alive = sink.browser(), sink.browser()
    turn_on(user, gone)
    turn_on(user, alive)
    del sink.browsers[gone.token]  # the sink answers 404 for it
    sink.fail(410)  # ... and 410 for the first copy it gets (whichever that is)
    flat(source, watch)
    spike(source, watch, n=30)
    assert alerts.evaluate(watch, NOW) == 1
    left = list(StaffPushSubscription.objects.values_list("endpoint", flat=True))
    assert gone.endpoint not in left
    assert AuditRecord.objects.filter(action="staff_push.gone").count() >= 1
    assert ListeningAlert.objects.count() == 1 and len(mail.outbox) == 1


def test_a_down_push_service_loses_no_alert(source, watch, channel, sink, make_user):
    user = make_user(Role.COMMUNICATOR, "duty", email="duty@police.example")
    Duty.objects.create(user=user, desk="communication")
    turn_on(user, sink.browser())
    sink.fail(503, times=5)
    flat(source, watch)
    spike(source, watch, n=30)
    assert alerts.evaluate(watch, NOW) == 1
    assert StaffPushSubscription.objects.count() == 1  # a 5xx is not "gone"
    assert len(mail.outbox) == 1


def test_a_sandbox_channel_still_pushes_staff_alerts(
    source, watch, make_channel, vapid, sink, make_user
):
    public, private = vapid
    make_channel(
        "webpush",
        sandbox=True,
        config={"vapid_public_key": public, "contact": CONTACT},
        secrets={"vapid_private_key": private},
    )
    user = make_user(Role.COMMUNICATOR, "duty")
    Duty.objects.create(user=user, desk="communication")
    browser = sink.browser()
    turn_on(user, browser)
    flat(source, watch)
    spike(source, watch, n=30)
    alerts.evaluate(watch, NOW)
    assert len(browser.received) == 1


def test_without_a_web_push_channel_alerts_still_mail(source, watch, sink, make_user):
    user = make_user(Role.COMMUNICATOR, "duty", email="duty@police.example")
    Duty.objects.create(user=user, desk="communication")
    browser = sink.browser()
    turn_on(user, browser)
    flat(source, watch)
    spike(source, watch, n=30)
    assert alerts.evaluate(watch, NOW) == 1
    assert browser.received == [] and sink.requests == 0
    assert len(mail.outbox) == 1


def test_the_listening_pages_link_to_it(channel, communicator):
    html = client_for(communicator).get("/console/listening/").content.decode()
    assert f'href="{PAGE}"' in html
