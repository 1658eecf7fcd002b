"""Text-to-police through a real Kannel: a phone (fakesmsc) texts the police number, Kannel's
sms-service calls copps' live server at /hooks/sms/kannel, the automatic answer goes back to the
phone; an investigator's reply reaches the same phone through the alias (Kannel's sendsms).

Kannel is configured exactly as docs/tips.md tells a force to (the sms-service group of
``SMS_SERVICE`` below), from loopback, as the demo runs it.
"""

from __future__ import annotations

import re

import pytest

from copps.accounts.roles import Role
from copps.inbox import actions
from copps.inbox.models import Conversation, Direction, Entry, Priority, SmsAlias, Source
from copps.investigations.models import Tip
from tests import support_kannel
from tests.conftest import require_component

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+32470123456"
POLICE = "4411"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The sms-service group of docs/tips.md (without the token: loopback is allowed here).
SMS_SERVICE = """
group = sms-service
keyword = default
catch-all = true
get-url = "{base}/hooks/sms/kannel?from=%p&to=%P&text=%a&id=%I&coding=%c&charset=%C"
max-messages = 3
concatenation = true
omit-empty = true
accept-x-kannel-headers = true
"""


class PoliceKannel(support_kannel.Kannel):
    """The test Kannel with the text-to-police sms-service group."""

    def __init__(self, tmpdir, *, base: str):
        super().__init__(tmpdir)
        self.base = base

    def write_conf(self) -> None:
        super().write_conf()
        with self.conf.open("a") as conf:
            conf.write(SMS_SERVICE.format(base=self.base))


@pytest.fixture(scope="module")
def kannel(live_server, tmp_path_factory):
    require_component(support_kannel.available(), "Kannel (bearerbox, smsbox, fakesmsc)")
    k = PoliceKannel(tmp_path_factory.mktemp("kannel-inbox"), base=live_server.url).start()
    yield k
    k.stop()


@pytest.fixture
def hook(settings, live_server):
    settings.COPPS_SMS_HOOK_TOKEN = ""
    settings.COPPS_SMS_HOOK_ALLOWED = ["127.0.0.1", "::1"]
    return live_server


@pytest.fixture
def sms_channel(make_channel, kannel):
    return make_channel(
        "sms_kannel",
        slug="kannel-police",
        sandbox=False,
        config={
            "sendsms_url": kannel.sendsms_url,
            "username": kannel.username,
            "sender": POLICE,
        },
        secrets={"password": kannel.password},
    )


def new_messages(kannel, before, count):
    return kannel.wait_received(before + count, timeout=30)[before:]


def test_an_sms_tip_is_answered_and_the_investigators_reply_reaches_the_same_phone(
    kannel, hook, sms_channel, make_user
):
    investigator = make_user(Role.INVESTIGATOR, "ines")
    before = len(kannel.received())
    kannel.send_mo(PHONE, POLICE, "TIP the blue van again")

    ((sender, to, answer),) = new_messages(kannel, before, 1)
    tip = Tip.objects.get()
    assert (sender, to) == (POLICE, PHONE)
    assert tip.code in answer and "112" in answer and "101" in answer
    conversation = Conversation.objects.get(source=Source.SMS)
    assert tip.conversation == conversation
    entry = Entry.objects.get(direction=Direction.IN)
    assert entry.text == "TIP the blue van again"
    assert UUID_RE.match(entry.external_id), "Kannel's %I (the message id) dedupes redeliveries"
    assert conversation.route == {"alias": SmsAlias.objects.get().alias}

    before = len(kannel.received())
    reply = actions.reply(conversation, by=investigator, text="Which way did the van go?")
    assert reply.send_state == "sent"
    assert new_messages(kannel, before, 1) == [(POLICE, PHONE, "Which way did the van go?")]


def test_a_text_outside_gsm7_with_a_danger_word_arrives_intact_and_urgent(kannel, hook):
    before = len(kannel.received())
    kannel.send_mo("+32470000321", POLICE, "Au secours, un cambrioleur à l'étage — 🚨")
    ((_sender, to, answer),) = new_messages(kannel, before, 1)
    assert to == "+32470000321" and "112" in answer
    entry = Entry.objects.get(direction=Direction.IN)
    assert entry.text == "Au secours, un cambrioleur à l'étage — 🚨"
    assert entry.urgent and entry.conversation.priority == Priority.URGENT


def test_an_answer_outside_the_gsm_alphabet_reaches_the_phone_intact(kannel, hook, monkeypatch):
    from copps.inbox import sms

    answer = "Reçu : un enquêteur vous répondra — « merci »"
    monkeypatch.setattr(sms, "compose", lambda **kwargs: answer)
    before = len(kannel.received())
    kannel.send_mo("+32470000777", POLICE, "Bonjour")
    ((_sender, to, received),) = new_messages(kannel, before, 1)
    assert to == "+32470000777" and received == answer
