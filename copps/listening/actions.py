"""Named writes of listening: purposes, watches and sources, each change audited.

Views call these; they check what the user's role allows (``access.kinds_for``), validate
(an investigation purpose needs its case reference, legal basis, authorising officer and end
date; a watch's query must parse), write in one transaction with an audit record, and tell the
matcher to rebuild. Errors are ``ListeningError`` with a field name (or None) and a message.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.accounts.roles import LISTENING_SOURCES_MANAGE, has_capability
from copps.audit import log as audit
from copps.lib import http

from . import access, matcher, runner
from . import query as q
from .models import Purpose, PurposeKind, Source, SourceKind, Watch
from .sources import importer, webhook

PURPOSE_FIELDS = (
    "name",
    "kind",
    "description",
    "case_reference",
    "legal_basis",
    "authorised_by",
    "ends_on",
    "retention_days",
    "active",
)
INVESTIGATION_REQUIRED = ("case_reference", "legal_basis", "authorised_by", "ends_on")


class ListeningError(ValueError):
    def __init__(self, errors: dict[str | None, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def check_purpose(purpose: Purpose, *, by) -> None:
    """Raise ``ListeningError`` unless ``by`` may hold this purpose and it is complete."""
    errors: dict[str | None, str] = {}
    if purpose.kind not in access.kinds_for(by):
        errors["kind"] = _("Your role may not create or change purposes of this kind.")
    if purpose.kind == PurposeKind.INVESTIGATION:
        labels = {
            "case_reference": _("An investigation needs a case reference."),
            "legal_basis": _("An investigation needs a legal basis."),
            "authorised_by": _("An investigation needs the authorising officer."),
            "ends_on": _("An investigation needs an end date."),
        }
        for name in INVESTIGATION_REQUIRED:
            value = getattr(purpose, name)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[name] = labels[name]
    if not purpose.name.strip():
        errors["name"] = _("A purpose needs a name.")
    if errors:
        raise ListeningError(errors)


def save_purpose(purpose: Purpose | None, *, by, **fields) -> Purpose:
    """Create (``purpose`` None) or change a purpose; the kind of an existing one may change only
    within what ``by`` may hold (checked against both the old and the new kind)."""
    creating = purpose is None
    if purpose is None:
        purpose = Purpose(created_by=by if getattr(by, "pk", None) else None)
    elif purpose.kind not in access.kinds_for(by):
        raise ListeningError({None: _("Your role may not change this purpose.")})
    for name, value in fields.items():
        if name in PURPOSE_FIELDS:
            setattr(purpose, name, value)
    check_purpose(purpose, by=by)
    with transaction.atomic():
        purpose.save()
        audit.record(
            actor=by,
            action="listening.purpose.create" if creating else "listening.purpose.change",
            obj=purpose,
            data={"kind": purpose.kind, "active": purpose.active},
        )
    matcher.changed()
    return purpose


def save_watch(
    watch: Watch | None, *, by, purpose: Purpose, name: str, query: str, active: bool = True
) -> Watch:
    """Create or change a watch; raises ``ListeningError`` (the query error under "query")."""
    if purpose.kind not in access.kinds_for(by) or (
        watch is not None and watch.purpose.kind not in access.kinds_for(by)
    ):
        raise ListeningError({"purpose": _("Your role may not add watches to this purpose.")})
    try:
        q.parse(query)
    except q.QueryError as error:
        raise ListeningError({"query": str(error)}) from error
    if not name.strip():
        raise ListeningError({"name": _("A watch needs a name.")})
    creating = watch is None
    if watch is None:
        watch = Watch(created_by=by if getattr(by, "pk", None) else None)
    watch.purpose, watch.name, watch.query, watch.active = purpose, name, query, active
    with transaction.atomic():
        watch.save()
        audit.record(
            actor=by,
            action="listening.watch.create" if creating else "listening.watch.change",
            obj=watch,
            data={"purpose": purpose.pk, "active": active},
        )
    matcher.changed()
    return watch


# Sources ---------------------------------------------------------------------------------------
#
# Only ``LISTENING_SOURCES_MANAGE`` (administrators) adds, configures, switches, polls, imports
# into sources and makes webhook tokens; anyone else gets ``PermissionDenied``. The audit data
# names the kind, the settings that are not secret, and what happened to a secret ("set",
# "removed") — never a token nor its hash.

SECRET_KEYS = frozenset({"token", "token_sha256"})
# The config keys the console manages per kind; others (``api``, ``preview`` for a mirror or a
# test server, set in a shell) are kept as they are.
MANAGED_KEYS: dict[str, frozenset[str]] = {
    SourceKind.RSS: frozenset({"url", "interval", "allow_private"}),
    SourceKind.MASTODON: frozenset(
        {"instance", "timeline", "tag", "local", "token", "streaming", "interval", "allow_private"}
    ),
    SourceKind.BLUESKY: frozenset({"url", "allow_private"}),
    SourceKind.TELEGRAM: frozenset({"token", "chats", "channel", "backfill", "interval"}),
    SourceKind.OWN: frozenset({"purpose", "interval"}),
    SourceKind.WEBHOOK: frozenset(),
    SourceKind.IMPORT: frozenset(),
}
# Kinds whose runs a person may ask for ("poll now"): the worker's ``runner.poll_due`` polls them.
POLLED_KINDS = frozenset({SourceKind.RSS, SourceKind.MASTODON, SourceKind.TELEGRAM, SourceKind.OWN})


def _may_manage_sources(by) -> None:
    if not has_capability(by, LISTENING_SOURCES_MANAGE):
        raise PermissionDenied(_("Your role may not manage listening sources."))


def _address_error(url: str, *, allow_private: bool) -> str | None:
    """Why copps would refuse to call ``url`` (None: it would call it)."""
    try:
        http.check_url(url, allow_private=allow_private)
    except http.Refused as exc:
        if "private" in str(exc):
            return _(
                "This address is on a private, loopback or reserved network. Tick “A server on "
                "our own network” if that is intended."
            )
        return _("Enter an http or https address with a host name.")
    except http.NotSent:
        return _("copps cannot find this server: the host name does not resolve.")
    return None


def check_source_config(kind: str, config: dict) -> None:
    """Raise ``ListeningError`` (field → message) unless ``config`` may be stored for ``kind``:
    addresses that copps may call, and for ``own`` an active communication purpose."""
    errors: dict[str | None, str] = {}
    private = bool(config.get("allow_private"))
    if kind == SourceKind.RSS:
        problem = _address_error(str(config.get("url", "")), allow_private=private)
        if problem:
            errors["url"] = problem
    elif kind == SourceKind.MASTODON:
        problem = _address_error(str(config.get("instance", "")), allow_private=private)
        if problem:
            errors["instance"] = problem
        if config.get("timeline") not in ("hashtag", "public"):
            errors["timeline"] = _("Choose the hashtag or the public timeline.")
        elif config.get("timeline") == "hashtag" and not config.get("tag"):
            errors["tag"] = _("A hashtag timeline needs a hashtag.")
    elif kind == SourceKind.BLUESKY and config.get("url"):
        parts = urlsplit(str(config["url"]))
        if parts.scheme not in ("ws", "wss"):
            errors["url"] = _("A Jetstream address starts with wss:// (or ws://).")
        else:
            scheme = "https" if parts.scheme == "wss" else "http"
            problem = _address_error(
                urlunsplit(parts._replace(scheme=scheme)), allow_private=private
            )
            if problem:
                errors["url"] = problem
    elif kind == SourceKind.TELEGRAM:
        if not config.get("token") and not config.get("channel"):
            errors[None] = _("A Telegram source needs a bot token or a public channel name.")
    elif kind == SourceKind.OWN:
        key = config.get("purpose")
        purpose = (
            Purpose.objects.filter(pk=key).first()
            if isinstance(key, int) and not isinstance(key, bool)
            else None
        )
        if purpose is None:
            errors["purpose"] = _("Choose a communication purpose.")
        elif purpose.kind == PurposeKind.INVESTIGATION:
            errors["purpose"] = _(
                "Mentions of our own channels serve communication purposes only, never an "
                "investigation."
            )
        elif not purpose.active:
            errors["purpose"] = _("This purpose is not active.")
    if errors:
        raise ListeningError(errors)


def _public_config(config: dict) -> dict:
    return {key: value for key, value in config.items() if key not in SECRET_KEYS}


def save_source(
    source: Source | None,
    *,
    by,
    kind: str,
    name: str,
    enabled: bool = True,
    config: dict | None = None,
    secrets: dict[str, str | None] | None = None,
) -> Source:
    """Create (``source`` None) or change a source. ``config``: the values of the kind's managed
    keys (a managed key left out is removed); ``secrets``: ``{"token": "…"}`` sets a secret,
    ``{"token": None}`` removes it, a secret not named is kept. The kind never changes."""
    _may_manage_sources(by)
    if source is not None and source.kind != kind:
        raise ListeningError({None: _("The kind of a source cannot change.")})
    if kind not in MANAGED_KEYS:
        raise ListeningError({"kind": _("Unknown kind of source.")})
    if not name.strip():
        raise ListeningError({"name": _("A source needs a name.")})
    managed = MANAGED_KEYS[kind]
    old = dict(source.config or {}) if source is not None else {}
    new = {key: value for key, value in old.items() if key not in managed or key in SECRET_KEYS}
    new.update(
        {
            key: value
            for key, value in (config or {}).items()
            if key in managed and key not in SECRET_KEYS and value is not None
        }
    )
    changed_secrets: dict[str, str] = {}
    for key, value in (secrets or {}).items():
        if key not in managed or key not in SECRET_KEYS:
            continue
        if value:
            new[key] = value
            changed_secrets[key] = "set"
        elif key in new:
            del new[key]
            changed_secrets[key] = "removed"
    check_source_config(kind, new)
    creating = source is None
    if source is None:
        source = Source(kind=kind)
    source.name, source.enabled, source.config = name.strip(), enabled, new
    with transaction.atomic():
        source.save()
        audit.record(
            actor=by,
            action="listening.source.create" if creating else "listening.source.change",
            obj=source,
            data={
                "kind": kind,
                "enabled": enabled,
                "config": _public_config(new),
                "secrets": changed_secrets,
            },
        )
    return source


def set_source_enabled(source: Source, *, by, enabled: bool) -> Source:
    """Switch a source on or off (a switched-off source is not polled, streamed nor accepted
    by its webhook)."""
    _may_manage_sources(by)
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(enabled=enabled)
        source.enabled = enabled
        audit.record(
            actor=by,
            action="listening.source.enable" if enabled else "listening.source.disable",
            obj=source,
            data={"kind": source.kind},
        )
    return source


def request_poll(source: Source, *, by) -> Source:
    """Ask the worker to poll ``source`` on its next tick, whatever its interval.

    The poll is queued, not run in the request: a slow or hostile server then holds the worker
    (with its own timeouts, one source after the other, as every scheduled poll) and never a
    web process, and a source is never polled twice at once from two places."""
    _may_manage_sources(by)
    if source.kind not in POLLED_KINDS or runner.is_streaming(source):
        raise ListeningError({None: _("Only polled sources can be polled now.")})
    if not source.enabled:
        raise ListeningError({None: _("Switch the source on first.")})
    now = timezone.now()
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(poll_requested_at=now)
        source.poll_requested_at = now
        audit.record(
            actor=by, action="listening.source.poll", obj=source, data={"kind": source.kind}
        )
    return source


def rotate_webhook_token(source: Source, *, by) -> str:
    """Make (or replace) a webhook source's token; returns it, to be shown once. Only its
    SHA-256 is stored; the old token stops working at once."""
    _may_manage_sources(by)
    if source.kind != SourceKind.WEBHOOK:
        raise ListeningError({None: _("Only webhook sources have a token.")})
    with transaction.atomic():
        replaced = bool((source.config or {}).get("token_sha256"))
        token = webhook.new_token(source)
        audit.record(
            actor=by,
            action="listening.source.token",
            obj=source,
            data={"kind": source.kind, "secrets": {"token": "replaced" if replaced else "set"}},
        )
    return token


def import_posts(source: Source, *, by, handle, fmt: str, size: int) -> importer.ImportReport:
    """Import a JSONL or CSV file into an import source through the importer (bad lines
    skipped, counted and reported); audited with the counts (never the file's content)."""
    _may_manage_sources(by)
    if source.kind != SourceKind.IMPORT:
        raise ListeningError({None: _("Files are imported into import sources only.")})
    if fmt not in ("jsonl", "csv"):
        raise ListeningError({"format": _("Choose JSON lines or CSV.")})
    report = importer.import_stream(source, handle, fmt=fmt)
    with transaction.atomic():
        audit.record(
            actor=by,
            action="listening.source.import",
            obj=source,
            data={
                "format": fmt,
                "bytes": size,
                "read": report.read,
                "stored": report.stored,
                "skipped": report.skipped,
            },
        )
    return report
