"""E-mail to the contact address into the inbox (a real aiosmtpd server on loopback, and the MTA
pipe command) and answers back in the same thread through Django's mail (locmem in tests)."""

from __future__ import annotations

import io
import smtplib
import socket
from email.message import EmailMessage

import pytest
from django.core import mail as django_mail
from django.core.management import call_command

from copps.inbox import actions, mail
from copps.inbox.models import Conversation, Entry, SendState, Source

CONTACT = "contact@police.example"


@pytest.fixture(autouse=True)
def _contact(settings):
    settings.COPPS_CONTACT_EMAIL = CONTACT


def message(
    body="Mijn buurman maakt elke nacht lawaai.",
    *,
    sender="An Peeters <an@example.org>",
    subject="Geluidsoverlast",
    msgid="<first@example.org>",
    in_reply_to="",
    html=None,
    attachments=0,
    headers=None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = CONTACT
    m["Subject"] = subject
    if msgid:
        m["Message-ID"] = msgid
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    for name, value in (headers or {}).items():
        m[name] = value
    if html is not None:
        m.set_content(html, subtype="html")
    else:
        m.set_content(body)
    for n in range(attachments):
        m.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename=f"p{n}.png")
    return m.as_bytes()


pytestmark = pytest.mark.django_db


def test_an_email_opens_a_conversation_with_the_address_to_answer():
    entry = mail.receive_mail(message())
    conversation = entry.conversation
    assert conversation.source == Source.EMAIL and conversation.desk == "communication"
    assert conversation.external_id == "<first@example.org>"
    assert conversation.subject == "Geluidsoverlast"
    assert conversation.route["email"] == "an@example.org"
    assert entry.text == "Mijn buurman maakt elke nacht lawaai."
    assert entry.author == "An Peeters"


def test_the_same_message_twice_is_stored_once():
    mail.receive_mail(message())
    assert mail.receive_mail(message()) is None
    assert Entry.objects.count() == 1


def test_html_only_mail_becomes_sanitised_text_and_attachments_are_counted_not_kept():
    entry = mail.receive_mail(
        message(
            html="<p>Hallo <b>politie</b></p><script>alert(1)</script><p>Tweede&amp;laatste</p>",
            attachments=2,
        )
    )
    assert "<" not in entry.text and "alert" not in entry.text
    assert entry.text.startswith("Hallo politie\n\nTweede&laatste")
    assert "2 attachments were not kept" in entry.text
    assert not entry.attachments.exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"headers": {"Auto-Submitted": "auto-replied"}},
        {"sender": "MAILER-DAEMON@mx.example.org"},
        {"sender": CONTACT},
        {"sender": "not an address"},
        {"headers": {"Precedence": "bulk"}},
    ],
    ids=["auto-reply", "bounce", "ourselves", "no-address", "bulk"],
)
def test_automatic_mail_is_dropped(kwargs):
    with pytest.raises(mail.Dropped):
        mail.receive_mail(message(**kwargs))
    assert not Conversation.objects.exists()


def test_garbage_is_dropped_or_stored_never_a_crash():
    for raw in (
        b"",
        b"\x00\xff" * 100,
        b"From: <<<@>>>\r\n\r\nx",
        b"From: a@b.example\r\nSubject: =?bogus?Q?x?=\r\n\r\nhi",
    ):
        try:
            mail.receive_mail(raw)
        except mail.Dropped:
            pass


def test_our_answer_goes_out_from_the_contact_address_in_the_same_thread(communicator):
    entry = mail.receive_mail(message())
    reply = actions.reply(entry.conversation, by=communicator, text="We sturen een patrouille.")
    assert reply.send_state == SendState.SENT
    [sent] = django_mail.outbox
    assert sent.from_email == CONTACT and sent.to == ["an@example.org"]
    assert sent.subject == "Re: Geluidsoverlast"
    assert sent.extra_headers["In-Reply-To"] == "<first@example.org>"
    assert "<first@example.org>" in sent.extra_headers["References"]
    assert sent.extra_headers["Message-ID"] == reply.external_id
    assert sent.body == "We sturen een patrouille."


def test_the_citizens_answer_to_our_mail_continues_the_conversation(communicator):
    entry = mail.receive_mail(message())
    ours = actions.reply(entry.conversation, by=communicator, text="Sinds wanneer?")
    again = mail.receive_mail(
        message(
            "Sinds een week.",
            subject="Re: Geluidsoverlast",
            msgid="<second@example.org>",
            in_reply_to=ours.external_id,
        )
    )
    assert again.conversation == entry.conversation
    assert Conversation.objects.count() == 1
    actions.reply(entry.conversation, by=communicator, text="Dank u.")
    assert django_mail.outbox[-1].extra_headers["In-Reply-To"] == "<second@example.org>"


def test_a_refused_reply_is_failed(communicator, monkeypatch):
    entry = mail.receive_mail(message())

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"an@example.org": (550, b"no")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    reply = actions.reply(entry.conversation, by=communicator, text="Antwoord")
    assert reply.send_state == SendState.FAILED


def test_the_pipe_command_stores_one_message_from_stdin(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(message()))
    monkeypatch.setattr("sys.stdin", stdin)
    out = io.StringIO()
    call_command("inbox", "mail", stdout=out)
    assert "stored in conversation" in out.getvalue()
    assert Conversation.objects.get().source == Source.EMAIL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtpd():
    port = free_port()
    controller = mail.controller("127.0.0.1", port)
    controller.start()
    yield port
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_the_smtp_server_takes_mail_for_the_contact_address_only(smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("an@example.org", ["someone@police.example"], message())
        smtp.sendmail("an@example.org", [CONTACT], message())
    conversation = Conversation.objects.get()
    assert conversation.route["email"] == "an@example.org"
    assert conversation.entries.get().text == "Mijn buurman maakt elke nacht lawaai."


@pytest.mark.django_db(transaction=True)
def test_the_smtp_server_refuses_a_message_over_the_size_cap(smtpd, monkeypatch):
    with smtplib.SMTP("127.0.0.1", smtpd, timeout=10) as smtp:
        big = message("x" * (mail.MAX_MESSAGE_BYTES + 10))
        with pytest.raises(
            (smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)
        ):
            smtp.sendmail("an@example.org", [CONTACT], big)
    assert not Conversation.objects.exists()


def test_someone_else_naming_a_thread_starts_their_own_conversation(communicator):
    entry = mail.receive_mail(message())
    ours = actions.reply(entry.conversation, by=communicator, text="Sinds wanneer?")
    intruder = mail.receive_mail(
        message(
            "Stuur het naar mij",
            sender="mallory@evil.example",
            msgid="<m@evil.example>",
            in_reply_to=ours.external_id,
        )
    )
    assert intruder.conversation != entry.conversation
    entry.conversation.refresh_from_db()
    assert entry.conversation.route["email"] == "an@example.org"


@pytest.mark.django_db(transaction=True)
def test_the_smtpd_command_serves_the_contact_address_until_stopped():
    import threading
    import time

    from copps.inbox.management.commands.inbox import Command

    port = free_port()
    command = Command(stdout=io.StringIO())
    thread = threading.Thread(
        target=call_command, args=(command, "smtpd", "--host", "127.0.0.1", "--port", str(port))
    )
    thread.start()
    try:
        for _attempt in range(100):
            try:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                time.sleep(0.05)
        with smtp:
            smtp.sendmail("an@example.org", [CONTACT], message())
    finally:
        command.stopping.set()
        thread.join(10)
    assert not thread.is_alive()
    assert Conversation.objects.get().route["email"] == "an@example.org"
