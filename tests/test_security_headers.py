"""Security headers on every kind of answer: a strict Content-Security-Policy, no caching of
anything personal. (Quiet logs for foreign host names and HSTS: tests/test_settings.py.)

(tests/e2e/test_csp.py checks in Chromium that the policy is enforced and breaks nothing.)
"""

import pytest

from copps.accounts.roles import Role


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def signed_in(client, make_user):
    client.force_login(make_user(Role.ADMIN, "dirk"))
    return client


@pytest.mark.parametrize("path", ["/en/", "/en/news/", "/accounts/login/", "/api/v1/me"])
def test_every_answer_carries_a_strict_content_security_policy(client, db, path):
    csp = directives(client.get(path))
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["img-src"] == ["'self'"]  # no data: or remote images
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_console_pages_carry_the_policy_too(signed_in):
    response = signed_in.get("/console/")
    assert response.status_code == 200
    assert directives(response)["script-src"] == ["'self'"]


def test_the_other_security_headers_are_there(client, db):
    response = client.get("/en/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "path",
    [
        "/console/",
        "/console/messages/",
        "/console/pages/",
        "/console/pages/privacy/en/",
        "/accounts/users/",
        "/accounts/users/new/",
        "/accounts/tokens/",
        "/accounts/2fa/setup/",
    ],
)
def test_personal_pages_are_never_stored_by_a_cache(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_redirects_to_sign_in_are_not_stored_either(client, db):
    response = client.get("/console/")
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]


def test_public_pages_keep_their_shared_caching_for_signed_in_readers(signed_in):
    response = signed_in.get("/en/news/")
    assert response["Cache-Control"] == "public, max-age=60"
    assert "Cookie" not in response.get("Vary", "")
    assert "no-store" not in signed_in.get("/feeds/news.xml")["Cache-Control"]
