"""Who may see and do what with notices (the one access helper for this object type).

- see the notices console (list, detail without internal data): ``MESSAGE_VIEW`` (all staff);
- create and edit notices, record authorisations, submit, resolve, and see the internal case
  reference and the magistrate's order: ``NOTICES_MANAGE`` (investigators). Communication staff
  never see what belongs to the investigation (ARCHITECTURE.md invariant 4).
- approving the public text is the newsroom's normal review (editors; four eyes).
"""

from django.http import Http404

from copps.accounts import roles
from copps.accounts.roles import has_capability

from .models import Notice


def can_view(user) -> bool:
    return has_capability(user, roles.MESSAGE_VIEW)


def can_manage(user) -> bool:
    return has_capability(user, roles.NOTICES_MANAGE)


def sees_internal(user) -> bool:
    """The case reference and the magistrate's order: investigators only."""
    return can_manage(user)


def get_notice_for(user, pk) -> Notice:
    """The notice with ``pk`` if ``user`` may see notices; 404 otherwise (no hint it exists)."""
    notice = (
        Notice.objects.select_related("message", "authorisation", "created_by")
        .filter(pk=pk)
        .first()
        if str(pk).isdigit()
        else None
    )
    if notice is None or not can_view(user):
        raise Http404
    return notice
