"""Public subscription pages (under the language prefix). Thin: the work is in
``subscriptions.py``. No cookie is set here except Django's CSRF cookie; the SMS code step carries
its state in an encrypted hidden field. Unlike the news pages these are never cached (they carry
a CSRF token, and some a personal link or ticket)."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from copps.lib.clientip import client_address

from . import subscriptions as subs
from .forms import CodeForm, SubscribeForm, UnsubscribeRequestForm
from .models import Medium

T = "channels/subscribe/"


def _current_language() -> str:
    return (get_language() or "nl").split("-")[0]


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request):
    sms_available = subs.sms_channel() is not None
    if request.method == "GET":
        form = SubscribeForm(initial={"language": _current_language()}, sms_available=sms_available)
        return render(request, T + "form.html", {"form": form})
    form = SubscribeForm(request.POST, sms_available=sms_available)
    if form.is_bot():
        return redirect("subscribe:sent")  # looks like success; nothing stored, nothing sent
    status = 200
    if form.is_valid():
        try:
            pending = subs.subscribe(
                medium=form.cleaned_data["medium"],
                address=form.address(),
                language=form.cleaned_data["language"],
                topics=form.cleaned_data["topics"],
                postcodes=form.cleaned_data["postcodes"],
                source=client_address(request),
            )
        except ValidationError as error:
            form.add_action_errors(error)
            status = 400
        except subs.Throttled:
            return render(request, T + "throttled.html", status=429)
        except subs.NotSent:
            return render(request, T + "not_sent.html", status=503)
        else:
            if pending.medium == Medium.SMS:
                code_form = CodeForm(initial={"ticket": pending.ticket})
                return render(request, T + "code.html", {"form": code_form})
            return redirect("subscribe:sent")
    else:
        status = 400
    return render(request, T + "form.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET"])
def sent(request):
    return render(request, T + "sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def code(request):
    if request.method == "GET":
        return redirect("subscribe:form")
    form = CodeForm(request.POST)
    if not form.is_valid():
        if "ticket" in form.errors:
            return render(request, T + "invalid.html", {"reason": "unknown"}, status=400)
        return render(request, T + "code.html", {"form": form}, status=400)
    try:
        subscription = subs.confirm_code(form.cleaned_data["ticket"], form.cleaned_data["code"])
    except subs.InvalidConfirmation as error:
        if error.reason == "wrong_code":
            form.add_error("code", _wrong_code_message())
            return render(request, T + "code.html", {"form": form}, status=400)
        status = 410 if error.reason in ("expired", "too_many") else 400
        return render(request, T + "invalid.html", {"reason": error.reason}, status=status)
    return render(request, T + "confirmed.html", {"subscription": subscription})


def _wrong_code_message() -> str:
    from django.utils.translation import gettext as _

    return _("This code is not right. Check the text message and try again.")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    # GET only shows a button: mail scanners open links, and must not confirm for the citizen.
    if request.method == "GET":
        return render(request, T + "confirm.html", {"token": token})
    try:
        subscription = subs.confirm_email(token)
    except subs.InvalidConfirmation as error:
        status = 410 if error.reason == "expired" else 404
        return render(request, T + "invalid.html", {"reason": error.reason}, status=status)
    return render(request, T + "confirmed.html", {"subscription": subscription})


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_request(request):
    sms_available = subs.sms_channel() is not None
    if request.method == "GET":
        form = UnsubscribeRequestForm(sms_available=sms_available)
        return render(request, T + "unsubscribe_request.html", {"form": form})
    form = UnsubscribeRequestForm(request.POST, sms_available=sms_available)
    if form.is_bot():
        return render(request, T + "unsubscribe_sent.html")
    if form.is_valid():
        try:
            subs.request_unsubscribe_link(
                medium=form.cleaned_data["medium"],
                address=form.address(),
                source=client_address(request),
            )
        except ValidationError as error:
            form.add_action_errors(error)
        except subs.Throttled:
            return render(request, T + "throttled.html", status=429)
        except subs.NotSent:
            return render(request, T + "not_sent.html", status=503)
        else:
            return render(request, T + "unsubscribe_sent.html")
    return render(request, T + "unsubscribe_request.html", {"form": form}, status=400)
