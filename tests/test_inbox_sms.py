"""Text-to-police SMS through the real hook (/hooks/sms/kannel), without Kannel.

The Kannel round trip (a phone, fakesmsc, bearerbox, smsbox, copps and back) is in
tests/test_inbox_sms_kannel.py.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from copps.accounts.roles import Role
from copps.channels.models import Subscription
from copps.inbox import actions, sms
from copps.inbox.models import Alert, Conversation, Direction, Entry, Priority, SmsAlias, Source
from copps.investigations.models import Tip
from copps.lib import http

pytestmark = pytest.mark.django_db

HOOK = "/hooks/sms/kannel"
PHONE = "+32470123456"
TOKEN = "hook-token-for-the-tests-0123456789"


def text(client, body, *, sender=PHONE, message_id="", remote="127.0.0.1", **extra):
    params = {"from": sender, "to": "4411", "text": body}
    if message_id:
        params["id"] = message_id
    params.update(extra)
    return client.get(HOOK, params, REMOTE_ADDR=remote)


def raw(client, query, remote="127.0.0.1"):
    """A request with a query string exactly as given (percent-encoded bytes of any charset)."""
    return client.get(f"{HOOK}?{query}", REMOTE_ADDR=remote)


def conversation():
    return Conversation.objects.get(source=Source.SMS)


def incoming():
    return list(Entry.objects.filter(direction=Direction.IN).values_list("text", flat=True))


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, "ines")


# Authentication -------------------------------------------------------------------------------


def test_it_accepts_a_text_from_loopback_and_refuses_other_addresses(client, settings):
    settings.COPPS_SMS_HOOK_TOKEN = ""
    settings.COPPS_SMS_HOOK_ALLOWED = ["127.0.0.1", "::1", "10.1.2.0/24"]
    assert text(client, "hello", remote="203.0.113.9").status_code == 403
    assert not Entry.objects.exists() and not SmsAlias.objects.exists()
    assert text(client, "hello").status_code == 200
    assert text(client, "again", remote="10.1.2.77").status_code == 200
    assert incoming() == ["hello", "again"]


def test_it_requires_the_token_when_one_is_set_whatever_the_address(client, settings):
    settings.COPPS_SMS_HOOK_TOKEN = TOKEN
    assert text(client, "hello").status_code == 403  # loopback alone is not enough
    assert text(client, "hello", token="wrong").status_code == 403
    assert text(client, "hello", token="tökén").status_code == 403  # never a 500
    assert not Entry.objects.exists()
    assert text(client, "hello", token=TOKEN, remote="203.0.113.9").status_code == 200
    assert incoming() == ["hello"]


def test_it_is_closed_and_warns_without_token_or_addresses(client, settings):
    settings.COPPS_SMS_HOOK_TOKEN = ""
    settings.COPPS_SMS_HOOK_ALLOWED = []  # production's default
    assert text(client, "hello").status_code == 403
    assert [w.id for w in sms.check_hook()] == ["copps.inbox.W001"]
    settings.COPPS_SMS_HOOK_ALLOWED = ["kannel.example"]
    assert [w.id for w in sms.check_hook()] == ["copps.inbox.W002", "copps.inbox.W001"]
    settings.COPPS_SMS_HOOK_TOKEN = TOKEN
    assert [w.id for w in sms.check_hook()] == ["copps.inbox.W002"]


# Answers and conversations ---------------------------------------------------------------------


def test_it_answers_the_first_text_with_112_and_101_and_later_ones_briefly(client):
    first = text(client, "The streetlight in my street is broken", message_id="m1")
    assert first.status_code == 200 and first["Content-Type"].startswith("text/plain")
    assert "112" in first.content.decode() and "101" in first.content.decode()
    later = text(client, "It is number 12", message_id="m2").content.decode()
    assert later == "Received. An operator will answer."
    conv = conversation()
    assert conv.desk == "investigation" and conv.route == {"alias": conv.external_id}
    assert conv.external_id.startswith("SMS-") and len(conv.external_id) == 10
    # What the citizen was told is in the conversation, after each text.
    entries = list(conv.entries.values_list("direction", "text"))
    assert entries == [
        ("in", "The streetlight in my street is broken"),
        ("out", first.content.decode()),
        ("in", "It is number 12"),
        ("out", later),
    ]


def test_it_gives_another_number_its_own_alias_and_conversation_with_112(client):
    text(client, "hello")
    other = text(client, "hello", sender="0470 99 88 77").content.decode()
    assert "112" in other and "101" in other
    assert Conversation.objects.filter(source=Source.SMS).count() == 2
    assert SmsAlias.objects.count() == 2


def test_it_answers_a_redelivered_message_the_same_without_a_second_entry(client):
    first = text(client, "TIP the blue van again", message_id="0b1c-uuid").content
    again = text(client, "TIP the blue van again", message_id="0b1c-uuid").content
    assert first == again and b"Your anonymous tip code is" in first
    assert incoming() == ["TIP the blue van again"]
    assert Tip.objects.count() == 1
    # A new id is a new message.
    text(client, "TIP the blue van again", message_id="0b1d-uuid")
    assert len(incoming()) == 2


def test_it_answers_in_the_language_of_the_text_else_the_force_default(client, settings):
    settings.LANGUAGE_CODE = "nl"
    text(client, "TUYAU la voiture bleue", sender="+32470000101")
    text(client, "Ik heb iets gezien", sender="+32470000102")
    text(client, "Hinweis: ein Auto", sender="+32470000103")
    text(client, "12345", sender="+32470000104")
    languages = list(Conversation.objects.order_by("pk").values_list("language", flat=True))
    assert languages == ["fr", "nl", "de", "nl"]


# Tips ------------------------------------------------------------------------------------------


def test_it_starts_an_anonymous_tip_and_sends_the_code_back(client):
    answer = text(client, "tip The blue van is back at the school", message_id="t1")
    body = answer.content.decode()
    tip = Tip.objects.get()
    assert tip.code in body and "112" in body and "101" in body
    assert tip.secret_hash == "" and tip.state == "open"
    assert tip.conversation.source == Source.SMS and tip.conversation == conversation()
    assert incoming() == ["tip The blue van is back at the school"]
    # A second TIP from the same number continues the same tip (one tip per conversation).
    again = text(client, "TIP and a red car", message_id="t2").content.decode()
    assert tip.code in again and Tip.objects.count() == 1


def test_it_stores_the_phone_number_nowhere_but_encrypted(client):
    text(client, "TIP the blue van again", sender="0032 470 12 34 56", message_id="p1")
    text(client, "more about the van", sender="+32470123456", message_id="p2")
    text(client, "STOP", sender="32470123456", message_id="p3")
    alias = SmsAlias.objects.get()
    assert sms.crypto.decrypt(alias.phone) == PHONE  # the one way to reach the number
    needles = ("470123456", "470 12 34 56", "0470123456")
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from Django)
            for row in cursor.fetchall():
                for value in row:
                    if value is not None and any(n in str(value) for n in needles):
                        found.append((table, value))
    assert found == []
    assert Entry.objects.filter(direction=Direction.IN).count() == 3


# STOP ------------------------------------------------------------------------------------------


def test_stop_ends_the_tip_dialogue_and_the_subscription_with_one_answer(client, investigator):
    Subscription.objects.create(
        medium="sms", address=PHONE, language="nl", state="active", secret="s" * 32
    )
    text(client, "TIP the blue van", message_id="s1")
    answer = text(client, "Stop!", message_id="s2").content.decode()
    assert answer.startswith("Stopped: the police will send no more texts to this number.")
    assert Tip.objects.get().state == "stopped"
    assert not Subscription.objects.exists()
    # The investigator's question is not sent: the citizen said STOP.
    entry = actions.reply(conversation(), by=investigator, text="Which colour was the van?")
    assert entry.send_state == "failed" and "STOP" in entry.send_error
    # Writing again resumes the dialogue.
    text(client, "It was dark blue", message_id="s3")
    assert Tip.objects.get().state == "open" and "stopped" not in conversation().route


def test_stop_from_a_number_that_never_wrote_only_ends_its_subscription(client):
    Subscription.objects.create(
        medium="sms", address=PHONE, language="nl", state="active", secret="s" * 32
    )
    answer = text(client, "STOP").content.decode()
    assert answer.startswith("Stopped:")
    assert not Subscription.objects.exists()
    assert not Conversation.objects.exists() and not SmsAlias.objects.exists()


def test_the_old_subscription_endpoint_stays_subscriptions_only(client, settings):
    settings.COPPS_SMS_INBOUND_TOKEN = "old-token"
    answer = client.get(
        "/channels/sms/inbound/",
        {"from": PHONE, "to": "4411", "text": "There is a burglar", "token": "old-token"},
    )
    assert b"only handles subscriptions" in answer.content
    assert not Conversation.objects.exists()


# Danger words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Er is een INBREKER in huis",
        "il y a un cambrioleur",
        "Ich werde bedroht",
        "a man with a knife",
        "Au   secours!",
        "Je suis menace",  # without the accent
        "ontvoerd!",
    ],
)
def test_it_flags_danger_words_urgent_and_alerts_the_operator(client, body):
    answer = text(client, body).content.decode()
    # The answer speaks the sender's language; in every language it leads with 112.
    assert "112" in answer.split(".")[0]
    conv = conversation()
    assert conv.priority == Priority.URGENT
    assert Entry.objects.get(direction=Direction.IN).urgent
    assert Alert.objects.filter(conversation=conv, desk="investigation").count() == 1


@pytest.mark.parametrize(
    "body",
    ["That was helpful, thanks", "Messi scored", "mes voisins font du bruit", "firewall"],
)
def test_it_does_not_flag_words_that_only_look_like_danger(client, body):
    answer = text(client, body).content.decode()
    assert "danger" not in answer
    assert conversation().priority == Priority.NORMAL
    assert not Alert.objects.exists()


# Flood -----------------------------------------------------------------------------------------


def test_it_keeps_every_text_of_a_flood_but_answers_too_many_once_then_nothing(client, settings):
    settings.COPPS_SMS_PER_NUMBER_PER_HOUR = 3
    answers = [text(client, f"message {i}", message_id=f"f{i}").content.decode() for i in range(6)]
    assert all(answers[:3])
    assert answers[3].startswith("Too many messages from this number")
    assert answers[4:] == ["", ""]
    assert incoming() == [f"message {i}" for i in range(6)]
    # Another number is not affected.
    assert "112" in text(client, "hello", sender="+32470000555").content.decode()
    # The redelivery of a silenced message stays silent and is not stored twice.
    assert text(client, "message 5", message_id="f5").content == b""
    assert len(incoming()) == 7


# Bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("text=caf%E9+au+lait", "café au lait"),  # Latin-1, not valid UTF-8
        ("text=%FF%FEhello", "ÿþhello"),  # invalid UTF-8 without a charset
        ("text=ok%C3%28&charset=UTF-8", "ok\ufffd("),  # invalid UTF-8, declared
        ("text=%00%E9t%00%E9&coding=2", "été"),  # UCS-2 that Kannel did not recode
        ("text=%20%AC%D8%00&charset=UTF-16BE", "€\ufffd"),  # a lone surrogate
        ("text=%20%AC&charset=UCS-2", "€"),
        ("text=a%00b%07c%0Ad", "abc\nd"),  # NUL and control characters
        ("text=hello&charset=klingon", "hello"),
        # Codecs Python knows that are not text encodings, or refuse "replace": read as unknown.
        ("text=YWJj&charset=base64", "YWJj"),
        ("text=hello&charset=rot13", "hello"),
        ("text=hello&charset=zlib", "hello"),
        ("text=hello&charset=idna", "hello"),
        ("text=h%C3%A9llo&coding=garbage", "héllo"),
    ],
)
def test_it_decodes_any_encoding_leniently_and_stores_the_text(client, query, stored):
    response = raw(client, f"from=%2B32470123456&to=4411&{query}")
    assert response.status_code == 200
    assert incoming() == [stored]


def test_it_stores_a_very_long_text_shortened(client):
    response = text(client, "x" * 20000)
    assert response.status_code == 200
    assert incoming() == ["x" * sms.MAX_TEXT]


@pytest.mark.parametrize(
    "query",
    [
        "to=4411&text=hello",  # no sender
        "from=&text=hello",
        "from=POLITIE&text=hello",  # not a number: nobody to answer
        "from=%2B32470123456&text=",  # nothing to store
        "from=%2B32470123456&text=%00%00",
        "from=%2B32470123456&text=hi&id=a%20b",  # an id Kannel never gives
        "from=%2B32470123456&text=hi&id=" + "a" * 101,
        "from=%FF%FE%00&text=hi",
    ],
)
def test_it_refuses_invalid_input_with_400(client, query):
    response = raw(client, query)
    assert response.status_code == 400 and response.content
    assert not Entry.objects.exists()


def test_it_accepts_post_and_refuses_other_methods(client):
    form = "from=%2B32470123456&text=posted+caf%E9&id=p-1"
    posted = client.post(
        HOOK, form, content_type="application/x-www-form-urlencoded", REMOTE_ADDR="127.0.0.1"
    )
    assert posted.status_code == 200 and b"112" in posted.content
    multipart = {"from": PHONE, "text": "multipart", "id": "p-2"}
    assert client.post(HOOK, multipart, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.put(HOOK, REMOTE_ADDR="127.0.0.1").status_code == 405
    assert incoming() == ["posted café", "multipart"]


# Replies ---------------------------------------------------------------------------------------


@pytest.fixture
def kannel_channel(make_channel):
    return make_channel(
        "sms_kannel",
        slug="kannel-inbox",
        sandbox=False,
        config={"sendsms_url": "http://kannel.test:13013/cgi-bin/sendsms", "username": "copps"},
        secrets={"password": "p"},
    )


def test_an_investigators_reply_goes_to_the_number_behind_the_alias(
    client, investigator, kannel_channel
):
    text(client, "TIP the blue van", sender="0470 12 34 56")
    with http.fake(lambda request: httpx.Response(202, text="0: Accepted for delivery")) as seen:
        entry = actions.reply(conversation(), by=investigator, text="Which colour was it?")
    assert entry.send_state == "sent" and entry.external_id == f"inbox-{entry.pk}"
    (request,) = seen
    assert request.headers["x-kannel-to"] == PHONE
    assert request.content == b"Which colour was it?"


def test_a_reply_is_unknown_when_the_gateway_may_have_sent_it(client, investigator, kannel_channel):
    text(client, "hello")

    def timeout(request):
        raise httpx.ReadTimeout("injected", request=request)

    with http.fake(timeout):
        entry = actions.reply(conversation(), by=investigator, text="Hello?")
    assert entry.send_state == "unknown"
    with http.fake(lambda request: httpx.Response(400, text="Not routable")):
        entry = actions.reply(conversation(), by=investigator, text="Hello?")
    assert entry.send_state == "failed" and "Not routable" in entry.send_error


def test_a_reply_fails_once_the_alias_is_purged(client, settings, investigator, kannel_channel):
    settings.COPPS_SMS_ALIAS_DAYS = 30
    text(client, "hello", sender="+32470000001")
    text(client, "hello", sender="+32470000002")
    now = timezone.now()
    old = SmsAlias.objects.order_by("pk").first()
    SmsAlias.objects.filter(pk=old.pk).update(last_seen_at=now - timedelta(days=31))
    assert sms.purge_aliases(now) == 1
    assert list(SmsAlias.objects.values_list("pk", flat=True)) != [old.pk]
    first = Conversation.objects.get(external_id=old.alias)
    entry = actions.reply(first, by=investigator, text="Are you still there?")
    assert entry.send_state == "failed" and entry.send_error == "The number is no longer known."
    # The same number writing again gets a new alias and a new conversation (with 112 again).
    assert "112" in text(client, "hello again", sender="+32470000001").content.decode()
    assert Conversation.objects.filter(source=Source.SMS).count() == 3


def test_a_reply_fails_without_an_sms_channel(client, investigator):
    text(client, "hello")
    entry = actions.reply(conversation(), by=investigator, text="Hello?")
    assert entry.send_state == "failed" and entry.send_error == "No SMS channel is set up."


def test_a_gateway_error_that_echoes_the_number_is_recorded_without_it(
    client, investigator, kannel_channel
):
    text(client, "hello", sender="0470 12 34 56")
    answer = "Number barred: +32470123456 (32470123456, 0470123456)"
    with http.fake(lambda request: httpx.Response(400, text=answer)):
        entry = actions.reply(conversation(), by=investigator, text="Hello?")
    assert entry.send_state == "failed" and "Number barred" in entry.send_error
    for form in ("32470123456", "470123456"):
        assert form not in entry.send_error


def test_a_new_alias_never_reuses_the_alias_of_an_old_conversation(client, settings, monkeypatch):
    settings.COPPS_SMS_ALIAS_DAYS = 30
    text(client, "first person", sender="+32470000001")
    old = SmsAlias.objects.get()
    SmsAlias.objects.filter(pk=old.pk).update(last_seen_at=timezone.now() - timedelta(days=31))
    assert sms.purge_aliases(timezone.now()) == 1
    # The random draw happens to give the purged alias again, then a fresh one.
    draws = iter([old.alias, "SMS-FRESH2"])
    monkeypatch.setattr(sms, "new_alias", lambda: next(draws))
    text(client, "second person", sender="+32470000002")
    assert SmsAlias.objects.get().alias == "SMS-FRESH2"
    first = Conversation.objects.get(external_id=old.alias)
    assert list(first.entries.filter(direction="in").values_list("text", flat=True)) == [
        "first person"
    ]
