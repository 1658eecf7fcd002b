"""E-mail to the contact address (``COPPS_CONTACT_EMAIL``) into the inbox, and replies back.

Mail comes in through ``copps inbox smtpd`` (an SMTP server for the contact address, listening
on ``COPPS_MAIL_INBOUND``) or ``copps inbox mail`` (one message on standard input, for an MTA's
pipe transport). Each message is parsed with the standard library (``policy.default``): the
plain-text part is preferred, else the HTML part reduced to text; attachments are not kept (the
entry says how many there were). A message answering one in the inbox (``In-Reply-To`` /
``References``) continues that conversation, else it opens one whose id is its Message-ID.

Automatic mail (``Auto-Submitted``, bounces, out-of-office, list traffic) and mail from the
contact address itself are dropped, so two robots never answer each other.

The citizen's address is kept in the conversation's route (needed to answer); the inbox
retention job deletes it with the conversation.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from copps.channels.base import plain_text
from copps.lib import sanitise

from . import actions
from .models import Conversation, Entry, Source
from .replies import ReplyError

logger = logging.getLogger("copps.inbox")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_TEXT = 20_000
MSGID_RE = re.compile(r"<[^<>\s]{1,490}>")
ROBOTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply")


class Dropped(Exception):
    """Not a message for the inbox (automatic, from ourselves, no sender): nothing is stored."""


def contact_address() -> str:
    return str(getattr(settings, "COPPS_CONTACT_EMAIL", "") or "").strip()


def is_contact(address: str) -> bool:
    wanted = contact_address().lower()
    return bool(wanted) and parseaddr(address or "")[1].strip().lower() == wanted


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name, "")
    except Exception:  # a malformed header from outside: as if absent
        return ""
    return " ".join(str(value or "").split())


def _ids(value: str) -> list[str]:
    return MSGID_RE.findall(value or "")[:50]


def html_to_text(content: str) -> str:
    """Sanitised HTML reduced to plain text (paragraphs and line breaks kept)."""
    cleaned = sanitise.clean(
        re.sub(r"<(script|style)\b.*?</\1\s*>", "", content or "", flags=re.I | re.S)
    )
    text = re.sub(r"<br\s*/?>", "\n", cleaned, flags=re.I)
    text = re.sub(r"</(p|div|li|h\d|tr)>", "\n\n", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    import html

    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _body(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content


def _attachments(message: EmailMessage) -> int:
    try:
        return sum(1 for _part in message.iter_attachments())
    except Exception:
        return 0


def parse(raw: bytes) -> EmailMessage:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Dropped("message too large")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def receive_mail(raw: bytes) -> Entry | None:
    """Store one message sent to the contact address; returns its entry, or None when it was
    already there (the same Message-ID). Raises ``Dropped`` for mail that is not for the inbox."""
    message = parse(raw)
    name, address = parseaddr(_header(message, "From"))
    address = address.strip()
    if (
        not address
        or "@" not in address
        or len(address) > 254
        or any(c in address for c in "\r\n<>")
    ):
        raise Dropped("no usable sender address")
    if is_contact(address):
        raise Dropped("mail from the contact address itself")
    auto = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    if (
        (auto and auto != "no")
        or precedence in ("bulk", "junk", "list")
        or (address.split("@", 1)[0].lower() in ROBOTS)
    ):
        raise Dropped("automatic mail")
    message_id = (_ids(_header(message, "Message-ID")) or [""])[0]
    if not message_id:
        # Without an id the content names it (the same message piped twice is stored once).
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:40]}@copps.invalid>"
    references = _ids(_header(message, "References")) + _ids(_header(message, "In-Reply-To"))
    subject = plain_text(_header(message, "Subject"), 200)
    text = plain_text(_body(message), MAX_TEXT)
    count = _attachments(message)
    if count:
        note = ngettext(
            "(%(count)d attachment was not kept.)", "(%(count)d attachments were not kept.)", count
        ) % {"count": count}
        text = f"{text}\n\n{note}" if text else note
    if not text:
        text = _("(empty message)")
    conversation = _thread(references, address)
    route = {"email": address, "message_id": message_id, "references": references[-10:]}
    if subject:
        route["subject"] = subject
    if conversation is None:
        conversation, _created = actions.open_conversation(
            source=Source.EMAIL,
            external_id=message_id,
            author=address,
            subject=subject,
            route=route,
        )
    entry = actions.receive(
        conversation, text=text, author=plain_text(name, 100) or address, external_id=message_id
    )
    if entry is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            route={**(conversation.route or {}), **route}
        )
    return entry


def _thread(references: list[str], address: str) -> Conversation | None:
    """The conversation an answer belongs to: one of the ids it refers to is ours or theirs,
    and it comes from the same address (a message naming someone else's thread starts its own
    conversation: it must not redirect our answers in that thread to its sender)."""
    if not references:
        return None
    entry = (
        Entry.objects.filter(conversation__source=Source.EMAIL, external_id__in=references)
        .select_related("conversation")
        .order_by("-pk")
        .first()
    )
    conversation = entry.conversation if entry is not None else None
    if conversation is None:
        conversation = Conversation.objects.filter(
            source=Source.EMAIL, external_id__in=references
        ).first()
    if conversation is None:
        return None
    known = str((conversation.route or {}).get("email") or "")
    return conversation if known.lower() == address.lower() else None


def send_email_reply(entry: Entry) -> str:
    """Answer by e-mail from the contact address, in the citizen's thread; returns the
    Message-ID of our answer."""
    # Fresh from the database: the route follows the citizen's latest message.
    conversation = Conversation.objects.get(pk=entry.conversation_id)
    route = conversation.route or {}
    to = str(route.get("email") or "")
    if not to:
        raise ReplyError("the conversation has no e-mail address to answer")
    sender = contact_address() or settings.DEFAULT_FROM_EMAIL
    domain = sender.rsplit("@", 1)[-1] or None
    message_id = make_msgid(idstring=f"inbox{entry.pk}", domain=domain)
    last = str(route.get("message_id") or "")
    references = [r for r in route.get("references") or [] if isinstance(r, str)]
    if last and last not in references:
        references.append(last)
    subject = str(route.get("subject") or conversation.subject or _("Your message to the police"))
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    headers = {"Message-ID": message_id, "Auto-Submitted": "no"}
    if last:
        headers["In-Reply-To"] = last
    if references:
        headers["References"] = " ".join(references[-10:])
    mail = DjangoEmailMessage(
        subject=subject.replace("\r", " ").replace("\n", " "),
        body=entry.text,
        from_email=sender,
        to=[to],
        headers=headers,
    )
    try:
        mail.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        raise ReplyError(f"the mail server refused the message: {error}") from None
    except ConnectionRefusedError as error:
        raise ReplyError(f"the mail server is not reachable: {error}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise ReplyError(f"sending failed: {error}", maybe_sent=True) from None
    return message_id


# The SMTP server for the contact address (``copps inbox smtpd``) -------------------------------


class ContactHandler:
    """aiosmtpd handler: only the contact address is a recipient (others: 550); each message is
    stored in the inbox (in a worker thread: the database is not used from the event loop)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not is_contact(address):
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        if len(content) > MAX_MESSAGE_BYTES:
            return "552 5.3.4 Message too big"
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, _store_in_thread, content)
        except Dropped:
            return "250 2.0.0 Message accepted"  # accepted and not kept: no bounce to a robot
        except Exception:
            logger.exception("inbox: storing an e-mail failed")
            return "451 4.3.0 Cannot store the message now; try again later"
        return "250 2.0.0 Message accepted for the police inbox"


def _store_in_thread(content: bytes) -> None:
    from django.db import close_old_connections

    close_old_connections()
    try:
        receive_mail(content)
    finally:
        close_old_connections()


def controller(host: str, port: int):
    from aiosmtpd.controller import Controller

    # aiosmtpd logs every sender and recipient address at INFO: personal data, keep it out.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(
        ContactHandler(),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        ident="copps contact",
    )


def inbound_endpoint() -> tuple[str, int]:
    value = str(getattr(settings, "COPPS_MAIL_INBOUND", "") or "127.0.0.1:8026")
    host, _sep, port = value.rpartition(":")
    try:
        return host.strip("[]") or "127.0.0.1", int(port)
    except ValueError:
        return "127.0.0.1", 8026
