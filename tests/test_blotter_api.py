"""POST /api/v1/incidents: the dispatch system pushes batches of incidents, through the real URL."""

# ruff: noqa: F811 -- the fixtures imported from test_api are redefined as arguments

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from copps.blotter import api as blotter_api
from copps.blotter.models import Decision, Incident
from tests.test_api import ApiClient, api  # noqa: F401 (fixture)

URL = "/api/v1/incidents"
WHEN = (timezone.now() - timedelta(hours=20)).replace(microsecond=0).isoformat()


def incident(n: int, **fields) -> dict:
    return {
        "incident_id": f"PZ-{n}",
        "reported_at": WHEN,
        "category_code": "theft",
        "category": "Fietsdiefstal",
        "summary": "Fiets gestolen aan het station",
        "street": "Kerkstraat",
        "house_number": "12",
        "postcode": "2000",
        "municipality": "Antwerpen",
        "status": "open",
        "unit": "PZ Antwerpen",
        **fields,
    }


@pytest.fixture
def analyst(make_user):
    return make_user(Role.ANALYST)


@pytest.fixture
def pusher(api, analyst):
    return api(analyst)


def post_raw(client: ApiClient, body: bytes):
    return client.client.generic("POST", URL, body, content_type="application/json")


def test_it_imports_a_json_array_and_says_what_happened(pusher, analyst):
    response = pusher.post(URL, [incident(1), incident(2, category_code="sexual_offence")])
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0, "errors": []}
    decisions = dict(Incident.objects.values_list("incident_id", "decision"))
    assert decisions == {"PZ-1": Decision.WAITING, "PZ-2": Decision.EXCLUDED}
    record = AuditRecord.objects.filter(action="blotter.import").latest("seq")
    assert (record.actor, record.data["created"]) == (analyst.username, 2)


def test_it_accepts_an_object_with_an_incidents_list(pusher):
    response = pusher.post(URL, {"incidents": [incident(1)]})
    assert response.status_code == 200
    assert response.json()["created"] == 1


def test_sending_the_same_batch_again_changes_nothing_and_a_change_is_an_update(pusher):
    batch = [incident(1), incident(2)]
    assert pusher.post(URL, batch).json()["created"] == 2
    again = pusher.post(URL, batch).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    changed = pusher.post(URL, [incident(1, status="withdrawn"), incident(2)]).json()
    assert (changed["updated"], changed["unchanged"]) == (1, 1)
    assert Incident.objects.get(incident_id="PZ-1").decision == Decision.WITHDRAWN
    assert Incident.objects.count() == 2


def test_bad_rows_are_reported_by_index_and_never_block_the_good_ones(pusher):
    batch = [
        incident(1),
        "not an object",
        incident(3, reported_at="yesterday"),
        incident(4, lat=48.0, lon=2.0),  # outside Belgium
        incident(5, colour="red"),
        incident(6, summary={"nested": ["x"]}),
        incident(7, category_code="Théft!"),
        incident(1),  # repeated in this batch
        incident(9, summary="x" * 6000),
        incident(10, lat="abc", lon=4.4),
        incident(11, summary="bad \ud800 surrogate"),
        incident(12),
    ]
    response = pusher.post(URL, batch)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 2
    assert [e["index"] for e in body["errors"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert all(e["error"] for e in body["errors"])
    assert set(Incident.objects.values_list("incident_id", flat=True)) == {"PZ-1", "PZ-12"}


def test_it_refuses_requests_without_a_valid_token(db):
    for client in (ApiClient(None), ApiClient("copps_not-a-token")):
        response = client.post(URL, [incident(1)])
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Incident.objects.exists()


@pytest.mark.parametrize("role", [Role.COMMUNICATOR, Role.EDITOR, Role.INVESTIGATOR])
def test_roles_without_blotter_import_are_refused(api, make_user, role):
    response = api(make_user(role)).post(URL, [incident(1)])
    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Incident.objects.exists()


def test_an_administrator_may_push(api, admin_user):
    assert api(admin_user).post(URL, [incident(1)]).status_code == 200


def test_the_session_cookie_is_not_enough(client, analyst):
    client.force_login(analyst)
    response = client.post(URL, json.dumps([incident(1)]), content_type="application/json")
    assert response.status_code == 401


def test_more_than_the_batch_limit_is_refused_whole(pusher):
    rows = [{"incident_id": str(n)} for n in range(blotter_api.MAX_BATCH + 1)]
    response = pusher.post(URL, rows)
    assert response.status_code == 413
    assert str(blotter_api.MAX_BATCH) in response.json()["detail"].replace(",", "")
    assert not Incident.objects.exists()


def test_a_body_over_the_byte_limit_is_refused(pusher, settings):
    settings.COPPS_BLOTTER_API_MAX_BYTES = 1000
    response = pusher.post(URL, [incident(n) for n in range(10)])
    assert response.status_code == 413
    assert not Incident.objects.exists()


def test_the_batch_limit_itself_is_accepted(pusher):
    rows = [incident(n) for n in range(blotter_api.MAX_BATCH)]
    response = pusher.post(URL, rows)
    assert response.status_code == 200
    assert response.json()["created"] == blotter_api.MAX_BATCH


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1,2", b"[" * 100000 + b"]" * 100000, b'[{"lat": NaN}]', b"\xff\xfe"],
)
def test_a_body_that_is_not_json_is_a_400(pusher, body):
    response = post_raw(pusher, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"incidents": 3}', b'{"incidents": [], "more": 1}', b'"text"', b"42", b"null"],
)
def test_json_that_is_not_a_batch_is_a_422(pusher, body):
    response = post_raw(pusher, body)
    assert response.status_code == 422
    assert response.json()["errors"]


def test_garbage_values_are_row_errors_not_crashes(pusher):
    garbage = [
        None,
        [],
        {},
        {"incident_id": ["x"], "reported_at": {}, "category_code": 1},
        {"incident_id": "A" * 10**6, "reported_at": "2026-01-01T00:00", "category_code": "x"},
        incident(1, reported_at="9999-12-31T23:59:59+14:00"),
        incident(2, reported_at="2026-13-45T99:99"),
        incident(3, lat=1e308, lon=-1e308),
        incident(4, incident_id=True),
        incident(5, summary=[[[[[[[[[[["deep"]]]]]]]]]]]),
        incident(6, incident_id="\x00\x00"),
    ]
    response = pusher.post(URL, garbage)
    assert response.status_code == 200, response.content
    assert len(response.json()["errors"]) == len(garbage)
    assert not Incident.objects.exists()


def test_the_openapi_document_names_the_batch_schemas(client, db):
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/v1/incidents"]["post"]
    assert operation["operationId"] == "import_incidents"
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/IncidentBatchIn"} in body["anyOf"]
    components = schema["components"]["schemas"]
    assert set(components["IncidentIn"]["properties"]) == set(
        __import__("copps.blotter.importer", fromlist=["FIELDS"]).FIELDS
    )
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok == "#/components/schemas/IncidentImportOut"
    assert {"400", "401", "403", "413", "422"} <= set(operation["responses"])
