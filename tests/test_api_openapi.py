"""The OpenAPI document: complete, self-consistent, and true to what the endpoints answer."""

# ruff: noqa: F811 -- the fixtures imported from test_api are redefined as arguments

import itertools

import pytest

from copps.accounts.roles import Role
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
from tests.test_api import ApiClient, api, create  # noqa: F401 (fixtures, used as arguments)

EXPECTED = {
    "/api/v1/me": {"get"},
    "/api/v1/messages": {"get", "post"},
    "/api/v1/messages/{message_id}": {"get", "patch"},
    "/api/v1/messages/{message_id}/deliveries": {"get"},
    "/api/v1/messages/{message_id}/submit": {"post"},
    "/api/v1/messages/{message_id}/withdraw": {"post"},
    "/api/v1/messages/{message_id}/reject": {"post"},
    "/api/v1/messages/{message_id}/approve": {"post"},
    "/api/v1/messages/{message_id}/schedule": {"post"},
    "/api/v1/messages/{message_id}/unschedule": {"post"},
    "/api/v1/messages/{message_id}/publish": {"post"},
    "/api/v1/messages/{message_id}/correct": {"post"},
    "/api/v1/messages/{message_id}/corrections": {"get"},
    "/api/v1/corrections/{correction_id}": {"get"},
    "/api/v1/corrections/{correction_id}/approve": {"post"},
    "/api/v1/corrections/{correction_id}/reject": {"post"},
    "/api/v1/messages/{message_id}/retract": {"post"},
    "/api/v1/messages/{message_id}/renditions": {"get"},
    "/api/v1/messages/{message_id}/findings": {"get"},
    "/api/v1/messages/{message_id}/audit": {"get"},
    "/api/v1/check": {"post"},
    "/api/v1/incidents": {"post"},
    "/api/v1/sensors/{sensor_id}/counts": {"post"},
    "/api/v1/events": {"get"},
    "/api/v1/events/{event_id}/zones": {"get"},
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture
def schema(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def test_the_schema_is_served_without_a_token_at_both_addresses(client, schema, db):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] and schema["info"]["version"]
    assert client.get("/api/v1/openapi.json").json() == schema


def test_it_lists_every_endpoint_with_its_methods(schema):
    listed = {
        path: {m for m in item if m in HTTP_METHODS} for path, item in schema["paths"].items()
    }
    assert listed == EXPECTED


def test_every_operation_requires_the_bearer_scheme(schema):
    assert schema["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "copps_<token>",
    }
    for path, method, op in operations(schema):
        assert op["security"] == [{"BearerAuth": []}], (path, method)


def test_every_operation_documents_its_success_and_error_responses(schema):
    ids = set()
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        ids.add(op["operationId"])
        ok = [c for c in codes if c.startswith("2")]
        assert ok, (path, method)
        for code in ok:
            assert "schema" in op["responses"][code]["content"]["application/json"]
        assert "401" in codes, (path, method)
        if op.get("parameters") or "requestBody" in op:
            assert "422" in codes, (path, method)
        if "requestBody" in op:
            assert {"400", "413"} <= codes, (path, method)
        if "{message_id}" in path or "{correction_id}" in path:
            assert "404" in codes, (path, method)
        for code in codes - set(ok):
            ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorOut"
    assert len(ids) == sum(1 for _ in operations(schema))  # operation ids are unique
    for path in ("submit", "approve", "withdraw", "publish"):
        codes = schema["paths"][f"/api/v1/messages/{{message_id}}/{path}"]["post"]["responses"]
        assert {"403", "409"} <= set(codes)
    for path in ("approve", "reject"):
        codes = schema["paths"][f"/api/v1/corrections/{{correction_id}}/{path}"]["post"][
            "responses"
        ]
        assert {"403", "409"} <= set(codes)
    assert "202" in schema["paths"]["/api/v1/messages/{message_id}/correct"]["post"]["responses"]


def test_every_reference_resolves(schema):
    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    components = schema["components"]["schemas"]
    found = set(refs(schema))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in components, ref


def test_request_schemas_carry_the_input_rules(schema):
    create = schema["components"]["schemas"]["MessageCreateIn"]
    assert create["additionalProperties"] is False
    title = create["properties"]["title"]["anyOf"][0]
    assert title["maxLength"] == 200
    language = schema["components"]["schemas"]["VersionIn"]["properties"]["language"]
    assert set(language["enum"]) == {"nl", "fr", "de", "en"}
    params = schema["paths"]["/api/v1/messages"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)


def test_there_is_no_html_documentation_page_loading_third_party_assets(client, schema, db):
    for path in ("/api/v1/docs", "/api/docs", "/api/v1/docs/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
    assert "cdn" not in str(schema).lower()


# A small schemathesis-style run: every documented operation, with well- and ill-typed bodies,
# must answer a documented status with a JSON body of the documented shape, never a 5xx.

WRONG_VALUES = [None, 0, -1, 2**70, 1.5, True, "", "x" * 5000, [], {}, ["x"], {"a": 1}, "\x00"]


def bodies_for(schema, op):
    yield None
    yield b"{}"
    yield b"[]"
    yield b"not json"
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return
    ref = content["schema"].get("$ref") or next(
        s["$ref"] for s in content["schema"].get("anyOf", []) if "$ref" in s
    )
    properties = schema["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {})
    for name, value in itertools.product(properties, WRONG_VALUES):
        yield {name: value}


def test_every_operation_survives_wrong_input_with_a_documented_answer(
    api, create, communicator, make_user, published_message, editor, schema
):
    import json

    draft = create(communicator)
    correction = actions.propose_correction(
        published_message, by=editor, note="Datum.", versions=[VersionInput("nl", "T", "Nieuw.")]
    )
    clients = [api(communicator), api(make_user(Role.EDITOR)), ApiClient(None)]
    error_keys = set(schema["components"]["schemas"]["ErrorOut"]["properties"])
    checked = 0
    for path, method, op in operations(schema):
        for (message_id, correction_id), body, client in itertools.product(
            ((draft["id"], correction.pk), (424242, 424242)), list(bodies_for(schema, op)), clients
        ):
            target = path.replace("{message_id}", str(message_id))
            target = target.replace("{correction_id}", str(correction_id))
            if isinstance(body, dict):
                body = json.dumps(body).encode()
            response = client.client.generic(
                method.upper(), target, body or b"", content_type="application/json"
            )
            status = str(response.status_code)
            assert response.status_code < 500, (method, target, body, response.content)
            assert status in op["responses"], (method, target, body, status, response.content)
            assert response["Content-Type"].startswith("application/json")
            if not status.startswith("2"):
                assert set(response.json()) <= error_keys
                assert "detail" in response.json()
            checked += 1
    assert checked > 1000
