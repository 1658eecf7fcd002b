"""The message workflow: every transition, who may take it, and the audit record it leaves."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from copps.audit import log as audit
from copps.audit.log import verify
from copps.newsroom import actions, workflow
from copps.newsroom.actions import GuidelineBlocked, SelfApproval, VersionInput
from copps.newsroom.models import Message, WordList
from copps.newsroom.workflow import TRANSITIONS, InvalidTransition, State
from copps.worker import jobs

PHONE_TEXT = "Getuigen? Bel Jan op 0470 12 34 56."


def transitions(message):
    """(action, actor, from, to, reason) of every state change of ``message``, oldest first."""
    return [
        (r.action, r.actor, r.from_state, r.to_state, r.reason)
        for r in audit.for_object(message).order_by("seq")
        if r.from_state or r.action == "message.create"
    ]


def put_in_state(message, state):
    Message.objects.filter(pk=message.pk).update(state=state)
    message.refresh_from_db()
    return message


@pytest.fixture
def submitted(make_message, communicator):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    return message


# The state machine itself ---------------------------------------------------------------------

ALL_PAIRS = [(action, state) for action in TRANSITIONS for state in State.values]


@pytest.mark.parametrize(("action", "state"), ALL_PAIRS)
def test_every_transition_is_allowed_exactly_from_its_source_states(
    action, state, make_message, communicator, editor
):
    message = put_in_state(make_message(communicator), state)
    sources, target = TRANSITIONS[action]
    reason = "Omdat het moet." if action in workflow.REASON_REQUIRED else ""
    if state in sources:
        left = workflow.apply(message, action, by=editor, reason=reason)
        assert left == state
        message.refresh_from_db()
        assert message.state == target
        record = audit.for_object(message).order_by("seq").last()
        assert (record.action, record.actor, record.from_state, record.to_state, record.reason) == (
            f"message.{action}",
            editor.username,
            state,
            target,
            reason,
        )
    else:
        with pytest.raises(InvalidTransition):
            workflow.apply(message, action, by=editor, reason=reason)
        message.refresh_from_db()
        assert message.state == state


@pytest.mark.parametrize("action", sorted(workflow.REASON_REQUIRED))
def test_transitions_that_need_a_reason_refuse_an_empty_one(
    action, make_message, communicator, editor
):
    sources, _target = TRANSITIONS[action]
    message = put_in_state(make_message(communicator), sorted(sources)[0])
    with pytest.raises(ValueError, match="reason"):
        workflow.apply(message, action, by=editor, reason="  ")
    message.refresh_from_db()
    assert message.state in sources


def test_each_state_change_bumps_the_version(make_message, communicator, editor):
    message = make_message(communicator)
    before = message.version
    workflow.apply(message, "submit", by=communicator)
    message.refresh_from_db()
    assert message.version == before + 1


def test_allowed_actions_follow_the_transition_table():
    # fast_track: only copps.crowd's pre-approved templates (access.can refuses it to everyone).
    assert set(workflow.allowed_actions(State.DRAFT)) == {"submit", "fast_track"}
    assert set(workflow.allowed_actions(State.SUBMITTED)) == {"withdraw", "reject", "approve"}
    assert set(workflow.allowed_actions(State.APPROVED)) == {"withdraw", "schedule", "publish"}
    assert set(workflow.allowed_actions(State.PUBLISHED)) == {"correct", "retract", "expire"}
    assert workflow.allowed_actions(State.RETRACTED) == []


# Submit ---------------------------------------------------------------------------------------


def test_a_communicator_submits_a_draft_for_review(make_message, communicator):
    message = make_message(communicator)
    findings = actions.submit_message(message, by=communicator)
    assert findings == []
    message.refresh_from_db()
    assert message.state == State.SUBMITTED
    assert transitions(message)[-1] == (
        "message.submit",
        communicator.username,
        State.DRAFT,
        State.SUBMITTED,
        "",
    )


def test_submitting_twice_changes_nothing_the_second_time(submitted, communicator):
    version = submitted.version
    actions.submit_message(submitted, by=communicator)
    stale = Message.objects.get(pk=submitted.pk)
    actions.submit_message(stale, by=communicator)
    submitted.refresh_from_db()
    assert submitted.state == State.SUBMITTED and submitted.version == version
    assert [t[0] for t in transitions(submitted)].count("message.submit") == 1


def test_a_racing_double_submit_from_a_stale_copy_is_idempotent(make_message, communicator):
    message = make_message(communicator)
    first, second = Message.objects.get(pk=message.pk), Message.objects.get(pk=message.pk)
    actions.submit_message(first, by=communicator)
    actions.submit_message(second, by=communicator)  # still says draft in memory
    assert second.state == State.SUBMITTED
    assert [t[0] for t in transitions(message)].count("message.submit") == 1


def test_blocking_findings_stop_a_communicators_submit(make_message, communicator):
    message = make_message(communicator, body=PHONE_TEXT)
    with pytest.raises(GuidelineBlocked) as caught:
        actions.submit_message(message, by=communicator)
    assert [f.code for f in caught.value.findings] == ["phone_number"]
    message.refresh_from_db()
    assert message.state == State.DRAFT


def test_a_communicator_cannot_override_blocking_findings(make_message, communicator):
    message = make_message(communicator, body=PHONE_TEXT)
    with pytest.raises(PermissionDenied):
        actions.submit_message(message, by=communicator, override_reason="Het mag.")
    message.refresh_from_db()
    assert message.state == State.DRAFT
    assert not audit.for_object(message).filter(action="message.override_guidelines").exists()


def test_an_editor_overrides_blocking_findings_with_a_reason_and_it_is_audited(
    make_message, editor
):
    message = make_message(editor, body=PHONE_TEXT)
    with pytest.raises(GuidelineBlocked):
        actions.submit_message(message, by=editor)
    actions.submit_message(message, by=editor, override_reason="Jan is onze woordvoerder.")
    message.refresh_from_db()
    assert message.state == State.SUBMITTED
    assert message.override_reason == "Jan is onze woordvoerder."
    override = audit.for_object(message).get(action="message.override_guidelines")
    assert (override.actor, override.reason) == (editor.username, "Jan is onze woordvoerder.")
    assert override.data["overridden"] == ["phone_number"]
    submit = audit.for_object(message).get(action="message.submit")
    assert submit.data["overridden"] == ["phone_number"]


def test_warnings_do_not_block_a_submit(make_message, communicator):
    message = make_message(communicator, body="Bel gratis 0800 123 45.")
    findings = actions.submit_message(message, by=communicator)
    assert [f.code for f in findings] == ["service_phone_number"]
    message.refresh_from_db()
    assert message.state == State.SUBMITTED


def test_an_offensive_term_from_the_word_list_blocks_a_submit(make_message, communicator):
    WordList.objects.update_or_create(
        language="nl", category="offensive", defaults={"terms": "idioot"}
    )
    message = make_message(communicator, body="Die idioot reed te snel.")
    with pytest.raises(GuidelineBlocked):
        actions.submit_message(message, by=communicator)


def test_someone_else_cannot_submit_a_communicators_draft(make_message, communicator, make_user):
    other = make_user("communicator", "eve")
    message = make_message(communicator)
    with pytest.raises(PermissionDenied):
        actions.submit_message(message, by=other)


def test_the_author_withdraws_a_submitted_message(submitted, communicator):
    actions.withdraw_message(submitted, by=communicator)
    assert submitted.state == State.DRAFT
    assert transitions(submitted)[-1][:4] == (
        "message.withdraw",
        communicator.username,
        State.SUBMITTED,
        State.DRAFT,
    )


def test_the_author_takes_back_an_approved_message_that_is_not_scheduled(
    make_message, communicator, editor
):
    message = make_message(communicator, publish_at=timezone.now() + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    actions.unschedule_message(message, by=editor)
    assert message.state == State.APPROVED
    actions.withdraw_message(message, by=communicator)
    message.refresh_from_db()
    assert message.state == State.DRAFT
    assert message.approved_by is None  # the approval no longer holds: review again
    assert transitions(message)[-1][:4] == (
        "message.withdraw",
        communicator.username,
        State.APPROVED,
        State.DRAFT,
    )
    jobs.tick(now=timezone.now() + timedelta(hours=2))
    message.refresh_from_db()
    assert message.state == State.DRAFT and message.published_at is None
    assert actions.publish_due(timezone.now() + timedelta(hours=2)) == 0


def test_a_scheduled_or_published_message_cannot_be_withdrawn(make_message, communicator, editor):
    message = make_message(communicator, publish_at=timezone.now() + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    with pytest.raises(InvalidTransition):
        actions.withdraw_message(message, by=communicator)
    actions.publish_message(message, by=editor)
    with pytest.raises(InvalidTransition):
        actions.withdraw_message(message, by=communicator)


def test_someone_else_cannot_withdraw_an_approved_message(
    make_message, communicator, editor, make_user
):
    message = make_message(communicator, publish_at=timezone.now() + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    actions.unschedule_message(message, by=editor)
    with pytest.raises(PermissionDenied):
        actions.withdraw_message(message, by=make_user("communicator", "eve"))
    message.refresh_from_db()
    assert message.state == State.APPROVED


# Reject ---------------------------------------------------------------------------------------


def test_reject_needs_a_reason(submitted, editor):
    with pytest.raises(ValidationError):
        actions.reject_message(submitted, by=editor, reason="  ")
    submitted.refresh_from_db()
    assert submitted.state == State.SUBMITTED


def test_reject_returns_the_message_to_draft_with_the_reason(submitted, communicator, editor):
    actions.reject_message(submitted, by=editor, reason="Geen namen van slachtoffers.")
    submitted.refresh_from_db()
    assert submitted.state == State.DRAFT
    assert submitted.rejection_reason == "Geen namen van slachtoffers."
    assert transitions(submitted)[-1] == (
        "message.reject",
        editor.username,
        State.SUBMITTED,
        State.DRAFT,
        "Geen namen van slachtoffers.",
    )
    actions.submit_message(submitted, by=communicator)
    submitted.refresh_from_db()
    assert submitted.rejection_reason == ""  # cleared once the author submits again


def test_the_author_cannot_reject_their_own_message(make_message, editor):
    message = make_message(editor)
    actions.submit_message(message, by=editor)
    with pytest.raises(SelfApproval):
        actions.reject_message(message, by=editor, reason="Toch niet.")


# Approve: four eyes ---------------------------------------------------------------------------


def test_an_editor_cannot_approve_their_own_message(make_message, editor):
    message = make_message(editor)
    actions.submit_message(message, by=editor)
    with pytest.raises(SelfApproval):
        actions.approve_message(message, by=editor)
    message.refresh_from_db()
    assert message.state == State.SUBMITTED


def test_an_editor_who_edited_the_text_cannot_approve_it(make_message, communicator, editor):
    message = make_message(communicator)
    actions.update_message(message, by=editor, versions=[VersionInput("nl", "Beter", "Beter.")])
    actions.submit_message(message, by=communicator)
    with pytest.raises(SelfApproval):
        actions.approve_message(message, by=editor)


def test_an_administrator_who_contributed_cannot_approve_either(
    make_message, communicator, admin_user
):
    message = make_message(communicator)
    actions.update_message(message, by=admin_user, channels=["web", "x"])
    actions.submit_message(message, by=communicator)
    with pytest.raises(SelfApproval):
        actions.approve_message(message, by=admin_user)


def test_a_communicator_cannot_approve(submitted, make_user):
    other = make_user("communicator", "eve")
    with pytest.raises(PermissionDenied) as caught:
        actions.approve_message(submitted, by=other)
    assert not isinstance(caught.value, SelfApproval)


def test_a_draft_cannot_be_approved(make_message, communicator, editor):
    message = make_message(communicator)
    with pytest.raises(InvalidTransition):
        actions.approve_message(message, by=editor)


def test_approving_without_a_time_publishes_at_once(submitted, editor):
    actions.approve_message(submitted, by=editor)
    submitted.refresh_from_db()
    assert submitted.state == State.PUBLISHED
    assert submitted.approved_by == editor
    assert submitted.published_at is not None
    assert submitted.revisions.count() == 1
    assert [t[:4] for t in transitions(submitted)[-2:]] == [
        ("message.approve", editor.username, State.SUBMITTED, State.APPROVED),
        ("message.publish", editor.username, State.APPROVED, State.PUBLISHED),
    ]


def test_approving_a_message_with_a_future_time_schedules_it(make_message, communicator, editor):
    when = timezone.now() + timedelta(hours=2)
    message = make_message(communicator, publish_at=when)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    message.refresh_from_db()
    assert message.state == State.SCHEDULED and message.publish_at == when
    assert message.published_at is None
    assert [t[:4] for t in transitions(message)[-2:]] == [
        ("message.approve", editor.username, State.SUBMITTED, State.APPROVED),
        ("message.schedule", editor.username, State.APPROVED, State.SCHEDULED),
    ]


def test_the_approver_may_choose_the_publication_time(submitted, editor):
    when = timezone.now() + timedelta(days=1)
    actions.approve_message(submitted, by=editor, publish_at=when)
    submitted.refresh_from_db()
    assert (submitted.state, submitted.publish_at) == (State.SCHEDULED, when)


def test_a_publication_time_in_the_past_publishes_at_once(make_message, communicator, editor):
    message = make_message(communicator, publish_at=timezone.now() - timedelta(minutes=5))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    assert message.state == State.PUBLISHED


def test_the_same_editor_approving_twice_changes_nothing(submitted, editor):
    stale = Message.objects.get(pk=submitted.pk)
    actions.approve_message(submitted, by=editor)
    actions.approve_message(submitted, by=editor)
    actions.approve_message(stale, by=editor)
    assert stale.state == State.PUBLISHED
    assert [t[0] for t in transitions(submitted)].count("message.approve") == 1
    assert submitted.revisions.count() == 1


# Schedule, unschedule, publish ----------------------------------------------------------------


@pytest.fixture
def scheduled(make_message, communicator, editor):
    message = make_message(communicator, publish_at=timezone.now() + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    assert message.state == State.SCHEDULED
    return message


def test_the_worker_tick_publishes_a_message_whose_time_has_come(scheduled):
    assert jobs.tick(now=timezone.now())["published"] == 0
    result = jobs.tick(now=timezone.now() + timedelta(hours=2))
    assert result["published"] == 1
    scheduled.refresh_from_db()
    assert scheduled.state == State.PUBLISHED
    assert transitions(scheduled)[-1][:4] == (
        "message.publish",
        "worker",
        State.SCHEDULED,
        State.PUBLISHED,
    )
    assert scheduled.revisions.get().created_by == "worker"


def test_publishing_due_messages_twice_publishes_once(scheduled):
    later = timezone.now() + timedelta(hours=2)
    assert actions.publish_due(later) == 1
    assert actions.publish_due(later) == 0
    assert [t[0] for t in transitions(scheduled)].count("message.publish") == 1
    assert scheduled.revisions.count() == 1


def test_an_unscheduled_message_is_not_published_by_the_worker(scheduled, editor):
    actions.unschedule_message(scheduled, by=editor)
    scheduled.refresh_from_db()
    assert scheduled.state == State.APPROVED
    assert transitions(scheduled)[-1][:4] == (
        "message.unschedule",
        editor.username,
        State.SCHEDULED,
        State.APPROVED,
    )
    jobs.tick(now=timezone.now() + timedelta(hours=2))
    scheduled.refresh_from_db()
    assert scheduled.state == State.APPROVED


def test_an_unscheduled_message_can_be_scheduled_again_or_published_now(scheduled, editor):
    actions.unschedule_message(scheduled, by=editor)
    later = timezone.now() + timedelta(hours=5)
    actions.schedule_message(scheduled, by=editor, publish_at=later)
    assert (scheduled.state, scheduled.publish_at) == (State.SCHEDULED, later)
    actions.unschedule_message(scheduled, by=editor)
    actions.publish_message(scheduled, by=editor)
    assert scheduled.state == State.PUBLISHED
    actions.publish_message(scheduled, by=editor)  # already public: nothing happens
    assert scheduled.revisions.count() == 1


def test_a_scheduled_message_can_be_moved_to_another_time(scheduled, editor):
    later = timezone.now() + timedelta(days=3)
    actions.schedule_message(scheduled, by=editor, publish_at=later)
    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.publish_at) == (State.SCHEDULED, later)


def test_scheduling_in_the_past_is_refused(scheduled, editor):
    with pytest.raises(ValidationError):
        actions.schedule_message(
            scheduled, by=editor, publish_at=timezone.now() - timedelta(hours=1)
        )


def test_a_communicator_cannot_schedule_unschedule_or_publish(scheduled, communicator):
    with pytest.raises(PermissionDenied):
        actions.unschedule_message(scheduled, by=communicator)
    with pytest.raises(PermissionDenied):
        actions.publish_message(scheduled, by=communicator)
    with pytest.raises(PermissionDenied):
        actions.schedule_message(
            scheduled, by=communicator, publish_at=timezone.now() + timedelta(days=1)
        )


# Expire, correct, retract ---------------------------------------------------------------------


def test_the_worker_tick_expires_a_message_past_its_end(make_message, communicator, editor):
    message = make_message(communicator, expires_at=timezone.now() + timedelta(days=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    assert jobs.tick(now=timezone.now())["expired"] == 0
    assert jobs.tick(now=timezone.now() + timedelta(days=2))["expired"] == 1
    message.refresh_from_db()
    assert message.state == State.EXPIRED
    assert transitions(message)[-1][:4] == (
        "message.expire",
        "worker",
        State.PUBLISHED,
        State.EXPIRED,
    )


def test_a_scheduled_message_whose_end_passed_expires_without_being_published(
    make_message, communicator, editor
):
    now = timezone.now()
    message = make_message(
        communicator, publish_at=now + timedelta(hours=1), expires_at=now + timedelta(hours=2)
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    result = jobs.tick(now=now + timedelta(hours=3))
    assert (result["published"], result["expired"]) == (0, 1)
    message.refresh_from_db()
    assert message.state == State.EXPIRED and message.published_at is None
    assert message.revisions.count() == 0
    assert transitions(message)[-1][2:4] == (State.SCHEDULED, State.EXPIRED)


def test_a_correction_needs_a_note(published_message, editor):
    with pytest.raises(ValidationError):
        actions.propose_correction(
            published_message, by=editor, note=" ", versions=[VersionInput("nl", "T", "B")]
        )
    assert not published_message.corrections.exists()


def test_a_correction_changes_the_text_once_approved_and_keeps_every_revision(
    published_message, editor, second_editor
):
    correction = actions.propose_correction(
        published_message,
        by=editor,
        note="Het uur was fout.",
        versions=[VersionInput("nl", "Fietsdiefstallen", "Het gebeurde om 15 uur.")],
    )
    published_message.refresh_from_db()
    assert published_message.state == State.PUBLISHED  # proposing changes nothing public
    assert (
        published_message.primary_version().body == "Wees alert en sluit je fiets altijd op slot."
    )
    actions.approve_correction(correction, by=second_editor)
    published_message.refresh_from_db()
    assert published_message.state == State.CORRECTED
    assert published_message.correction_note == "Het uur was fout."
    assert published_message.corrected_at == correction.decided_at
    assert published_message.primary_version().body == "Het gebeurde om 15 uur."
    assert transitions(published_message)[-1] == (
        "message.correct",
        second_editor.username,
        State.PUBLISHED,
        State.CORRECTED,
        "Het uur was fout.",
    )
    again = actions.propose_correction(
        published_message,
        by=editor,
        note="Nog een fout.",
        versions=[VersionInput("nl", "Fietsdiefstallen", "Om 16 uur.")],
    )
    actions.approve_correction(again, by=second_editor)
    revisions = list(published_message.revisions.all())
    assert [r.number for r in revisions] == [1, 2, 3]
    assert revisions[0].snapshot["nl"]["body"] == "Wees alert en sluit je fiets altijd op slot."
    assert (revisions[1].note, revisions[1].snapshot["nl"]["body"]) == (
        "Het uur was fout.",
        "Het gebeurde om 15 uur.",
    )
    assert revisions[2].snapshot["nl"]["body"] == "Om 16 uur."
    assert revisions[2].created_by == second_editor.username


def test_a_correction_with_blocking_findings_needs_an_override(
    published_message, editor, second_editor
):
    versions = [VersionInput("nl", "Fietsdiefstallen", PHONE_TEXT)]
    with pytest.raises(GuidelineBlocked):
        actions.propose_correction(
            published_message, by=editor, note="Nummer erbij.", versions=versions
        )
    assert not published_message.corrections.exists()
    correction = actions.propose_correction(
        published_message,
        by=editor,
        note="Nummer erbij.",
        versions=versions,
        override_reason="Jan is de woordvoerder.",
    )
    assert correction.override_reason == "Jan is de woordvoerder."
    override = audit.for_object(published_message).get(action="message.override_guidelines")
    assert (override.actor, override.data["during"]) == (editor.username, "propose_correction")
    published_message.refresh_from_db()
    assert published_message.primary_version().body != PHONE_TEXT  # not before approval
    actions.approve_correction(correction, by=second_editor)
    published_message.refresh_from_db()
    assert published_message.state == State.CORRECTED
    assert published_message.primary_version().body == PHONE_TEXT


def test_a_communicator_cannot_override_blocking_findings_in_a_correction(
    published_message, communicator
):
    with pytest.raises(PermissionDenied):
        actions.propose_correction(
            published_message,
            by=communicator,
            note="Nummer erbij.",
            versions=[VersionInput("nl", "Fietsdiefstallen", PHONE_TEXT)],
            override_reason="Het mag.",
        )
    assert not published_message.corrections.exists()


def test_a_draft_cannot_be_corrected(make_message, communicator, editor):
    message = make_message(communicator)
    with pytest.raises(InvalidTransition):
        actions.propose_correction(
            message, by=editor, note="x", versions=[VersionInput("nl", "T", "B")]
        )


def test_retracting_needs_a_reason_and_takes_the_message_down(published_message, editor):
    with pytest.raises(ValidationError):
        actions.retract_message(published_message, by=editor, reason="")
    actions.retract_message(published_message, by=editor, reason="Verkeerde foto.")
    published_message.refresh_from_db()
    assert published_message.state == State.RETRACTED
    assert not published_message.is_public
    assert published_message.retraction_note == "Verkeerde foto."
    assert transitions(published_message)[-1] == (
        "message.retract",
        editor.username,
        State.PUBLISHED,
        State.RETRACTED,
        "Verkeerde foto.",
    )


def test_a_retracted_message_cannot_be_corrected_or_retracted_again(published_message, editor):
    actions.retract_message(published_message, by=editor, reason="Fout.")
    with pytest.raises(InvalidTransition):
        actions.retract_message(published_message, by=editor, reason="Nog eens.")
    with pytest.raises(InvalidTransition):
        actions.propose_correction(
            published_message, by=editor, note="x", versions=[VersionInput("nl", "T", "B")]
        )


def test_the_authoring_communicator_may_propose_a_correction_but_not_approve_or_retract(
    published_message, communicator
):
    with pytest.raises(PermissionDenied):
        actions.retract_message(published_message, by=communicator, reason="Fout.")
    correction = actions.propose_correction(
        published_message, by=communicator, note="x", versions=[VersionInput("nl", "T", "B")]
    )
    with pytest.raises(PermissionDenied):
        actions.approve_correction(correction, by=communicator)
    published_message.refresh_from_db()
    assert published_message.state == State.PUBLISHED


def test_another_communicator_cannot_propose_a_correction(published_message, make_user):
    other = make_user("communicator", "eve")
    with pytest.raises(PermissionDenied):
        actions.propose_correction(
            published_message, by=other, note="x", versions=[VersionInput("nl", "T", "B")]
        )


def test_the_old_name_correct_message_only_proposes(published_message, editor):
    correction = actions.correct_message(
        published_message, by=editor, note="x", versions=[VersionInput("nl", "T", "B")]
    )
    assert correction.state == "pending"
    published_message.refresh_from_db()
    assert published_message.state == State.PUBLISHED


def test_a_published_message_can_no_longer_be_edited(published_message, communicator, editor):
    with pytest.raises(PermissionDenied):
        actions.update_message(published_message, by=editor, channels=["web"])


def test_the_whole_life_of_a_message_leaves_a_verifiable_audit_trail(
    make_message, communicator, editor, second_editor
):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    actions.reject_message(message, by=editor, reason="Te lang.")
    actions.update_message(message, by=communicator, versions=[VersionInput("nl", "Kort", "Kort.")])
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=second_editor)
    correction = actions.propose_correction(
        message, by=editor, note="Typo.", versions=[VersionInput("nl", "Kort", "Korter.")]
    )
    actions.approve_correction(correction, by=second_editor)
    actions.retract_message(message, by=second_editor, reason="Achterhaald.")
    assert [t[0] for t in transitions(message)] == [
        "message.create",
        "message.submit",
        "message.reject",
        "message.submit",
        "message.approve",
        "message.publish",
        "message.correct",
        "message.retract",
    ]
    assert [r.action for r in audit.for_object(message).filter(action__contains="correction")] == [
        "message.propose_correction",
        "message.approve_correction",
    ]
    assert verify().ok


# Four eyes: sending in or illustrating someone else's draft ------------------------------------


def test_an_editor_who_sends_someone_elses_draft_for_review_cannot_approve_it(
    make_message, communicator, editor, second_editor
):
    message = make_message(communicator)
    actions.submit_message(message, by=editor)
    with pytest.raises(SelfApproval):
        actions.approve_message(message, by=editor)
    message.refresh_from_db()
    assert message.state == State.SUBMITTED and message.published_at is None
    actions.approve_message(message, by=second_editor)
    assert message.state == State.PUBLISHED


def test_an_editor_who_overrides_a_finding_on_submit_cannot_then_approve_alone(
    make_message, communicator, editor
):
    message = make_message(communicator, body=PHONE_TEXT)
    actions.submit_message(message, by=editor, override_reason="Het nummer van de dienst.")
    with pytest.raises(SelfApproval):
        actions.approve_message(message, by=editor)
    message.refresh_from_db()
    assert message.state == State.SUBMITTED


def test_the_author_submitting_stays_the_only_contributor(make_message, communicator):
    message = make_message(communicator)
    actions.submit_message(message, by=communicator)
    message.refresh_from_db()
    assert message.contributor_ids == [communicator.pk]


# The end of a message comes after its publication ---------------------------------------------


def test_a_message_whose_end_has_passed_is_not_published_by_approving_it(
    make_message, communicator, editor
):
    message = make_message(communicator, expires_at=timezone.now() - timedelta(minutes=5))
    actions.submit_message(message, by=communicator)
    with pytest.raises(ValidationError) as refused:
        actions.approve_message(message, by=editor)
    assert "expires_at" in refused.value.message_dict
    message.refresh_from_db()
    assert message.state == State.SUBMITTED and message.published_at is None
    assert not message.revisions.exists()


def test_approving_for_a_moment_after_the_end_is_refused(make_message, communicator, editor):
    now = timezone.now()
    message = make_message(communicator, expires_at=now + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    with pytest.raises(ValidationError) as refused:
        actions.approve_message(message, by=editor, publish_at=now + timedelta(hours=2))
    assert "publish_at" in refused.value.message_dict
    message.refresh_from_db()
    assert message.state == State.SUBMITTED


def test_scheduling_after_the_end_is_refused(make_message, communicator, editor):
    now = timezone.now()
    message = make_message(
        communicator, publish_at=now + timedelta(hours=1), expires_at=now + timedelta(hours=3)
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    assert message.state == State.SCHEDULED
    with pytest.raises(ValidationError):
        actions.schedule_message(message, by=editor, publish_at=now + timedelta(hours=4))
    message.refresh_from_db()
    assert message.state == State.SCHEDULED and message.publish_at < message.expires_at


def test_publishing_by_hand_after_the_end_is_refused(make_message, communicator, editor):
    now = timezone.now()
    message = make_message(
        communicator, publish_at=now + timedelta(hours=1), expires_at=now + timedelta(hours=2)
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    actions.unschedule_message(message, by=editor)
    Message.objects.filter(pk=message.pk).update(expires_at=now - timedelta(minutes=1))
    message.refresh_from_db()
    with pytest.raises(ValidationError):
        actions.publish_message(message, by=editor)
    message.refresh_from_db()
    assert message.state == State.APPROVED and message.published_at is None


def test_an_end_before_the_publication_time_is_refused_when_writing(make_message, communicator):
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        make_message(
            communicator, publish_at=now + timedelta(hours=2), expires_at=now + timedelta(hours=1)
        )
    assert "expires_at" in refused.value.message_dict
    message = make_message(communicator, publish_at=now + timedelta(hours=2))
    with pytest.raises(ValidationError):
        actions.update_message(message, by=communicator, expires_at=now + timedelta(hours=1))
    message.refresh_from_db()
    assert message.expires_at is None


def test_an_officer_cannot_move_a_message_out_of_their_own_area(
    make_user, make_message, area, other_area
):
    officer = make_user("officer", "wijkagent", area=area)
    message = make_message(officer, area=area)
    for elsewhere in (other_area, None):
        with pytest.raises(PermissionDenied):
            actions.update_message(message, by=officer, area=elsewhere)
    message.refresh_from_db()
    assert message.area == area
