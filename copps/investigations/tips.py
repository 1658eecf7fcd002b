"""Anonymous tips: the named actions (the web form, the SMS keyword and the investigator console
call these).

A tip is an inbox conversation on the investigation desk plus a ``Tip`` row with a code. A web
tipster also gets a secret (only its HMAC is stored; a secret of 60 random bits needs no slow
hash) to come back at ``/tips/follow-up``, read the investigators' questions and answer. STOP
ends the dialogue: no more questions can be asked.

Nothing here ever receives the request: no IP address, no User-Agent can reach the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.audit import log as audit
from copps.inbox import actions as inbox
from copps.inbox.models import Conversation, Entry, Source
from copps.inbox.replies import ReplyError

from .models import Notice, NoticeState, Tip, TipState

# No 0/O, 1/I/L, U: codes are read aloud and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_MESSAGE = 5000


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_code() -> str:
    """A tip code such as ``K7QF-2M9X`` (about 39 bits; unique, checked on insert)."""
    return f"{_random(4)}-{_random(4)}"


def new_secret() -> str:
    """The tipster's secret such as ``7KQ2-M9XF-PA3D`` (about 59 bits)."""
    return f"{_random(4)}-{_random(4)}-{_random(4)}"


def normalise(value: str) -> str:
    """What a person types, read leniently: case, spaces and dashes do not matter."""
    raw = "".join(ch for ch in str(value or "").upper() if ch.isalnum())
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    return raw[:40]


def secret_hash(secret: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"tip-secret:{normalise(secret)}".encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class NewTip:
    tip: Tip
    secret: str  # shown once to the tipster, never stored


def _minute(moment=None):
    return (moment or timezone.now()).replace(second=0, microsecond=0)


def open_notice(pk) -> Notice | None:
    """The notice a tip may be linked to: an active one (a closed notice takes no more tips)."""
    value = str(pk or "")
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to isdigit(), not to int()
        return None
    return Notice.objects.filter(pk=int(pk), state=NoticeState.ACTIVE).first()


def create_tip(
    *,
    text: str,
    notice: Notice | None = None,
    files=(),
    conversation: Conversation | None = None,
    with_secret: bool = True,
    urgent: bool = False,
    language: str = "",
) -> NewTip:
    """Store a tip (and its attachments) in one transaction; returns it with its secret.

    ``conversation``: an existing conversation (an SMS exchange) the tip belongs to; else a new
    web-tip conversation is opened. ``files`` are uploaded files, stored by
    ``copps.inbox.attachments.store_attachment`` (hashed, EXIF kept, type checked).
    """
    text = str(text or "").replace("\x00", "").strip()
    if not text:
        raise ValidationError(_("Please describe what you know."))
    if len(text) > MAX_MESSAGE:
        raise ValidationError(_("Your message is too long."))
    secret = new_secret() if with_secret else ""
    with transaction.atomic():
        if conversation is None:
            conversation, _created = inbox.open_conversation(
                source=Source.TIP,
                message=notice.message if notice else None,
                language=language,
                subject=str(notice) if notice else "",
            )
            entry = inbox.receive(conversation, text=text, urgent=urgent, at=_minute())
        else:
            entry = None
        for _attempt in range(5):
            code = new_code()
            if not Tip.objects.filter(code=code).exists():
                break
        tip = Tip.objects.create(
            conversation=conversation,
            code=code,
            secret_hash=secret_hash(secret) if secret else "",
            notice=notice,
            created_at=_minute(),
        )
        if entry is not None and files:
            from copps.inbox.attachments import store_attachment

            for upload in files:
                store_attachment(entry, upload)
        audit.record(
            actor="tipster",
            action="tip.create",
            obj=tip,
            data={"notice": notice.pk if notice else None, "files": len(files)},
        )
    return NewTip(tip=tip, secret=secret)


def find_tip(code: str, secret: str) -> Tip | None:
    """The tip for ``code`` + ``secret``, or None — the same None whether the code does not
    exist or the secret is wrong (no hint either way). Compares in constant time."""
    wanted = normalise(code)
    candidate = None
    if len(wanted) == 8:
        candidate = (
            Tip.objects.select_related("conversation", "notice")
            .filter(code=f"{wanted[:4]}-{wanted[4:]}")
            .exclude(secret_hash="")
            .first()
        )
    expected = candidate.secret_hash if candidate else secret_hash("no such tip")
    if hmac.compare_digest(expected, secret_hash(secret)) and candidate is not None:
        return candidate
    return None


def tipster_answer(tip: Tip, *, text: str) -> Entry:
    """The tipster writes again (an answer to a question, more information)."""
    if tip.state != TipState.OPEN:
        raise ValidationError(_("This conversation has ended."))
    text = str(text or "").replace("\x00", "").strip()
    if not text:
        raise ValidationError(_("Please write your answer."))
    if len(text) > MAX_MESSAGE:
        raise ValidationError(_("Your message is too long."))
    entry = inbox.receive(tip.conversation, text=text, at=_minute())
    assert entry is not None
    return entry


def stop(tip: Tip) -> None:
    """STOP: the tipster ends the dialogue. Investigators can no longer ask questions."""
    with transaction.atomic():
        updated = Tip.objects.filter(pk=tip.pk, state=TipState.OPEN).update(state=TipState.STOPPED)
        if updated:
            audit.record(actor="tipster", action="tip.stop", obj=tip)
    tip.refresh_from_db()


def close(tip: Tip, *, by) -> None:
    with transaction.atomic():
        Tip.objects.filter(pk=tip.pk).exclude(state=TipState.CLOSED).update(state=TipState.CLOSED)
        inbox.triage(tip.conversation, by=by, state="closed")
        audit.record(actor=by, action="tip.close", obj=tip)
    tip.refresh_from_db()


def questions_for_tipster(tip: Tip) -> list[Entry]:
    """What the tipster sees on follow-up: their messages and the investigators' questions
    (never internal notes)."""
    return list(tip.conversation.entries.exclude(direction="note").order_by("pk"))


def send_to_tipster(entry: Entry) -> str:
    """The reply sender for web tips: the question waits for the tipster's next visit."""
    tip = Tip.objects.filter(conversation_id=entry.conversation_id).first()
    if tip is None or tip.state == TipState.STOPPED:
        raise ReplyError(_("The tipster ended the dialogue."))
    if tip.state == TipState.CLOSED:
        # An investigator asking again reopens a tip they closed (the tipster did not stop it).
        with transaction.atomic():
            Tip.objects.filter(pk=tip.pk).update(state=TipState.OPEN)
            audit.record(actor=entry.by or "inbox", action="tip.reopen", obj=tip)
    return f"tip:{tip.code}"
