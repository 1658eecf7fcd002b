"""Text-to-police by SMS: what a citizen's text does, and how an investigator's reply goes back.

Kannel's sms-service calls ``/hooks/sms/kannel`` (``sms_views``) with the sender's number and the
text; the body of our answer is the automatic reply SMS. ``handle_text`` does the work:

1. The sender's number is normalised (E.164) and replaced by an **alias** ("SMS-7KQ2M9") before
   anything is stored: ``SmsAlias`` keeps the number only encrypted (``channels.crypto``) and as
   an HMAC with ``SECRET_KEY`` for the lookup. Conversations, entries, audit records and rate
   limit keys name the alias, never the number. ``purge_aliases`` deletes an alias
   ``COPPS_SMS_ALIAS_DAYS`` after the number's last text; replies are then impossible.
2. One conversation per alias (source ``sms``, investigation desk, ``route={"alias": ...}``).
   Every accepted text becomes an entry (Kannel's message id dedupes a redelivery: the same
   answer again, no second entry). The automatic answer is recorded as an outgoing entry whose
   external id starts with ``auto:`` (investigators see what the citizen was told).
3. Keywords (the first word, any case): ``TIP``/``TUYAU``/``HINWEIS`` starts an anonymous tip on
   the conversation (the tip code is sent back); ``STOP`` (the whole text, as for subscriptions)
   ends the tip dialogue and the number's SMS subscription, and no reply is sent to the number
   until it writes again. Anything else opens or continues the conversation.
4. ``DANGER_WORDS`` (below) flag the entry urgent: the conversation becomes urgent and the
   on-duty operator gets a console alert; the answer stresses 112.
5. The first automatic answer of a conversation (and every tip confirmation) says to call 112 in
   an emergency and 101 otherwise; later ones are short ("Received. An operator will answer.").
6. More than ``COPPS_SMS_PER_NUMBER_PER_HOUR`` texts from one alias in an hour: each is still
   stored, one "too many messages" answer is sent, then nothing until the hour has passed.

Answers are in the language of the text when a keyword or a common word shows it, else in the
force's default language (``LANGUAGE_CODE``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import checks
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from copps.audit import log as audit
from copps.channels import crypto
from copps.channels.base import ChannelError
from copps.channels.models import RateHit
from copps.channels.sms_inbound import STOP_KEYWORDS, normalise_phone, stop_by_sms

from . import actions
from .models import Conversation, Direction, Entry, SendState, SmsAlias, Source
from .replies import ReplyError

logger = logging.getLogger("copps.inbox.sms")

# What one text may hold (a tip takes at most 5,000 characters; a concatenated SMS is shorter).
MAX_TEXT = 5000
ALIAS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud and typed
AUTO_PREFIX = "auto:"

# The keyword that starts a tip -> its language (None: the same word in several languages).
TIP_KEYWORDS: dict[str, str | None] = {
    "tip": None,  # Dutch and English
    "tuyau": "fr",
    "hinweis": "de",
}

# Danger words: a text containing one (as a whole word, any case, accents ignored) is urgent and
# alerts the on-duty operator. Per language; multi-word phrases allowed. Keep them specific: a
# false alarm costs an operator a look, a missed one costs more, but an alert on every text
# would be ignored.
# fmt: off
DANGER_WORDS: dict[str, tuple[str, ...]] = {
    "nl": (
        "inbreker", "inbrekers", "inbraak", "ingebroken", "inbreken",
        "wapen", "wapens", "pistool", "vuurwapen", "mes", "messen",
        "help", "hulp", "brand", "geweld", "bedreigd", "bedreiging", "bedreigt",
        "ontvoerd", "ontvoering", "zelfmoord", "gijzeling", "neergestoken", "steekpartij",
        "schietpartij", "geschoten",
    ),
    "fr": (
        "cambrioleur", "cambrioleurs", "cambriolage",
        "arme", "armes", "pistolet", "couteau", "couteaux",
        "au secours", "aide", "secours", "feu", "incendie", "violence", "violences",
        "menace", "menaces", "menacé", "menacée", "enlevé", "enlevée", "enlèvement",
        "suicide", "otage", "poignardé", "poignardée",
    ),
    "de": (
        "einbrecher", "einbruch", "eingebrochen",
        "waffe", "waffen", "pistole", "messer",
        "hilfe", "feuer", "brand", "gewalt", "bedroht", "bedrohung",
        "entführt", "entführung", "selbstmord", "suizid", "geisel", "erstochen",
    ),
    "en": (
        "burglar", "burglars", "burglary", "break-in", "intruder",
        "weapon", "weapons", "gun", "knife",
        "help", "fire", "violence", "threat", "threatened", "threatening",
        "kidnapped", "abducted", "suicide", "hostage", "stabbed",
    ),
}
# fmt: on
# Words that are danger words in one language but everyday words in another: they count only
# when the text's common words show that language ("mes" is a knife in Dutch, "my" in French;
# "arme" a weapon in French, "arms" or "poor" in German).
AMBIGUOUS_DANGER_WORDS: dict[str, frozenset[str]] = {
    "mes": frozenset({"nl"}),
    "arme": frozenset({"fr"}),
    "armes": frozenset({"fr"}),
}

# Common words that tell a text's language (words shared by two languages are left out).
LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "nl": frozenset(
        "ik het een niet mijn wij zijn bij dank dankjewel politie nee hebt heb wordt ook".split()
    ),
    "fr": frozenset(
        "je le la les est pas mon ma une des bonjour merci oui non nous suis avec police".split()
    ),
    "de": frozenset("ich der das ist nicht mein und ein eine danke nein wir bin polizei".split()),
    "en": frozenset("i the is not my and we hello thanks yes no you am with".split()),
}


# Text handling -----------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case-folded, accents removed: "Menacé" and "MENACE" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+(?:-\w+)*", fold(text))


def _danger_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = sorted({fold(w) for w in words}, key=len, reverse=True)
    joined = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in alternatives)
    return re.compile(rf"(?<!\w)(?:{joined})(?!\w)")


DANGER_PATTERNS: dict[str, re.Pattern[str]] = {
    language: _danger_pattern(words) for language, words in DANGER_WORDS.items()
}


def danger_words(text: str) -> list[tuple[str, str]]:
    """The danger words in ``text`` as (word, language), in the order of ``DANGER_WORDS``."""
    folded = fold(text)
    language = detect_language(text)
    found: list[tuple[str, str]] = []
    for word_language, pattern in DANGER_PATTERNS.items():
        for match in pattern.finditer(folded):
            word = re.sub(r"\s+", " ", match.group(0))
            if word in AMBIGUOUS_DANGER_WORDS and language not in AMBIGUOUS_DANGER_WORDS[word]:
                continue
            found.append((word, word_language))
    return found


def detect_language(text: str) -> str | None:
    """The language of a text by its common words, or None when unclear."""
    words = _words(text)
    scores = {lang: sum(w in common for w in words) for lang, common in LANGUAGE_WORDS.items()}
    best = max(scores.values(), default=0)
    winners = [lang for lang, score in scores.items() if score == best]
    return winners[0] if best and len(winners) == 1 else None


def _available(language: str | None) -> str | None:
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else None


def answer_language(*choices: str | None) -> str:
    for choice in choices:
        if _available(choice):
            return str(choice)
    return settings.LANGUAGE_CODE


def first_word(text: str) -> str:
    words = text.split(maxsplit=1)
    return fold(words[0]).strip(".!?,;:") if words else ""


def is_stop(text: str) -> bool:
    return " ".join(text.split()).casefold().strip(" .!?,;:") in STOP_KEYWORDS


def stop_language(text: str) -> str | None:
    return STOP_KEYWORDS.get(" ".join(text.split()).casefold().strip(" .!?,;:"))


# Aliases -----------------------------------------------------------------------------------------


def phone_hash(number: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"sms-alias:{number}".encode(), hashlib.sha256
    ).hexdigest()


def new_alias() -> str:
    return "SMS-" + "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(6))


def find_alias(number: str) -> SmsAlias | None:
    return SmsAlias.objects.filter(phone_hash=phone_hash(number)).first()


def alias_for(number: str, now: datetime) -> tuple[SmsAlias, bool]:
    """The alias of an E.164 number, created if new; its ``last_seen_at`` set to ``now``."""
    digest = phone_hash(number)
    existing = SmsAlias.objects.filter(phone_hash=digest).first()
    if existing is not None:
        SmsAlias.objects.filter(pk=existing.pk).update(last_seen_at=now)
        existing.last_seen_at = now
        return existing, False
    for _attempt in range(5):
        candidate = new_alias()
        if Conversation.objects.filter(source=Source.SMS, external_id=candidate).exists():
            # A purged alias still names an old conversation: reusing it would put this number
            # into someone else's conversation (and send it the answers meant for them).
            continue
        try:
            with transaction.atomic():
                alias = SmsAlias.objects.create(
                    alias=candidate,
                    phone_hash=digest,
                    phone=crypto.encrypt(number),
                    created_at=now,
                    last_seen_at=now,
                )
            audit.record(actor="sms", action="sms.alias.create", obj=alias)
            return alias, True
        except IntegrityError:
            # Another request created this number's alias a moment ago, or the random alias
            # was taken: look again, else draw another.
            existing = SmsAlias.objects.filter(phone_hash=digest).first()
            if existing is not None:
                return existing, False
    raise RuntimeError("no free SMS alias")  # 5 collisions in 30^6: not reached


def purge_aliases(now: datetime) -> int:
    """Delete the aliases whose number has not written for ``COPPS_SMS_ALIAS_DAYS`` days (the
    only link to the phone number: replies become impossible). Returns how many."""
    days = int(getattr(settings, "COPPS_SMS_ALIAS_DAYS", 30))
    with transaction.atomic():
        old = SmsAlias.objects.filter(last_seen_at__lt=now - timedelta(days=days))
        deleted, _rows = old.delete()
        if deleted:
            audit.record(actor="sms", action="sms.alias.purge", data={"count": deleted})
    return deleted


# Flood ----------------------------------------------------------------------------------------


def _flood_key(alias: str, now: datetime) -> str:
    # Keyed with SECRET_KEY and the date, as the other rate limits: never the number.
    return hmac.new(
        settings.SECRET_KEY.encode(),
        f"sms-hook:{alias}:{now.date().isoformat()}".encode(),
        hashlib.sha256,
    ).hexdigest()


def count_text(alias: str, now: datetime) -> int:
    """Count one text from ``alias``; returns how many it sent in the last hour (this one too)."""
    key = _flood_key(alias, now)
    RateHit.objects.create(key=key, at=now)
    return RateHit.objects.filter(key=key, at__gt=now - timedelta(hours=1)).count()


def per_hour() -> int:
    return max(1, int(getattr(settings, "COPPS_SMS_PER_NUMBER_PER_HOUR", 20)))


# Answers --------------------------------------------------------------------------------------


def _emergency() -> str:
    return _("Emergency: call 112. No emergency: call 101.")


def _danger() -> str:
    return _(
        "If you are in danger now, call 112 (or use the 112 app if you cannot speak). "
        "An operator has been alerted."
    )


def compose(*, first: bool, danger: bool, tip_code: str = "", stopped: bool = False) -> str:
    """The automatic answer (in the active language)."""
    if stopped:
        return _("Stopped: the police will send no more texts to this number. Emergency: call 112.")
    parts = []
    if danger:
        parts.append(_danger())
    if tip_code:
        parts.append(
            _(
                "Thank you. Your anonymous tip code is %(code)s. An investigator may ask you "
                "questions here; send STOP to end."
            )
            % {"code": tip_code}
        )
    elif not danger:
        parts.append(
            _("Your message has reached the police.")
            if first
            else _("Received. An operator will answer.")
        )
    if first or tip_code:
        parts.append(_emergency() if not danger else _("No emergency: call 101."))
    return " ".join(parts)


def too_many() -> str:
    return _(
        "Too many messages from this number: they are kept, but not answered one by one. "
        "Emergency: call 112."
    )


# Handling a text ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    reply: str
    conversation: Conversation | None = None
    entry: Entry | None = None
    duplicate: bool = False


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _stored_answer(conversation: Conversation, message_id: str) -> str:
    answer = conversation.entries.filter(
        direction=Direction.OUT, external_id=AUTO_PREFIX + message_id
    ).first()
    return answer.text if answer else ""


def _tip_of(conversation: Conversation):
    from copps.investigations.models import Tip

    return Tip.objects.filter(conversation=conversation).first()


def handle_text(sender: str, text: str, *, message_id: str = "", now=None) -> Outcome:
    """Store a citizen's text under the sender's alias and return the automatic answer.

    ``sender`` must be a phone number (``normalise_phone``); ``text`` is stored as given (the
    caller has decoded and cleaned it); ``message_id`` is the gateway's id (dedupe).
    """
    from copps.investigations import tips
    from copps.investigations.models import TipState

    number = normalise_phone(sender)
    if number is None:
        raise ValueError("not a phone number")
    now = now or timezone.now()
    text = text[:MAX_TEXT]
    message_id = message_id[:200]
    stop = is_stop(text)
    keyword = first_word(text)
    tip_keyword = not stop and keyword in TIP_KEYWORDS
    language = answer_language(
        stop_language(text) if stop else None,
        TIP_KEYWORDS.get(keyword) if tip_keyword else None,
        detect_language(text),
        _available(next((lang for _w, lang in danger_words(text)), None)),
    )

    with transaction.atomic():
        if stop and find_alias(number) is None:
            # STOP from a number that never wrote here: only its subscription (if any) ends.
            stop_by_sms(number)
            with translation.override(language):
                return Outcome(reply=compose(first=False, danger=False, stopped=True))

        alias, _created = alias_for(number, now)
        conversation, _opened = actions.open_conversation(
            source=Source.SMS,
            external_id=alias.alias,
            route={"alias": alias.alias},
            language=language,
        )
        if (
            message_id
            and conversation.entries.filter(direction=Direction.IN, external_id=message_id).exists()
        ):
            return Outcome(_stored_answer(conversation, message_id), conversation, duplicate=True)

        first = not conversation.entries.filter(
            direction=Direction.OUT, external_id__startswith=AUTO_PREFIX
        ).exists()
        sent_this_hour = count_text(alias.alias, now)
        danger = danger_words(text)
        tip = _tip_of(conversation)
        tip_code = ""
        if tip_keyword and tip is None:
            rest = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else text
            tip = tips.create_tip(
                text=rest, conversation=conversation, with_secret=False, language=language
            ).tip
        if tip_keyword:
            tip_code = tip.code

        entry = actions.receive(
            conversation,
            text=text,
            external_id=message_id,
            urgent=bool(danger),
            at=_minute(now),
        )
        if entry is None:  # the same message a moment ago (a concurrent redelivery)
            return Outcome(_stored_answer(conversation, message_id), conversation, duplicate=True)

        route = dict(conversation.route or {})
        if stop:
            stop_by_sms(number)
            if tip is not None:
                tips.stop(tip)
            route["stopped"] = True
        else:
            route.pop("stopped", None)
            if tip is not None and tip.state == TipState.STOPPED:
                # The tipster writes again after STOP: the dialogue resumes.
                from copps.investigations.models import Tip

                Tip.objects.filter(pk=tip.pk).update(state=TipState.OPEN)
                audit.record(actor="tipster", action="tip.resume", obj=tip)
        if route != conversation.route:
            Conversation.objects.filter(pk=conversation.pk).update(route=route)

        with translation.override(language):
            if sent_this_hour > per_hour() + 1:
                reply = ""
            elif sent_this_hour == per_hour() + 1:
                reply = too_many()
            else:
                reply = compose(first=first, danger=bool(danger), tip_code=tip_code, stopped=stop)
        if reply:
            Entry.objects.create(
                conversation=conversation,
                direction=Direction.OUT,
                text=reply,
                external_id=AUTO_PREFIX + (message_id or uuid.uuid4().hex),
                send_state=SendState.SENT,
                created_at=_minute(now),
            )
    return Outcome(reply, conversation, entry)


# Replies from investigators -----------------------------------------------------------------


def send_reply(entry: Entry) -> str:
    """The reply sender for SMS conversations: to the alias's number, through the first usable
    SMS channel. Returns our reference for the text."""
    from copps.channels.subscriptions import sms_channel
    from copps.investigations.models import Tip, TipState

    conversation = entry.conversation
    route = conversation.route or {}
    if (
        route.get("stopped")
        or Tip.objects.filter(conversation=conversation, state=TipState.STOPPED).exists()
    ):
        raise ReplyError(_("The citizen sent STOP: no texts go to this number until it writes."))
    alias = SmsAlias.objects.filter(alias=str(route.get("alias") or "")).first()
    if alias is None:
        raise ReplyError(_("The number is no longer known."))
    try:
        number = crypto.decrypt(alias.phone)
    except crypto.InvalidToken:
        raise ReplyError(_("The number is no longer known.")) from None
    channel = sms_channel()
    if channel is None:
        raise ReplyError(_("No SMS channel is set up."))
    reference = f"inbox-{entry.pk}"
    try:
        return channel.adapter.send_text(number, entry.text, reference=reference) or reference
    except ChannelError as error:
        # The error names the gateway's answer, never the number (a gateway may echo it).
        message = without_number(str(error), number, alias.alias)
        raise ReplyError(message[:300], maybe_sent=error.maybe_sent) from None


def without_number(message: str, number: str, alias: str) -> str:
    """``message`` with every spelling of ``number`` (E.164, with 00 or 0, spaced) replaced by
    ``alias``: the send error is stored on the entry and shown in the console."""
    import phonenumbers

    try:
        national = phonenumbers.national_significant_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        national = number.lstrip("+")
    if len(national) < 6:
        return message.replace(number, alias)
    spaced = r"[\s./()-]*".join(re.escape(digit) for digit in national)
    prefix = r"(?:(?:\+|00)?\d{1,3}[\s./()-]*)?(?:0[\s./()-]*)?"
    return re.sub(prefix + spaced, alias, message)


# Configuration check --------------------------------------------------------------------------


def allowed_networks() -> tuple[list, list[str]]:
    """COPPS_SMS_HOOK_ALLOWED as networks, and the entries that are not addresses."""
    import ipaddress

    networks, bad = [], []
    for item in getattr(settings, "COPPS_SMS_HOOK_ALLOWED", []) or []:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            bad.append(str(item))
    return networks, bad


def check_hook(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    networks, bad = allowed_networks()
    if bad:
        problems.append(
            checks.Warning(
                f"COPPS_SMS_HOOK_ALLOWED has entries that are not addresses: {', '.join(bad)}",
                hint="Use addresses or networks such as 10.0.0.5 or 10.0.0.0/24.",
                id="copps.inbox.W002",
            )
        )
    if not getattr(settings, "COPPS_SMS_HOOK_TOKEN", "") and not networks:
        problems.append(
            checks.Warning(
                "The SMS hook /hooks/sms/kannel is closed: every call gets 403.",
                hint="Set COPPS_SMS_HOOK_TOKEN (and &token= in Kannel's get-url) or "
                "COPPS_SMS_HOOK_ALLOWED to the address of your Kannel smsbox.",
                id="copps.inbox.W001",
            )
        )
    return problems
