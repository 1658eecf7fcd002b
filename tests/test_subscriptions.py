"""Citizens subscribe without an account: double opt-in, one-click unsubscribe, nothing kept
longer than needed, no way to learn whether an address is subscribed, floods refused.

Everything goes through the real endpoints with Django's test client; e-mail lands in the locmem
outbox, SMS in a tiny adapter that only implements ``send_text`` (the contract the real Kannel and
HTTP SMS adapters keep).
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from copps.audit.models import AuditRecord
from copps.channels import registry, subscriptions
from copps.channels.base import ChannelError
from copps.channels.deliveries import matching_subscriptions
from copps.channels.models import RateHit, Subscription
from copps.worker import jobs

pytestmark = pytest.mark.django_db

ADDRESS = "An.Peeters@Example.BE"
STORED = "An.Peeters@example.be"
PHONE = "0470 12 34 56"
E164 = "+32470123456"


class FakeSms:
    """An SMS adapter that keeps what it was asked to send (the gateway is not under test)."""

    sent: list[tuple[str, str, str]] = []
    fail = False

    def __init__(self, channel):
        self.channel = channel

    def send_text(self, to, text, *, reference):
        if FakeSms.fail:
            raise ChannelError("gateway down", maybe_sent=False)
        FakeSms.sent.append((to, text, reference))
        return f"gw-{len(FakeSms.sent)}"


@pytest.fixture
def sms(monkeypatch, make_channel):
    FakeSms.sent = []
    FakeSms.fail = False
    monkeypatch.setitem(registry.ADAPTERS, "sms_http", "tests.test_subscriptions.FakeSms")
    make_channel("sms_http", slug="sms-gateway", secrets={"token": "t" * 20})
    return FakeSms


def form(**overrides):
    data = {
        "medium": "email",
        "email": ADDRESS,
        "phone": "",
        "topics": ["traffic", "crisis"],
        "postcodes": "9000, 9050 9000",
        "language": "nl",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_subscribe(client, lang="nl", **overrides):
    return client.post(f"/{lang}/subscribe/", form(**overrides), REMOTE_ADDR="198.51.100.7")


def confirm_link(message) -> str:
    match = re.search(r"http://[^/\s]+(/\w\w/subscribe/confirm/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def code_of(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def ticket_of(response) -> str:
    return re.search(r'name="ticket" value="([^"]+)"', response.content.decode()).group(1)


def subscribe_and_confirm(client, **overrides):
    post_subscribe(client, **overrides)
    response = client.post(confirm_link(mail.outbox[-1]))
    assert response.status_code == 200
    return Subscription.objects.get(address=mail.outbox[-1].to[0])


# --- the form -------------------------------------------------------------------------------


def test_it_shows_the_form_in_the_current_language_with_translated_topics(client):
    response = client.get("/fr/subscribe/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="fr" selected>' in html
    assert 'value="traffic"' in html and 'value="correction"' not in html
    assert 'class="hp" aria-hidden="true"' in html and 'tabindex="-1"' in html
    assert response.cookies.keys() <= {"csrftoken"}
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_it_offers_sms_only_when_an_sms_channel_exists(client, sms):
    assert 'value="sms"' in client.get("/nl/subscribe/").content.decode()
    sms_channel = subscriptions.sms_channel()
    sms_channel.enabled = False
    sms_channel.save()
    assert 'value="sms"' not in client.get("/nl/subscribe/").content.decode()
    response = post_subscribe(client, medium="sms", email="", phone=PHONE)
    assert response.status_code == 400 and not sms.sent
    assert 'name="phone"' not in client.get("/nl/subscribe/unsubscribe/").content.decode()
    data = {"medium": "sms", "phone": PHONE, "website": ""}
    assert client.post("/nl/subscribe/unsubscribe/", data).status_code == 400


def test_the_public_navigation_links_to_the_subscribe_page(client):
    assert 'href="/nl/subscribe/"' in client.get("/nl/").content.decode()


# --- e-mail double opt-in --------------------------------------------------------------------


def test_it_subscribes_by_email_after_the_link_is_confirmed(client):
    response = post_subscribe(client, lang="fr", language="fr")
    assert response.status_code == 302 and response["Location"] == "/fr/subscribe/sent/"
    assert client.get(response["Location"]).status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.state == "pending" and subscription.address == STORED
    assert subscription.topics == ["traffic", "crisis"] and subscription.postcodes == [
        "9000",
        "9050",
    ]
    assert len(subscription.confirm_hash) == 64 and len(subscription.secret) == 64
    assert subscription.confirm_expires_at > timezone.now() + timedelta(hours=47)

    [message] = mail.outbox
    assert message.to == [STORED]
    assert "confirmez" in message.subject.lower() or "confirm" in message.subject.lower()
    link = confirm_link(message)
    assert link.startswith("/fr/subscribe/confirm/")

    # A mail scanner opening the link confirms nothing.
    page = client.get(link)
    assert page.status_code == 200 and "<form" in page.content.decode()
    assert Subscription.objects.get().state == "pending"

    done = client.post(link)
    assert done.status_code == 200
    subscription.refresh_from_db()
    assert subscription.state == "active" and subscription.confirmed_at
    assert subscription.confirm_hash == "" and subscription.confirm_expires_at is None
    # The link works once.
    assert client.post(link).status_code == 404


def test_it_sends_the_confirmation_in_the_chosen_language(client):
    post_subscribe(client, lang="nl", language="fr")
    [message] = mail.outbox
    assert "/fr/subscribe/confirm/" in message.body
    with translation.override("fr"):
        expected = gettext("%(force)s: confirm your subscription") % {"force": settings.FORCE_NAME}
    assert message.subject == expected


def test_the_confirmation_mail_says_it_can_be_ignored(client):
    post_subscribe(client, language="en")
    assert "ignore this message" in mail.outbox[0].body


def test_an_expired_link_does_not_activate(client):
    post_subscribe(client)
    link = confirm_link(mail.outbox[0])
    Subscription.objects.update(confirm_expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(link)
    assert response.status_code == 410
    assert Subscription.objects.get().state == "pending"


def test_a_forged_or_mangled_link_is_a_friendly_404(client):
    post_subscribe(client)
    link = confirm_link(mail.outbox[0])
    for bad in [
        link[:-6] + "xxxxx/",
        "/nl/subscribe/confirm/nonsense/",
        "/nl/subscribe/confirm/1/",
    ]:
        response = client.post(bad)
        assert response.status_code == 404, bad
        assert "subscribe" in response.content.decode()
    assert Subscription.objects.get().state == "pending"


def test_a_new_request_replaces_the_previous_link(client):
    post_subscribe(client)
    first = confirm_link(mail.outbox[0])
    post_subscribe(client, topics=["news"])
    second = confirm_link(mail.outbox[1])
    assert client.post(first).status_code == 404
    assert client.post(second).status_code == 200
    assert Subscription.objects.get().topics == ["news"]


# --- no enumeration ------------------------------------------------------------------------------


def test_an_active_address_gets_the_same_answer_and_a_change_confirmation(client):
    new = post_subscribe(client)
    subscription = subscribe_and_confirm(Client())
    assert subscription.topics == ["traffic", "crisis"]
    mail.outbox.clear()

    again = post_subscribe(client, topics=["news"], postcodes="", language="de")
    assert (again.status_code, again["Location"]) == (new.status_code, new["Location"])
    [message] = mail.outbox
    # Until confirmed, the current preferences stay.
    subscription.refresh_from_db()
    assert subscription.state == "active" and subscription.topics == ["traffic", "crisis"]
    assert "/unsubscribe/" in message.body

    assert client.post(confirm_link(message)).status_code == 200
    subscription.refresh_from_db()
    assert subscription.topics == ["news"] and subscription.postcodes == []
    assert subscription.language == "de"
    assert Subscription.objects.count() == 1


def test_the_sms_answer_does_not_tell_a_known_number_from_a_new_one(client, sms):
    first = post_subscribe(client, medium="sms", email="", phone=PHONE)
    second = post_subscribe(client, medium="sms", email="", phone="0471 22 33 44")
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.content.decode())  # noqa: E731
    assert first.status_code == second.status_code == 200
    assert strip(first) == strip(second)
    # The ticket is encrypted: no subscription id in clear.
    assert "{" not in ticket_of(first)


# --- SMS double opt-in ----------------------------------------------------------------------------


def test_it_subscribes_by_sms_with_the_code(client, sms):
    response = post_subscribe(client, medium="sms", email="", phone=PHONE, language="fr")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'autocomplete="one-time-code"' in html
    [(to, text, reference)] = sms.sent
    assert to == E164 and reference
    subscription = Subscription.objects.get()
    assert subscription.address == E164 and subscription.state == "pending"
    assert code_of(text) not in subscription.confirm_hash
    assert response.cookies.keys() <= {"csrftoken"}

    done = client.post(
        "/fr/subscribe/code/", {"ticket": ticket_of(response), "code": code_of(text)}
    )
    assert done.status_code == 200
    subscription.refresh_from_db()
    assert subscription.state == "active" and subscription.language == "fr"


def test_five_wrong_codes_delete_the_pending_request(client, sms):
    response = post_subscribe(client, medium="sms", email="", phone=PHONE)
    ticket, code = ticket_of(response), code_of(sms.sent[0][1])
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(4):
        r = client.post("/nl/subscribe/code/", {"ticket": ticket, "code": wrong})
        assert r.status_code == 400 and 'aria-invalid="true"' in r.content.decode()
        assert Subscription.objects.get().confirm_attempts == attempt + 1
    assert client.post("/nl/subscribe/code/", {"ticket": ticket, "code": wrong}).status_code == 410
    assert not Subscription.objects.exists()
    # The right code no longer helps.
    r = client.post("/nl/subscribe/code/", {"ticket": ticket, "code": code})
    assert r.status_code == 400 and not Subscription.objects.exists()


def test_wrong_codes_on_a_change_keep_the_active_subscription(client, sms):
    response = post_subscribe(client, medium="sms", email="", phone=PHONE)
    client.post(
        "/nl/subscribe/code/", {"ticket": ticket_of(response), "code": code_of(sms.sent[0][1])}
    )
    response = post_subscribe(client, medium="sms", email="", phone=PHONE, topics=["news"])
    for _ in range(5):
        client.post("/nl/subscribe/code/", {"ticket": ticket_of(response), "code": "x"})
    subscription = Subscription.objects.get()
    assert subscription.state == "active" and subscription.topics == ["traffic", "crisis"]


def test_a_forged_or_old_ticket_is_refused(client, sms):
    response = post_subscribe(client, medium="sms", email="", phone=PHONE)
    code = code_of(sms.sent[0][1])
    assert (
        client.post("/nl/subscribe/code/", {"ticket": "gAAAA-forged", "code": code}).status_code
        == 400
    )
    assert client.get("/nl/subscribe/code/").status_code == 302
    Subscription.objects.update(confirm_expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post("/nl/subscribe/code/", {"ticket": ticket_of(response), "code": code})
    assert r.status_code == 410
    assert Subscription.objects.get().state == "pending"


def test_a_gateway_failure_stores_nothing(client, sms):
    sms.fail = True
    response = post_subscribe(client, medium="sms", email="", phone=PHONE)
    assert response.status_code == 503
    assert not Subscription.objects.exists()


# --- field errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"medium": "sms", "email": "", "phone": "12"}, "phone"),
        ({"medium": "sms", "email": "", "phone": "02 123 45 67"}, "phone"),  # a landline
        ({"medium": "sms", "email": "", "phone": "0800 12 345"}, "phone"),
        ({"postcodes": "9000 123"}, "postcodes"),
        ({"postcodes": "0999"}, "postcodes"),
        ({"postcodes": " ".join(str(1000 + i) for i in range(11))}, "postcodes"),
        ({"topics": ["correction"]}, "topics"),
        ({"topics": ["nonsense"]}, "topics"),
        ({"language": "xx"}, "language"),
        ({"medium": "fax"}, "medium"),
    ],
)
def test_bad_input_gets_a_field_error_linked_from_the_summary(client, sms, overrides, field):
    response = post_subscribe(client, **overrides)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    assert re.search(rf'href="#id_{field}(_0)?"', html), html
    assert f'aria-describedby="id_{field}-hint id_{field}-error1"' in html or (
        f'id="id_{field}-error1"' in html
    )
    assert not Subscription.objects.exists() and not mail.outbox and not sms.sent


def test_duplicate_postcodes_are_kept_once_and_ten_are_allowed(client):
    codes = " ".join(str(1000 + i) for i in range(10))
    post_subscribe(client, postcodes=codes + " 1000")
    assert Subscription.objects.get().postcodes == codes.split()


def test_hostile_values_never_cause_a_500(client):
    for overrides in [
        {"email": "a@" + "b" * 300 + ".be"},
        {"email": "x\x00@example.be"},
        {"postcodes": "9" * 500},
        {"topics": ["'; drop table"]},
        {"medium": "sms", "email": "", "phone": "+" + "9" * 50},
    ]:
        assert post_subscribe(client, **overrides).status_code == 400, overrides
    assert (
        client.post("/nl/subscribe/code/", {"ticket": "x" * 5000, "code": "1"}).status_code == 400
    )
    assert client.put("/nl/subscribe/").status_code == 405
    assert client.post("/nl/subscribe/confirm/" + "a" * 1500 + "/").status_code == 404


# --- floods ----------------------------------------------------------------------------------------


def test_one_source_may_ask_five_times_an_hour(client):
    for i in range(5):
        assert post_subscribe(client, email=f"person{i}@example.be").status_code == 302
    response = post_subscribe(client, email="person9@example.be")
    assert response.status_code == 429
    assert len(mail.outbox) == 5 and Subscription.objects.count() == 5
    # Another source is not affected.
    other = client.post("/nl/subscribe/", form(email="other@example.be"), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302


def test_one_address_gets_at_most_three_messages_a_day(client):
    for i in range(3):
        response = client.post("/nl/subscribe/", form(), REMOTE_ADDR=f"192.0.2.{i + 1}")
        assert response.status_code == 302
    response = client.post("/nl/subscribe/", form(), REMOTE_ADDR="192.0.2.200")
    assert response.status_code == 429
    assert len(mail.outbox) == 3


def test_throttling_keys_hold_no_address(client):
    post_subscribe(client)
    keys = list(RateHit.objects.values_list("key", flat=True))
    assert len(keys) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    assert not any("198.51.100.7" in k or "example" in k for k in keys)


def test_a_filled_honeypot_looks_like_success_and_sends_nothing(client):
    response = post_subscribe(client, website="http://spam.example")
    assert response.status_code == 302
    assert not mail.outbox and not Subscription.objects.exists()


# --- unsubscribe ---------------------------------------------------------------------------------------


def test_opening_the_unsubscribe_link_does_not_unsubscribe(client):
    subscription = subscribe_and_confirm(client)
    response = client.get(f"/unsubscribe/{subscriptions.unsubscribe_token(subscription)}")
    assert response.status_code == 200 and "<button" in response.content.decode()
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_pressing_the_button_deletes_the_subscription(client):
    subscription = subscribe_and_confirm(client)
    csrf_client = Client(enforce_csrf_checks=True)
    url = subscriptions.unsubscribe_url(subscription).removeprefix("http://testserver")
    url = "/unsubscribe/" + url.rsplit("/", 1)[1]
    response = csrf_client.post(url)
    assert response.status_code == 200
    assert not Subscription.objects.exists()
    assert csrf_client.get(url).status_code == 404


def test_one_click_unsubscribe_works_without_a_csrf_token(client):
    subscription = subscribe_and_confirm(client)
    token = subscriptions.unsubscribe_token(subscription)
    response = Client(enforce_csrf_checks=True).post(
        f"/unsubscribe/{token}",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not Subscription.objects.exists()
    record = AuditRecord.objects.filter(action="subscription.unsubscribe").get()
    assert record.data == {"medium": "email", "how": "one-click"}


def test_a_forged_unsubscribe_token_is_a_friendly_404(client):
    subscription = subscribe_and_confirm(client)
    token = subscriptions.unsubscribe_token(subscription)
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    for bad in [forged, f"{subscription.pk}", "abc.def", "9" * 40 + ".x", "1." + "a" * 500]:
        response = Client(enforce_csrf_checks=True).post(f"/unsubscribe/{bad}")
        assert response.status_code == 404, bad
        assert "<h1>" in response.content.decode()
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_the_unsubscribe_page_sends_a_link_only_to_a_subscribed_address(client):
    subscription = subscribe_and_confirm(client)
    mail.outbox.clear()
    data = {"medium": "email", "email": "nobody@example.be", "phone": "", "website": ""}
    unknown = client.post("/nl/subscribe/unsubscribe/", data)
    known = client.post("/nl/subscribe/unsubscribe/", {**data, "email": ADDRESS})
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    [message] = mail.outbox
    assert message.to == [STORED]
    assert subscriptions.unsubscribe_token(subscription) in message.body
    bad = client.post("/nl/subscribe/unsubscribe/", {**data, "email": "nope"})
    assert bad.status_code == 400 and "error-summary" in bad.content.decode()


def test_the_unsubscribe_link_can_be_asked_for_by_sms(client, sms):
    response = post_subscribe(client, medium="sms", email="", phone=PHONE)
    client.post(
        "/nl/subscribe/code/", {"ticket": ticket_of(response), "code": code_of(sms.sent[0][1])}
    )
    subscription = Subscription.objects.get()
    data = {"medium": "sms", "email": "", "phone": "+32 470 12 34 56", "website": ""}
    assert client.post("/nl/subscribe/unsubscribe/", data).status_code == 200
    assert subscriptions.unsubscribe_token(subscription) in sms.sent[-1][1]


# --- retention, audit, matching ------------------------------------------------------------------------


def test_the_worker_deletes_unconfirmed_requests_and_old_throttling_keys(client):
    post_subscribe(client)
    subscribe_and_confirm(Client(), email="active@example.be")
    RateHit.objects.create(key="0" * 64, at=timezone.now() - timedelta(hours=25))
    later = timezone.now() + timedelta(hours=49)
    result = jobs.tick(now=later)
    assert result["subscriptions_expired"] >= 2 and result["errors"] == 0
    assert list(Subscription.objects.values_list("address", "state")) == [
        ("active@example.be", "active")
    ]
    assert not RateHit.objects.filter(key="0" * 64).exists()
    assert AuditRecord.objects.filter(action="subscription.retention").exists()


def test_the_audit_log_counts_without_keeping_the_address(client):
    subscribe_and_confirm(client)
    records = AuditRecord.objects.filter(action__startswith="subscription.")
    assert {r.action for r in records} == {"subscription.requested", "subscription.confirm"}
    for record in records:
        assert record.data == {"medium": "email"} and record.actor == "citizen"
        assert "example" not in str(record.__dict__).lower()


def test_a_confirmed_subscription_receives_matching_alerts(client):
    subscription = subscribe_and_confirm(client)
    assert list(matching_subscriptions("email", "nl", "traffic", ["9000"])) == [subscription.pk]
    assert list(matching_subscriptions("email", "nl", "traffic", [])) == [subscription.pk]
    assert list(matching_subscriptions("email", "nl", "news", ["9000"])) == []
    assert list(matching_subscriptions("email", "nl", "traffic", ["1000"])) == []
    assert list(matching_subscriptions("email", "fr", "traffic", ["9000"])) == []


def test_a_pending_subscription_receives_nothing(client):
    post_subscribe(client)
    assert list(matching_subscriptions("email", "nl", "traffic", ["9000"])) == []


@pytest.mark.parametrize("token", ["1.%C3%A9", "%C2%B2.abc", "%D9%A1.abc", "1." + "f" * 300])
def test_a_token_with_odd_characters_is_a_404_never_a_500(client, token):
    subscribe_and_confirm(client)
    assert client.get(f"/unsubscribe/{token}").status_code == 404
    assert client.post(f"/unsubscribe/{token}").status_code == 404


def test_asking_for_an_unsubscribe_link_is_throttled_alike_for_known_and_unknown_addresses(
    client, settings
):
    from copps.channels.models import RateHit

    settings.COPPS_SUBSCRIBE_PER_SOURCE_PER_HOUR = 100
    subscribe_and_confirm(client)
    RateHit.objects.all().delete()  # a new day: the confirmation mail no longer counts
    data = {"medium": "email", "email": "nobody@example.be", "phone": "", "website": ""}

    def statuses(address):
        return [
            client.post("/nl/subscribe/unsubscribe/", {**data, "email": address}).status_code
            for _ in range(5)
        ]

    assert statuses(ADDRESS) == statuses("nobody@example.be")


def test_a_mail_server_that_is_down_does_not_tell_a_known_address_apart(client, monkeypatch):
    subscribe_and_confirm(client)

    def down(*args, **kwargs):
        raise subscriptions.NotSent("email")

    monkeypatch.setattr(subscriptions, "_send_email", down)
    data = {"medium": "email", "email": "nobody@example.be", "phone": "", "website": ""}
    unknown = client.post("/nl/subscribe/unsubscribe/", data)
    known = client.post("/nl/subscribe/unsubscribe/", {**data, "email": ADDRESS})
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content


def test_ipv6_clients_are_counted_per_64(client, settings):
    from copps.lib.clientip import throttle_bucket

    assert throttle_bucket("2001:db8:1:2::1") == throttle_bucket("2001:db8:1:2:ffff::9")
    assert throttle_bucket("2001:db8:1:2::1") != throttle_bucket("2001:db8:1:3::1")
    assert throttle_bucket("192.0.2.7") == "192.0.2.7"
    settings.COPPS_SUBSCRIBE_PER_SOURCE_PER_HOUR = 2
    answers = [
        client.post(
            "/nl/subscribe/", form(email=f"p{i}@example.be"), REMOTE_ADDR=f"2001:db8:1:2::{i + 1}"
        ).status_code
        for i in range(3)
    ]
    assert answers[-1] == 429
