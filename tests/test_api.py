"""The JSON API end to end: real tokens, the real URLs, the workflow contracts.

Fixtures here (``api``, ``create``) are reused by test_api_hostile.py and test_api_openapi.py.
"""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.utils import timezone

from copps.accounts import totp
from copps.accounts.models import ApiToken, TOTPDevice
from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.newsroom import actions
from copps.newsroom.models import Audience, Message
from copps.newsroom.workflow import State

NRN = "85.07.30-033.28"  # a Belgian national register number with a valid checksum
PHONE = "0470 12 34 56"


class ApiClient:
    """A test client that sends a bearer token and JSON, as an API consumer would."""

    def __init__(self, raw_token: str | None):
        headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}
        # enforce_csrf_checks: bearer requests must work without any CSRF token.
        self.client = Client(enforce_csrf_checks=True, headers=headers)

    def get(self, path, data=None, **extra):
        return self.client.get(path, data, **extra)

    def post(self, path, data=None, **extra):
        if data is None:  # no body at all, as `curl -X POST` sends
            return self.client.generic("POST", path, b"", **extra)
        return self.client.post(path, data, content_type="application/json", **extra)

    def patch(self, path, data, **extra):
        return self.client.patch(path, data, content_type="application/json", **extra)

    def request(self, method, path, **extra):
        return getattr(self.client, method.lower())(path, **extra)


@pytest.fixture
def api(db):
    """``api(user)`` -> an ApiClient holding a freshly issued token of ``user``."""

    def make(user) -> ApiClient:
        _token, raw = ApiToken.issue(user)
        return ApiClient(raw)

    return make


@pytest.fixture
def create(api):
    """``create(user, **fields)`` -> the JSON of a new draft made through the API."""

    def make(user, **fields) -> dict:
        payload = {
            "title": "Fietsdiefstallen aan het station",
            "body": "Wees alert en sluit je fiets altijd op slot.",
            "language": "nl",
            **fields,
        }
        response = api(user).post("/api/v1/messages", payload)
        assert response.status_code == 201, response.content
        return response.json()

    return make


def url(message_id: int, action: str = "") -> str:
    return f"/api/v1/messages/{message_id}" + (f"/{action}" if action else "")


# Authentication ------------------------------------------------------------------------------


def test_it_answers_401_json_without_a_token(db):
    response = ApiClient(None).get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "Bearer" in response["WWW-Authenticate"]
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer copps_not-a-real-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "copps_x",
        "Bearer " + "x" * 500,
    ],
)
def test_it_answers_401_for_a_bad_authorization_header(db, header):
    response = Client(headers={"Authorization": header}).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_it_refuses_revoked_and_expired_tokens_and_inactive_users(communicator):
    revoked, raw_revoked = ApiToken.issue(communicator)
    revoked.revoked_at = timezone.now()
    revoked.save()
    _expired, raw_expired = ApiToken.issue(
        communicator, expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert ApiClient(raw_revoked).get("/api/v1/me").status_code == 401
    assert ApiClient(raw_expired).get("/api/v1/me").status_code == 401
    _ok, raw = ApiToken.issue(communicator)
    assert ApiClient(raw).get("/api/v1/me").status_code == 200
    communicator.is_active = False
    communicator.save()
    assert ApiClient(raw).get("/api/v1/me").status_code == 401


def test_it_ignores_a_session_cookie_without_a_token(communicator):
    from tests.conftest import PASSWORD

    client = Client()
    assert client.login(username=communicator.username, password=PASSWORD)
    response = client.post(
        "/api/v1/messages",
        {"title": "t", "body": "b", "language": "nl"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert not Message.objects.exists()


def test_it_does_not_apply_csrf_to_bearer_requests(api, communicator):
    # ApiClient enforces CSRF checks like a browser would be checked; no CSRF token is sent.
    response = api(communicator).post(
        "/api/v1/messages", {"title": "Titel", "body": "Tekst", "language": "nl"}
    )
    assert response.status_code == 201


def test_me_says_who_the_token_belongs_to(api, editor):
    body = api(editor).get("/api/v1/me").json()
    assert body["username"] == editor.username
    assert body["role"] == Role.EDITOR
    assert "message.review" in body["capabilities"]


def test_a_token_of_a_role_that_needs_two_factor_is_refused_until_the_user_has_it(
    api, communicator, settings
):
    # A communicator mints a token (no second factor needed), then is promoted to editor: the
    # token must not carry editor rights past the second factor the console demands.
    settings.COPPS_REQUIRE_2FA = True
    client = api(communicator)
    assert client.get("/api/v1/me").status_code == 200
    communicator.role = Role.EDITOR
    communicator.save()
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["detail"] == "Set up two-factor authentication"
    assert client.post("/api/v1/messages", {"title": "T", "body": "B"}).status_code == 403

    TOTPDevice.objects.create(user=communicator, secret=totp.new_secret(), confirmed=True)
    assert client.get("/api/v1/me").status_code == 200


def test_without_the_two_factor_requirement_an_editor_token_works_without_a_device(
    api, editor, settings
):
    settings.COPPS_REQUIRE_2FA = False
    assert api(editor).get("/api/v1/me").status_code == 200


def test_api_answers_are_never_cached(api, editor):
    client = api(editor)
    for response in (client.get("/api/v1/me"), ApiClient(None).get("/api/v1/me")):
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_refusals_speak_the_language_of_the_request(api, communicator):
    message_id = (
        api(communicator)
        .post("/api/v1/messages", {"title": "T", "body": "B", "language": "nl"})
        .json()["id"]
    )
    for language, detail in [
        ("fr", "Votre rôle ne permet pas de consulter le journal d’audit."),
        ("de", "Ihre Rolle darf das Prüfprotokoll nicht lesen."),
    ]:
        response = api(communicator).get(
            f"/api/v1/messages/{message_id}/audit", HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.status_code == 403
        assert response.json()["detail"] == detail


# Creating ------------------------------------------------------------------------------------


def test_it_creates_a_draft_and_answers_201_with_its_links(api, communicator):
    response = api(communicator).post(
        "/api/v1/messages",
        {"title": "Fietsdiefstallen", "body": "Sluit je fiets *altijd* op slot.", "language": "nl"},
    )
    assert response.status_code == 201
    body = response.json()
    message = Message.objects.get(pk=body["id"])
    assert message.author == communicator
    assert body["state"] == State.DRAFT
    assert body["permalink"].endswith(f"/nl/news/{message.pk}-fietsdiefstallen/")
    assert body["url"].endswith(f"/api/v1/messages/{message.pk}")
    assert body["versions"] == [
        {
            "language": "nl",
            "title": "Fietsdiefstallen",
            "teaser": "",
            "body": "Sluit je fiets *altijd* op slot.",
            "body_html": "<p>Sluit je fiets <em>altijd</em> op slot.</p>",
        }
    ]
    assert body["channels"] == ["web", "rss"]
    assert "submit" in body["allowed_actions"]


def test_it_creates_several_language_versions_and_settings_at_once(api, communicator, area):
    Audience.objects.create(name="Fietsers", slug="fietsers")
    response = api(communicator).post(
        "/api/v1/messages",
        {
            "title": "Fietsdiefstallen",
            "body": "Sluit je fiets op slot.",
            "language": "nl",
            "versions": [
                {"language": "fr", "title": "Vols de vélos", "body": "Cadenassez votre vélo."},
                {"language": "en", "title": "Bike thefts", "teaser": "Lock it", "body": "Lock it."},
            ],
            "kind": "prevention",
            "channels": ["web", "x", "sms"],
            "audiences": ["fietsers"],
            "area": "noord",
            "publish_at": "2099-01-01T09:00:00+01:00",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["languages"] == ["nl", "fr", "en"]
    assert body["kind"] == "prevention"
    assert body["channels"] == ["web", "x", "sms"]
    assert body["audiences"] == ["fietsers"]
    assert body["area"] == "noord"
    assert body["publish_at"].startswith("2099-01-01T08:00:00")


def test_it_names_unknown_audiences_and_areas(api, communicator):
    response = api(communicator).post(
        "/api/v1/messages",
        {"title": "T", "body": "B", "language": "nl", "audiences": ["nobody"], "area": "atlantis"},
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "area" in errors or "audiences" in errors
    assert not Message.objects.exists()


def test_an_idempotency_key_makes_create_return_the_same_message(api, communicator):
    client = api(communicator)
    payload = {"title": "Eén keer", "body": "Tekst", "language": "nl"}
    first = client.post("/api/v1/messages", payload, headers={"Idempotency-Key": "form-42"})
    again = client.post("/api/v1/messages", payload, headers={"Idempotency-Key": "form-42"})
    other = client.post("/api/v1/messages", payload, headers={"Idempotency-Key": "form-43"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert Message.objects.count() == 2


def test_idempotency_keys_belong_to_their_user(api, communicator, make_user):
    other = make_user(Role.COMMUNICATOR)
    payload = {"title": "T", "body": "B", "language": "nl"}
    mine = api(communicator).post("/api/v1/messages", payload, headers={"Idempotency-Key": "k1"})
    theirs = api(other).post("/api/v1/messages", payload, headers={"Idempotency-Key": "k1"})
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_roles_without_create_rights_get_403(api, make_user):
    analyst = make_user(Role.ANALYST)
    response = api(analyst).post("/api/v1/messages", {"title": "T", "body": "B", "language": "nl"})
    assert response.status_code == 403
    assert response.json()["detail"]


# The workflow --------------------------------------------------------------------------------


def test_the_full_flow_from_draft_to_public_page_and_feed(
    api, create, communicator, editor, client
):
    title = "Wegenwerken op de Kouter"
    created = create(communicator, title=title, body="Van maandag tot vrijdag is de Kouter dicht.")
    author = api(communicator)

    submitted = author.post(url(created["id"], "submit"))
    assert submitted.status_code == 200
    assert submitted.json()["state"] == State.SUBMITTED
    assert isinstance(submitted.json()["findings"], list)

    own = author.post(url(created["id"], "approve"))
    assert own.status_code == 403
    assert "another editor" in own.json()["detail"]
    assert Message.objects.get(pk=created["id"]).state == State.SUBMITTED

    approved = api(editor).post(url(created["id"], "approve"))
    assert approved.status_code == 200
    body = approved.json()
    assert body["state"] == State.PUBLISHED
    assert body["approved_by"]["username"] == editor.username
    assert body["published_at"]

    page = client.get(urlparse(body["permalink"]).path)
    assert page.status_code == 200
    assert title in page.content.decode()
    feed = client.get("/feeds/news.xml")
    assert title in feed.content.decode()


def test_a_blocking_finding_answers_422_with_the_findings(api, create, communicator):
    created = create(communicator, body=f"De verdachte ({NRN}) is bereikbaar op {PHONE}.")
    response = api(communicator).post(url(created["id"], "submit"))
    assert response.status_code == 422
    body = response.json()
    assert body["detail"]
    codes = {f["code"] for f in body["findings"]}
    assert {"national_number", "phone_number"} <= codes
    nrn = next(f for f in body["findings"] if f["code"] == "national_number")
    assert nrn["severity"] == "blocking"
    assert nrn["language"] == "nl" and nrn["field"] == "body"
    assert nrn["excerpt"] == NRN
    text = created["versions"][0]["body"]
    assert text[nrn["start"] : nrn["end"]] == NRN
    assert set(nrn) == {
        "code",
        "severity",
        "message",
        "language",
        "field",
        "excerpt",
        "start",
        "end",
    }
    assert Message.objects.get(pk=created["id"]).state == State.DRAFT


def test_only_an_editor_may_override_a_blocking_finding(api, create, communicator, editor):
    created = create(communicator, body=f"Bel {PHONE}.")
    denied = api(communicator).post(url(created["id"], "submit"), {"override_reason": "It is ours"})
    assert denied.status_code == 403
    allowed = api(editor).post(url(created["id"], "submit"), {"override_reason": "Our own hotline"})
    assert allowed.status_code == 200
    assert allowed.json()["override_reason"] == "Our own hotline"
    assert allowed.json()["state"] == State.SUBMITTED


def test_submitting_twice_changes_nothing(api, create, communicator):
    created = create(communicator)
    client = api(communicator)
    first = client.post(url(created["id"], "submit"))
    second = client.post(url(created["id"], "submit"))
    assert first.status_code == second.status_code == 200
    assert second.json()["state"] == State.SUBMITTED
    assert second.json()["version"] == first.json()["version"]
    submits = AuditRecord.objects.filter(action="message.submit", object_id=str(created["id"]))
    assert submits.count() == 1


def test_a_second_editor_approving_after_the_first_gets_409(
    api, create, communicator, editor, second_editor
):
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    assert api(editor).post(url(created["id"], "approve")).status_code == 200
    late = api(second_editor).post(url(created["id"], "approve"))
    assert late.status_code == 409
    assert "published" in late.json()["detail"]
    assert Message.objects.get(pk=created["id"]).approved_by == editor


def test_of_two_simultaneous_approvals_one_wins_and_the_other_gets_409(
    api, create, communicator, editor, second_editor, monkeypatch
):
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    stale = Message.objects.get(pk=created["id"])  # what the second request read...
    actions.approve_message(Message.objects.get(pk=created["id"]), by=editor)  # ...before this won
    from copps.newsroom import access

    monkeypatch.setattr(access, "get_message_for", lambda *a, **k: stale)
    response = api(second_editor).post(url(created["id"], "approve"))
    assert response.status_code == 409
    assert response.json()["detail"]
    assert Message.objects.get(pk=created["id"]).approved_by == editor


def test_the_same_editor_repeating_an_approval_gets_200(api, create, communicator, editor):
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    client = api(editor)
    assert client.post(url(created["id"], "approve")).status_code == 200
    again = client.post(url(created["id"], "approve"))
    assert again.status_code == 200
    assert again.json()["state"] == State.PUBLISHED


def test_a_communicator_cannot_approve(api, create, communicator, make_user):
    other = make_user(Role.COMMUNICATOR)
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    response = api(other).post(url(created["id"], "approve"))
    assert response.status_code == 403
    assert "editor" in response.json()["detail"]


def test_approving_with_a_future_time_schedules_and_the_schedule_can_change(
    api, create, communicator, editor
):
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    client = api(editor)
    later = (timezone.now() + timedelta(days=2)).isoformat()
    scheduled = client.post(url(created["id"], "approve"), {"publish_at": later})
    assert scheduled.status_code == 200
    assert scheduled.json()["state"] == State.SCHEDULED

    even_later = (timezone.now() + timedelta(days=3)).isoformat()
    moved = client.post(url(created["id"], "schedule"), {"publish_at": even_later})
    assert moved.status_code == 200 and moved.json()["state"] == State.SCHEDULED

    past = client.post(url(created["id"], "schedule"), {"publish_at": "2000-01-01T00:00:00Z"})
    assert past.status_code == 422 and "publish_at" in past.json()["errors"]

    unscheduled = client.post(url(created["id"], "unschedule"))
    assert unscheduled.json()["state"] == State.APPROVED
    published = client.post(url(created["id"], "publish"))
    assert published.status_code == 200 and published.json()["state"] == State.PUBLISHED
    assert client.post(url(created["id"], "publish")).status_code == 200  # idempotent


def test_an_editor_rejects_with_a_reason_and_the_author_can_withdraw(
    api, create, communicator, editor
):
    created = create(communicator)
    author = api(communicator)
    author.post(url(created["id"], "submit"))
    no_reason = api(editor).post(url(created["id"], "reject"), {"reason": "  "})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    missing = api(editor).post(url(created["id"], "reject"))
    assert missing.status_code == 422
    rejected = api(editor).post(url(created["id"], "reject"), {"reason": "Te lang"})
    assert rejected.status_code == 200
    assert rejected.json()["state"] == State.DRAFT
    assert rejected.json()["rejection_reason"] == "Te lang"

    author.post(url(created["id"], "submit"))
    withdrawn = author.post(url(created["id"], "withdraw"))
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == State.DRAFT
    assert author.post(url(created["id"], "withdraw")).status_code == 409


def test_a_published_message_is_corrected_then_retracted(
    api, create, communicator, editor, second_editor, make_user, client
):
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    ed = api(editor)
    ed.post(url(created["id"], "approve"))

    stranger = api(make_user(Role.COMMUNICATOR))
    assert (
        stranger.post(
            url(created["id"], "correct"), {"note": "x", "language": "nl", "body": "y"}
        ).status_code
        == 403
    )
    no_note = ed.post(
        url(created["id"], "correct"), {"note": "", "language": "nl", "body": "Nieuw"}
    )
    assert no_note.status_code == 422 and "note" in no_note.json()["errors"]
    proposed = ed.post(
        url(created["id"], "correct"),
        {"note": "Datum verbeterd", "language": "nl", "body": "Op dinsdag, niet maandag."},
    )
    assert proposed.status_code == 202, proposed.content
    correction = proposed.json()
    assert correction["state"] == "pending" and correction["proposed_by"]["id"] == editor.pk
    assert correction["versions"]["nl"]["body"] == "Op dinsdag, niet maandag."
    assert correction["versions"]["nl"]["title"] == created["versions"][0]["title"]  # kept
    assert correction["allowed_actions"] == []  # the proposer may not decide
    assert ed.get(url(created["id"])).json()["state"] == State.PUBLISHED

    approved = api(second_editor).post(f"/api/v1/corrections/{correction['id']}/approve")
    assert approved.status_code == 200, approved.content
    body = approved.json()["message"]
    assert body["state"] == State.CORRECTED
    assert body["correction_note"] == "Datum verbeterd"
    assert body["versions"][0]["body"] == "Op dinsdag, niet maandag."

    retracted = ed.post(url(created["id"], "retract"), {"reason": "Fout bericht"})
    assert retracted.status_code == 200 and retracted.json()["state"] == State.RETRACTED
    assert client.get(urlparse(body["permalink"]).path).status_code == 410
    assert ed.post(url(created["id"], "retract"), {"reason": "again"}).status_code == 409


# Editing -------------------------------------------------------------------------------------


def test_the_author_edits_a_draft(api, create, communicator):
    created = create(communicator, channels=["web", "x"])
    client = api(communicator)
    response = client.patch(
        url(created["id"]),
        {
            "version": created["version"],
            "language": "nl",
            "title": "Nieuwe titel",
            "kind": "traffic",
            "channels": None,
            "versions": [{"language": "fr", "title": "Titre", "body": "Texte"}],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "traffic"
    assert body["channels"] == ["web", "rss"]
    assert [v["title"] for v in body["versions"]] == ["Nieuwe titel", "Titre"]
    assert body["versions"][0]["body"] == created["versions"][0]["body"]  # untouched
    assert body["version"] > created["version"]

    stale = client.patch(
        url(created["id"]), {"version": created["version"], "title": "x", "language": "nl"}
    )
    assert stale.status_code == 409

    replaced = client.patch(
        url(created["id"]),
        {
            "versions": [{"language": "en", "title": "Only", "body": "English"}],
            "replace_versions": True,
        },
    )
    assert replaced.json()["languages"] == ["en"]


def test_editing_someone_elses_draft_is_403_and_changes_nothing(
    api, create, communicator, make_user
):
    other = make_user(Role.COMMUNICATOR)
    created = create(communicator)
    response = api(other).patch(url(created["id"]), {"language": "nl", "title": "Gekaapt"})
    assert response.status_code == 403
    assert (
        Message.objects.get(pk=created["id"]).versions.get().title
        == created["versions"][0]["title"]
    )


def test_an_editor_may_edit_another_persons_draft(api, create, communicator, editor):
    created = create(communicator)
    response = api(editor).patch(url(created["id"]), {"language": "nl", "body": "Ingekort."})
    assert response.status_code == 200
    # Having written part of it, the editor can no longer approve it (four eyes).
    api(communicator).post(url(created["id"], "submit"))
    assert api(editor).post(url(created["id"], "approve")).status_code == 403


def test_editing_a_submitted_message_is_409(api, create, communicator):
    created = create(communicator)
    client = api(communicator)
    client.post(url(created["id"], "submit"))
    response = client.patch(url(created["id"]), {"language": "nl", "title": "Te laat"})
    assert response.status_code == 409
    assert "submitted" in response.json()["detail"]


# Reading -------------------------------------------------------------------------------------


def test_it_lists_messages_with_filters_and_pages(api, create, communicator, editor):
    for i in range(5):
        create(communicator, title=f"Bericht {i}")
    create(communicator, title="Traffic", kind="traffic", language="fr")
    client = api(editor)
    page1 = client.get("/api/v1/messages", {"page_size": 2}).json()
    assert page1["count"] == 6 and page1["pages"] == 3 and len(page1["results"]) == 2
    assert page1["previous"] is None and "page=2" in page1["next"]
    page3 = client.get(urlparse(page1["next"]).path + "?" + urlparse(page1["next"]).query).json()
    assert page3["page"] == 2
    assert client.get("/api/v1/messages", {"kind": "traffic"}).json()["count"] == 1
    assert client.get("/api/v1/messages", {"language": "fr"}).json()["count"] == 1
    assert client.get("/api/v1/messages", {"state": "published"}).json()["count"] == 0
    assert client.get("/api/v1/messages", {"state": "bogus"}).status_code == 422
    beyond = client.get("/api/v1/messages", {"page": 99}).json()
    assert beyond["results"] == [] and beyond["count"] == 6


def test_it_shows_one_message_and_404_for_unknown_ids(api, create, communicator):
    created = create(communicator)
    client = api(communicator)
    assert client.get(url(created["id"])).json()["id"] == created["id"]
    missing = client.get(url(999999))
    assert missing.status_code == 404
    assert missing.json()["detail"]


def test_renditions_follow_each_channels_rules(api, create, communicator):
    created = create(communicator, body="Lange tekst. " * 60, channels=["web", "x", "sms"])
    rows = api(communicator).get(url(created["id"], "renditions")).json()
    by_channel = {r["channel"]: r for r in rows}
    assert set(by_channel) == {"web", "x", "sms"}
    assert by_channel["x"]["truncated"] and by_channel["x"]["length"] <= 280
    assert by_channel["x"]["link"] == created["permalink"]
    assert by_channel["sms"]["encoding"] == "GSM-7" and by_channel["sms"]["segments"] == 1
    assert by_channel["web"]["limit"] is None and not by_channel["web"]["truncated"]
    only = api(communicator).get(url(created["id"], "renditions"), {"channel": "bluesky"}).json()
    assert [r["channel"] for r in only] == ["bluesky"]
    assert only[0]["unit"] == "graphemes"


def test_findings_and_check_report_guideline_problems(api, create, communicator):
    created = create(communicator, body=f"Bel {PHONE}.")
    client = api(communicator)
    stored = client.get(url(created["id"], "findings")).json()
    assert stored["blocking"] is True
    assert stored["findings"][0]["code"] == "phone_number"

    unsaved = client.post(
        "/api/v1/check", {"language": "fr", "title": "Titre", "body": f"NN {NRN}"}
    )
    assert unsaved.status_code == 200
    assert unsaved.json()["blocking"] is True
    assert unsaved.json()["findings"][0]["code"] == "national_number"
    clean = client.post(
        "/api/v1/check", {"language": "nl", "title": "Titel", "body": "Niets aan de hand."}
    )
    assert clean.json()["blocking"] is False
    assert not Message.objects.filter(versions__title="Titre").exists()


def test_the_audit_trail_is_for_roles_with_audit_access(api, create, communicator, editor):
    created = create(communicator)
    api(communicator).post(url(created["id"], "submit"))
    assert api(communicator).get(url(created["id"], "audit")).status_code == 403
    trail = api(editor).get(url(created["id"], "audit"))
    assert trail.status_code == 200
    assert [r["action"] for r in trail.json()] == ["message.create", "message.submit"]
    assert trail.json()[1]["actor"] == communicator.username
