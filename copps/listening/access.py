"""Who may see which purposes, watches and results: communication and investigation apart.

``listening.communication`` covers the communication purposes (reputation, public mood, rumours,
an event), ``listening.investigation`` the investigation purposes. Whatever a user's role does not
cover does not exist for them: the helpers raise ``Http404`` (never 403, which would confirm that
an investigation purpose with that id exists).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from copps.accounts.roles import LISTENING_COMMUNICATION, LISTENING_INVESTIGATION, has_capability

from .models import Match, Post, Purpose, PurposeKind, Watch

COMMUNICATION_KINDS = frozenset(k for k in PurposeKind.values if k != PurposeKind.INVESTIGATION)
INVESTIGATION_KINDS = frozenset({PurposeKind.INVESTIGATION.value})


def kinds_for(user) -> frozenset[str]:
    """The purpose kinds ``user`` may see, create and edit."""
    kinds: set[str] = set()
    if has_capability(user, LISTENING_COMMUNICATION):
        kinds |= COMMUNICATION_KINDS
    if has_capability(user, LISTENING_INVESTIGATION):
        kinds |= INVESTIGATION_KINDS
    return frozenset(kinds)


def may_listen(user) -> bool:
    return bool(kinds_for(user))


def purposes_for(user) -> QuerySet[Purpose]:
    return Purpose.objects.filter(kind__in=kinds_for(user))


def watches_for(user) -> QuerySet[Watch]:
    return Watch.objects.filter(purpose__kind__in=kinds_for(user)).select_related("purpose")


def get_purpose(user, pk: int) -> Purpose:
    purpose = purposes_for(user).filter(pk=pk).first()
    if purpose is None:
        raise Http404
    return purpose


def get_watch(user, pk: int) -> Watch:
    watch = watches_for(user).filter(pk=pk).first()
    if watch is None:
        raise Http404
    return watch


def posts_for(user) -> QuerySet[Post]:
    """Posts ``user`` may try queries on: those not matched only by purposes hidden from them.

    A post kept because an investigation watch matched it is an investigation result; the
    communication desk must not find it through a test query (and vice versa).
    """
    kinds = kinds_for(user)
    hidden = Match.objects.filter(post=OuterRef("pk")).exclude(watch__purpose__kind__in=kinds)
    shown = Match.objects.filter(post=OuterRef("pk"), watch__purpose__kind__in=kinds)
    return Post.objects.filter(Q(~Exists(hidden)) | Q(Exists(shown)))
