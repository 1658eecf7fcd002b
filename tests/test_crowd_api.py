"""The public-order API through the real URLs: sensor counts over HTTP, events, live zones."""

# ruff: noqa: F811 -- the fixtures imported from test_api are redefined as arguments

import json

import pytest
from django.test import Client
from django.utils import timezone

from copps.accounts.roles import Role
from copps.crowd import actions
from copps.crowd.models import Reading, Rejection, Zone
from tests.crowd_helpers import iso, make_event
from tests.test_api import ApiClient, api  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, "admin-crowd")


@pytest.fixture
def setup(admin):
    return make_event(admin)


def url(sensor_id="bt-korenmarkt-1"):
    return f"/api/v1/sensors/{sensor_id}/counts"


def count(**extra):
    return {"ts": iso(timezone.now()), **extra}


def test_a_sensor_pushes_with_its_own_token(setup):
    *_, token, _gate = setup
    response = ApiClient(token).post(url(), count(devices=40))
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1, "rejected": {}}
    assert Zone.objects.get(key="korenmarkt").people == 80
    # Its token is good for its own URL only.
    other = ApiClient(token).post(url("gate-vrijdag-1"), count(**{"in": 1, "out": 0}))
    assert other.status_code == 401
    assert ApiClient("copps_sensor_wrong").post(url(), count(devices=1)).status_code == 401
    assert ApiClient(None).post(url(), count(devices=1)).status_code == 401
    assert Reading.objects.count() == 1


def test_commanders_and_administrators_push_with_their_token(setup, api, make_user):
    commander = api(make_user(Role.COMMANDER))
    assert commander.post(url("gate-vrijdag-1"), count(**{"in": 7, "out": 2})).status_code == 202
    assert Zone.objects.get(key="vrijdagmarkt").people == 5
    for role in (Role.COMMUNICATOR, Role.EDITOR, Role.ANALYST):
        response = api(make_user(role)).post(url(), count(devices=1))
        assert response.status_code == 403, role
    assert Reading.objects.count() == 1


@pytest.mark.parametrize(
    ("sensor_id", "body", "status", "reason"),
    [
        ("bt-korenmarkt-1", b"{nope", 400, "malformed"),
        ("bt-korenmarkt-1", b'"text"', 400, "malformed"),
        ("ghost-sensor", None, 404, "unknown_sensor"),
        ("bt-korenmarkt-1", {"devices": 3}, 422, "bad_timestamp"),
        ("bt-korenmarkt-1", {"devices": -1}, 422, "negative"),
        ("bt-korenmarkt-1", {"devices": 3, "macs": ["aa:bb"]}, 422, "unexpected_field"),
        ("bt-korenmarkt-1", {"ts": "2999-01-01T00:00:00+00:00", "devices": 3}, 422, "future"),
    ],
)
def test_bad_counts_get_a_reason_and_are_counted(
    setup, api, make_user, sensor_id, body, status, reason
):
    client = api(make_user(Role.COMMANDER))
    if body is None:
        body = count(devices=3)
    if isinstance(body, dict):
        body = json.dumps(
            {"ts": iso(timezone.now()), **body}
            if "ts" not in body and reason != "bad_timestamp"
            else body
        )
    response = client.client.generic("POST", url(sensor_id), body, content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["reason"] == reason
    assert response.json()["detail"]
    assert Rejection.objects.get(reason=reason, via="http").count == 1
    assert not Reading.objects.exists()


def test_out_of_order_is_409_and_a_huge_body_413(setup, api, make_user):
    client = api(make_user(Role.COMMANDER))
    body = count(devices=3)
    assert client.post(url(), body).status_code == 202
    again = client.post(url(), body)
    assert again.status_code == 409 and again.json()["reason"] == "out_of_order"
    huge = client.client.generic(
        "POST", url(), b"[" + b"1," * 200_000 + b"1]", content_type="application/json"
    )
    assert huge.status_code == 413
    assert Reading.objects.count() == 1


def test_a_buffered_array_is_taken_count_by_count(setup, api, make_user):
    client = api(make_user(Role.COMMANDER))
    now = timezone.now()
    batch = [
        {"ts": iso(now.replace(microsecond=0) - timezone.timedelta(seconds=30 - i)), "devices": i}
        for i in range(5)
    ] + [{"ts": "bad", "devices": 1}]
    response = client.post(url(), batch)
    assert response.status_code == 202
    assert response.json() == {"accepted": 5, "rejected": {"bad_timestamp": 1}}


def test_events_and_zones_contract(setup, api, make_user, admin):
    event, markt, vrijdag, *_ = setup
    hidden = actions.save_event(
        by=admin,
        name="Besloten",
        slug="besloten",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        public=False,
    )
    anonymous = Client().get("/api/v1/events")
    assert anonymous.status_code == 200
    events = anonymous.json()
    assert [e["id"] for e in events] == [event.pk]  # only public events without a token
    first = events[0]
    assert first["name"] == "Gentse Feesten" and first["running"] is True
    zone_keys = {z["zone"] for z in first["zones"]}
    assert zone_keys == {"korenmarkt", "vrijdagmarkt"}
    assert {"id": "bt-korenmarkt-1", "zone": "korenmarkt", "kind": "bluetooth"} in first["sensors"]
    assert {s["zone"] for s in first["sensors"]} <= zone_keys
    staff = api(make_user(Role.COMMANDER)).get("/api/v1/events").json()
    assert {e["id"] for e in staff} == {event.pk, hidden.pk}
    assert Client().get(f"/api/v1/events/{hidden.pk}/zones").status_code == 404

    api(make_user(Role.ADMIN)).post(url(), count(devices=5000))
    zones = Client().get(f"/api/v1/events/{event.pk}/zones").json()
    by_key = {z["zone"]: z for z in zones}
    assert set(by_key) == {"korenmarkt", "vrijdagmarkt"}
    korenmarkt = by_key["korenmarkt"]
    assert korenmarkt["people"] == 10000
    assert korenmarkt["density"] == pytest.approx(
        10000 / Zone.objects.get(pk=markt.pk).area_m2, abs=0.01
    )
    assert korenmarkt["level"] == "amber"  # 1.0 ≤ 1.02 < 2.0 people/m²
    assert korenmarkt["stale"] is False
    assert by_key["vrijdagmarkt"]["stale"] is True  # its counter never reported
    assert Client().get("/api/v1/events/999999/zones").status_code == 404


def test_the_openapi_document_has_the_crowd_paths(client, db):
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/sensors/{sensor_id}/counts" in schema["paths"]
    assert "/api/v1/events" in schema["paths"]
    assert "CountIn" in schema["components"]["schemas"]
