"""The console editor of the public site's pages (house rules, privacy statement, ...).

Access checklist: anonymous -> login; signed in without ``roles.PAGES_EDIT`` -> 403; unknown
page or language -> 404; other methods -> 405; invalid input -> the form again with field
errors (422); someone saved the page meanwhile -> the form with a warning (409). Writes go
through ``copps.public.actions.update_page``.
"""

from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts import roles
from copps.newsroom.markup import render_markdown
from copps.newsroom.workflow import Conflict

from . import actions
from .models import Page

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


class PageForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=actions.MAX_TITLE_CHARS)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=gettext_lazy(
            "Markdown: a blank line starts a paragraph, ## a heading, - a list item, "
            "[text](https://…) a link."
        ),
    )
    # The version the editor started from (ISO time); see actions.update_page.
    loaded_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_body(self):
        body = self.cleaned_data["body"]
        if len(body) > settings.COPPS_MAX_BODY_CHARS:
            raise ValidationError(
                _("The text is longer than %(n)s characters.")
                % {"n": settings.COPPS_MAX_BODY_CHARS}
            )
        return body

    def clean_loaded_at(self):
        raw = self.cleaned_data.get("loaded_at") or ""
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None


def _require_editor(user) -> None:
    if not roles.has_capability(user, roles.PAGES_EDIT):
        raise PermissionDenied(roles.PAGES_EDIT)


@login_required
@require_safe
def page_list(request):
    """Every editable page in every language: edit what exists, write what is missing."""
    _require_editor(request.user)
    existing = {
        (p.slug, p.language): p
        for p in Page.objects.only("slug", "language", "title", "updated_at", "updated_by")
    }
    rows = [
        {
            "slug": slug,
            "label": label,
            "cells": [
                {"language": code, "page": existing.get((slug, code))} for code in LANGUAGE_CODES
            ],
        }
        for slug, label in Page.Slug.choices
    ]
    return render(
        request,
        "public/console/page_list.html",
        {"rows": rows, "languages": settings.LANGUAGES, "section": "pages"},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def page_edit(request, slug: str, language: str):
    """Edit one page in one language. "Preview" renders the text; "Save" stores it."""
    _require_editor(request.user)
    if slug not in Page.Slug.values or language not in LANGUAGE_CODES:
        raise Http404
    page = Page.objects.filter(slug=slug, language=language).first()
    status = 200
    preview = None
    conflict = False
    if request.method == "POST":
        form = PageForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if request.POST.get("intent") == "preview":
                preview = render_markdown(data["body"])
            else:
                try:
                    saved = actions.update_page(
                        by=request.user,
                        slug=slug,
                        language=language,
                        title=data["title"],
                        body=data["body"],
                        expected_updated_at=data["loaded_at"] if page else None,
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                    status = 422
                except Conflict:
                    # Keep the editor's text; saving again knowingly replaces the newer one.
                    conflict = True
                    status = 409
                    page = Page.objects.get(slug=slug, language=language)
                    resubmit = request.POST.copy()
                    resubmit["loaded_at"] = page.updated_at.isoformat()
                    form = PageForm(resubmit)
                    form.is_valid()
                else:
                    messages.success(
                        request,
                        format_html(
                            '{} <a href="{}">{}</a>',
                            _("The page was saved."),
                            _public_url(saved),
                            _("View it on the website"),
                        ),
                    )
                    return redirect("pages:edit", slug=slug, language=language)
        else:
            status = 422
    else:
        initial = {"loaded_at": page.updated_at.isoformat()} if page else {}
        if page:
            initial.update(title=page.title, body=page.body)
        form = PageForm(initial=initial)
    return render(
        request,
        "public/console/page_edit.html",
        {
            "form": form,
            "page": page,
            "slug": slug,
            "slug_label": Page.Slug(slug).label,
            "language": language,
            "language_name": dict(settings.LANGUAGES)[language],
            "preview": preview,
            "conflict": conflict,
            "public_url": _public_url(page) if page else "",
            "section": "pages",
        },
        status=status,
    )


@login_required
@require_POST
def page_preview(request):
    """The rendered Markdown of ``body`` as an HTML fragment (htmx live preview)."""
    _require_editor(request.user)
    body = request.POST.get("body", "")[: settings.COPPS_MAX_BODY_CHARS]
    return HttpResponse(render_markdown(body))


def _public_url(page: Page) -> str:
    with translation.override(page.language):
        return reverse("public:page", args=[page.slug])
