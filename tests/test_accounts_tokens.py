"""Personal API tokens: the page (list, create once, revoke) and what a token is worth afterwards."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from copps.accounts import actions
from copps.accounts.models import ApiToken
from copps.audit.models import AuditRecord

TOKENS = "/accounts/tokens/"


def revoke_url(token) -> str:
    return f"/accounts/tokens/{token.pk}/revoke/"


def test_the_tokens_page_needs_a_signed_in_user(client, db):
    response = client.get(TOKENS)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_every_role_may_hold_tokens(client, users_by_role):
    for user in users_by_role.values():
        client.force_login(user)
        assert client.get(TOKENS).status_code == 200


def test_a_new_token_is_shown_once_and_works_as_bearer(client, communicator):
    client.force_login(communicator)
    response = client.post(TOKENS, {"name": "dashboard script", "days": "30"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=communicator)
    raw = response.context["new_token"]["raw"]
    assert raw in response.content.decode()
    assert ApiToken.authenticate(raw) == communicator
    assert token.name == "dashboard script" and token.digest != raw
    assert (token.expires_at - timezone.now()).days in (29, 30)
    # The list shows name and hint, never the token again.
    html = client.get(TOKENS).content.decode()
    assert "dashboard script" in html and f"…{token.hint}" in html
    assert raw not in html
    record = AuditRecord.objects.get(action="accounts.token_issue")
    assert record.actor == "alice" and raw not in str(record.data)


def test_a_token_without_days_does_not_expire(client, communicator):
    client.force_login(communicator)
    client.post(TOKENS, {"name": "forever", "days": ""})
    assert ApiToken.objects.get(user=communicator).expires_at is None


def test_bad_token_input_gets_field_errors(client, communicator):
    client.force_login(communicator)
    response = client.post(TOKENS, {"name": "", "days": "-4"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_name_error"' in html and 'id="id_days_error"' in html
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_at_once(client, communicator):
    token, raw = actions.issue_token(communicator, by=communicator, name="old")
    client.force_login(communicator)
    response = client.post(revoke_url(token))
    assert response.status_code == 302
    assert ApiToken.authenticate(raw) is None
    assert AuditRecord.objects.filter(action="accounts.token_revoke", actor="alice").exists()
    assert "revoked" in client.get(TOKENS).content.decode()


def test_revoking_needs_post(client, communicator):
    token, raw = actions.issue_token(communicator, by=communicator)
    client.force_login(communicator)
    assert client.get(revoke_url(token)).status_code == 405
    assert ApiToken.authenticate(raw) == communicator


def test_someone_elses_token_is_404_and_stays_valid(client, communicator, editor):
    token, raw = actions.issue_token(editor, by=editor)
    client.force_login(communicator)
    assert client.post(revoke_url(token)).status_code == 404
    assert ApiToken.authenticate(raw) == editor
    assert client.get(TOKENS).context["rows"] == []


def test_an_expired_token_is_refused(communicator):
    token, raw = actions.issue_token(communicator, by=communicator, days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ApiToken.authenticate(raw) is None


def test_a_token_of_a_deactivated_user_is_refused(communicator, admin_user):
    _token, raw = actions.issue_token(communicator, by=communicator)
    actions.set_user_active(communicator, by=admin_user, active=False)
    assert ApiToken.authenticate(raw) is None


def test_nobody_issues_a_token_for_someone_else(communicator, editor):
    with pytest.raises(PermissionDenied):
        actions.issue_token(communicator, by=editor)
    with pytest.raises(PermissionDenied):
        actions.revoke_token(actions.issue_token(communicator, by=communicator)[0], by=editor)
