"""Public comment pages (mounted at /comments/, outside the language prefix).

- ``/comments/on/<message id>/``: the comment form. The article and notice pages are cached for
  everyone and set no cookie, so their embedded form carries no CSRF token: posting it only
  shows a "check your comment" page (nothing is stored) that carries the token; the comment is
  stored by the second post, which the CSRF check protects. GET shows the form on its own page.
- ``/comments/<token>``: the author's private status page (published, waiting for moderation,
  hidden or removed under which house rule, and when).

Hostile input never gives a 500: a bot (honeypot) 400, empty or too long 400, a closed thread
403, a flood 429, a forged CSRF token 403, an unknown message or token 404.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from copps.lib.clientip import client_address
from copps.newsroom.models import Kind, Message
from copps.newsroom.workflow import PUBLIC_STATES, State

from . import comments
from .comment_forms import CommentForm
from .models import Direction, Visibility

T = "inbox/comments/"
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


def _message_or_404(pk: int) -> Message:
    message = (
        Message.objects.filter(pk=pk).select_related("area").prefetch_related("versions").first()
    )
    if message is None or not message.versions_list():
        raise Http404
    if message.state not in (*PUBLIC_STATES, State.EXPIRED, State.RETRACTED):
        raise Http404  # drafts and the like do not exist for the public
    return message


def _page_context(message: Message, language: str) -> dict:
    """The article the comment is about. A retracted message or a closed notice is named by
    neither title nor link: its text is gone from the site for good."""
    notice = getattr(message, "notice", None) if message.kind == Kind.NOTICE else None
    if message.state == State.RETRACTED or (notice is not None and notice.is_closed):
        return {"message": message, "version": None, "article_url": ""}
    version = message.version_for(language) or message.versions_list()[0]
    if notice is not None:
        url = f"/{language}/notices/{notice.pk}/"
    else:
        url = message.permalink_path(version.language)
    return {"message": message, "version": version, "article_url": url}


def _activate(language: str) -> str:
    if language in LANGUAGE_CODES:
        translation.activate(language)
        return language
    return translation.get_language() or settings.LANGUAGE_CODE


def _form_page(request, message, form, status=200):
    language = translation.get_language() or settings.LANGUAGE_CODE
    context = _page_context(message, language)
    context.update(
        form=form,
        comments_open=comments.comments_open(message),
        premoderated=comments.premoderated(message),
    )
    return render(request, T + "form.html", context, status=status)


@never_cache
@csrf_exempt  # the first step stores nothing; the second is checked by csrf_protect below
@require_http_methods(["GET", "HEAD", "POST"])
def new(request, pk: int):
    message = _message_or_404(pk)
    if request.method != "POST":
        language = _activate(request.GET.get("lang", ""))
        form = CommentForm(initial={"language": language})
        status = 200 if comments.comments_open(message) else 403
        return _form_page(request, message, form, status)
    _activate(request.POST.get("language", ""))
    if request.POST.get("step") == "send":
        return _send(request, message)
    return _check(request, message)


def _refusal(request, message, reason: str, status: int):
    language = translation.get_language() or settings.LANGUAGE_CODE
    context = _page_context(message, language)
    context["reason"] = reason
    return render(request, T + "refused.html", context, status=status)


def _check(request, message):
    """Step one: validate and show the comment back with a "Send" button (and a CSRF token)."""
    if not comments.comments_open(message):
        return _refusal(request, message, "closed", 403)
    form = CommentForm(request.POST)
    if form.is_bot():
        return _refusal(request, message, "rejected", 400)
    if not form.is_valid():
        return _form_page(request, message, form, 400)
    language = translation.get_language() or settings.LANGUAGE_CODE
    context = _page_context(message, language)
    context.update(
        form=form,
        data=form.cleaned_data,
        author=form.cleaned_data["name"] or comments.ANONYMOUS,
        premoderated=comments.premoderated(message),
    )
    return render(request, T + "check.html", context)


@csrf_protect
def _send(request, message):
    """Step two (CSRF-checked): store the comment and go to the author's status page."""
    if not comments.comments_open(message):
        return _refusal(request, message, "closed", 403)
    form = CommentForm(request.POST)
    if form.is_bot():
        return _refusal(request, message, "rejected", 400)
    if not form.is_valid():
        return _form_page(request, message, form, 400)
    data = form.cleaned_data
    try:
        entry = comments.post_comment(
            message,
            text=data["text"],
            name=data["name"],
            language=data["language"] or (translation.get_language() or ""),
            client=client_address(request),
        )
    except comments.Closed:
        return _refusal(request, message, "closed", 403)
    except comments.Throttled:
        return _refusal(request, message, "throttled", 429)
    except ValidationError as error:
        form.add_error("text", error)
        return _form_page(request, message, form, 400)
    return redirect(f"/comments/{comments.status_token(entry)}?posted=1", permanent=False)


@never_cache
@require_safe
def status(request, token: str):
    entry = comments.entry_for_token(token)
    if entry is None:
        raise Http404
    conversation = entry.conversation
    message = conversation.message
    language = _activate(conversation.language)
    context = _page_context(message, language) if message is not None else {}
    replies = []
    if entry.visibility not in (Visibility.HIDDEN, Visibility.REMOVED):
        replies = [
            e
            for e in conversation.entries.all()
            if e.direction == Direction.OUT and e.send_state in comments._SHOWN_REPLY_STATES
        ]
    context.update(
        entry=entry,
        author=entry.author or comments.ANONYMOUS,
        posted=request.GET.get("posted") == "1",
        replies=replies,
        Visibility=Visibility,
    )
    response = render(request, T + "status.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response
