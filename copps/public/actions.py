"""Named actions of the public site: every write to its editable pages goes through here."""

import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.accounts import roles
from copps.audit import log as audit
from copps.newsroom.workflow import Conflict

from .models import Page

MAX_TITLE_CHARS = 200


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def validate_page(*, slug: str, language: str, title: str, body: str) -> None:
    """Raise ValidationError (a dict of field -> messages) when the input cannot be saved."""
    errors: dict[str, list[str]] = {}
    if slug not in Page.Slug.values:
        errors["slug"] = [_("Unknown page.")]
    if language not in {code for code, _name in settings.LANGUAGES}:
        errors["language"] = [_("Unknown language.")]
    if not title.strip():
        errors["title"] = [_("A title is required.")]
    elif len(title.strip()) > MAX_TITLE_CHARS:
        errors["title"] = [_("The title is longer than %(n)s characters.") % {"n": MAX_TITLE_CHARS}]
    if not body.strip():
        errors["body"] = [_("The text is required.")]
    elif len(body) > settings.COPPS_MAX_BODY_CHARS:
        errors["body"] = [
            _("The text is longer than %(n)s characters.") % {"n": settings.COPPS_MAX_BODY_CHARS}
        ]
    if errors:
        raise ValidationError(errors)


def update_page(
    *, by, slug: str, language: str, title: str, body: str, expected_updated_at=None
) -> Page:
    """Create or replace the page ``slug`` in ``language`` and leave an audit record.

    Only users with ``roles.PAGES_EDIT`` may (PermissionDenied otherwise). Invalid input raises
    ValidationError with field names as keys. ``expected_updated_at`` is the ``updated_at`` the
    editor loaded: when the page changed since, ``Conflict`` is raised instead of silently
    overwriting someone else's edit. Saving an unchanged text writes nothing.
    """
    if not roles.has_capability(by, roles.PAGES_EDIT):
        raise PermissionDenied(roles.PAGES_EDIT)
    validate_page(slug=slug, language=language, title=title, body=body)
    title = title.strip()
    # Line endings from browsers are CRLF; store one form so diffs and hashes are stable.
    body = body.replace("\r\n", "\n").strip() + "\n"
    with transaction.atomic():
        page = Page.objects.select_for_update().filter(slug=slug, language=language).first()
        if page is not None and expected_updated_at is not None:
            if page.updated_at != expected_updated_at:
                raise Conflict(f"page {slug}/{language} was changed by someone else")
        if page is not None and page.title == title and page.body == body:
            return page
        created = page is None
        before: dict[str, str] = {}
        if page is None:
            page = Page(slug=slug, language=language)
        else:
            before = {"title": page.title, "body_sha": _digest(page.body)}
        page.title = title
        page.body = body
        page.updated_at = timezone.now()
        page.updated_by = getattr(by, "username", str(by))
        page.save()
        audit.record(
            actor=by,
            action="page.create" if created else "page.update",
            obj=page,
            data={
                "slug": slug,
                "language": language,
                "before": before,
                "after": {"title": title, "body_sha": _digest(body)},
            },
        )
    return page
