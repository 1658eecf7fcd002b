"""Corrections of published messages need four eyes: one person proposes, another approves.

Through the actions, the console and the API: the proposer can never approve their own
correction, readers see nothing until it is approved, a rejection changes nothing public, a new
proposal supersedes the pending one, and of two reviewers approving at once exactly one wins.
"""

# ruff: noqa: F811 -- the fixtures imported from test_api are redefined as arguments

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from copps.accounts import roles
from copps.accounts.roles import Role
from copps.audit import log as audit
from copps.audit.log import verify
from copps.newsroom import actions
from copps.newsroom.actions import (
    Conflict,
    CorrectionClosed,
    GuidelineBlocked,
    SelfApproval,
    VersionInput,
)
from copps.newsroom.models import Correction, Message
from copps.newsroom.textdiff import word_diff
from copps.newsroom.workflow import InvalidTransition, State
from tests.test_api import ApiClient, api, url  # noqa: F401 (api: a fixture)

ORIGINAL = "Wees alert en sluit je fiets altijd op slot."
NEW_BODY = "Wees alert: sinds maandag werden twaalf fietsen gestolen."
PHONE_TEXT = "Getuigen? Bel Jan op 0470 12 34 56."


def nl(body=NEW_BODY, title="Fietsdiefstallen aan het station"):
    return [VersionInput("nl", title, body)]


def count(message, action: str) -> int:
    return audit.for_object(message).filter(action=f"message.{action}").count()


@pytest.fixture
def third_editor(make_user):
    return make_user(Role.EDITOR, "dora")


@pytest.fixture
def analyst(make_user):
    return make_user(Role.ANALYST, "erik")


@pytest.fixture
def pending(published_message, editor):
    """A correction proposed by ``editor`` (bob), waiting for someone else."""
    return actions.propose_correction(
        published_message, by=editor, note="Twaalf, niet vijftien.", versions=nl()
    )


def public_body(client, message) -> str:
    response = client.get(message.permalink_path("nl"))
    assert response.status_code == 200
    return response.content.decode()


# The actions -----------------------------------------------------------------------------------


def test_a_proposal_changes_nothing_public_and_is_audited(
    client, published_message, pending, editor
):
    published_message.refresh_from_db()
    assert published_message.state == State.PUBLISHED
    assert published_message.correction_note == "" and published_message.corrected_at is None
    assert published_message.revisions.count() == 1
    assert (pending.state, pending.proposed_by, pending.note) == (
        "pending",
        editor,
        "Twaalf, niet vijftien.",
    )
    body = public_body(client, published_message)
    assert ORIGINAL in body and "twaalf fietsen" not in body and "Twaalf, niet" not in body
    record = audit.for_object(published_message).get(action="message.propose_correction")
    assert (record.actor, record.reason) == (editor.username, "Twaalf, niet vijftien.")
    assert record.data["correction"] == pending.pk and record.data["languages"] == ["nl"]


def test_the_proposer_cannot_approve_their_own_correction(published_message, pending, editor):
    with pytest.raises(SelfApproval, match="another editor must"):
        actions.approve_correction(pending, by=editor)
    pending.refresh_from_db()
    published_message.refresh_from_db()
    assert pending.state == "pending"
    assert published_message.state == State.PUBLISHED
    assert published_message.primary_version().body == ORIGINAL


def test_another_editor_approves_and_readers_then_see_the_text_and_the_note(
    client, published_message, pending, editor, second_editor
):
    actions.approve_correction(pending, by=second_editor)
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == ("approved", second_editor)
    published_message.refresh_from_db()
    assert published_message.state == State.CORRECTED
    assert published_message.correction_note == "Twaalf, niet vijftien."
    assert published_message.primary_version().body == NEW_BODY
    assert published_message.revisions.last().snapshot["nl"]["body"] == NEW_BODY
    body = public_body(client, published_message)
    assert "twaalf fietsen gestolen" in body and "Twaalf, niet vijftien." in body
    assert ORIGINAL not in body
    approve = audit.for_object(published_message).get(action="message.approve_correction")
    assert approve.actor == second_editor.username
    assert approve.data["proposed_by"] == editor.username
    assert count(published_message, "correct") == 1
    assert verify().ok


def test_a_rejected_correction_changes_nothing_public(
    client, published_message, pending, second_editor
):
    with pytest.raises(ValidationError, match="reason"):
        actions.reject_correction(pending, by=second_editor, reason="  ")
    actions.reject_correction(pending, by=second_editor, reason="Het waren er toch vijftien.")
    pending.refresh_from_db()
    assert (pending.state, pending.decision_reason) == ("rejected", "Het waren er toch vijftien.")
    published_message.refresh_from_db()
    assert published_message.state == State.PUBLISHED
    assert published_message.primary_version().body == ORIGINAL
    assert published_message.revisions.count() == 1
    body = public_body(client, published_message)
    assert ORIGINAL in body and "notice-correction" not in body
    record = audit.for_object(published_message).get(action="message.reject_correction")
    assert (record.actor, record.reason) == (second_editor.username, "Het waren er toch vijftien.")
    with pytest.raises(CorrectionClosed):
        actions.approve_correction(pending, by=second_editor)


def test_a_new_proposal_supersedes_the_pending_one_and_it_is_audited(
    published_message, pending, communicator, second_editor
):
    newer = actions.propose_correction(
        published_message, by=communicator, note="Dertien.", versions=nl("Dertien fietsen.")
    )
    pending.refresh_from_db()
    assert pending.state == "superseded" and pending.decided_by == communicator
    assert list(published_message.corrections.filter(state="pending")) == [newer]
    superseded = audit.for_object(published_message).get(action="message.supersede_correction")
    assert superseded.data == {"correction": pending.pk, "superseded_by": newer.pk}
    proposed = audit.for_object(published_message).filter(action="message.propose_correction")
    assert proposed.last().data["supersedes"] == [pending.pk]
    with pytest.raises(CorrectionClosed):
        actions.approve_correction(pending, by=second_editor)
    actions.approve_correction(newer, by=second_editor)
    published_message.refresh_from_db()
    assert published_message.primary_version().body == "Dertien fietsen."


def test_the_database_holds_at_most_one_pending_correction_per_message(
    published_message, pending, editor
):
    with pytest.raises(IntegrityError), transaction.atomic():
        Correction.objects.create(
            message=published_message, proposed_by=editor, note="x", versions={}
        )


def test_two_editors_approving_at_once_one_wins_and_the_other_gets_a_conflict(
    published_message, pending, second_editor, third_editor
):
    first = Correction.objects.get(pk=pending.pk)
    second = Correction.objects.get(pk=pending.pk)  # both read while pending
    actions.approve_correction(first, by=second_editor)
    with pytest.raises(Conflict):
        actions.approve_correction(second, by=third_editor)
    published_message.refresh_from_db()
    assert published_message.state == State.CORRECTED
    assert count(published_message, "correct") == 1
    assert count(published_message, "approve_correction") == 1
    assert published_message.revisions.count() == 2
    assert Correction.objects.get(pk=pending.pk).decided_by == second_editor


def test_the_same_editor_approving_twice_changes_nothing(published_message, pending, second_editor):
    stale = Correction.objects.get(pk=pending.pk)
    actions.approve_correction(pending, by=second_editor)
    actions.approve_correction(stale, by=second_editor)
    published_message.refresh_from_db()
    assert count(published_message, "correct") == 1
    assert published_message.revisions.count() == 2


def test_a_correction_of_a_retracted_message_cannot_be_approved_but_can_be_rejected(
    published_message, pending, second_editor
):
    actions.retract_message(published_message, by=second_editor, reason="Achterhaald.")
    with pytest.raises(InvalidTransition):
        actions.approve_correction(pending, by=second_editor)
    assert Correction.objects.get(pk=pending.pk).state == "pending"
    actions.reject_correction(pending, by=second_editor, reason="Bericht ingetrokken.")
    published_message.refresh_from_db()
    assert published_message.state == State.RETRACTED


def test_only_the_languages_that_change_are_kept_and_a_new_language_is_added(
    make_message, communicator, editor, second_editor
):
    message, _ = actions.create_message(
        by=communicator,
        versions=[
            VersionInput("nl", "Fietsdiefstallen", ORIGINAL),
            VersionInput("fr", "Vols de vélos", "Cadenassez votre vélo."),
        ],
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    correction = actions.propose_correction(
        message,
        by=communicator,
        note="Duitse versie en Franse fout.",
        versions=[
            VersionInput("nl", "Fietsdiefstallen", ORIGINAL),  # unchanged
            VersionInput("fr", "Vols de vélos", "Cadenassez toujours votre vélo."),
            VersionInput("de", "Fahrraddiebstähle", "Schließen Sie Ihr Fahrrad ab."),
        ],
    )
    assert sorted(correction.versions) == ["de", "fr"]
    actions.approve_correction(correction, by=second_editor)
    message.refresh_from_db()
    assert message.languages == ["nl", "fr", "de"]
    assert message.version_for("fr").body == "Cadenassez toujours votre vélo."
    assert message.version_for("nl").body == ORIGINAL


def test_a_proposal_that_changes_no_text_is_refused(published_message, editor):
    with pytest.raises(ValidationError, match="same as the published"):
        actions.propose_correction(
            published_message, by=editor, note="Niets.", versions=nl(ORIGINAL)
        )
    assert not published_message.corrections.exists()


def test_a_proposal_from_a_stale_copy_of_the_message_is_a_conflict(
    published_message, editor, second_editor
):
    stale = Message.objects.get(pk=published_message.pk)
    first = actions.propose_correction(
        published_message, by=editor, note="Eén.", versions=nl("Eén.")
    )
    actions.approve_correction(first, by=second_editor)
    with pytest.raises(Conflict):
        actions.propose_correction(stale, by=editor, note="Twee.", versions=nl("Twee."))


def test_the_word_diff_rebuilds_both_texts():
    old, new = (
        "Het waren vijftien fietsen op maandag.",
        "Het waren twaalf fietsen op dinsdag, zegt de politie.",
    )
    diff = word_diff(old, new)
    assert "".join(t for op, t in diff if op != "insert") == old
    assert "".join(t for op, t in diff if op != "delete") == new
    assert ("delete", "vijftien ") in diff and ("insert", "twaalf ") in diff


# The console -----------------------------------------------------------------------------------


def detail(client, message):
    return client.get(reverse("console:message-detail", args=[message.pk]))


def test_the_author_is_offered_propose_a_correction_on_a_published_message(
    client, published_message, communicator
):
    client.force_login(communicator)
    body = detail(client, published_message).content.decode()
    assert "Propose a correction" in body
    assert "Publish a correction" not in body


def test_a_reviewer_sees_the_pending_correction_with_a_diff_and_the_buttons(
    client, published_message, pending, second_editor
):
    client.force_login(second_editor)
    response = detail(client, published_message)
    body = response.content.decode()
    assert "Correction waiting for approval" in body
    assert "Twaalf, niet vijftien." in body
    removed = '<del class="diff__del"><span class="visually-hidden">[removed: </span>'
    added = '<ins class="diff__ins"><span class="visually-hidden">[added: </span>'
    assert removed + "alert en sluit" in body
    assert added + "alert: sinds maandag" in body
    assert reverse("console:correction-approve", args=[pending.pk]) in body
    assert reverse("console:correction-reject", args=[pending.pk]) in body
    assert 'lang="nl"' in body


def test_a_correction_of_a_retracted_message_is_offered_for_rejection_only(
    client, published_message, pending, second_editor
):
    actions.retract_message(published_message, by=second_editor, reason="Achterhaald.")
    client.force_login(second_editor)
    body = detail(client, published_message).content.decode()
    assert reverse("console:correction-approve", args=[pending.pk]) not in body
    assert reverse("console:correction-reject", args=[pending.pk]) in body
    assert client.post(reverse("console:correction-approve", args=[pending.pk])).status_code == 409


def test_the_proposer_sees_the_correction_without_approve_buttons(
    client, published_message, pending, editor
):
    client.force_login(editor)
    body = detail(client, published_message).content.decode()
    assert "Correction waiting for approval" in body
    assert reverse("console:correction-approve", args=[pending.pk]) not in body
    assert "You proposed this correction, so another editor must approve it." in body


def test_the_proposer_posting_approve_gets_403_with_a_clear_reason(
    client, published_message, pending, editor
):
    client.force_login(editor)
    response = client.post(reverse("console:correction-approve", args=[pending.pk]))
    assert response.status_code == 403
    assert (
        "You cannot review a correction you proposed: another editor must."
        in response.content.decode()
    )
    response = client.post(
        reverse("console:correction-reject", args=[pending.pk]), {"reject-correction-reason": "x"}
    )
    assert response.status_code == 403
    assert Correction.objects.get(pk=pending.pk).state == "pending"


def test_proposing_then_approving_through_the_console_end_to_end(
    client, published_message, communicator, second_editor
):
    client.force_login(communicator)  # the author: may write it, so may propose
    response = client.post(
        reverse("console:message-action", args=[published_message.pk, "correct"]),
        {
            "correct-note": "Twaalf fietsen.",
            "correct-nl_title": "Fietsdiefstallen aan het station",
            "correct-nl_teaser": "",
            "correct-nl_body": NEW_BODY,
            "correct-version": published_message.version,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "another editor approves it" in response.content.decode()
    assert ORIGINAL in public_body(client, published_message)
    correction = published_message.corrections.get()
    client.force_login(second_editor)
    response = client.post(reverse("console:correction-approve", args=[correction.pk]))
    assert response.status_code == 302
    body = public_body(client, published_message)
    assert "twaalf fietsen gestolen" in body and "Twaalf fietsen." in body
    history = detail(client, published_message).content.decode()
    assert "proposed a correction" in history and "approved a correction" in history


def test_rejecting_in_the_console_needs_a_reason_and_changes_nothing_public(
    client, published_message, pending, second_editor
):
    client.force_login(second_editor)
    reject = reverse("console:correction-reject", args=[pending.pk])
    response = client.post(reject, {"reject-correction-reason": ""})
    assert response.status_code == 400
    assert 'id="id_reject-correction-reason_error"' in response.content.decode()
    response = client.post(reject, {"reject-correction-reason": "Bron ontbreekt."})
    assert response.status_code == 302
    assert Correction.objects.get(pk=pending.pk).state == "rejected"
    assert ORIGINAL in public_body(client, published_message)
    body = detail(client, published_message).content.decode()
    assert "Proposed correction rejected" in body and "Bron ontbreekt." in body


def test_a_second_approval_in_the_console_answers_409(
    client, published_message, pending, second_editor, third_editor
):
    client.force_login(second_editor)
    assert client.post(reverse("console:correction-approve", args=[pending.pk])).status_code == 302
    client.force_login(third_editor)
    response = client.post(reverse("console:correction-approve", args=[pending.pk]))
    assert response.status_code == 409
    assert "no longer waiting for approval" in response.content.decode()
    assert count(published_message, "correct") == 1


def test_the_correction_buttons_refuse_readers_outsiders_wrong_methods_and_anonymous(
    client, published_message, pending, analyst, make_user, monkeypatch
):
    approve = reverse("console:correction-approve", args=[pending.pk])
    response = client.post(approve)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(analyst)
    assert client.post(approve).status_code == 403
    assert client.get(approve).status_code == 405
    assert client.post(reverse("console:correction-approve", args=[999999])).status_code == 404
    outsider = make_user(Role.INVESTIGATOR, "ivo")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.INVESTIGATOR, frozenset({roles.VIEW_CONSOLE}))
    client.force_login(outsider)
    assert client.post(approve).status_code == 404
    assert Correction.objects.get(pk=pending.pk).state == "pending"


def test_blocking_findings_in_a_proposal_answer_422_and_editors_may_override(
    client, published_message, communicator, editor
):
    data = {
        "correct-note": "Nummer erbij.",
        "correct-nl_title": "Fietsdiefstallen aan het station",
        "correct-nl_body": PHONE_TEXT,
    }
    action = reverse("console:message-action", args=[published_message.pk, "correct"])
    client.force_login(communicator)
    response = client.post(action, data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "breaks the guidelines" in body and "correct-override_reason" not in body
    client.force_login(editor)
    response = client.post(action, data)
    assert response.status_code == 422
    assert "correct-override_reason" in response.content.decode()
    response = client.post(action, {**data, "correct-override_reason": "Jan is de woordvoerder."})
    assert response.status_code == 302
    assert published_message.corrections.get().override_reason == "Jan is de woordvoerder."


def test_the_review_queue_and_dashboard_list_corrections_for_other_reviewers_only(
    client, published_message, pending, editor, second_editor
):
    client.force_login(second_editor)
    body = client.get(reverse("console:review")).content.decode()
    assert "Corrections waiting for approval" in body
    assert reverse("console:message-detail", args=[published_message.pk]) in body
    home = client.get(reverse("console:home")).content.decode()
    assert "correction waits for your approval" in home
    client.force_login(editor)  # the proposer
    body = client.get(reverse("console:review")).content.decode()
    assert "Corrections waiting for approval" not in body
    assert (
        "correction waits for your approval"
        not in client.get(reverse("console:home")).content.decode()
    )


def test_an_approved_message_can_be_taken_back_to_draft_in_the_console(
    client, make_message, communicator, editor
):
    from datetime import timedelta

    from django.utils import timezone

    message = make_message(communicator, publish_at=timezone.now() + timedelta(days=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    actions.unschedule_message(message, by=editor)
    client.force_login(communicator)
    assert "Take back to draft" in detail(client, message).content.decode()
    response = client.post(reverse("console:message-action", args=[message.pk, "withdraw"]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.state == State.DRAFT and message.approved_by is None


# The API ---------------------------------------------------------------------------------------


def test_the_api_proposes_with_202_and_lists_the_corrections(
    api, published_message, communicator, editor
):
    author = api(communicator)
    response = author.post(
        url(published_message.pk, "correct"),
        {"note": "Twaalf.", "language": "nl", "body": NEW_BODY},
    )
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["state"] == "pending" and data["message_id"] == published_message.pk
    assert data["versions"] == {
        "nl": {"title": "Fietsdiefstallen aan het station", "teaser": "", "body": NEW_BODY}
    }
    assert data["proposed_by"]["username"] == communicator.username
    assert author.get(url(published_message.pk)).json()["state"] == State.PUBLISHED
    listed = api(editor).get(url(published_message.pk, "corrections"))
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [data["id"]]
    assert listed.json()[0]["allowed_actions"] == ["approve", "reject"]
    one = api(editor).get(f"/api/v1/corrections/{data['id']}")
    assert one.status_code == 200 and one.json()["note"] == "Twaalf."


def test_the_api_refuses_the_proposer_and_lets_another_editor_approve(
    api, client, published_message, pending, editor, second_editor, third_editor
):
    approve = f"/api/v1/corrections/{pending.pk}/approve"
    refused = api(editor).post(approve)
    assert refused.status_code == 403
    assert "another editor must" in refused.json()["detail"]
    assert ORIGINAL in public_body(client, published_message)
    approved = api(second_editor).post(approve)
    assert approved.status_code == 200, approved.content
    data = approved.json()
    assert data["state"] == "approved" and data["decided_by"]["username"] == second_editor.username
    assert data["message"]["state"] == State.CORRECTED
    assert data["message"]["correction_note"] == "Twaalf, niet vijftien."
    assert api(second_editor).post(approve).status_code == 200  # the same editor again
    late = api(third_editor).post(approve)
    assert late.status_code == 409 and "approved" in late.json()["detail"]
    assert "twaalf fietsen gestolen" in public_body(client, published_message)


def test_the_api_rejects_with_a_reason_and_nothing_public_changes(
    api, client, published_message, pending, second_editor, editor
):
    reject = f"/api/v1/corrections/{pending.pk}/reject"
    assert api(editor).post(reject, {"reason": "Toch niet."}).status_code == 403
    missing = api(second_editor).post(reject, {"reason": "  "})
    assert missing.status_code == 422 and "reason" in missing.json()["errors"]
    done = api(second_editor).post(reject, {"reason": "Klopt niet."})
    assert done.status_code == 200
    assert done.json()["state"] == "rejected" and done.json()["message"]["state"] == State.PUBLISHED
    assert api(second_editor).post(reject, {"reason": "Nog eens."}).status_code == 409
    assert api(second_editor).post(f"/api/v1/corrections/{pending.pk}/approve").status_code == 409
    assert ORIGINAL in public_body(client, published_message)


def test_the_api_supersedes_a_pending_correction(api, published_message, pending, second_editor):
    newer = api(second_editor).post(
        url(published_message.pk, "correct"),
        {"note": "Dertien.", "language": "nl", "body": "Dertien."},
    )
    assert newer.status_code == 202
    states = {
        c["id"]: c["state"]
        for c in api(second_editor).get(url(published_message.pk, "corrections")).json()
    }
    assert states == {pending.pk: "superseded", newer.json()["id"]: "pending"}


def test_the_api_answers_blocking_findings_with_422_unless_an_editor_overrides(
    api, published_message, communicator, editor
):
    payload = {"note": "Nummer.", "language": "nl", "body": PHONE_TEXT}
    blocked = api(communicator).post(url(published_message.pk, "correct"), payload)
    assert blocked.status_code == 422
    assert [f["code"] for f in blocked.json()["findings"]] == ["phone_number"]
    refused = api(communicator).post(
        url(published_message.pk, "correct"), {**payload, "override_reason": "Mag."}
    )
    assert refused.status_code == 403
    ok = api(editor).post(
        url(published_message.pk, "correct"), {**payload, "override_reason": "Woordvoerder."}
    )
    assert ok.status_code == 202 and ok.json()["override_reason"] == "Woordvoerder."


def test_the_api_hides_corrections_of_invisible_messages_and_unknown_ids(
    api, published_message, pending, make_user, monkeypatch
):
    outsider = make_user(Role.INVESTIGATOR, "ivo")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.INVESTIGATOR, frozenset({roles.VIEW_CONSOLE}))
    client = api(outsider)
    assert client.get(f"/api/v1/corrections/{pending.pk}").status_code == 404
    assert client.post(f"/api/v1/corrections/{pending.pk}/approve").status_code == 404
    assert client.get(url(published_message.pk, "corrections")).status_code == 404
    assert api(make_user(Role.EDITOR)).get("/api/v1/corrections/424242").status_code == 404


def test_a_post_to_an_unknown_api_path_is_a_json_404_even_without_a_token(db):
    response = ApiClient(None).post("/api/v1/no-such-thing", {"a": 1})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_stranger_may_not_propose_through_the_api(api, published_message, make_user):
    response = api(make_user(Role.COMMUNICATOR)).post(
        url(published_message.pk, "correct"), {"note": "x", "language": "nl", "body": "y"}
    )
    assert response.status_code == 403
    assert not published_message.corrections.exists()


def test_blocking_a_proposal_writes_nothing(published_message, communicator):
    with pytest.raises(GuidelineBlocked):
        actions.propose_correction(
            published_message, by=communicator, note="x", versions=nl(PHONE_TEXT)
        )
    assert not published_message.corrections.exists()
    assert count(published_message, "propose_correction") == 0
