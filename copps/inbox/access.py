"""Who may see and do what in the inbox (the one access helper for conversations).

A user sees the conversations of the desks their role holds (``roles.INBOX_COMMUNICATION``,
``roles.INBOX_INVESTIGATION``); anything else is a 404, with no hint that it exists. Tips and
SMS are on the investigation desk: communication staff never see them.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from copps.accounts import roles
from copps.accounts.roles import has_capability

from .models import Conversation, Desk, Entry

DESK_CAPABILITY = {
    Desk.COMMUNICATION: roles.INBOX_COMMUNICATION,
    Desk.INVESTIGATION: roles.INBOX_INVESTIGATION,
}


def desks_for(user) -> set[str]:
    return {str(desk) for desk, cap in DESK_CAPABILITY.items() if has_capability(user, cap)}


def can_use_inbox(user) -> bool:
    return bool(desks_for(user))


def can_investigate(user) -> bool:
    return has_capability(user, roles.INBOX_INVESTIGATION)


def can_moderate(user) -> bool:
    return has_capability(user, roles.INBOX_MODERATE)


def conversations_for(user) -> QuerySet[Conversation]:
    return Conversation.objects.filter(desk__in=desks_for(user))


def get_conversation_for(user, pk) -> Conversation:
    """The conversation ``pk`` if it is on one of ``user``'s desks; 404 otherwise."""
    if not str(pk).isdigit():
        raise Http404
    conversation = conversations_for(user).filter(pk=pk).first()
    if conversation is None:
        raise Http404
    return conversation


def get_entry_for(user, pk) -> Entry:
    if not str(pk).isdigit():
        raise Http404
    entry = (
        Entry.objects.select_related("conversation")
        .filter(pk=pk, conversation__desk__in=desks_for(user))
        .first()
    )
    if entry is None:
        raise Http404
    return entry
