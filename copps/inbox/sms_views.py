"""``/hooks/sms/kannel``: Kannel's sms-service calls it for every text to the police number.

``GET|POST /hooks/sms/kannel?from=%p&to=%P&text=%a&id=%I[&coding=%c&charset=%C][&token=…]``

The body of the answer (``text/plain``) is the automatic reply SMS; an empty body means no reply
(Kannel's ``omit-empty = true``). The work is in ``copps.inbox.sms``.

Authentication: with ``COPPS_SMS_HOOK_TOKEN`` set, the ``token`` parameter must match (constant
time); otherwise the caller's address must be in ``COPPS_SMS_HOOK_ALLOWED`` (addresses or
networks; the client address follows ``COPPS_TRUSTED_PROXIES``). 403 otherwise.

The parameters are read from the raw bytes of the query string (and of a form-encoded POST
body): Kannel may send the text in UTF-8, Latin-1 or UCS-2 (``charset``/``coding`` say which,
when configured), or broken; the text is decoded leniently (invalid UTF-8 as Latin-1, NULs and
control characters dropped, at most ``sms.MAX_TEXT`` characters) and stored, never a 500.
Missing or malformed sender/id -> 400; a busy database -> 503 (Kannel retries; the message id
dedupes the retry).
"""

from __future__ import annotations

import codecs
import hmac
import logging
import re
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from copps.channels.sms_inbound import normalise_phone
from copps.lib.clientip import client_address
from copps.newsroom.renditions import is_gsm7

from . import sms

logger = logging.getLogger("copps.inbox.sms")

MAX_PARAMS = 30
MAX_RAW = 64 * 1024
ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,100}$")
# Kannel's %C names; anything Python does not know is read as UTF-8/Latin-1.
CHARSET_ALIASES = {"ucs-2": "utf-16-be", "ucs2": "utf-16-be", "utf-16": "utf-16-be"}
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def parse_raw(raw: bytes) -> dict[str, bytes]:
    """``a=1&b=%FF`` as {name: raw bytes}; the first occurrence of a name wins."""
    params: dict[str, bytes] = {}
    for part in raw[:MAX_RAW].split(b"&")[: MAX_PARAMS * 4]:
        if not part:
            continue
        name, _sep, value = part.partition(b"=")
        key = unquote_to_bytes(name.replace(b"+", b" ")).decode("latin-1")[:40]
        params.setdefault(key, unquote_to_bytes(value.replace(b"+", b" ")))
        if len(params) >= MAX_PARAMS:
            break
    return params


def _params(request: HttpRequest) -> dict[str, bytes]:
    environ = getattr(request, "environ", None) or request.META
    params = parse_raw(get_bytes_from_wsgi(environ, "QUERY_STRING", ""))
    if request.method != "POST":
        return params
    # POST parameters win over the query string.
    if request.content_type == "application/x-www-form-urlencoded":
        return params | parse_raw(request.body)
    if request.content_type == "multipart/form-data":
        posted = {k: str(v).encode("utf-8", "surrogatepass") for k, v in request.POST.items()}
        return params | dict(list(posted.items())[:MAX_PARAMS])
    return params


def _ascii(value: bytes, limit: int) -> str:
    return value.decode("latin-1")[:limit].replace("\x00", "").strip()


def decode_text(raw: bytes, charset: str = "", coding: str = "") -> str:
    """The text of an SMS from its bytes, leniently: never raises."""
    name = CHARSET_ALIASES.get(charset.strip().lower(), charset.strip().lower())
    codec = None
    if name:
        try:
            info = codecs.lookup(name)
        except LookupError:
            codec = None
        else:
            # base64, zlib, rot13 … are codecs but not text encodings: bytes.decode refuses them.
            codec = info.name if getattr(info, "_is_text_encoding", True) else None
    if codec is None and coding.strip() == "2" and len(raw) % 2 == 0:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            codec = "utf-16-be"  # UCS-2 that Kannel did not recode
    if codec in (None, "utf-8"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1") if codec is None else raw.decode("utf-8", "replace")
    else:
        try:
            text = raw.decode(codec, "replace")
        except (UnicodeError, LookupError):  # a codec without "replace" (idna, …)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
    text = CONTROL_RE.sub("", text).replace("\r\n", "\n")
    return text.strip()[: sms.MAX_TEXT]


def authorised(request: HttpRequest, token: bytes) -> bool:
    import ipaddress

    expected = str(getattr(settings, "COPPS_SMS_HOOK_TOKEN", "") or "")
    if expected:
        return hmac.compare_digest(expected.encode(), token)
    try:
        address = ipaddress.ip_address(client_address(request).strip().strip("[]"))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    networks, _bad = sms.allowed_networks()
    return any(address in net for net in networks)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel(request: HttpRequest) -> HttpResponse:
    try:
        params = _params(request)
    except Exception:  # noqa: BLE001 — a body too large or unreadable: a clear 400
        return _plain("unreadable request", 400)
    if not authorised(request, params.get("token", b"")):
        return _plain("forbidden", 403)
    sender = _ascii(params.get("from", b""), 60)
    if not sender:
        return _plain("from is required", 400)
    if normalise_phone(sender) is None:
        return _plain("from is not a phone number", 400)
    message_id = _ascii(params.get("id", b""), 200)
    if message_id and not ID_RE.match(message_id):
        return _plain("invalid id", 400)
    text = decode_text(
        params.get("text", b""),
        _ascii(params.get("charset", b""), 40),
        _ascii(params.get("coding", b""), 4),
    )
    if not text:
        return _plain("text is empty", 400)
    try:
        outcome = sms.handle_text(sender, text, message_id=message_id)
    except ValidationError as error:
        return _plain(" ".join(error.messages)[:200] or "invalid", 400)
    except (OperationalError, InterfaceError, IntegrityError):
        # Busy, or two texts of one new number racing (one tip per conversation): Kannel
        # tries again and the message id keeps it from being stored twice.
        logger.warning("SMS hook: database busy")
        return _plain("busy, try again", 503)
    response = _plain(outcome.reply)
    if outcome.reply and not is_gsm7(outcome.reply):
        # An answer outside the GSM alphabet (é, ’, ü …) goes as UCS-2, or Kannel mangles it
        # (needs `accept-x-kannel-headers = true` in the sms-service group).
        response["X-Kannel-Coding"] = "2"
    return response
