"""Anonymous tips on the public site: ``/tips/new``, ``/notices/<id>/tip``, ``/tips/follow-up``.

- No account, no session, no cookie but CSRF's. Nothing about the client is stored: the views
  never pass the request to ``copps.investigations.tips``; flood limits count daily HMACs
  (``tip_forms``). The follow-up page carries code + secret in hidden fields, not in a session.
- Works without JavaScript: a plain form post is accepted under a stricter limit; the small
  proof-of-work script only earns the ordinary one.
- Hostile input is a clear 400 (or 404/405/429), never a 500. Every page that shows a tip code,
  a secret or a conversation is ``Cache-Control: no-store``.
- The language comes from ``?lang=``, the form's hidden ``lang`` field, or the browser.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from copps.inbox.attachments import check_upload
from copps.inbox.models import Direction, SendState

from . import tip_forms as forms
from . import tips
from .models import Notice, NoticeState, TipState

EMERGENCY_PHONE = "112"
POLICE_PHONE = "101"


def _language(request) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    for value in (request.POST.get("lang", ""), request.GET.get("lang", "")):
        if isinstance(value, str) and value in codes:
            return value
    current = translation.get_language() or settings.LANGUAGE_CODE
    return current if current in codes else settings.LANGUAGE_CODE


def with_language(view):
    """Run the view in the language of ?lang= / the hidden field / the browser."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        language = _language(request) if request.method in ("GET", "HEAD", "POST") else "en"
        with translation.override(language):
            request.LANGUAGE_CODE = language
            return view(request, *args, **kwargs)

    return wrapped


def _context(request, **extra) -> dict:
    language = request.LANGUAGE_CODE
    notice = extra.get("notice")
    if notice is not None:
        version = notice.message.version_for(language)
        extra["notice_title"] = version.title if version is not None else ""
    return {
        "lang": language,
        "language_urls": {code: f"{request.path}?lang={code}" for code, _n in settings.LANGUAGES},
        "phone": POLICE_PHONE,
        "emergency": EMERGENCY_PHONE,
        "section": "notices",
        **extra,
    }


def _form_page(request, form, *, notice=None, status=200, limited=False, refused=""):
    return render(
        request,
        "investigations/tips/form.html",
        _context(
            request,
            form=form,
            notice=notice,
            challenge=forms.new_challenge(),
            bits=forms.pow_bits(),
            max_files=forms.max_files(),
            max_mb=settings.COPPS_TIP_MAX_FILE_MB,
            limited=limited,
            refused=refused,
        ),
        status=status,
    )


def _public_notice(pk) -> Notice | None:
    notice = tips.open_notice(pk)
    if notice is None or notice.message.state not in _public_states():
        return None
    return notice


def _public_states():
    from copps.newsroom.workflow import PUBLIC_STATES

    return PUBLIC_STATES


@never_cache
@sensitive_post_parameters("message", "secret", "code")
@require_http_methods(["GET", "HEAD", "POST"])
@with_language
def tip_new(request):
    return _tip(request, notice=None, notice_url=False)


@never_cache
@sensitive_post_parameters("message", "secret", "code")
@require_http_methods(["GET", "HEAD", "POST"])
@with_language
def notice_tip(request, pk: int):
    notice = _public_notice(pk)
    if notice is None and request.method != "POST":
        # Unknown, unpublished or closed: as the notice page itself, it does not exist here.
        raise Http404
    # A notice closed between showing the form and posting it: the tip is kept, unlinked.
    return _tip(request, notice=notice, notice_url=True)


@sensitive_variables()
def _tip(request, *, notice, notice_url: bool):
    if request.method != "POST":
        initial = {"lang": request.LANGUAGE_CODE, "notice": notice.pk if notice else ""}
        return _form_page(request, forms.TipForm(initial=initial), notice=notice)

    form = forms.TipForm(request.POST)
    if request.POST.get("website", ""):
        # The honeypot was filled in: a robot. Nothing stored, a neutral answer.
        return _form_page(
            request,
            forms.TipForm(initial={"lang": request.LANGUAGE_CODE}),
            notice=notice,
            status=400,
            refused="honeypot",
        )
    if not notice_url:
        notice = _public_notice(request.POST.get("notice", ""))
    files = request.FILES.getlist("attachments")
    valid = form.is_valid()
    if len(files) > forms.max_files():
        form.add_error(
            None,
            translation.gettext("You can attach at most %(n)d files.") % {"n": forms.max_files()},
        )
        valid = False
    else:
        for upload in files:
            try:
                check_upload(upload)
            except ValidationError as error:
                form.add_error(None, error)
                valid = False
    if not valid:
        if files:
            form.add_error(
                None,
                translation.gettext("Nothing was sent. Please choose your files again."),
            )
        return _form_page(request, form, notice=notice, status=400)

    challenge = request.POST.get("challenge", "")
    with_work = forms.work_is_valid(challenge, request.POST.get("nonce", ""))
    key = forms.client_key(request, "submit")
    if forms.over_limit(key, forms.submit_limit(with_work)):
        response = _form_page(request, form, notice=notice, status=429, limited=True)
        response["Retry-After"] = "3600"
        return response
    if with_work and not forms.consume_challenge(challenge):
        # The same work twice: counted as none.
        if forms.over_limit(key, forms.submit_limit(False)):
            response = _form_page(request, form, notice=notice, status=429, limited=True)
            response["Retry-After"] = "3600"
            return response
    forms.hit(key)
    try:
        new = tips.create_tip(
            text=form.cleaned_data["message"],
            notice=notice,
            files=files,
            language=request.LANGUAGE_CODE,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _form_page(request, form, notice=notice, status=400)
    return render(
        request,
        "investigations/tips/confirmation.html",
        _context(request, code=new.tip.code, secret=new.secret, notice=notice),
    )


# Follow-up ----------------------------------------------------------------------------------------


def _conversation(tip) -> list[dict]:
    items = []
    for entry in tips.questions_for_tipster(tip):
        if entry.direction == Direction.OUT and entry.send_state not in (
            SendState.SENT,
            SendState.UNKNOWN,
        ):
            continue
        if entry.visibility == "removed":
            continue
        items.append(
            {
                "mine": entry.direction == Direction.IN,
                "text": entry.text,
                "at": entry.created_at,
            }
        )
    return items


def _follow_page(request, form, *, status=200, failed=False, limited=False):
    response = render(
        request,
        "investigations/tips/followup.html",
        _context(request, form=form, failed=failed, limited=limited),
        status=status,
    )
    if limited:
        response["Retry-After"] = "3600"
    return response


@never_cache
@sensitive_post_parameters("message", "secret", "code")
@require_http_methods(["GET", "HEAD", "POST"])
@with_language
@sensitive_variables()
def follow_up(request):
    if request.method != "POST":
        return _follow_page(request, forms.FollowUpForm(initial={"lang": request.LANGUAGE_CODE}))
    form = forms.FollowUpForm(request.POST)
    if not form.is_valid():
        return _follow_page(request, form, status=400)
    key = forms.client_key(request, "followup-fail")
    if forms.over_limit(key, forms.followup_failure_limit()):
        return _follow_page(request, form, status=429, limited=True)
    tip = tips.find_tip(form.cleaned_data["code"], form.cleaned_data["secret"])
    if tip is None:
        forms.hit(key)
        # The same answer whether the code does not exist or the secret is wrong.
        return _follow_page(
            request,
            forms.FollowUpForm(initial={"lang": request.LANGUAGE_CODE}),
            status=400,
            failed=True,
        )

    action = request.POST.get("action", "")
    answer = forms.AnswerForm()
    done = ""
    status = 200
    if action == "answer":
        answer = forms.AnswerForm(request.POST)
        # Answers count as messages: one tip must not open a door around the flood limit.
        answer_key = forms.client_key(request, "answer")
        if answer.is_valid() and forms.over_limit(answer_key, forms.submit_limit(True)):
            # The form page's heading (already translated); the text stays in the form.
            answer.add_error(None, translation.gettext("Too many messages from your connection"))
            status = 429
        elif answer.is_valid():
            forms.hit(answer_key)
            try:
                tips.tipster_answer(tip, text=answer.cleaned_data["message"])
            except ValidationError as error:
                answer.add_error(None, error)
                status = 400
            else:
                answer = forms.AnswerForm()
                done = "answered"
        else:
            status = 400
    elif action == "stop":
        tips.stop(tip)
        done = "stopped"
    response = render(
        request,
        "investigations/tips/conversation.html",
        _context(
            request,
            tip=tip,
            code=tip.code,
            secret=form.cleaned_data["secret"],
            items=_conversation(tip),
            answer=answer,
            done=done,
            open=tip.state == TipState.OPEN,
            notice=tip.notice if tip.notice and tip.notice.state == NoticeState.ACTIVE else None,
        ),
        status=status,
    )
    if status == 429:
        response["Retry-After"] = "3600"
    return response
