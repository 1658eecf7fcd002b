"""Every write in accounts is one of these named actions.

Sign-in throttling, two-factor devices, personal API tokens and user administration. Each action
runs in one transaction and leaves an audit record (``copps.audit.log.record``) where it changes
who can do what. Views, the management commands and the demo call these; nothing else writes
accounts rows.

Actions that need a permission check raise ``PermissionDenied``; input problems raise
``ValidationError`` keyed by field name, so forms can show them next to the field.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from copps.audit import log as audit

from . import roles, totp
from .models import ApiToken, Area, LoginFailure, TOTPDevice, User
from .roles import Role

# Actor name in audit records for changes made from the command line.
CLI_ACTOR = "cli"

MAX_TOKEN_DAYS = 3650


# Sign-in throttling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginKeys:
    """The two throttling keys of one sign-in attempt: per account and per client address.

    Only keyed hashes are ever stored (HMAC-SHA-256 with SECRET_KEY), never the username or the
    address in clear.

    The client address comes from ``copps.lib.clientip.client_address``: ``REMOTE_ADDR`` unless
    the peer is one of ``COPPS_TRUSTED_PROXIES``, and then the right-most address in
    ``X-Forwarded-For`` that is not a trusted proxy. A forwarding header from anyone else is
    ignored: trusting it would let an attacker pick a fresh "address" per guess.
    """

    user: str
    ip: str

    @classmethod
    def for_attempt(cls, username: str, remote_addr: str | None) -> "LoginKeys":
        return cls(
            user=_throttle_key(f"user:{User.normalize_username(username or '').lower()}"),
            ip=_throttle_key(f"ip:{remote_addr or 'unknown'}"),
        )

    def all(self) -> tuple[str, str]:
        return (self.user, self.ip)


def _throttle_key(value: str) -> str:
    return salted_hmac("copps.accounts.login-throttle", value, algorithm="sha256").hexdigest()


def _window() -> timedelta:
    return timedelta(seconds=settings.COPPS_LOGIN_WINDOW_SECONDS)


def login_retry_after(keys: LoginKeys, now=None) -> int:
    """Seconds until another attempt is allowed; 0 when sign-in may be tried now.

    A key is locked once it has COPPS_LOGIN_MAX_FAILURES failures inside the last
    COPPS_LOGIN_WINDOW_SECONDS (so that many wrong guesses are allowed, the next one is refused).
    Refused attempts are not counted: the lock lifts once enough failures age out of the window,
    whatever an attacker keeps sending meanwhile.
    """
    now = now or timezone.now()
    limit = settings.COPPS_LOGIN_MAX_FAILURES
    wait = 0
    for key in keys.all():
        times = list(
            LoginFailure.objects.filter(key=key, at__gt=now - _window())
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(times) >= limit:
            # The lock lifts when the limit-th newest failure leaves the window.
            oldest_counted = times[limit - 1]
            wait = max(wait, int((oldest_counted + _window() - now).total_seconds()) + 1)
    return wait


def record_login_failure(keys: LoginKeys) -> None:
    """Count one failed attempt (wrong password, unknown user or wrong code) against both keys."""
    now = timezone.now()
    LoginFailure.objects.bulk_create([LoginFailure(key=key, at=now) for key in keys.all()])


def record_login(user: User, keys: LoginKeys, *, with_2fa: bool) -> None:
    """A completed sign-in: forget the account's failures and put it on record.

    The per-client failures stay: one good password from an address does not excuse the
    guesses it made at other accounts.
    """
    with transaction.atomic():
        LoginFailure.objects.filter(key=keys.user).delete()
        audit.record(actor=user, action="accounts.login", obj=user, data={"2fa": with_2fa})


def record_2fa_verified(user: User, keys: LoginKeys) -> None:
    """A signed-in session confirmed a code (completing its sign-in): as ``record_login``."""
    with transaction.atomic():
        LoginFailure.objects.filter(key=keys.user).delete()
        audit.record(actor=user, action="accounts.2fa_verify", obj=user)


# Two-factor (TOTP) -----------------------------------------------------------------------------


# How long an unconfirmed secret is offered again: long enough to find and set up the app,
# short enough that a secret someone once saw on the set-up page (say, with a phished password)
# is not the one the real user confirms weeks later.
SETUP_SECRET_SECONDS = 30 * 60


def start_totp_setup(user: User) -> TOTPDevice:
    """The user's unconfirmed device, with a new secret when there is none or it is stale.

    Reloading the set-up page within SETUP_SECRET_SECONDS keeps the same secret (the QR code
    already scanned stays valid); after that the secret is replaced. A user with a confirmed
    device must disable it first.
    """
    now = timezone.now()
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed:
            raise ValidationError(_("Two-factor authentication is already on."))
        if device is not None and (now - device.created_at).total_seconds() > SETUP_SECRET_SECONDS:
            device.delete()
            device = None
        if device is None:
            device = TOTPDevice.objects.create(user=user, secret=totp.new_secret(), created_at=now)
            audit.record(actor=user, action="accounts.2fa_setup_start", obj=user)
    return device


def _accept_code(device: TOTPDevice, code: str) -> bool:
    """Accept ``code`` for ``device`` at most once: the step is claimed with a conditional
    UPDATE, so of two requests racing with the same code only one wins."""
    step = totp.matching_step(device.secret, code, after_step=device.last_step)
    if step is None:
        return False
    claimed = TOTPDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step)
    if claimed:
        device.last_step = step
    return bool(claimed)


def confirm_totp(user: User, code: str) -> bool:
    """Switch two-factor on once the user proves the app shows the right codes."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None or not _accept_code(device, code):
            return False
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True, created_at=timezone.now())
        device.confirmed = True
        audit.record(actor=user, action="accounts.2fa_enable", obj=user)
    return True


def check_totp(user: User, code: str) -> bool:
    """Whether ``code`` is a fresh, valid code of the user's confirmed device (claims it)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device is not None and _accept_code(device, code)


def disable_totp(user: User, code: str) -> bool:
    """Switch two-factor off; only with a current code from the device itself."""
    with transaction.atomic():
        if not check_totp(user, code):
            return False
        TOTPDevice.objects.filter(user=user).delete()
        audit.record(actor=user, action="accounts.2fa_disable", obj=user)
    return True


def change_password(user: User, *, old_password: str, new_password: str) -> None:
    """A user changes their own password: the current one is required, the new one must pass
    the password validators. Audited (without either password, of course)."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": [_("That is not your current password.")]})
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record(actor=user, action="accounts.password_change", obj=user)


def reset_totp(user: User, *, by) -> None:
    """An administrator removes a user's device (lost phone); the user sets up a new one."""
    _require_users_manage(by)
    with transaction.atomic():
        deleted = TOTPDevice.objects.filter(user=user).delete()[0]
        audit.record(
            actor=by, action="accounts.2fa_reset", obj=user, data={"had_device": bool(deleted)}
        )


# Personal API tokens ---------------------------------------------------------------------------


def issue_token(
    user: User, *, by, name: str = "api", days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a personal token for ``user``; returns (token row, raw token).

    The raw token is returned only here, never stored (the row keeps its SHA-256 and the last
    four characters as a hint). ``by`` is the user themself, or ``CLI_ACTOR`` from the command
    line. ``days`` None means the token does not expire.
    """
    if not isinstance(by, str) and by.pk != user.pk:
        raise PermissionDenied("tokens.own")
    if not user.is_active or not roles.has_capability(user, roles.TOKENS_OWN):
        raise PermissionDenied("tokens.own")
    name = (name or "").strip() or "api"
    if len(name) > 80:
        raise ValidationError({"name": [_("The name is longer than 80 characters.")]})
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationError(
            {"days": [_("Choose between 1 and %(max)s days.") % {"max": MAX_TOKEN_DAYS}]}
        )
    expires_at = timezone.now() + timedelta(days=days) if days else None
    with transaction.atomic():
        token, raw = ApiToken.issue(user, name=name, expires_at=expires_at)
        audit.record(
            actor=by,
            action="accounts.token_issue",
            obj=token,
            data={
                "user": user.username,
                "name": name,
                "hint": token.hint,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, raw


def revoke_token(token: ApiToken, *, by) -> None:
    """Revoke one token (idempotent: revoking a revoked token changes nothing)."""
    if not isinstance(by, str) and by.pk != token.user_id:
        raise PermissionDenied("tokens.own")
    with transaction.atomic():
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ):
            return
        audit.record(
            actor=by,
            action="accounts.token_revoke",
            obj=token,
            data={"user": token.user.username, "name": token.name, "hint": token.hint},
        )


def revoke_all_tokens(user: User, *, by) -> int:
    """Revoke every live token of ``user``; returns how many were revoked."""
    if not isinstance(by, str) and by.pk != user.pk:
        _require_users_manage(by)
    with transaction.atomic():
        live = list(
            ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True)
        )
        if live:
            ApiToken.objects.filter(pk__in=live).update(revoked_at=timezone.now())
        audit.record(
            actor=by,
            action="accounts.token_revoke_all",
            obj=user,
            data={"revoked": len(live)},
        )
    return len(live)


# User administration ---------------------------------------------------------------------------


def _require_users_manage(by) -> None:
    if not roles.has_capability(by, roles.USERS_MANAGE):
        raise PermissionDenied("users.manage")


def _check_area(role: str, area: Area | None) -> None:
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    # Officers write for their own area only; without one they could write nothing.
    if role == Role.OFFICER and area is None:
        raise ValidationError({"area": [_("A neighbourhood officer needs an area.")]})


def create_user(
    *,
    by,
    username: str,
    password: str,
    role: str,
    area: Area | None = None,
    first_name: str = "",
    last_name: str = "",
    display_name: str = "",
    email: str = "",
) -> User:
    """Create a staff account with an initial password (checked by the password validators)."""
    _require_users_manage(by)
    username = User.normalize_username(username.strip())
    _check_area(role, area)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [_("This username is taken.")]})
    user = User(
        username=username,
        role=role,
        area=area,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        display_name=display_name.strip(),
        email=User.objects.normalize_email(email.strip()),
    )
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise ValidationError({"password": e.messages}) from None
    user.set_password(password)
    with transaction.atomic():
        user.save()
        audit.record(
            actor=by,
            action="accounts.user_create",
            obj=user,
            data={"username": user.username, "role": role, "area": area.slug if area else None},
        )
    return user


def change_user(user: User, *, by, role: str, area: Area | None) -> User:
    """Change a user's role and area. Administrators cannot demote themselves (so the force
    never loses its last administrator by a slip)."""
    _require_users_manage(by)
    _check_area(role, area)
    if user.pk == by.pk and role != user.role:
        raise ValidationError({"role": [_("You cannot change your own role.")]})
    before = {"role": user.role, "area": user.area.slug if user.area else None}
    after = {"role": role, "area": area.slug if area else None}
    if before == after:
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(role=role, area=area)
        user.role, user.area = role, area
        audit.record(
            actor=by,
            action="accounts.user_change",
            obj=user,
            data={"before": before, "after": after},
        )
    return user


def set_user_active(user: User, *, by, active: bool) -> User:
    """Deactivate (or reactivate) an account. A deactivated user's sessions and API tokens stop
    working at once (both check ``is_active``); nothing is deleted, history keeps the name."""
    _require_users_manage(by)
    if user.pk == by.pk and not active:
        raise ValidationError({"is_active": [_("You cannot deactivate your own account.")]})
    if user.is_active == active:
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        user.is_active = active
        data = {}
        if not active:
            # Their browsers stop receiving console alerts: the subscriptions are deleted (the
            # model lives with the web push code; looked up by name, as accounts sits below it).
            staff_push = apps.get_model("channels", "StaffPushSubscription")
            deleted, _rows = staff_push.objects.filter(user=user).delete()
            if deleted:
                data["push_subscriptions"] = deleted
        audit.record(
            actor=by,
            action="accounts.user_activate" if active else "accounts.user_deactivate",
            obj=user,
            data=data,
        )
    return user
