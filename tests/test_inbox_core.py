"""The inbox's named actions and the tip core (the views and hooks have their own tests)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from copps.accounts.roles import Role
from copps.inbox import access, actions
from copps.inbox.models import (
    Alert,
    Decision,
    Desk,
    Direction,
    HouseRule,
    Priority,
    SendState,
    Source,
    State,
    Visibility,
)
from copps.investigations import tips
from copps.investigations.models import TipState


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    settings.COPPS_PRIVATE_DIR = str(tmp_path / "private")


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, "ines")


@pytest.fixture
def rule(db):
    return HouseRule.objects.create(number=3, title={"en": "No personal attacks"})


def test_a_thread_pulled_twice_is_one_conversation_and_one_entry(db):
    first, created = actions.open_conversation(source=Source.MASTODON, external_id="109")
    again, created_again = actions.open_conversation(source=Source.MASTODON, external_id="109")
    assert created and not created_again and first.pk == again.pk
    assert actions.receive(first, text="hello", external_id="110") is not None
    assert actions.receive(first, text="hello", external_id="110") is None
    assert first.entries.count() == 1
    assert first.desk == Desk.COMMUNICATION


def test_tips_and_sms_are_on_the_investigation_desk(db):
    sms, _ = actions.open_conversation(source=Source.SMS, external_id="alias-1")
    assert sms.desk == Desk.INVESTIGATION


def test_an_urgent_entry_raises_priority_sets_a_short_target_and_alerts(db):
    conversation, _ = actions.open_conversation(source=Source.SMS, external_id="a")
    actions.receive(conversation, text="inbreker in huis", urgent=True)
    conversation.refresh_from_db()
    assert conversation.priority == Priority.URGENT
    assert Alert.objects.filter(conversation=conversation).count() == 1
    hours = (conversation.due_at - conversation.last_activity_at).total_seconds() / 3600
    assert hours == pytest.approx(1, abs=0.01)


def test_a_reply_without_a_sender_is_refused_and_with_one_is_recorded(db, communicator):
    conversation, _ = actions.open_conversation(source=Source.EMAIL, external_id="<m@x>")
    from copps.inbox import replies

    saved = dict(replies.SENDERS)
    try:
        replies.SENDERS.pop(Source.EMAIL, None)
        with pytest.raises(ValidationError):
            actions.reply(conversation, by=communicator, text="Thanks")
        replies.register(Source.EMAIL, lambda entry: "<reply@x>")
        entry = actions.reply(conversation, by=communicator, text="Thanks")
        assert entry.send_state == SendState.SENT and entry.external_id == "<reply@x>"
        conversation.refresh_from_db()
        assert conversation.state == State.WAITING and conversation.first_response_at

        def lost(entry):
            raise replies.ReplyError("timeout", maybe_sent=True)

        replies.register(Source.EMAIL, lost)
        entry = actions.reply(conversation, by=communicator, text="Again")
        assert entry.send_state == SendState.UNKNOWN
    finally:
        replies.SENDERS.clear()
        replies.SENDERS.update(saved)


def test_hiding_needs_a_house_rule_and_is_logged(db, communicator, rule):
    conversation, _ = actions.open_conversation(source=Source.COMMENT)
    entry = actions.receive(conversation, text="you idiot")
    with pytest.raises(ValidationError):
        actions.moderate(entry, by=communicator, action="hide")
    actions.moderate(entry, by=communicator, action="remove", rule=rule)
    entry.refresh_from_db()
    assert entry.visibility == Visibility.REMOVED and entry.rule == rule and entry.text == ""
    assert Decision.objects.get(entry=entry).rule == rule


def test_communicators_never_reach_investigation_conversations(db, communicator, investigator):
    tip = tips.create_tip(text="I saw him at the station").tip
    with pytest.raises(Http404):
        access.get_conversation_for(communicator, tip.conversation.pk)
    assert access.get_conversation_for(investigator, tip.conversation.pk)


def test_a_tip_is_found_with_its_code_and_secret_only(db):
    new = tips.create_tip(text="The car was blue")
    code = new.tip.code.lower().replace("-", " ")
    assert tips.find_tip(code, new.secret.lower()) == new.tip
    assert tips.find_tip(new.tip.code, "WRONG-WRON-WRON") is None
    assert tips.find_tip("ZZZZ-ZZZZ", new.secret) is None
    assert new.tip.created_at.second == 0


def test_a_question_waits_for_the_tipster_and_stop_ends_the_dialogue(db, investigator):
    new = tips.create_tip(text="The car was blue")
    conversation = new.tip.conversation
    question = actions.reply(conversation, by=investigator, text="Which make?")
    assert question.send_state == SendState.SENT
    tips.tipster_answer(new.tip, text="A Volvo")
    assert [e.direction for e in tips.questions_for_tipster(new.tip)] == [
        Direction.IN,
        Direction.OUT,
        Direction.IN,
    ]
    tips.stop(new.tip)
    assert new.tip.state == TipState.STOPPED
    refused = actions.reply(conversation, by=investigator, text="Colour?")
    assert refused.send_state == SendState.FAILED
    with pytest.raises(ValidationError):
        tips.tipster_answer(new.tip, text="more")


def test_attachments_are_hashed_and_a_script_named_jpg_is_refused(db):
    import hashlib
    import io

    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    Image.new("RGB", (4, 4), "red").save(buffer, "JPEG", exif=exif)
    photo = buffer.getvalue()
    new = tips.create_tip(
        text="photo of the van", files=[SimpleUploadedFile("van.jpg", photo, "image/jpeg")]
    )
    attachment = new.tip.conversation.entries.get().attachments.get()
    assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
    assert attachment.exif["Make"] == "CameraMaker"
    assert attachment.file.read() == photo
    with pytest.raises(ValidationError):
        tips.create_tip(
            text="x", files=[SimpleUploadedFile("x.jpg", b"#!/bin/sh\nrm -rf /", "image/jpeg")]
        )


def test_asking_again_reopens_a_closed_tip_but_not_a_stopped_one(db, investigator):
    new = tips.create_tip(text="The car was blue")
    tips.close(new.tip, by=investigator)
    assert new.tip.state == TipState.CLOSED
    question = actions.reply(new.tip.conversation, by=investigator, text="One more thing?")
    new.tip.refresh_from_db()
    assert question.send_state == SendState.SENT and new.tip.state == TipState.OPEN
    tips.tipster_answer(new.tip, text="Yes")
