"""Named, audited actions of the channel console: configuring channel accounts and deciding what
happened to a delivery whose outcome is unknown.

Every write of the console goes through a function here (views stay thin). Each one checks the
caller's capability (``roles.CHANNELS_MANAGE`` for channel accounts, ``roles.DELIVERIES_RESOLVE``
plus the message access helper for deliveries), writes in one transaction and appends an audit
record. Secret values never reach the audit log: records name which secret fields changed.

A channel is only saved when its configuration is valid *and* the service accepted it
(``Adapter.check()``): bad credentials are caught when the channel is configured, not when a
message is published. The connection test runs on the unsaved channel, before any transaction.

``Channel.test_result`` keeps the outcome of the last test as ``"ok: <account>"`` or
``"error: <reason>"`` (``test_outcome()`` reads it back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.accounts import roles
from copps.accounts.roles import has_capability
from copps.audit import log as audit

from . import deliveries
from .base import ChannelError
from .models import Alert, Channel, ChannelStatus, Delivery
from .registry import ADAPTERS, adapter_class

logger = logging.getLogger("copps.channels")


class CheckFailed(Exception):
    """The service refused the configuration (or could not be reached): nothing was saved."""


@dataclass
class TestOutcome:
    ok: bool
    text: str


def _require(user, capability: str) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(capability)


def available_kinds() -> list[tuple[str, str]]:
    """(kind, label) of every kind whose adapter can be imported on this installation."""
    from .models import Kind

    labels = dict(Kind.choices)
    kinds = []
    for kind in ADAPTERS:
        try:
            adapter = adapter_class(kind)
        except ImportError:
            continue
        if not adapter.created_in_console:
            continue
        kinds.append((kind, str(labels.get(kind, kind))))
    return kinds


def _run_check(channel: Channel) -> TestOutcome:
    """Call the adapter's connection test; never raises."""
    try:
        description = channel.adapter.check()
    except ChannelError as exc:
        return TestOutcome(False, str(exc)[:1000])
    except NotImplementedError:
        return TestOutcome(False, _("This kind of channel cannot be tested yet."))
    except Exception as exc:  # a bug in an adapter must not become a 500 in the console
        logger.exception("connection test of a %s channel crashed", channel.kind)
        return TestOutcome(False, _("The test failed unexpectedly (%(error)s).") % {"error": exc})
    return TestOutcome(True, str(description or "")[:1000])


def _store_test(channel: Channel, outcome: TestOutcome) -> None:
    channel.tested_at = timezone.now()
    channel.test_result = ("ok: " if outcome.ok else "error: ") + outcome.text


def test_outcome(channel: Channel) -> TestOutcome | None:
    """The last connection test of ``channel`` (None if it never ran)."""
    if not channel.tested_at:
        return None
    ok, _sep, text = channel.test_result.partition(": ")
    return TestOutcome(ok == "ok", text)


def _validate(kind: str, config: dict, secrets: dict) -> None:
    errors = adapter_class(kind).validate_config(config, secrets)
    if errors:
        raise ValidationError({name: [message] for name, message in errors.items()})


def create_channel(
    *,
    by,
    kind: str,
    name: str,
    slug: str,
    language: str,
    audiences=(),
    sandbox: bool = False,
    config: dict | None = None,
    secrets: dict | None = None,
) -> Channel:
    """Configure a new channel account.

    Raises ``ValidationError`` (keys: adapter field names) for a bad configuration and
    ``CheckFailed`` when the service refuses it; in both cases nothing is saved.
    """
    _require(by, roles.CHANNELS_MANAGE)
    if kind not in dict(available_kinds()):
        raise ValidationError({"kind": [_("This kind of channel is not available.")]})
    config = {k: v for k, v in (config or {}).items() if v not in (None, "")}
    secrets = {k: v for k, v in (secrets or {}).items() if v not in (None, "")}
    config, secrets = adapter_class(kind).prepare_config(config, secrets)
    _validate(kind, config, secrets)
    if Channel.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [_("Another channel already uses this short name.")]})
    now = timezone.now()
    channel = Channel(
        name=name,
        slug=slug,
        kind=kind,
        language=language,
        sandbox=sandbox,
        config=config,
        created_at=now,
        updated_at=now,
    )
    channel.set_secrets(secrets)
    outcome = _run_check(channel)
    if not outcome.ok:
        raise CheckFailed(outcome.text)
    _store_test(channel, outcome)
    with transaction.atomic():
        channel.save()
        channel.audiences.set(audiences)
        audit.record(
            actor=by,
            action="channel.create",
            obj=channel,
            data={
                "kind": kind,
                "name": name,
                "slug": slug,
                "language": language,
                "sandbox": sandbox,
                "audiences": sorted(a.slug for a in audiences),
                "settings": config,
                "secrets_set": sorted(secrets),
            },
        )
    return channel


def update_channel(
    channel: Channel,
    *,
    by,
    name: str,
    language: str,
    audiences=(),
    sandbox: bool,
    config: dict,
    new_secrets: dict | None = None,
    clear_secrets: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """Change a channel account. Secrets not named in ``new_secrets`` or ``clear_secrets`` keep
    their stored value. When the settings, secrets or the sandbox flag change, the connection is
    tested again first and nothing is saved if the service refuses it (``CheckFailed``).
    Returns the names of what changed."""
    _require(by, roles.CHANNELS_MANAGE)
    config = {k: v for k, v in config.items() if v not in (None, "")}
    stored = channel.get_secrets()
    secrets = dict(stored)
    for key in clear_secrets:
        secrets.pop(key, None)
    for key, value in (new_secrets or {}).items():
        if value not in (None, ""):
            secrets[key] = value
    _validate(channel.kind, config, secrets)

    changed = [
        field
        for field, old, new in (
            ("name", channel.name, name),
            ("language", channel.language, language),
            ("sandbox", channel.sandbox, sandbox),
            ("settings", channel.config or {}, config),
        )
        if old != new
    ]
    old_audiences = {a.pk for a in channel.audiences.all()}
    if old_audiences != {a.pk for a in audiences}:
        changed.append("audiences")
    secrets_changed = sorted(
        key for key in set(stored) | set(secrets) if stored.get(key) != secrets.get(key)
    )
    if not changed and not secrets_changed:
        return []

    channel.name, channel.language, channel.sandbox = name, language, sandbox
    channel.config = config
    channel.set_secrets(secrets)
    if secrets_changed or {"settings", "sandbox"} & set(changed):
        outcome = _run_check(channel)
        if not outcome.ok:
            channel.refresh_from_db()
            raise CheckFailed(outcome.text)
        _store_test(channel, outcome)
    channel.updated_at = timezone.now()
    with transaction.atomic():
        channel.save()
        channel.audiences.set(audiences)
        audit.record(
            actor=by,
            action="channel.update",
            obj=channel,
            data={"changed": changed, "secrets_changed": secrets_changed},
        )
    return changed + [f"secret:{key}" for key in secrets_changed]


def test_channel(channel: Channel, *, by) -> TestOutcome:
    """Test the connection and credentials now; the outcome is stored on the channel."""
    _require(by, roles.CHANNELS_MANAGE)
    outcome = _run_check(channel)
    _store_test(channel, outcome)
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(
            tested_at=channel.tested_at, test_result=channel.test_result
        )
        audit.record(
            actor=by,
            action="channel.test",
            obj=channel,
            data={"ok": outcome.ok},
            reason="" if outcome.ok else outcome.text[:500],
        )
    return outcome


def set_channel_enabled(channel: Channel, *, by, enabled: bool, reason: str = "") -> bool:
    """Switch a channel on or off. Deliveries waiting for a disabled channel stay waiting; they
    go out when it is switched on again (or are cancelled by a person). Returns whether it
    changed."""
    _require(by, roles.CHANNELS_MANAGE)
    with transaction.atomic():
        changed = Channel.objects.filter(pk=channel.pk, enabled=not enabled).update(
            enabled=enabled, updated_at=timezone.now()
        )
        if changed:
            audit.record(
                actor=by,
                action="channel.enable" if enabled else "channel.switch_off",
                obj=channel,
                reason=reason[:500],
            )
    channel.enabled = enabled
    return bool(changed)


def resume_channel(channel: Channel, *, by) -> TestOutcome:
    """Put a paused or disabled channel back to work after a successful connection test.

    When the test fails the channel stays as it was and the outcome says why."""
    _require(by, roles.CHANNELS_MANAGE)
    if channel.status == ChannelStatus.ACTIVE:
        return TestOutcome(True, "")
    outcome = _run_check(channel)
    _store_test(channel, outcome)
    now = timezone.now()
    with transaction.atomic():
        fields: dict = {"tested_at": channel.tested_at, "test_result": channel.test_result}
        if outcome.ok:
            fields.update(
                status=ChannelStatus.ACTIVE,
                status_reason="",
                paused_until=None,
                consecutive_failures=0,
                updated_at=now,
            )
        Channel.objects.filter(pk=channel.pk).update(**fields)
        if outcome.ok:
            audit.record(
                actor=by,
                action="channel.resume",
                obj=channel,
                from_state=channel.status,
                to_state=ChannelStatus.ACTIVE,
            )
            channel.status = ChannelStatus.ACTIVE
            channel.status_reason = ""
            channel.paused_until = None
    return outcome


def acknowledge_alert(alert: Alert, *, by) -> bool:
    """An administrator has seen the alert. Returns False if someone else already did."""
    _require(by, roles.CHANNELS_MANAGE)
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_by=by.username, acknowledged_at=timezone.now()
        )
        if done:
            audit.record(actor=by, action="alert.acknowledge", obj=alert)
    return bool(done)


# Deliveries: a person decides ----------------------------------------------------------------


def may_resolve(user, delivery: Delivery) -> bool:
    from copps.newsroom import access

    return has_capability(user, roles.DELIVERIES_RESOLVE) and access.can_view(
        user, delivery.message
    )


def _require_resolve(user, delivery: Delivery) -> None:
    if not may_resolve(user, delivery):
        raise PermissionDenied(roles.DELIVERIES_RESOLVE)


def mark_delivery_sent(delivery: Delivery, *, by, url: str = "") -> bool:
    """ "It went out": a person found the post on the channel. False if the delivery is no
    longer unknown (someone or something settled it meanwhile)."""
    _require_resolve(by, delivery)
    with transaction.atomic():
        return deliveries.mark_sent(delivery, by=by, url=url)


def send_delivery_again(delivery: Delivery, *, by) -> bool:
    """ "Send again": a person checked that the post is not there (risk: a duplicate if it is)."""
    _require_resolve(by, delivery)
    with transaction.atomic():
        return deliveries.send_again(delivery, by=by)


def cancel_delivery(delivery: Delivery, *, by, reason: str = "") -> bool:
    """ "Cancel": this one will not go out (any more)."""
    _require_resolve(by, delivery)
    with transaction.atomic():
        return deliveries.give_up(delivery, by=by, reason=reason)
