"""The blotter console at /console/blotter/: who sees it, uploads, the policy editor and its
history, the review queue and the raw incident view — all through the real URLs."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.blotter import importer, policy, publish
from copps.blotter.models import Decision, Entry, EntryState, Incident, PolicyVersion

HEADER = (
    "incident_id,reported_at,category_code,category,summary,street,house_number,postcode,"
    "municipality,lat,lon,status,unit\n"
)
WHEN = (timezone.now() - timedelta(hours=20)).replace(microsecond=0).isoformat()

# Every page of the console, and who may open it (manage = editor/admin; import = analyst/admin).
PAGES = {
    "/console/blotter/": {Role.EDITOR, Role.ADMIN, Role.ANALYST},
    "/console/blotter/upload": {Role.EDITOR, Role.ADMIN, Role.ANALYST},
    "/console/blotter/policy": {Role.EDITOR, Role.ADMIN},
    "/console/blotter/policy/history": {Role.EDITOR, Role.ADMIN},
    "/console/blotter/review": {Role.EDITOR, Role.ADMIN},
    "/console/blotter/incidents": {Role.EDITOR, Role.ADMIN},
}


def csv_bytes(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def row(n: int, code: str = "theft", summary: str = "Fiets gestolen aan het station") -> str:
    return f"B{n},{WHEN},{code},Diefstal,{summary},Kerkstraat,12,2000,Antwerpen,,,open,PZ"


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def editor_client(editor):
    return logged_in(editor)


def import_rows(*rows: str) -> None:
    result = importer.Result()
    importer.import_rows(importer.rows_from_file(csv_bytes(*rows), "x.csv", result), result=result)


@pytest.fixture
def review_entry(db):
    """An entry the redactor was unsure about (the state publish_due gives it then)."""
    import_rows(row(1, summary="Melder Jan Peeters zag de dader"))
    incident = Incident.objects.get(incident_id="B1")
    entry = publish.render(incident, policy.current())
    entry.state, entry.review_reason = EntryState.REVIEW, "possible name"
    entry.summary = "Melder [NAAM?] Peeters zag de dader"
    entry.save()
    Incident.objects.filter(pk=incident.pk).update(decision=Decision.REVIEW)
    return entry


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_blotter_pages(make_user, role):
    client = logged_in(make_user(role))
    for path, allowed in PAGES.items():
        response = client.get(path)
        assert response.status_code == (200 if role in allowed else 404), (role, path)
    nav = client.get("/console/").content.decode()
    assert ('href="/console/blotter/"' in nav) == (role in PAGES["/console/blotter/"])


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/console/blotter/policy")
    assert response.status_code == 302
    assert "/accounts/login" in response["Location"]


def test_writes_need_post_and_a_csrf_token(editor, review_entry):
    client = logged_in(editor)
    for path in (
        f"/console/blotter/review/{review_entry.pk}/approve",
        f"/console/blotter/review/{review_entry.pk}/reject",
    ):
        assert client.get(path).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    assert strict.post(f"/console/blotter/review/{review_entry.pk}/approve").status_code == 403
    assert strict.post("/console/blotter/policy", {}).status_code == 403
    assert Entry.objects.get(pk=review_entry.pk).state == EntryState.REVIEW


def test_staff_without_blotter_rights_cannot_act_on_the_queue(make_user, review_entry):
    for role in (Role.COMMUNICATOR, Role.INVESTIGATOR, Role.ANALYST):
        client = logged_in(make_user(role))
        assert client.post(f"/console/blotter/review/{review_entry.pk}/approve").status_code == 404
        assert client.post(f"/console/blotter/review/{review_entry.pk}/reject").status_code == 404
    assert Entry.objects.get(pk=review_entry.pk).state == EntryState.REVIEW


def test_an_upload_imports_the_good_rows_and_lists_the_bad_ones_by_line(make_user):
    client = logged_in(make_user(Role.ANALYST))
    data = csv_bytes(row(1), "B2,not a date,theft,,,,,,,,,,", row(3, code="BAD CODE"), row(4))
    response = client.post(
        "/console/blotter/upload", {"file": SimpleUploadedFile("dispatch.csv", data)}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-count="created">2<' in page
    assert "<td>3</td><td>reported_at: not an ISO 8601" in page
    assert "<td>4</td><td>category_code" in page
    assert set(Incident.objects.values_list("incident_id", flat=True)) == {"B1", "B4"}
    again = client.post(
        "/console/blotter/upload", {"file": SimpleUploadedFile("dispatch.csv", data)}
    )
    assert 'data-count="unchanged">2<' in again.content.decode()
    assert Incident.objects.count() == 2
    record = AuditRecord.objects.filter(action="blotter.import").latest("seq")
    assert record.data["unchanged"] == 2


def test_an_upload_of_json_lines_works_and_garbage_is_a_clean_400(editor_client):
    jsonl = (
        b'{"incident_id": "J1", "reported_at": "'
        + WHEN.encode()
        + b'", "category_code": "noise"}\n'
        b"{not json\n"
    )
    response = editor_client.post(
        "/console/blotter/upload", {"file": SimpleUploadedFile("push.jsonl", jsonl)}
    )
    assert response.status_code == 200
    assert "<td>2</td><td>not valid JSON</td>" in response.content.decode()
    garbage = editor_client.post(
        "/console/blotter/upload", {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00garbage")}
    )
    assert garbage.status_code == 400
    assert editor_client.post("/console/blotter/upload", {}).status_code == 400
    assert Incident.objects.filter(incident_id="J1").exists()


def test_a_file_over_the_limit_is_refused(editor_client, settings):
    settings.COPPS_BLOTTER_UPLOAD_MAX_BYTES = 100
    response = editor_client.post(
        "/console/blotter/upload",
        {"file": SimpleUploadedFile("big.csv", csv_bytes(row(1), row(2), row(3)))},
    )
    assert response.status_code == 400
    assert not Incident.objects.exists()


def policy_post(current: PolicyVersion, **changes) -> dict:
    """The policy form as the browser submits it, with ``changes`` per category code."""
    data = {
        "location": current.location,
        "time_rounding_minutes": str(current.time_rounding_minutes),
        "summary": current.summary,
        "note": "",
    }
    codes = sorted(current.categories)
    extra = changes.pop("_new", None)
    rows = [(code, {**current.categories[code], **changes.get(code, {})}) for code in codes]
    if extra:
        rows.append(extra)
    rows.append(("", {}))
    data["cat-TOTAL_FORMS"] = str(len(rows))
    data["cat-INITIAL_FORMS"] = str(len(codes))
    for i, (code, rule) in enumerate(rows):
        data[f"cat-{i}-code"] = code
        if rule.get("public"):
            data[f"cat-{i}-public"] = "on"
        data[f"cat-{i}-delay_hours"] = str(rule.get("delay_hours", ""))
        for lang, text in (rule.get("labels") or {}).items():
            data[f"cat-{i}-label_{lang}"] = text
    return data


def test_saving_the_policy_creates_a_version_and_an_audit_record(editor, editor_client):
    current = policy.current()
    import_rows(row(1, code="graffiti"))
    assert Incident.objects.get().decision == Decision.UNKNOWN
    data = policy_post(
        current,
        noise={"public": False},
        theft={"delay_hours": 24},
        _new=("graffiti", {"public": True, "delay_hours": 6, "labels": {"nl": "Graffiti"}}),
    )
    data["note"] = "graffiti public"
    response = editor_client.post("/console/blotter/policy", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    new = policy.current()
    assert new.number == current.number + 1 and new.created_by == editor
    assert new.categories["graffiti"]["public"] and not new.categories["noise"]["public"]
    assert new.categories["theft"]["delay_hours"] == 24
    assert PolicyVersion.objects.count() == 2  # the old one stays
    record = AuditRecord.objects.filter(action="blotter.policy").latest("seq")
    assert record.actor == editor.username and "graffiti" in record.data["public"]
    # The incidents were decided again under the new version.
    assert Incident.objects.get().decision == Decision.WAITING
    history = editor_client.get("/console/blotter/policy/history").content.decode()
    assert "now public: graffiti" in history and "no longer public: noise" in history
    assert "delay of theft: 12 h → 24 h" in history and "graffiti public" in history


def test_making_a_sensitive_category_public_needs_a_confirmation(editor_client):
    current = policy.current()
    data = policy_post(current, suicide={"public": True})
    response = editor_client.post("/console/blotter/policy", data)
    assert response.status_code == 400
    assert "Sensitive categories would become public" in response.content.decode()
    assert policy.current().number == current.number
    data["confirm_sensitive"] = "on"
    assert editor_client.post("/console/blotter/policy", data).status_code == 302
    assert policy.current().categories["suicide"]["public"] is True


@pytest.mark.parametrize(
    "field, value",
    [
        ("time_rounding_minutes", "0"),
        ("time_rounding_minutes", "abc"),
        ("location", "exact"),
        ("cat-0-code", "Bad Code"),
        ("cat-0-delay_hours", "-5"),
        ("cat-0-delay_hours", "nan"),
        ("cat-1-code", "burglary"),  # listed twice
        ("cat-TOTAL_FORMS", "99999"),
    ],
)
def test_bad_policy_input_shows_the_form_again_and_saves_nothing(editor_client, field, value):
    current = policy.current()
    data = policy_post(current)
    data[field] = value
    response = editor_client.post("/console/blotter/policy", data)
    assert response.status_code == 400
    assert policy.current().number == current.number


def test_approving_a_review_publishes_the_edited_text(editor, editor_client, review_entry):
    page = editor_client.get("/console/blotter/review").content.decode()
    assert "Melder Jan Peeters zag de dader" in page  # the raw text, side by side
    assert "Melder [NAAM?] Peeters" in page
    response = editor_client.post(
        f"/console/blotter/review/{review_entry.pk}/approve",
        {f"e{review_entry.pk}-summary": "Een melder zag de dader."},
    )
    assert response.status_code == 302
    entry = Entry.objects.get(pk=review_entry.pk)
    assert (entry.state, entry.summary) == (EntryState.PUBLISHED, "Een melder zag de dader.")
    assert entry.incident.decision == Decision.PUBLISHED
    assert AuditRecord.objects.filter(action="blotter.review.approve", actor=editor.username)
    # Once decided it is no longer in the queue: a second decision is a 404.
    again = editor_client.post(f"/console/blotter/review/{review_entry.pk}/reject")
    assert again.status_code == 404


def test_rejecting_a_review_removes_the_entry_and_holds_the_incident(editor_client, review_entry):
    response = editor_client.post(f"/console/blotter/review/{review_entry.pk}/reject")
    assert response.status_code == 302
    assert not Entry.objects.filter(pk=review_entry.pk).exists()
    assert Incident.objects.get(incident_id="B1").decision == Decision.REJECTED
    assert AuditRecord.objects.filter(action="blotter.review.reject").exists()


def test_opening_a_raw_incident_is_recorded(editor, editor_client):
    import_rows(row(7, summary="Mevrouw Janssens belde"))
    incident = Incident.objects.get()
    listing = editor_client.get("/console/blotter/incidents?decision=waiting").content.decode()
    assert "B7" in listing and "Mevrouw Janssens" not in listing
    assert not AuditRecord.objects.filter(action="blotter.incident.view").exists()
    response = editor_client.get(f"/console/blotter/incidents/{incident.pk}")
    assert response.status_code == 200
    assert "Mevrouw Janssens belde" in response.content.decode()
    record = AuditRecord.objects.get(action="blotter.incident.view")
    assert (record.actor, record.object_id) == (editor.username, str(incident.pk))
    assert editor_client.get("/console/blotter/incidents/999999").status_code == 404


def test_the_overview_counts_decisions_charts_publications_and_lists_imports(editor_client):
    import_rows(row(1), row(2, code="suicide"), row(3, code="unknown_x"))
    publish.publish_due(timezone.now() + timedelta(hours=1))
    page = editor_client.get("/console/blotter/").content.decode()
    assert 'data-decision="published">1<' in page
    assert 'data-decision="excluded">1<' in page and 'data-decision="unknown">1<' in page
    assert "<svg" in page and "<rect" in page  # one bar: today's publication
    assert "Last imports" in page and "<td>3</td>" in page
