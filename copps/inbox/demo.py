"""Demo conversations for the citizens' inbox (called by the demo loader; safe to run twice).

Two conversations on the communication desk (a Mastodon mention, an e-mail to the contact
address) and one anonymous web tip on the demo missing-person notice with an investigator's
question. All people, handles and addresses are fictional.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import actions
from .models import Conversation, Priority, Source

DEMO_NOTICE_CASE = "DEMO-PV-2026-0107"


def _user(role: str):
    return get_user_model().objects.filter(role=role, is_active=True).order_by("pk").first()


def load_demo() -> int:
    """Create the demo conversations that do not exist yet; returns how many were created."""
    created = 0
    now = timezone.now()
    with transaction.atomic():
        mention, new = actions.open_conversation(
            source=Source.MASTODON,
            external_id="demo:https://mastodon.example/@wijkbewoner/113000000000000001",
            author="@wijkbewoner@mastodon.example",
            language="nl",
            route={"account": "@wijkbewoner@mastodon.example"},
        )
        if new:
            created += 1
            actions.receive(
                mention,
                text=(
                    "@politie Is het fietspad langs de Vaartkom morgen weer open? "
                    "Er staan nog altijd hekken sinds de werken."
                ),
                author="@wijkbewoner@mastodon.example",
                external_id="113000000000000001",
                url="https://mastodon.example/@wijkbewoner/113000000000000001",
                at=now - timedelta(hours=3),
            )
        mail, new = actions.open_conversation(
            source=Source.EMAIL,
            external_id="demo:<c0ffee-1@mail.example>",
            author="An Janssens <an.janssens@mail.example>",
            subject="Vraag over een verloren portefeuille",
            language="nl",
            route={"email": "an.janssens@mail.example"},
        )
        if new:
            created += 1
            actions.receive(
                mail,
                text=(
                    "Goedemiddag,\n\nIk heb gisteren mijn portefeuille verloren in het centrum. "
                    "Kan ik die ergens bij jullie afhalen als iemand hem binnenbrengt?\n\n"
                    "Met vriendelijke groeten,\nAn"
                ),
                author="An Janssens",
                external_id="<c0ffee-1@mail.example>",
                at=now - timedelta(hours=30),
            )
        if not Conversation.objects.filter(source=Source.TIP, route__demo="lotte").exists():
            created += _demo_tip()
    return created


def _demo_tip() -> int:
    try:
        from copps.investigations import tips
        from copps.investigations.models import Notice
    except ImportError:  # pragma: no cover - investigations is always installed
        return 0
    notice = Notice.objects.filter(case_reference=DEMO_NOTICE_CASE).first()
    new = tips.create_tip(
        text=(
            "Ik denk dat ik het meisje met de groene regenjas zaterdagochtend zag in de bus "
            "naar de kust (lijn 68), rond 9 uur. Ze zat alleen achteraan."
        ),
        notice=notice,
        language="nl",
    )
    conversation = new.tip.conversation
    Conversation.objects.filter(pk=conversation.pk).update(
        route={"demo": "lotte"}, priority=Priority.HIGH
    )
    conversation.refresh_from_db()
    actions.reply(
        conversation,
        by=_user("investigator"),
        text="Dank u. Weet u nog aan welke halte ze uitstapte?",
    )
    return 1
