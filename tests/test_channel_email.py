"""The e-mail newsletter against a real SMTP server (aiosmtpd on loopback).

A message published to an e-mail channel reaches each matching subscriber exactly once, with the
one-click unsubscribe headers, a deterministic Message-ID and sanitised HTML; refusals, a server
that is down and a connection that drops are each classified so nothing is lost or doubled.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import secrets
import socket
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.utils import timezone, translation

from copps.accounts.models import Area
from copps.channels import deliveries
from copps.channels.adapters.email import EmailAdapter
from copps.channels.base import ChannelError
from copps.channels.models import Channel, Delivery, Recipient, Subscription
from copps.channels.subscriptions import subscription_for_token, unsubscribe_url
from copps.newsroom import actions

pytestmark = pytest.mark.django_db

SENDER = "nieuwsbrief@police.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An aiosmtpd handler that keeps every message and can refuse or hang up on chosen ones."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP answer to RCPT
        self.hang_up_after_data: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if set(envelope.rcpt_tos) & self.hang_up_after_data:
            # Took the message, then the line broke before the answer reached the sender.
            server.transport.abort()
            await asyncio.sleep(0)
        return "250 2.0.0 queued"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for _f, _t, raw in self.received
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [
            m
            for (_f, tos, _r), m in zip(self.received, self.messages(), strict=True)
            if address in tos
        ]


class Login:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == b"right-password"
        return AuthResult(success=ok, handled=False)


def start(handler, port: int, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def sink():
    handler = Sink()
    port = free_port()
    controller = start(handler, port)
    handler.port = port  # type: ignore[attr-defined]
    yield handler
    controller.stop()


@pytest.fixture
def mail_channel(make_channel, sink):
    return make_channel(
        "email",
        slug="nieuwsbrief",
        sandbox=False,
        config={
            "host": "127.0.0.1",
            "port": str(sink.port),
            "security": "none",
            "from_address": SENDER,
            "from_name": "Politie Scheldeland",
            "reply_to": "info@police.example",
        },
        secrets={},
    )


@pytest.fixture
def noord(db):
    return Area.objects.create(name="Dendermonde", slug="dendermonde", postcodes=["9200"])


def subscribe(address, *, language="nl", topics=(), postcodes=()) -> Subscription:
    return Subscription.objects.create(
        medium="email",
        address=address,
        state="active",
        language=language,
        topics=list(topics),
        postcodes=list(postcodes),
        secret=secrets.token_hex(16),
    )


@pytest.fixture
def publish(make_message, communicator, editor):
    def publish(**kwargs):
        kwargs.setdefault("channels", ["web", "email"])
        message = make_message(communicator, **kwargs)
        actions.submit_message(message, by=communicator)
        actions.approve_message(message, by=editor)
        return message

    return publish


def deliver(limit_seconds: float = 5.0):
    deliveries.deliver_due()
    deliveries.deliver_recipients(limit_seconds=limit_seconds)


def test_it_sends_each_subscriber_exactly_one_newsletter_with_the_list_headers(
    mail_channel, sink, publish, noord
):
    ann = subscribe("ann@example.org", topics=["news"], postcodes=["9200"])
    ben = subscribe("ben@example.net")
    message = publish(
        title="Fietsdiefstallen aan het station",
        body="Sluit je fiets **altijd** op slot.\n\n<script>alert('x')</script>",
        area=noord,
    )
    deliver()
    deliver()  # a second round sends nothing again
    (delivery,) = message.deliveries.all()
    assert delivery.state == "sent" and delivery.recipients_sent == 2
    assert len(sink.received) == 2
    for sub in (ann, ben):
        (mail,) = sink.to(sub.address)
        recipient = Recipient.objects.get(delivery=delivery, subscription=sub)
        assert recipient.state == "sent"
        assert mail["To"] == sub.address
        assert mail["From"] == f"Politie Scheldeland <{SENDER}>"
        assert mail["Reply-To"] == "info@police.example"
        assert mail["Subject"] == "Fietsdiefstallen aan het station"
        assert mail["Date"]
        assert mail["Message-ID"] == f"<{delivery.key}.{recipient.pk}@police.example>"
        assert mail["List-Unsubscribe"] == f"<{unsubscribe_url(sub)}>"
        token = mail["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
        assert subscription_for_token(token) == sub
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["List-Id"] == '"nieuwsbrief" <nieuwsbrief.police.example>'
        assert mail["Precedence"] == "bulk"
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["Content-Language"] == "nl"
        assert mail.get_content_type() == "multipart/alternative"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Sluit je fiets altijd op slot." in text
        assert message.permalink("nl") in text and message.permalink("nl") in html
        assert unsubscribe_url(sub) in text and unsubscribe_url(sub) in html
        assert "<strong>altijd</strong>" in html
        assert "<script" not in html.lower() and "alert(" not in html
        assert 'lang="nl"' in html
    for _f, _t, raw in sink.received:
        head, _blank, body = raw.partition(b"\r\n\r\n")
        assert all(len(line) <= 76 for line in body.split(b"\r\n"))  # quoted-printable
        assert all(len(line) <= 998 for line in head.split(b"\r\n"))
        assert b"\n" not in raw.replace(b"\r\n", b"")  # no bare line feeds
    # Why they receive it: the subscriber's own topics and area, in their language (nl).
    assert "postcodes 9200" in sink.to("ann@example.org")[0].get_body(("plain",)).get_content()
    assert "het hele gebied" in sink.to("ben@example.net")[0].get_body(("plain",)).get_content()


def test_hostile_html_in_a_payload_is_removed_from_the_newsletter(mail_channel, sink, publish):
    subscribe("ann@example.org")
    message = publish()
    (delivery,) = message.deliveries.all()
    payload = dict(delivery.payload)
    payload["body_html"] = (
        '<p onclick="steal()">Hi</p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><img src="https://tracker.example/p.gif">'
        "<iframe src='https://evil.example'></iframe>"
    )
    Delivery.objects.filter(pk=delivery.pk).update(payload=payload)
    deliver()
    (mail,) = sink.messages()
    html = mail.get_body(("html",)).get_content().lower()
    for bad in ("<script", "onclick", "javascript:", "<img", "<iframe", "tracker.example"):
        assert bad not in html
    assert "<p>hi</p>" in html


def test_the_message_id_is_the_same_when_a_copy_is_built_again(mail_channel, sink, publish):
    subscribe("ann@example.org")
    message = publish()
    deliveries.deliver_due()
    (recipient,) = Recipient.objects.filter(delivery__message=message)
    adapter = mail_channel.adapter
    delivery = recipient.delivery
    assert adapter.message_id(delivery, recipient) == adapter.message_id(delivery, recipient)
    deliveries.deliver_recipients(limit_seconds=5)
    (mail,) = sink.messages()
    assert mail["Message-ID"] == adapter.message_id(delivery, recipient)


def test_a_correction_says_so_in_the_subject(mail_channel, sink, publish):
    subscribe("ann@example.org")
    message = publish(title="Wegenwerken")
    deliver()
    channel = Channel.objects.get(pk=mail_channel.pk)
    correction = deliveries.plan(
        message_id=message.pk,
        channel=channel,
        language="nl",
        seq="correction-1",
        payload={
            **message.deliveries.get().payload,
            "correction": True,
            "text": "Correctie: Wegenwerken\n\nDe werken duren tot vrijdag, niet donderdag.",
        },
    )
    deliver()
    correction.refresh_from_db()
    assert correction.state == "sent"
    first, second = sink.messages()
    assert first["Subject"] == "Wegenwerken"
    with translation.override("nl"):
        assert second["Subject"] == f"{translation.gettext('Correction')}: Wegenwerken"
    assert "tot vrijdag, niet donderdag" in second.get_body(("plain",)).get_content()


def test_subscribers_who_did_not_ask_for_it_get_nothing(mail_channel, sink, publish, noord):
    subscribe("traffic-only@example.org", topics=["traffic"])
    subscribe("elsewhere@example.org", postcodes=["1000"])
    subscribe("french@example.org", language="fr")
    Subscription.objects.create(
        medium="email",
        address="unconfirmed@example.org",
        state="pending",
        language="nl",
        secret=secrets.token_hex(16),
    )
    wanted = subscribe("here@example.org", topics=["news"], postcodes=["9200"])
    publish(area=noord)
    deliver()
    assert [tos for _f, tos, _r in sink.received] == [[wanted.address]]


def test_a_refused_recipient_fails_only_that_copy(mail_channel, sink, publish):
    subscribe("ann@example.org")
    gone = subscribe("gone@example.org")
    sink.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: no such mailbox"
    message = publish()
    deliver()
    (delivery,) = message.deliveries.all()
    failed = Recipient.objects.get(delivery=delivery, subscription=gone)
    assert failed.state == "failed"
    assert "550" in failed.last_error and "gone@example.org" not in failed.last_error
    assert [tos for _f, tos, _r in sink.received] == [["ann@example.org"]]
    assert delivery.state == "sent"
    assert (delivery.recipients_sent, delivery.recipients_failed) == (1, 1)


def test_a_temporary_refusal_is_retryable_and_the_copy_goes_later(mail_channel, sink, publish):
    busy = subscribe("busy@example.org")
    sink.refuse["busy@example.org"] = "451 4.7.1 greylisted, try again later"
    message = publish()
    deliveries.deliver_due()
    copy = Recipient.objects.get(delivery__message=message, subscription=busy)
    results = mail_channel.adapter.send_batch(copy.delivery, [copy])
    error = results[copy.pk]
    assert isinstance(error, ChannelError)
    assert not error.permanent and not error.maybe_sent and "451" in str(error)
    assert sink.received == []
    del sink.refuse["busy@example.org"]
    deliveries.deliver_recipients(limit_seconds=5)
    copy.refresh_from_db()
    assert copy.state == "sent" and len(sink.received) == 1


def test_a_server_that_is_down_is_retried_later_and_nothing_is_lost(
    make_channel, publish, settings
):
    port = free_port()
    make_channel(
        "email",
        slug="down",
        sandbox=False,
        config={"host": "127.0.0.1", "port": str(port), "security": "none"}
        | {"from_address": SENDER},
        secrets={},
    )
    settings.COPPS_CHANNEL_FAILURE_THRESHOLD = 100
    subs = [subscribe(f"p{i}@example.org") for i in range(3)]
    message = publish()
    deliveries.deliver_due()
    deliveries.deliver_recipients(limit_seconds=0.1)
    (delivery,) = message.deliveries.all()
    assert delivery.state == "sending"
    states = set(Recipient.objects.filter(delivery=delivery).values_list("state", flat=True))
    assert states == {"pending"}
    assert "cannot reach the SMTP server" in Recipient.objects.first().last_error
    handler = Sink()
    controller = start(handler, port)
    try:  # later: the copies waited for their backoff
        deliveries.deliver_recipients(timezone.now() + timedelta(hours=1), limit_seconds=5)
    finally:
        controller.stop()
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.recipients_sent == 3
    assert sorted(tos[0] for _f, tos, _r in handler.received) == sorted(s.address for s in subs)


def test_a_connection_that_drops_after_the_message_went_out_makes_that_copy_unknown(
    mail_channel, sink, publish
):
    first = subscribe("a@example.org")
    second = subscribe("b@example.org")
    third = subscribe("c@example.org")
    sink.hang_up_after_data.add("b@example.org")
    message = publish()
    deliveries.deliver_due()
    deliveries.deliver_recipients(timezone.now() + timedelta(hours=1), limit_seconds=2)
    (delivery,) = message.deliveries.all()

    def state(sub):
        return Recipient.objects.get(delivery=delivery, subscription=sub).state

    assert state(first) == "sent"
    assert state(second) == "unknown"  # it did arrive here, but we could not know
    # The rest of the batch was not sent on the broken connection; a new one sent it.
    assert state(third) == "sent"
    assert sorted(tos[0] for _f, tos, _r in sink.received) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]
    delivery.refresh_from_db()
    assert delivery.state == "unknown" and delivery.recipients_unknown == 1


def test_a_subscriber_who_leaves_after_the_fan_out_gets_nothing(mail_channel, sink, publish):
    stays = subscribe("stays@example.org")
    leaves = subscribe("leaves@example.org")
    message = publish()
    deliveries.deliver_due()  # recipients created for both
    assert Recipient.objects.filter(delivery__message=message).count() == 2
    leaves.delete()
    deliveries.deliver_recipients(limit_seconds=5)
    (delivery,) = message.deliveries.all()
    assert [tos for _f, tos, _r in sink.received] == [[stays.address]]
    assert Recipient.objects.filter(delivery=delivery, state="cancelled").count() == 1
    assert delivery.state == "sent"


def test_check_signs_in_and_says_where(make_channel):
    handler = Sink()
    port = free_port()
    controller = start(handler, port, authenticator=Login(), auth_require_tls=False)
    try:
        channel = make_channel(
            "email",
            slug="auth",
            sandbox=False,
            config={"host": "127.0.0.1", "port": str(port), "security": "none"}
            | {"from_address": SENDER},
            secrets={"username": "mailer", "password": "right-password"},
        )
        assert channel.adapter.check().startswith(f"127.0.0.1:{port}")
        channel.set_secrets({"username": "mailer", "password": "wrong"})
        channel.save()
        with pytest.raises(ChannelError) as caught:
            Channel.objects.get(pk=channel.pk).adapter.check()
        assert caught.value.permanent and caught.value.disable_channel
        assert "wrong" not in str(caught.value)
    finally:
        controller.stop()


def test_a_refused_password_while_sending_disables_the_channel_and_keeps_the_copies(
    make_channel, publish
):
    from copps.channels.models import Alert

    handler = Sink()
    port = free_port()
    controller = start(handler, port, authenticator=Login(), auth_require_tls=False)
    try:
        channel = make_channel(
            "email",
            slug="revoked",
            sandbox=False,
            config={"host": "127.0.0.1", "port": str(port), "security": "none"}
            | {"from_address": SENDER},
            secrets={"username": "mailer", "password": "revoked"},
        )
        subscribe("ann@example.org")
        message = publish()
        deliver()
    finally:
        controller.stop()
    channel.refresh_from_db()
    assert channel.status == "disabled" and "password" in channel.status_reason
    assert Alert.objects.filter(channel=channel).exists()
    (copy,) = Recipient.objects.filter(delivery__message=message)
    assert copy.state == "pending"  # kept for when the channel is fixed
    assert handler.received == []


def test_check_reports_an_unreachable_server_as_retryable(make_channel):
    channel = make_channel(
        "email",
        slug="nowhere",
        sandbox=False,
        config={"host": "127.0.0.1", "port": str(free_port()), "security": "none"}
        | {"from_address": SENDER},
        secrets={},
    )
    with pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert not caught.value.permanent and not caught.value.maybe_sent


def test_check_refuses_starttls_when_the_server_does_not_offer_it(make_channel, sink):
    channel = make_channel(
        "email",
        slug="starttls",
        sandbox=False,
        config={"host": "127.0.0.1", "port": str(sink.port), "security": "starttls"}
        | {"from_address": SENDER},
        secrets={},
    )
    with pytest.raises(ChannelError) as caught:
        channel.adapter.check()
    assert caught.value.permanent and "STARTTLS" in str(caught.value)


def test_a_sandbox_channel_sends_to_the_local_sink_whatever_its_host(
    make_channel, sink, publish, settings
):
    settings.COPPS_SMTP_SINK_HOST = "127.0.0.1"
    settings.COPPS_SMTP_SINK_PORT = sink.port
    make_channel(
        "email",
        slug="demo",
        sandbox=True,
        config={"host": "smtp.example.invalid", "port": "587", "from_address": SENDER},
        secrets={},
    )
    subscribe("ann@example.org")
    publish()
    deliver()
    assert [tos for _f, tos, _r in sink.received] == [["ann@example.org"]]


@pytest.mark.parametrize(
    ("config", "secrets_", "field"),
    [
        ({"port": "0"}, {}, "port"),
        ({"port": "smtp"}, {}, "port"),
        ({"security": "ssl"}, {}, "security"),
        ({"from_address": "not an address"}, {}, "from_address"),
        ({"from_address": "a@b.example\r\nBcc: x@y.example"}, {}, "from_address"),
        ({"reply_to": "nope"}, {}, "reply_to"),
        ({"host": "mail.example.org; rm"}, {}, "host"),
        ({}, {"username": "u"}, "password"),
        (
            {"host": "mail.example.org", "security": "none"},
            {"username": "u", "password": "p"},
            "security",
        ),
    ],
)
def test_validate_config_names_the_bad_field(config, secrets_, field):
    good = {
        "host": "mail.example.org",
        "port": "587",
        "security": "starttls",
        "from_address": SENDER,
    }
    errors = EmailAdapter.validate_config(good | config, secrets_)
    assert field in errors


def test_validate_config_accepts_a_good_configuration():
    config = {
        "host": "mail.example.org",
        "port": "465",
        "security": "tls",
        "from_address": SENDER,
        "from_name": "Politie",
        "reply_to": "info@police.example",
    }
    assert EmailAdapter.validate_config(config, {"username": "u", "password": "p"}) == {}


def test_the_adapter_never_logs_a_subscriber_address(mail_channel, sink, publish, caplog):
    caplog.set_level("DEBUG", logger="copps")
    sink.refuse["secret-person@example.org"] = "550 5.1.1 <secret-person@example.org> unknown"
    subscribe("secret-person@example.org")
    publish()
    deliver()
    ours = [r for r in caplog.records if r.name.startswith("copps")]
    assert not any("secret-person" in r.getMessage() for r in ours)
    assert not Recipient.objects.filter(last_error__icontains="secret-person").exists()


def test_many_copies_go_over_one_connection_quickly(mail_channel, sink, publish):
    for i in range(150):
        subscribe(f"reader{i}@example.org")
    publish()
    started = time.monotonic()
    deliver(limit_seconds=30)
    assert len(sink.received) == 150
    assert len({raw for _f, _t, raw in sink.received}) == 150  # each copy is its own
    assert time.monotonic() - started < 15


def test_the_prebuilt_quoted_printable_pieces_decode_to_the_text_with_short_lines():
    import quopri
    import random

    from copps.channels.adapters.email import _qp_open

    rng = random.Random(1)
    for n in range(2000):
        alphabet = "ab =é\r\n.x\t" if n % 3 else "abcdefgh="
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
        encoded = _qp_open(text)
        assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
        assert b"\n" not in encoded.replace(b"\r\n", b"")
        assert quopri.decodestring(encoded).decode() == text
