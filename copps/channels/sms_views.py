"""The endpoints SMS gateways call (thin: the work is in ``sms_inbound``).

- ``GET /channels/sms/dlr/<recipient id>/<mac>/?status=<Kannel DLR type>`` — Kannel's dlr-url;
- ``POST /channels/sms/report/`` with JSON ``{"reference", "status"}`` — a generic gateway's
  delivery report; the reference carries the MAC;
- ``GET|POST /channels/sms/inbound/?from=&to=&text=&token=`` — Kannel's sms-service get-url; the
  body of the answer is the reply SMS. Disabled (404) while ``COPPS_SMS_INBOUND_TOKEN`` is empty.

Answers are short plain text; a forged MAC or token is 403, malformed input 400, an unknown
copy 404; never a 500 on garbage.
"""

from __future__ import annotations

import hmac
import json
import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import sms_inbound

logger = logging.getLogger("copps.channels.sms")
MAX_REPORT_BYTES = 4096
MAX_TEXT = 1600


def _plain(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def dlr(request: HttpRequest, recipient_id: int, mac: str) -> HttpResponse:
    if recipient_id > sms_inbound.MAX_ID or not sms_inbound.valid_mac(recipient_id, mac):
        return _plain("forbidden", 403)
    report = sms_inbound.kannel_report(request.GET.get("status", ""))
    if report is None:
        return _plain("unknown status", 400)
    detail = request.GET.get("reply", "")[:200].replace("\x00", "")
    return _apply(recipient_id, report, detail)


def _apply(recipient_id: int, report: str, detail: str) -> HttpResponse:
    # A report is small and must not be lost: a database that is busy for a moment (SQLite
    # under a concurrent write) is tried again briefly, then the gateway is told to retry (503).
    for pause in (0.05, 0.2, 0.5, None):
        try:
            found = sms_inbound.apply_report(recipient_id, report, detail)
        except (OperationalError, InterfaceError):  # busy or, in tests, a shared connection
            if pause is None:
                logger.warning("delivery report for copy %s: database busy", recipient_id)
                return _plain("busy, try again", 503)
            time.sleep(pause)
            continue
        if found is None:
            return _plain("unknown recipient", 404)
        return _plain("OK")
    return _plain("busy, try again", 503)  # not reached


@csrf_exempt
@require_POST
def report(request: HttpRequest) -> HttpResponse:
    if len(request.body) > MAX_REPORT_BYTES:
        return _plain("too large", 413)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _plain("invalid JSON", 400)
    if not isinstance(data, dict) or not isinstance(data.get("reference"), str):
        return _plain("reference and status are required", 400)
    recipient_id = sms_inbound.recipient_id_for_reference(data["reference"])
    if recipient_id is None:
        return _plain("forbidden", 403)
    status = sms_inbound.normalise_report(data.get("status"))
    if status is None:
        return _plain("unknown status", 400)
    detail = str(data.get("error") or "")[:200].replace("\x00", "")
    return _apply(recipient_id, status, detail)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound(request: HttpRequest) -> HttpResponse:
    expected = str(getattr(settings, "COPPS_SMS_INBOUND_TOKEN", "") or "")
    if not expected:
        return _plain("not found", 404)
    params = request.POST if request.method == "POST" else request.GET
    token = params.get("token", "")
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return _plain("forbidden", 403)
    sender = params.get("from", "").strip().replace("\x00", "")
    if not sender or len(sender) > 40:
        return _plain("from is required", 400)
    text = params.get("text", "").replace("\x00", "")[:MAX_TEXT]
    to = params.get("to", "").replace("\x00", "")[:40]
    reply = sms_inbound.handle_inbound(sms_inbound.InboundSms(sender=sender, to=to, text=text))
    return _plain(reply)
