"""User administration: administrators only; every change audited; no self-lock-out."""

import pytest

from copps.accounts import actions, totp
from copps.accounts.models import ApiToken, TOTPDevice, User
from copps.accounts.roles import Role
from copps.audit.models import AuditRecord
from tests.conftest import PASSWORD

NEW_PASSWORD = "a long enough initial passphrase"


def new_user_data(**overrides):
    data = {
        "username": "erik",
        "first_name": "Erik",
        "last_name": "Peeters",
        "display_name": "Inspecteur Peeters",
        "email": "erik.peeters@police.example",
        "role": Role.COMMUNICATOR,
        "area": "",
        "password": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


# Access checklist ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, communicator):
    for url in ("/accounts/users/", "/accounts/users/new/", f"/accounts/users/{communicator.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMIN])
def test_every_other_role_gets_403(client, make_user, communicator, role):
    client.force_login(make_user(role))
    assert client.get("/accounts/users/").status_code == 403
    assert client.get("/accounts/users/new/").status_code == 403
    assert client.post("/accounts/users/new/", new_user_data()).status_code == 403
    assert client.get(f"/accounts/users/{communicator.pk}/").status_code == 403
    assert (
        client.post(f"/accounts/users/{communicator.pk}/", {"role": Role.ADMIN}).status_code == 403
    )
    assert (
        client.post(f"/accounts/users/{communicator.pk}/active/", {"active": "0"}).status_code
        == 403
    )
    assert client.post(f"/accounts/users/{communicator.pk}/reset-2fa/").status_code == 403
    communicator.refresh_from_db()
    assert communicator.role == Role.COMMUNICATOR and communicator.is_active
    assert not User.objects.filter(username="erik").exists()


def test_an_administrator_sees_the_list(client, admin_user, communicator):
    client.force_login(admin_user)
    response = client.get("/accounts/users/")
    assert response.status_code == 200
    assert "alice" in response.content.decode() and "dirk" in response.content.decode()


def test_an_unknown_user_is_404(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/accounts/users/9999/").status_code == 404
    assert client.post("/accounts/users/9999/active/", {"active": "0"}).status_code == 404


def test_the_write_endpoints_need_post(client, admin_user, communicator):
    client.force_login(admin_user)
    assert client.get(f"/accounts/users/{communicator.pk}/active/").status_code == 405
    assert client.get(f"/accounts/users/{communicator.pk}/reset-2fa/").status_code == 405
    assert client.post("/accounts/users/").status_code == 405


# Creating --------------------------------------------------------------------------------------


def test_an_administrator_creates_an_account_that_can_sign_in(client, admin_user, area):
    client.force_login(admin_user)
    response = client.post(
        "/accounts/users/new/", new_user_data(role=Role.OFFICER, area=str(area.pk))
    )
    assert response.status_code == 302
    user = User.objects.get(username="erik")
    assert (user.role, user.area, user.display_name) == (Role.OFFICER, area, "Inspecteur Peeters")
    assert user.get_full_name() == "Erik Peeters" and user.email == "erik.peeters@police.example"
    record = AuditRecord.objects.get(action="accounts.user_create")
    assert record.actor == "dirk" and record.data["role"] == Role.OFFICER
    assert NEW_PASSWORD not in str(record.data)
    other = client.__class__()
    response = other.post("/accounts/login/", {"username": "erik", "password": NEW_PASSWORD})
    assert response.status_code == 302 and other.session.get("_auth_user_id") == str(user.pk)


def test_a_weak_password_is_a_field_error(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/accounts/users/new/", new_user_data(password="short"))
    assert response.status_code == 400
    assert 'id="id_password_error"' in response.content.decode()
    assert not User.objects.filter(username="erik").exists()


def test_a_taken_username_is_a_field_error_whatever_its_case(client, admin_user, communicator):
    client.force_login(admin_user)
    response = client.post("/accounts/users/new/", new_user_data(username="ALICE"))
    assert response.status_code == 400
    assert 'id="id_username_error"' in response.content.decode()


def test_an_officer_needs_an_area(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/accounts/users/new/", new_user_data(role=Role.OFFICER))
    assert response.status_code == 400
    assert 'id="id_area_error"' in response.content.decode()


def test_nonsense_input_gets_errors_not_a_crash(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/accounts/users/new/",
        new_user_data(username="bad name!", role="pope", area="x", email="no"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("username", "role", "area", "email"):
        assert f'id="id_{field}_error"' in html


# Changing --------------------------------------------------------------------------------------


def test_an_administrator_changes_role_and_area(client, admin_user, communicator, other_area):
    client.force_login(admin_user)
    response = client.post(
        f"/accounts/users/{communicator.pk}/", {"role": Role.EDITOR, "area": str(other_area.pk)}
    )
    assert response.status_code == 302
    communicator.refresh_from_db()
    assert (communicator.role, communicator.area) == (Role.EDITOR, other_area)
    record = AuditRecord.objects.get(action="accounts.user_change")
    assert record.data["before"]["role"] == Role.COMMUNICATOR
    assert record.data["after"] == {"role": Role.EDITOR, "area": other_area.slug}


def test_an_administrator_cannot_demote_themself(client, admin_user):
    client.force_login(admin_user)
    response = client.post(f"/accounts/users/{admin_user.pk}/", {"role": Role.COMMUNICATOR})
    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_deactivating_ends_sessions_and_tokens(client, admin_user, communicator):
    _token, raw = actions.issue_token(communicator, by=communicator)
    victim = client.__class__()
    victim.force_login(communicator)
    client.force_login(admin_user)
    response = client.post(f"/accounts/users/{communicator.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    communicator.refresh_from_db()
    assert not communicator.is_active
    assert victim.get("/console/").status_code == 302  # back to sign-in
    assert ApiToken.authenticate(raw) is None
    login = client.__class__().post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert login.status_code == 200
    assert AuditRecord.objects.filter(action="accounts.user_deactivate").count() == 1
    client.post(f"/accounts/users/{communicator.pk}/active/", {"active": "1"})
    communicator.refresh_from_db()
    assert communicator.is_active
    assert AuditRecord.objects.filter(action="accounts.user_activate").count() == 1


def test_an_administrator_cannot_deactivate_themself(client, admin_user):
    client.force_login(admin_user)
    client.post(f"/accounts/users/{admin_user.pk}/active/", {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_resetting_two_factor_removes_the_device(client, admin_user, editor):
    TOTPDevice.objects.create(user=editor, secret=totp.new_secret(), confirmed=True)
    client.force_login(admin_user)
    assert "Reset two-factor" in client.get(f"/accounts/users/{editor.pk}/").content.decode()
    assert client.post(f"/accounts/users/{editor.pk}/reset-2fa/").status_code == 302
    assert not editor.has_2fa
    assert AuditRecord.objects.get(action="accounts.2fa_reset").actor == "dirk"
