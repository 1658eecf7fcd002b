"""Who may do what in public order and crisis: read from the one role table."""

from django.core.exceptions import PermissionDenied

from copps.accounts import roles
from copps.accounts.roles import has_capability


def require(user, capability: str) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(capability)


def may_view(user) -> bool:
    return has_capability(user, roles.EVENTS_VIEW)


def may_manage(user) -> bool:
    return has_capability(user, roles.EVENTS_MANAGE)


def may_fast_track(user) -> bool:
    return has_capability(user, roles.EVENTS_FAST_TRACK)


def may_push_counts(user) -> bool:
    """Commanders and administrators may push counts for any sensor with their own token."""
    return has_capability(user, roles.EVENTS_MANAGE)
