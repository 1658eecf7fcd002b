"""Named writes of the purpose register: purposes and watches, each change audited.

Views call these; they check what the user's role allows (``access.kinds_for``), validate
(an investigation purpose needs its case reference, legal basis, authorising officer and end
date; a watch's query must parse), write in one transaction with an audit record, and tell the
matcher to rebuild. Errors are ``ListeningError`` with a field name (or None) and a message.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from copps.audit import log as audit

from . import access, matcher
from . import query as q
from .models import Purpose, PurposeKind, Watch

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
