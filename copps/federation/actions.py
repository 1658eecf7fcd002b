"""Named actions on the fediverse presence (each audited, each in one transaction)."""

from __future__ import annotations

import csv

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from copps.audit import log as audit
from copps.channels.models import Channel

from . import activities, blocks, health, keys, outgoing, remote
from .models import (
    Actor,
    BlockSeverity,
    DomainBlock,
    Follower,
    Following,
    FollowState,
    InboxItem,
    ItemState,
    Report,
    ReportState,
    Server,
)


def _accounts_changed() -> None:
    """The public pages' rel="me" links list the force's accounts: refresh them now and again
    after the commit (a reader in between must not cache the old list)."""
    from .context_processors import forget

    forget()
    transaction.on_commit(forget)


PROFILE_FIELDS = (
    "kind",
    "name",
    "summary",
    "avatar",
    "header",
    "links",
    "manually_approves_followers",
    "area",
    "officer",
)


@transaction.atomic
def create_actor(*, by, username: str, kind: str, name: str, **fields) -> Actor:
    """A new account ``@username``, with its key pair and its channel (so messages reach it)."""
    private, public = keys.generate()
    channel = Channel.objects.create(
        name=f"Fediverse @{username}",
        slug=f"fediverse-{username}"[:60],
        kind="activitypub",
        language=settings.LANGUAGE_CODE,
        config={},
    )
    actor = Actor.objects.create(
        username=username,
        kind=kind,
        name=name,
        private_key_encrypted=private,
        public_key_pem=public,
        channel=channel,
        **{k: v for k, v in fields.items() if k in PROFILE_FIELDS},
    )
    audit.record(actor=by, action="fediverse.actor_create", obj=actor, data={"username": username})
    _accounts_changed()
    return actor


@transaction.atomic
def update_actor(actor: Actor, *, by, **fields) -> Actor:
    """Change the profile; followers' servers get an Update so they show the new profile."""
    changed = sorted(k for k in fields if k in PROFILE_FIELDS)
    for name in changed:
        setattr(actor, name, fields[name])
    actor.updated_at = timezone.now()
    actor.save()
    if actor.channel_id:
        Channel.objects.filter(pk=actor.channel_id).update(name=f"Fediverse @{actor.username}")
    outgoing.to_followers(actor, activities.profile_update(actor))
    audit.record(actor=by, action="fediverse.actor_update", obj=actor, data={"fields": changed})
    _accounts_changed()
    return actor


@transaction.atomic
def set_enabled(actor: Actor, enabled: bool, *, by) -> None:
    actor.enabled = enabled
    actor.save(update_fields=["enabled"])
    if actor.channel_id:
        Channel.objects.filter(pk=actor.channel_id).update(enabled=enabled)
    audit.record(
        actor=by,
        action="fediverse.actor_enable" if enabled else "fediverse.actor_disable",
        obj=actor,
    )
    _accounts_changed()


@transaction.atomic
def approve_follower(follower: Follower, *, by) -> None:
    if follower.state == FollowState.ACCEPTED:
        return
    follower.state, follower.accepted_at = FollowState.ACCEPTED, timezone.now()
    follower.save(update_fields=["state", "accepted_at"])
    outgoing.respond(follower.actor, follower, "Accept")
    audit.record(
        actor=by,
        action="fediverse.follower_approve",
        obj=follower,
        data={"remote": follower.remote.uri},
    )


@transaction.atomic
def reject_follower(follower: Follower, *, by, reason: str = "") -> None:
    """Refuse a follow request, or remove an existing follower (both are a Reject)."""
    outgoing.respond(follower.actor, follower, "Reject")
    audit.record(
        actor=by,
        action="fediverse.follower_remove",
        obj=follower,
        reason=reason,
        data={"remote": follower.remote.uri, "state": follower.state},
    )
    follower.delete()


@transaction.atomic
def block_domain(*, by, domain: str, severity: str = BlockSeverity.SUSPEND, comment: str = ""):
    """Block a server. Suspending drops its followers and everything it sent that waits."""
    domain = blocks.normalise(domain)
    if not domain or "/" in domain or " " in domain:
        raise ValueError("not a domain name")
    block, _ = DomainBlock.objects.update_or_create(
        domain=domain,
        defaults={"severity": severity, "public_comment": comment[:300], "created_by": str(by)},
    )
    if severity == BlockSeverity.SUSPEND:
        suffix = "." + domain
        for model in (Follower, Following):
            model.objects.filter(remote__domain=domain).delete()
            model.objects.filter(remote__domain__endswith=suffix).delete()
        InboxItem.objects.filter(remote__domain=domain, state=ItemState.NEW).delete()
    audit.record(
        actor=by,
        action="fediverse.domain_block",
        obj=block,
        reason=comment,
        data={"domain": domain, "severity": severity},
    )
    return block


@transaction.atomic
def unblock_domain(block: DomainBlock, *, by) -> None:
    audit.record(
        actor=by, action="fediverse.domain_unblock", obj=block, data={"domain": block.domain}
    )
    block.delete()


def import_blocklist(text: str, *, by) -> tuple[int, list[str]]:
    """Import a block list as government servers publish them: Mastodon's CSV export
    (``#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate``; quoted
    fields may hold commas) or one domain per line (``#`` and ``//`` start comments).
    Severity ``noop`` (Mastodon: only media or reports are refused) blocks nothing and is
    skipped. Returns (imported, errors)."""
    imported, errors = 0, []
    lines = text.replace("\x00", "").splitlines()[:10_000]
    for number, fields in enumerate(csv.reader(lines), start=1):
        fields = [f.strip() for f in fields]
        if not fields or not fields[0] or fields[0].startswith(("#", "//")):
            continue
        domain = fields[0]
        severity = BlockSeverity.SUSPEND
        if len(fields) > 1 and fields[1] == "noop":
            continue
        if len(fields) > 1 and fields[1] == "silence":
            severity = BlockSeverity.REJECT_REPLIES
        comment = fields[4] if len(fields) > 4 else ""
        try:
            block_domain(by=by, domain=domain, severity=severity, comment=comment)
            imported += 1
        except ValueError:
            errors.append(f"line {number}: {domain[:80]!r} is not a domain name")
    return imported, errors


@transaction.atomic
def reset_server(server: Server, *, by) -> None:
    """Someone says a paused or dead server is worth trying again now: its failure count and
    pause are cleared, so the next delivery round calls it."""
    audit.record(
        actor=by,
        action="fediverse.server_reset",
        obj=server,
        data={"domain": server.domain, "failures": server.consecutive_failures},
    )
    health.reset(server.domain)


@transaction.atomic
def moderate(item: InboxItem, *, by, approve: bool, reason: str = "") -> None:
    item.state = ItemState.APPROVED if approve else ItemState.REJECTED
    item.moderated_by, item.moderated_at = str(getattr(by, "username", by)), timezone.now()
    item.moderation_reason = reason[:300]
    item.save(update_fields=["state", "moderated_by", "moderated_at", "moderation_reason"])
    audit.record(
        actor=by,
        action="fediverse.item_approve" if approve else "fediverse.item_reject",
        obj=item,
        reason=reason,
    )


@transaction.atomic
def resolve_report(report: Report, *, by, resolution: str) -> None:
    report.state, report.resolution = ReportState.RESOLVED, resolution[:500]
    report.resolved_by = str(getattr(by, "username", by))
    report.save(update_fields=["state", "resolution", "resolved_by"])
    audit.record(actor=by, action="fediverse.report_resolve", obj=report, reason=resolution)


def follow(actor: Actor, handle: str, *, by) -> Following:
    """Follow a remote account (another force's news account). Looking it up happens before the
    transaction: a slow server must not hold database locks."""
    target = remote.resolve_handle(handle)
    with transaction.atomic():
        existing = Following.objects.filter(actor=actor, remote=target).first()
        if existing:
            return existing
        activity = activities.follow(actor.username, target.uri, timezone.now().isoformat())
        following = Following.objects.create(
            actor=actor, remote=target, state=FollowState.PENDING, activity_id=activity["id"]
        )
        outgoing.queue(actor, target.inbox, activity)
        audit.record(
            actor=by, action="fediverse.follow", obj=following, data={"remote": target.uri}
        )
    return following


@transaction.atomic
def unfollow(following: Following, *, by) -> None:
    follow_activity = activities.follow(following.actor.username, following.remote.uri, "")
    follow_activity["id"] = following.activity_id
    outgoing.queue(
        following.actor,
        following.remote.inbox,
        activities.undo(following.actor.username, follow_activity),
    )
    audit.record(
        actor=by, action="fediverse.unfollow", obj=following, data={"remote": following.remote.uri}
    )
    following.delete()
