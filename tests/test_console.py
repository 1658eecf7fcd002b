"""The staff console for messages: access checklist per view, the editorial flow end to end,
and the rejections (four eyes, conflicts, blocked submissions, hostile input)."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from copps.accounts import roles
from copps.accounts.roles import Role
from copps.audit.log import for_object
from copps.newsroom import actions
from copps.newsroom.models import Audience, Message, MessageImage, WordList
from copps.newsroom.workflow import State

PHONE_BODY = "Getuigen kunnen bellen naar 0470 12 34 56 of mailen."
CLEAN_BODY = "Getuigen kunnen bellen naar 101."


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


@pytest.fixture
def analyst(make_user):
    """A read-only role: sees messages, may not write or review them."""
    return make_user(Role.ANALYST, "erik")


@pytest.fixture
def outsider(make_user, monkeypatch):
    """Staff who may enter the console but may not see messages (a role without MESSAGE_VIEW)."""
    user = make_user(Role.INVESTIGATOR, "ivo")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.INVESTIGATOR, frozenset({roles.VIEW_CONSOLE}))
    return user


@pytest.fixture
def draft(make_message, communicator):
    return make_message(communicator, channels=["web", "x", "sms"])


@pytest.fixture
def submitted(draft, communicator):
    actions.submit_message(draft, by=communicator)
    return draft


def editor_data(**overrides):
    data = {
        "kind": "news",
        "channels": ["web", "x", "sms"],
        "nl-title": "Getuigen gezocht na inbraak",
        "nl-teaser": "",
        "nl-body": CLEAN_BODY,
        "client_key": "key-1",
    }
    data.update(overrides)
    return data


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (40, 80, 160)).save(out, "PNG")
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


# Access checklist ------------------------------------------------------------------------------


def _login_url():
    return reverse("accounts:login")


PAGES = [
    ("console:home", None),
    ("console:message-list", None),
    ("console:message-new", None),
    ("console:review", None),
    ("console:guidelines", None),
]


@pytest.mark.parametrize("name,_args", PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(client, db, name, _args):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(_login_url())


def test_it_sends_anonymous_visitors_from_a_message_to_the_login_page(client, draft):
    for name in ("console:message-detail", "console:message-edit"):
        response = client.get(reverse(name, args=[draft.pk]))
        assert response.status_code == 302
        assert response["Location"].startswith(_login_url())
    response = client.post(reverse("console:message-action", args=[draft.pk, "submit"]))
    assert response.status_code == 302
    assert Message.objects.get(pk=draft.pk).state == State.DRAFT


def test_it_refuses_the_console_to_an_account_without_console_access(login, make_user, monkeypatch):
    user = make_user(Role.ANALYST, "nobody")
    monkeypatch.setitem(roles.ROLE_CAPABILITIES, Role.ANALYST, frozenset())
    response = login(user).get(reverse("console:home"))
    assert response.status_code == 403
    assert b"no access to the staff console" in response.content


def test_it_shows_the_dashboard_with_counts_per_state_linking_to_the_list(login, editor, submitted):
    response = login(editor).get(reverse("console:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("console:message-list") + "?state=submitted" in body
    assert response.context["queue_size"] == 1
    counts = {s["value"]: s["count"] for s in response.context["states"]}
    assert counts["submitted"] == 1 and counts["draft"] == 0


def test_it_shows_the_author_their_drafts_on_the_dashboard(login, communicator, draft):
    response = login(communicator).get(reverse("console:home"))
    assert response.status_code == 200
    assert draft in response.context["my_drafts"]
    assert "queue_size" not in response.context  # communicators do not review


def test_it_hides_message_data_from_roles_without_message_view(login, outsider, draft):
    response = login(outsider).get(reverse("console:home"))
    assert response.status_code == 200
    assert "states" not in response.context
    assert draft.primary_version().title.encode() not in response.content


def test_it_answers_404_for_a_message_the_user_may_not_see(login, outsider, draft):
    client = login(outsider)
    assert client.get(reverse("console:message-detail", args=[draft.pk])).status_code == 404
    assert client.get(reverse("console:message-edit", args=[draft.pk])).status_code == 404
    response = client.post(reverse("console:message-action", args=[draft.pk, "submit"]))
    assert response.status_code == 404


def test_it_answers_404_for_a_message_that_does_not_exist(login, editor, db):
    assert login(editor).get(reverse("console:message-detail", args=[99999])).status_code == 404


def test_it_answers_403_on_the_list_for_roles_without_message_view(login, outsider):
    assert login(outsider).get(reverse("console:message-list")).status_code == 403


@pytest.mark.parametrize(
    "method,name,args",
    [
        ("post", "console:home", ()),
        ("post", "console:message-list", ()),
        ("put", "console:message-new", ()),
        ("get", "console:message-check", ()),
        ("post", "console:message-detail", ("draft",)),
        ("get", "console:message-action", ("draft", "submit")),
        ("post", "console:review", ()),
        ("delete", "console:guidelines", ()),
    ],
)
def test_it_answers_405_to_the_wrong_method(login, admin_user, draft, method, name, args):
    args = [draft.pk if a == "draft" else a for a in args]
    response = getattr(login(admin_user), method)(reverse(name, args=args))
    assert response.status_code == 405


def test_it_lets_a_read_only_role_see_but_not_write(login, analyst, draft):
    client = login(analyst)
    assert client.get(reverse("console:message-list")).status_code == 200
    assert client.get(reverse("console:message-detail", args=[draft.pk])).status_code == 200
    assert client.get(reverse("console:message-new")).status_code == 403
    assert client.post(reverse("console:message-new"), editor_data()).status_code == 403
    assert client.get(reverse("console:message-edit", args=[draft.pk])).status_code == 403
    assert client.post(reverse("console:message-check"), editor_data()).status_code == 403
    response = client.post(reverse("console:message-action", args=[draft.pk, "submit"]))
    assert response.status_code == 403
    assert client.get(reverse("console:review")).status_code == 403
    assert client.get(reverse("console:guidelines")).status_code == 403
    assert Message.objects.count() == 1
    assert Message.objects.get(pk=draft.pk).state == State.DRAFT


def test_it_shows_no_workflow_buttons_to_a_read_only_role(login, analyst, draft):
    response = login(analyst).get(reverse("console:message-detail", args=[draft.pk]))
    assert response.context["actions"] == []
    assert (
        reverse("console:message-action", args=[draft.pk, "submit"]).encode()
        not in response.content
    )


# Navigation ------------------------------------------------------------------------------------


def test_it_shows_navigation_links_by_capability(login, communicator, admin_user, make_user):
    body = login(communicator).get(reverse("console:home")).content.decode()
    assert reverse("console:message-new") in body
    assert reverse("console:review") not in body
    assert reverse("console:guidelines") not in body
    assert reverse("accounts:users") not in body
    body = login(admin_user).get(reverse("console:home")).content.decode()
    for name in ("console:review", "console:guidelines", "accounts:users", "accounts:tokens"):
        assert reverse(name) in body
    coach = make_user(Role.COACH, "coach")
    body = login(coach).get(reverse("console:home")).content.decode()
    assert reverse("console:guidelines") in body
    assert reverse("console:message-new") not in body


def test_it_links_nothing_when_a_url_name_is_missing():
    from copps.console.templatetags.console_tags import optional_url

    assert optional_url("nowhere:nothing") == ""
    assert optional_url("console:home") == "/console/"


# List ------------------------------------------------------------------------------------------


def test_it_lists_messages_filtered_by_state(login, editor, communicator, make_message, submitted):
    other = make_message(communicator, title="Nog een concept")
    client = login(editor)
    response = client.get(reverse("console:message-list"), {"state": "submitted"})
    assert response.status_code == 200
    listed = list(response.context["page"].object_list)
    assert listed == [submitted]
    response = client.get(reverse("console:message-list"))
    assert {m.pk for m in response.context["page"].object_list} == {submitted.pk, other.pk}
    body = response.content.decode()
    assert "Nog een concept" in body and "badge--submitted" in body
    assert ">NL<" in body  # language badge


def test_it_ignores_garbage_filters_on_the_list(login, editor, draft):
    response = login(editor).get(
        reverse("console:message-list"), {"state": "<script>", "kind": "x" * 500, "page": "-1"}
    )
    assert response.status_code == 200
    assert response.context["state"] == ""


# Create / edit ---------------------------------------------------------------------------------


def test_it_creates_a_draft_from_the_editor(login, communicator, db):
    audience = Audience.objects.create(name="Fietsers", slug="fietsers")
    data = editor_data(
        audiences=[audience.pk], **{"fr-title": "Témoins recherchés", "fr-body": "Appelez le 101."}
    )
    response = login(communicator).post(reverse("console:message-new"), data)
    assert response.status_code == 302
    message = Message.objects.get()
    assert response["Location"] == reverse("console:message-detail", args=[message.pk])
    assert message.state == State.DRAFT and message.author == communicator
    assert sorted(message.languages) == ["fr", "nl"]
    assert message.channels == ["web", "x", "sms"]
    assert list(message.audiences.all()) == [audience]


def test_it_makes_one_draft_when_create_is_clicked_twice(login, communicator, db):
    client = login(communicator)
    first = client.post(reverse("console:message-new"), editor_data(client_key="same"))
    second = client.post(reverse("console:message-new"), editor_data(client_key="same"))
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Message.objects.count() == 1


def test_the_new_message_form_carries_a_one_time_key(login, communicator):
    client = login(communicator)
    first = client.get(reverse("console:message-new")).context["form"]["client_key"].value()
    second = client.get(reverse("console:message-new")).context["form"]["client_key"].value()
    assert first and second and first != second


def test_it_requires_at_least_one_language(login, communicator, db):
    data = editor_data(**{"nl-title": "", "nl-body": ""})
    response = login(communicator).post(reverse("console:message-new"), data)
    assert response.status_code == 400
    assert b"at least one language" in response.content
    assert Message.objects.count() == 0


def test_it_links_field_errors_to_their_inputs(login, communicator, db):
    data = editor_data(**{"nl-body": ""})
    response = login(communicator).post(reverse("console:message-new"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_nl-body_error"' in body
    assert 'aria-describedby="id_nl-body_error"' in body
    assert 'aria-invalid="true"' in body


@pytest.mark.parametrize(
    "overrides",
    [
        {"channels": ["carrier-pigeon"]},
        {"kind": "gossip"},
        {"publish_at": "tomorrow-ish"},
        {"expires_at": "2020-13-45T99:99"},
        {"area": "not-a-number"},
        {"audiences": ["abc"]},
        {"nl-title": "x" * 500},
        {"nl-body": "nul\x00byte"},
        {"version": "NaN"},
        {"client_key": "k" * 500},
    ],
)
def test_it_answers_garbage_with_field_errors_not_500(login, communicator, db, overrides):
    response = login(communicator).post(reverse("console:message-new"), editor_data(**overrides))
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_it_refuses_an_end_before_the_start(login, communicator, db):
    data = editor_data(publish_at="2030-01-02T10:00", expires_at="2030-01-01T10:00")
    response = login(communicator).post(reverse("console:message-new"), data)
    assert response.status_code == 400
    assert "expires_at" in response.context["form"].errors


def test_it_fixes_an_officers_area_to_their_own(login, make_user, area, other_area, db):
    officer = make_user(Role.OFFICER, "olga")
    response = login(officer).post(reverse("console:message-new"), editor_data(area=other_area.pk))
    assert response.status_code == 302
    assert Message.objects.get().area == area


def test_it_edits_a_draft_and_replaces_emptied_languages(login, communicator, db):
    client = login(communicator)
    client.post(
        reverse("console:message-new"),
        editor_data(**{"fr-title": "Témoins", "fr-body": "Appelez le 101."}),
    )
    message = Message.objects.get()
    edit = reverse("console:message-edit", args=[message.pk])
    assert client.get(edit).status_code == 200
    data = editor_data(version=message.version, **{"nl-title": "Nieuwe titel"})
    response = client.post(edit, data)
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.languages == ["nl"]
    assert message.primary_version().title == "Nieuwe titel"


def test_it_answers_409_when_saving_over_a_newer_version(login, communicator, draft):
    client = login(communicator)
    stale = draft.version
    actions.update_message(draft, by=communicator, kind="traffic")
    response = client.post(
        reverse("console:message-edit", args=[draft.pk]), editor_data(version=stale)
    )
    assert response.status_code == 409
    assert b"Someone else acted first" in response.content
    assert Message.objects.get(pk=draft.pk).kind == "traffic"


def test_it_answers_409_when_editing_a_message_that_is_no_longer_a_draft(
    login, communicator, submitted
):
    response = login(communicator).get(reverse("console:message-edit", args=[submitted.pk]))
    assert response.status_code == 409


def test_it_forbids_editing_someone_elses_draft(login, make_user, draft):
    other = make_user(Role.COMMUNICATOR, "otto")
    response = login(other).get(reverse("console:message-edit", args=[draft.pk]))
    assert response.status_code == 403


# Live check ------------------------------------------------------------------------------------


def test_the_editor_asks_for_live_checks_while_typing(login, communicator):
    body = login(communicator).get(reverse("console:message-new")).content.decode()
    assert f'hx-post="{reverse("console:message-check")}"' in body
    assert "input changed delay:600ms from:closest form" in body


def test_the_live_check_lists_findings_of_unsaved_text(login, communicator, db):
    response = login(communicator).post(
        reverse("console:message-check"), editor_data(**{"nl-body": PHONE_BODY})
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Phone number" in body
    assert "0470 12 34 56" in body
    assert "Blocking" in body
    assert Message.objects.count() == 0  # nothing saved


def test_the_live_check_previews_each_selected_channel(login, communicator, db):
    long_body = "Lange tekst over de veiligheid in de wijk. " * 20
    response = login(communicator).post(
        reverse("console:message-check"),
        editor_data(channels=["x", "sms"], **{"nl-body": long_body}),
    )
    assert response.status_code == 200
    labels = [r.channel for r in response.context["live"]["renditions"]]
    assert labels == ["x", "sms"]
    body = response.content.decode()
    assert "Shortened, links to the full page" in body
    assert "segment" in body  # SMS counts segments


def test_the_live_check_strips_hostile_html_from_previews(login, communicator, db):
    hostile = (
        '<script>alert("x")</script><img src=x onerror=alert(1)> Hallo <b onclick="evil()">daar</b>'
    )
    response = login(communicator).post(
        reverse("console:message-check"),
        editor_data(channels=["web", "x"], **{"nl-body": hostile}),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in body
    assert "onerror" not in body and "onclick" not in body
    assert "Hallo" in body


def test_the_check_button_shows_findings_without_javascript(login, communicator, db):
    response = login(communicator).post(
        reverse("console:message-new"), editor_data(_check="1", **{"nl-body": PHONE_BODY})
    )
    assert response.status_code == 200
    assert b"Phone number" in response.content
    assert Message.objects.count() == 0


def test_the_edit_page_checks_against_the_saved_draft(login, communicator, draft):
    body = (
        login(communicator).get(reverse("console:message-edit", args=[draft.pk])).content.decode()
    )
    assert f'hx-post="{reverse("console:message-check-existing", args=[draft.pk])}"' in body


def test_the_live_check_for_a_saved_draft_needs_write_access(login, make_user, draft):
    other = make_user(Role.COMMUNICATOR, "otto")
    url = reverse("console:message-check-existing", args=[draft.pk])
    assert login(other).post(url, editor_data()).status_code == 403


def test_the_live_check_survives_garbage(login, communicator, db):
    response = login(communicator).post(
        reverse("console:message-check"),
        {
            "channels": ["nope"],
            "is_personal": "maybe",
            "nl-body": "\x00" * 10,
            "de-title": "x" * 900,
        },
    )
    assert response.status_code == 200


# Images ----------------------------------------------------------------------------------------


def test_it_adds_an_image_with_alt_text(login, communicator, draft):
    client = login(communicator)
    response = client.post(
        reverse("console:message-image-add", args=[draft.pk]),
        {"image": upload("foto.png", png_bytes(), "image/png"), "alt_text": "Een blauwe fiets"},
    )
    assert response.status_code == 302
    image = MessageImage.objects.get()
    assert image.alt_text == "Een blauwe fiets"
    body = client.get(reverse("console:message-detail", args=[draft.pk])).content.decode()
    assert 'alt="Een blauwe fiets"' in body


def test_it_refuses_an_image_without_alt_text(login, communicator, draft):
    response = login(communicator).post(
        reverse("console:message-image-add", args=[draft.pk]),
        {"image": upload("foto.png", png_bytes(), "image/png"), "alt_text": " "},
    )
    assert response.status_code == 400
    assert b"Describe the image" in response.content
    assert MessageImage.objects.count() == 0


def test_it_refuses_a_file_that_is_not_an_image_with_a_clear_error(login, communicator, draft):
    response = login(communicator).post(
        reverse("console:message-image-add", args=[draft.pk]),
        {"image": upload("evil.png", b"#!/bin/sh\nrm -rf /\n", "image/png"), "alt_text": "Foto"},
    )
    assert response.status_code == 400
    assert b"not an image copps can read" in response.content
    assert MessageImage.objects.count() == 0


def test_it_removes_an_image(login, communicator, draft):
    client = login(communicator)
    client.post(
        reverse("console:message-image-add", args=[draft.pk]),
        {"image": upload("foto.png", png_bytes(), "image/png"), "alt_text": "Fiets"},
    )
    image = MessageImage.objects.get()
    response = client.post(reverse("console:message-image-remove", args=[draft.pk, image.pk]))
    assert response.status_code == 302
    assert MessageImage.objects.count() == 0


def test_it_refuses_images_from_readers(login, analyst, draft):
    response = login(analyst).post(
        reverse("console:message-image-add", args=[draft.pk]),
        {"image": upload("foto.png", png_bytes(), "image/png"), "alt_text": "Fiets"},
    )
    assert response.status_code == 403


# Detail + workflow -----------------------------------------------------------------------------


def test_the_detail_page_shows_text_findings_previews_and_history(
    login, communicator, make_message
):
    message = make_message(
        communicator, body="**Let op**: bel 0470 12 34 56.", channels=["web", "sms"]
    )
    response = login(communicator).get(reverse("console:message-detail", args=[message.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>Let op</strong>" in body
    assert "Phone number" in body
    assert [r.channel for r in response.context["renditions"]] == ["web", "sms"]
    assert "created the draft" in body
    assert response.context["actions"] == ["submit"]


def test_the_detail_page_strips_hostile_html(login, communicator, make_message):
    message = make_message(
        communicator, body='Hoi <script>alert(1)</script><a href="javascript:evil()">x</a>'
    )
    body = (
        login(communicator)
        .get(reverse("console:message-detail", args=[message.pk]))
        .content.decode()
    )
    assert "<script>alert" not in body
    assert "javascript:evil" not in body


def test_the_whole_editorial_flow_works_through_the_console(
    login, client, communicator, editor, second_editor, db
):
    client.force_login(communicator)
    client.post(reverse("console:message-new"), editor_data(**{"nl-body": PHONE_BODY}))
    message = Message.objects.get()
    detail = reverse("console:message-detail", args=[message.pk])
    # Findings show on the detail page.
    assert b"Phone number" in client.get(detail).content
    # Submitting is blocked: 422 listing the findings.
    submit = reverse("console:message-action", args=[message.pk, "submit"])
    response = client.post(submit, {"submit-version": message.version})
    assert response.status_code == 422
    assert b"Phone number" in response.content
    # Fix the text, then submit.
    message.refresh_from_db()
    client.post(
        reverse("console:message-edit", args=[message.pk]), editor_data(version=message.version)
    )
    message.refresh_from_db()
    assert client.post(submit, {"submit-version": message.version}).status_code == 302
    message.refresh_from_db()
    assert message.state == State.SUBMITTED
    # Another editor finds it in the review queue and approves it: published.
    client.force_login(editor)
    queue = client.get(reverse("console:review"))
    assert [i["message"] for i in queue.context["items"]] == [message]
    approve = reverse("console:message-action", args=[message.pk, "approve"])
    assert client.post(approve, {"approve-version": message.version}).status_code == 302
    message.refresh_from_db()
    assert message.state == State.PUBLISHED
    assert message.approved_by == editor
    body = client.get(detail).content.decode()
    assert "approved" in body and "published" in body


def test_an_author_cannot_approve_their_own_message(login, editor, make_message):
    message = make_message(editor)
    actions.submit_message(message, by=editor)
    client = login(editor)
    response = client.post(reverse("console:message-action", args=[message.pk, "approve"]))
    assert response.status_code == 403
    assert b"You cannot approve your own message: another editor must." in response.content
    assert Message.objects.get(pk=message.pk).state == State.SUBMITTED
    assert (
        "approve"
        not in client.get(reverse("console:message-detail", args=[message.pk])).context["actions"]
    )


def test_own_messages_are_not_in_the_review_queue(login, editor, make_message):
    message = make_message(editor)
    actions.submit_message(message, by=editor)
    response = login(editor).get(reverse("console:review"))
    assert response.context["items"] == []


def test_a_concurrent_approval_answers_409(client, editor, second_editor, submitted):
    seen = submitted.version
    client.force_login(editor)
    url = reverse("console:message-action", args=[submitted.pk, "approve"])
    assert client.post(url, {"approve-version": seen}).status_code == 302
    client.force_login(second_editor)
    response = client.post(url, {"approve-version": seen})
    assert response.status_code == 409
    assert b"Someone else acted first" in response.content
    message = Message.objects.get(pk=submitted.pk)
    assert message.approved_by == editor


def test_acting_on_a_stale_version_answers_409(client, editor, communicator, submitted):
    stale = submitted.version
    actions.withdraw_message(submitted, by=communicator)
    actions.submit_message(submitted, by=communicator)
    client.force_login(editor)
    url = reverse("console:message-action", args=[submitted.pk, "reject"])
    response = client.post(url, {"reject-version": stale, "reject-reason": "Te lang"})
    assert response.status_code == 409
    assert Message.objects.get(pk=submitted.pk).state == State.SUBMITTED


def test_rejecting_requires_a_reason_and_shows_it_to_the_author(
    client, editor, communicator, submitted
):
    client.force_login(editor)
    url = reverse("console:message-action", args=[submitted.pk, "reject"])
    response = client.post(url, {"reject-reason": "  "})
    assert response.status_code == 400
    assert b"Say why, so the author can fix it." in response.content
    assert client.post(url, {"reject-reason": "Noem de straat niet."}).status_code == 302
    client.force_login(communicator)
    body = client.get(reverse("console:message-detail", args=[submitted.pk])).content.decode()
    assert "Noem de straat niet." in body and "Sent back by the reviewer" in body
    body = client.get(reverse("console:message-edit", args=[submitted.pk])).content.decode()
    assert "Noem de straat niet." in body


def test_an_editor_may_override_blocking_findings_with_a_reason(
    client, editor, second_editor, make_message
):
    message = make_message(editor, body=PHONE_BODY)
    client.force_login(editor)
    url = reverse("console:message-action", args=[message.pk, "submit"])
    response = client.post(url)
    assert response.status_code == 422
    assert b"override_reason" in response.content  # editors are offered the override field
    response = client.post(url, {"submit-override_reason": "Het is het nummer van de wijkpost."})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.state == State.SUBMITTED
    assert message.override_reason == "Het is het nummer van de wijkpost."


def test_the_detail_page_offers_the_override_field_to_editors_only(
    client, editor, communicator, make_message
):
    mine = make_message(communicator, body=PHONE_BODY)
    client.force_login(communicator)
    body = client.get(reverse("console:message-detail", args=[mine.pk])).content.decode()
    assert "Blocking findings stop this submission" in body
    assert "submit-override_reason" not in body
    client.force_login(editor)
    body = client.get(reverse("console:message-detail", args=[mine.pk])).content.decode()
    assert 'name="submit-override_reason"' in body


def test_a_communicator_cannot_override_blocking_findings(client, communicator, make_message):
    message = make_message(communicator, body=PHONE_BODY)
    client.force_login(communicator)
    url = reverse("console:message-action", args=[message.pk, "submit"])
    response = client.post(url)
    assert response.status_code == 422
    assert b"override_reason" not in response.content
    response = client.post(url, {"submit-override_reason": "Ik wil het toch"})
    assert response.status_code == 403
    assert Message.objects.get(pk=message.pk).state == State.DRAFT


def test_it_schedules_unschedules_and_publishes(client, editor, second_editor, submitted):
    client.force_login(editor)
    base = lambda a: reverse("console:message-action", args=[submitted.pk, a])  # noqa: E731
    response = client.post(base("approve"), {"approve-publish_at": "2099-01-01T10:00"})
    assert response.status_code == 302
    assert Message.objects.get(pk=submitted.pk).state == State.SCHEDULED
    assert client.post(base("unschedule")).status_code == 302
    assert Message.objects.get(pk=submitted.pk).state == State.APPROVED
    response = client.post(base("schedule"), {"schedule-publish_at": "2000-01-01T10:00"})
    assert response.status_code == 400
    assert b"Choose a moment in the future." in response.content
    assert (
        client.post(base("schedule"), {"schedule-publish_at": "2099-02-01T09:30"}).status_code
        == 302
    )
    assert Message.objects.get(pk=submitted.pk).state == State.SCHEDULED
    assert client.post(base("publish")).status_code == 302
    assert Message.objects.get(pk=submitted.pk).state == State.PUBLISHED


def test_it_corrects_and_retracts_a_published_message(
    client, editor, second_editor, published_message
):
    client.force_login(editor)
    url = reverse("console:message-action", args=[published_message.pk, "correct"])
    response = client.post(
        url, {"correct-note": "", "correct-nl_title": "T", "correct-nl_body": "B"}
    )
    assert response.status_code == 400
    response = client.post(
        url,
        {
            "correct-note": "Datum verbeterd.",
            "correct-nl_title": "Fietsdiefstallen aan het station",
            "correct-nl_teaser": "",
            "correct-nl_body": "Wees alert: sinds maandag meer diefstallen.",
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(pk=published_message.pk)
    assert message.state == State.PUBLISHED  # proposed only
    correction = message.corrections.get()
    client.force_login(second_editor)
    response = client.post(reverse("console:correction-approve", args=[correction.pk]))
    assert response.status_code == 302
    message = Message.objects.get(pk=published_message.pk)
    assert message.state == State.CORRECTED
    assert "sinds maandag" in message.primary_version().body
    url = reverse("console:message-action", args=[message.pk, "retract"])
    assert client.post(url, {"retract-reason": ""}).status_code == 400
    assert client.post(url, {"retract-reason": "Verkeerde wijk."}).status_code == 302
    message.refresh_from_db()
    assert message.state == State.RETRACTED
    body = client.get(reverse("console:message-detail", args=[message.pk])).content.decode()
    assert "Verkeerde wijk." in body


def test_an_action_not_allowed_in_this_state_answers_409(client, editor, draft):
    client.force_login(editor)
    response = client.post(reverse("console:message-action", args=[draft.pk, "publish"]))
    assert response.status_code == 409


def test_an_unknown_action_answers_404(client, editor, draft):
    client.force_login(editor)
    response = client.post(reverse("console:message-action", args=[draft.pk, "explode"]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "action,data",
    [
        ("approve", {"approve-publish_at": "yesterday"}),
        ("approve", {"approve-version": "x"}),
        ("reject", {"reject-reason": "x" * 5000}),
        ("reject", {"reject-reason": ["a", "b"], "reject-version": "-4"}),
    ],
)
def test_workflow_forms_answer_garbage_with_400(client, second_editor, submitted, action, data):
    client.force_login(second_editor)
    response = client.post(reverse("console:message-action", args=[submitted.pk, action]), data)
    assert response.status_code == 400
    assert Message.objects.get(pk=submitted.pk).state == State.SUBMITTED


def test_scheduling_without_a_time_answers_400(client, editor, submitted):
    actions.approve_message(submitted, by=editor, publish_at=timezone.now() + timedelta(days=2))
    actions.unschedule_message(submitted, by=editor)
    client.force_login(editor)
    url = reverse("console:message-action", args=[submitted.pk, "schedule"])
    response = client.post(url, {"schedule-publish_at": ""})
    assert response.status_code == 400
    assert 'id="id_schedule-publish_at_error"' in response.content.decode()
    assert Message.objects.get(pk=submitted.pk).state == State.APPROVED


def test_scheduling_a_published_message_answers_409(client, editor, published_message):
    client.force_login(editor)
    url = reverse("console:message-action", args=[published_message.pk, "schedule"])
    assert client.post(url, {"schedule-publish_at": "2099-01-01T10:00"}).status_code == 409


def test_the_audit_trail_shows_who_when_and_the_reason(client, editor, submitted):
    client.force_login(editor)
    client.post(
        reverse("console:message-action", args=[submitted.pk, "reject"]),
        {"reject-reason": "Te vaag."},
    )
    response = client.get(reverse("console:message-detail", args=[submitted.pk]))
    records = response.context["audit"]
    assert [r.action for r in records] == [r.action for r in for_object(submitted).order_by("seq")]
    body = response.content.decode()
    assert "bob" in body and "Te vaag." in body and "Submitted for review" in body


# Review queue ----------------------------------------------------------------------------------


def test_the_review_queue_summarises_findings(
    login, editor, second_editor, make_message, communicator
):
    message = make_message(communicator, body="Zie ook 1-ABC-123.")
    actions.submit_message(message, by=editor, override_reason="Plaat van een dienstwagen.")
    # The editor who sent it in (overriding a finding) is not its reviewer: another editor is.
    response = login(second_editor).get(reverse("console:review"))
    item = response.context["items"][0]
    assert item["message"] == message and item["blocking"] == 1
    assert b"1 blocking" in response.content


# Word lists ------------------------------------------------------------------------------------


def test_a_coach_edits_the_word_lists(login, make_user, communicator, db):
    coach = make_user(Role.COACH, "coach")
    client = login(coach)
    response = client.get(reverse("console:guidelines"))
    assert response.status_code == 200
    assert 'name="nl_offensive"' in response.content.decode()
    response = client.post(reverse("console:guidelines"), {"nl_offensive": "sukkel\nidioot\n"})
    assert response.status_code == 302
    wl = WordList.objects.get(language="nl", category="offensive")
    assert wl.term_list() == ["idioot", "sukkel"]
    # The list is used at once by the live check.
    client = login(communicator)
    response = client.post(
        reverse("console:message-check"), editor_data(**{"nl-body": "Wat een sukkel."})
    )
    assert b"Offensive term" in response.content


def _terms(language="nl", category="offensive"):
    wl = WordList.objects.filter(language=language, category=category).first()
    return wl.term_list() if wl else []


def test_word_lists_are_only_for_coaches_and_administrators(login, editor):
    before = _terms()
    client = login(editor)
    assert client.get(reverse("console:guidelines")).status_code == 403
    assert client.post(reverse("console:guidelines"), {"nl_offensive": "xyzzy"}).status_code == 403
    assert _terms() == before


def test_word_lists_refuse_oversized_input(login, admin_user):
    before = _terms()
    response = login(admin_user).post(reverse("console:guidelines"), {"nl_offensive": "x" * 30_000})
    assert response.status_code == 400
    assert _terms() == before


def test_word_lists_keep_the_lists_that_were_not_touched(login, admin_user):
    form = login(admin_user).get(reverse("console:guidelines")).context["form"]
    data = {name: form.initial[name] for _lang, _cat, name in form.cells}
    data["fr_discriminatory"] = (data["fr_discriminatory"] + "\nmotinterdit").strip()
    before = {(w.language, w.category): w.updated_at for w in WordList.objects.all()}
    response = login(admin_user).post(reverse("console:guidelines"), data)
    assert response.status_code == 302
    assert "motinterdit" in _terms("fr", "discriminatory")
    after = {(w.language, w.category): w.updated_at for w in WordList.objects.all()}
    changed = {key for key in after if before.get(key) != after[key]}
    assert changed == {("fr", "discriminatory")}


# Live check and submit agree; pages run a fixed number of queries -----------------------------


def test_the_live_check_of_a_saved_draft_measures_the_links_the_submit_check_measures(
    login, communicator, make_message
):
    from django.conf import settings

    from copps.newsroom.actions import VersionInput

    title = "Fietsdiefstal"
    message = make_message(communicator, title=title, channels=["web", "bluesky"])
    link = message.permalink("nl")
    assert "/00000-" not in link and len(str(message.pk)) < 5
    # A teaser that fills a Bluesky post exactly with the real link (300 graphemes), so a
    # stand-in link of another length would cut it.
    room = 300 - len(title) - len("\n\n") - len("\n") - len(link)
    teaser = ("woord " * 80)[: room - 1].rstrip() + "."
    teaser = teaser + "x" * (room - len(teaser))
    assert len(teaser) == room and settings.SITE_URL in link
    actions.update_message(
        message, by=communicator, versions=[VersionInput("nl", title, "Tekst.", teaser)]
    )
    on_submit = sorted((f.code, f.language) for f in actions.findings_for(message))
    response = login(communicator).post(
        reverse("console:message-check-existing", args=[message.pk]),
        editor_data(
            **{
                "channels": ["web", "bluesky"],
                "nl-title": title,
                "nl-teaser": teaser,
                "nl-body": "Tekst.",
                "version": message.version,
            }
        ),
    )
    live = response.context["live"]
    assert sorted((f.code, f.language) for f in live["findings"]) == on_submit
    assert "shortened" not in [code for code, _lang in on_submit]
    bluesky = next(r for r in live["renditions"] if r.channel == "bluesky")
    assert bluesky.length == 300 and not bluesky.truncated and bluesky.text.endswith(link)


def _many_messages(n, communicator, editor, make_message):
    from copps.newsroom.actions import VersionInput

    for i in range(n):
        m = make_message(communicator, title=f"Bericht {i}", channels=["web", "x", "sms"])
        actions.submit_message(m, by=communicator)
        if i % 2:
            actions.approve_message(m, by=editor)
            actions.propose_correction(
                m, by=communicator, note="Juister.", versions=[VersionInput("nl", "Nieuw", "Ok.")]
            )


@pytest.mark.parametrize("url_name", ["console:home", "console:message-list", "console:review"])
def test_console_lists_run_a_fixed_number_of_queries(
    url_name,
    login,
    communicator,
    editor,
    second_editor,
    make_message,
    django_assert_max_num_queries,
):
    _many_messages(12, communicator, editor, make_message)
    client = login(second_editor)
    # 10 + 2 on the dashboard: the channels' "Needs attention" panel (unknown deliveries, stopped
    # channels), a fixed cost whatever the number of messages. + 1 on the dashboard and the
    # message page: the crisis banner's state (cached for seconds; the cache starts empty here).
    with django_assert_max_num_queries(13 if url_name == "console:home" else 10):
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    if url_name == "console:review":
        assert len(response.context["items"]) == 6 and len(response.context["corrections"]) == 6


def test_the_message_page_reads_versions_and_images_once(
    login, communicator, editor, second_editor, make_message, django_assert_max_num_queries
):
    from copps.newsroom.actions import VersionInput

    message = make_message(communicator, channels=["web", "rss", "x", "mastodon", "sms"])
    actions.update_message(
        message,
        by=communicator,
        versions=[VersionInput("nl", "Titel", "Tekst."), VersionInput("fr", "Titre", "Texte.")],
    )
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    actions.propose_correction(
        message, by=communicator, note="Juister.", versions=[VersionInput("nl", "Nieuw", "Ok.")]
    )
    client = login(second_editor)
    with django_assert_max_num_queries(13):  # 12 + the crisis banner's state (cache empty)
        response = client.get(reverse("console:message-detail", args=[message.pk]))
    assert response.status_code == 200 and response.context["pending_correction"]


def test_each_limited_channel_shows_its_own_count_even_when_the_text_is_the_same(
    login, communicator, db
):
    body = "Kort 😀"  # fits everywhere: every channel carries the same text
    response = login(communicator).post(
        reverse("console:message-check"),
        editor_data(**{"nl-body": body, "channels": ["web", "rss", "x", "sms"]}),
    )
    groups = {g["label"]: g["r"] for g in response.context["live"]["rendition_groups"]}
    assert set(groups) == {"Website, RSS/Atom feeds", "X", "SMS"}
    text = groups["X"].text
    assert groups["Website, RSS/Atom feeds"].text == text and groups["SMS"].text == text
    assert groups["X"].length == len(text) + 1  # the emoji weighs 2 on X
    assert groups["SMS"].encoding == "UCS-2" and groups["SMS"].segments == 1
    body = response.content.decode()
    assert "UCS-2, 1 segment" in body


def test_approving_a_message_whose_end_has_passed_answers_with_the_reason_not_a_publication(
    login, make_message, communicator, editor
):
    message = make_message(communicator, expires_at=timezone.now() - timedelta(minutes=1))
    actions.submit_message(message, by=communicator)
    response = login(editor).post(
        reverse("console:message-action", args=[message.pk, "approve"]),
        {"approve-version": message.version},
    )
    assert response.status_code == 400
    assert "The end must come after the publication time." in response.content.decode()
    message.refresh_from_db()
    assert message.state == State.SUBMITTED and message.published_at is None
