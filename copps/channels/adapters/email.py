"""E-mail newsletter over SMTP: one copy per subscriber, one connection per batch.

Each subscriber gets their own message (multipart/alternative: plain text and sanitised HTML, in
the delivery's language) with a deterministic ``Message-ID`` (``<delivery key>.<recipient
id>@<sender domain>``), one-click unsubscribe headers (RFC 2369 ``List-Unsubscribe`` and RFC 8058
``List-Unsubscribe-Post``), ``List-Id``, ``Precedence: bulk`` and ``Auto-Submitted``.

Speed: the message is built once per delivery (templates rendered once, headers and MIME parts
prepared as text with placeholders); per recipient only the address, the Message-ID, the
unsubscribe link and the "why you receive this" line are filled in and the two parts encoded
(quoted-printable, in C). The SMTP transaction is written out command by command on one
connection, so a dropped connection is classified precisely:

- refused before ``DATA`` was accepted (or the connection dropped then): the copy was certainly
  not sent: retryable (4xx, a drop) or permanent (5xx);
- dropped or timed out after the message body went out and before the server's answer: the copy
  may have been delivered: ``maybe_sent`` (unknown, for a person);
- the rest of a batch after a drop: retryable, not sent.

A sandbox channel always sends to the demo's local SMTP sink (``COPPS_SMTP_SINK_HOST`` /
``COPPS_SMTP_SINK_PORT``, default 127.0.0.1:8025), never to the configured server.
Subscriber addresses are never logged; server answers are stored with the address masked.
"""

from __future__ import annotations

import binascii
import functools
import html
import json
import re
import smtplib
import socket
import ssl
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, formatdate
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from copps.lib import sanitise

from ..base import Adapter, ChannelError, Field, Outcome
from ..subscriptions import unsubscribe_token

SECURITY_CHOICES = ("none", "starttls", "tls")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

# Placeholders filled in per recipient (plain ASCII: they survive template escaping).
_UNSUBSCRIBE = "@@COPPS-UNSUBSCRIBE-URL@@"
_WHY = "@@COPPS-WHY@@"
_TOKEN = "0TOKEN0"  # noqa: S105 (a placeholder, not a secret): where the unsubscribe token goes in the (once reversed) URL
# A line starting with "." is doubled in SMTP DATA (RFC 5321 4.5.2).
_LEADING_DOT = re.compile(rb"(?m)^\.")
# An address we put on the SMTP command line and in a header: no spaces, brackets, controls.
_SAFE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"\\]+@[^\s<>()\[\],;:\"\\@]+")


def sanitise_html(fragment: str) -> str:
    # The newsroom already cleaned it; the e-mail channel gives its own guarantee all the same.
    return sanitise.clean(fragment)


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the system's CA certificates takes tens of milliseconds: once per process.
    return ssl.create_default_context()


@functools.cache
def _ehlo_name() -> str:
    # smtplib would look this up (DNS) for every connection; once per process is enough.
    return getattr(settings, "COPPS_SMTP_EHLO_NAME", "") or socket.getfqdn()


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def _qp(text: str) -> bytes:
    # b2a_qp ends its lines as the input's first line ends (a lone LF without a CRLF in
    # sight): SMTP wants CRLF everywhere.
    encoded = binascii.b2a_qp(text.encode(), istext=True)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


_SOFT_BREAK = b"=\r\n"  # quoted-printable: the line goes on (RFC 2045 6.7)
_PLACEHOLDER_RE = re.compile(f"({re.escape(_UNSUBSCRIBE)}|{re.escape(_WHY)})")


def _qp_chunks(text: str) -> list[bytes | str]:
    """Quoted-printable encode a part once, leaving the placeholders to fill per recipient.

    Each static piece is encoded on its own and ends in a soft line break, and so does each
    filled-in value: lines stay within 76 characters however long the values are, and the
    decoded text is exactly the template with the values in place.
    """
    chunks: list[bytes | str] = []
    for index, piece in enumerate(_PLACEHOLDER_RE.split(text)):
        if index % 2:
            chunks.append(piece)  # a placeholder
        elif piece:
            chunks.append(_qp_open(piece))
    return chunks


def _qp_open(text: str) -> bytes:
    """``text`` quoted-printable, ending in a soft line break (whatever follows starts a new
    line); no line longer than 76 characters."""
    encoded = _qp(text)
    head, _sep, last = encoded.rpartition(b"\r\n")
    if len(last) > 75:  # room for the "=" of the soft break
        cut = 73
        while b"=" in last[cut - 2 : cut]:  # never split an =XX escape
            cut -= 1
        last = last[:cut] + _SOFT_BREAK + last[cut:]
        encoded = head + _sep + last
    return encoded + _SOFT_BREAK


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _mask(text: str, address: str) -> str:
    """A server's answer without the subscriber's address in it (it is stored, never logged)."""
    if address:
        text = re.sub(re.escape(address), "<recipient>", text, flags=re.IGNORECASE)
    return text[:300]


def _smtp_error(code: int, reply: bytes | str, stage: str, address: str) -> ChannelError:
    answer = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{stage}: SMTP {code} {_mask(_one_line(answer), address)}"
    if 500 <= code < 600:
        return ChannelError(message, permanent=True)
    return ChannelError(message)  # 4xx (and anything odd): try again later


@dataclass
class _Prebuilt:
    """One delivery's newsletter, ready to be addressed to each subscriber."""

    envelope_from: str
    domain: str
    key: str
    head: str  # the headers every copy shares, CRLF-terminated
    text: list[bytes | str]  # plain-text part: encoded pieces and placeholders
    html: list[bytes | str]  # HTML part: likewise
    boundary: str
    language: str
    unsubscribe_url: str  # with _TOKEN where the subscription's token goes
    # (topics, postcodes) -> the "why" sentence, encoded for the text and the HTML part
    why: dict[tuple, tuple[bytes, bytes]] = field(default_factory=dict)
    plain_text: str = ""
    plain_html: str = ""


_CACHE: OrderedDict[tuple, _Prebuilt] = OrderedDict()
_CACHE_SIZE = 16


class _Dropped(Exception):
    """The connection broke; ``maybe_sent`` when the body had gone out unanswered."""

    def __init__(self, message: str, *, maybe_sent: bool):
        super().__init__(message)
        self.maybe_sent = maybe_sent


class EmailAdapter(Adapter):
    kind = "email"
    rendition = "email"
    subscribers = True
    medium = "email"
    batch_size = 400
    # Our own (or the force's) relay: no published rate limit to follow.
    rate_per_minute = 0
    fields = (
        Field("host", _("SMTP server"), help=_("Host name of the mail server (relay).")),
        Field("port", _("Port"), default="587", help=_("587 with STARTTLS, 465 with TLS.")),
        Field(
            "security",
            _("Connection security"),
            default="starttls",
            help=_("starttls, tls, or none (none only for a server on this machine)."),
        ),
        Field("from_address", _("Sender address")),
        Field("from_name", _("Sender name"), required=False),
        Field("reply_to", _("Reply-to address"), required=False),
        Field("username", _("User name"), secret=True, required=False),
        Field("password", _("Password"), secret=True, required=False),
    )

    # Configuration ---------------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config: dict, secrets: dict) -> dict[str, str]:
        errors = super().validate_config(config, secrets)
        host = str(config.get("host", "")).strip()
        if host and not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", host):
            errors["host"] = str(_("Enter a host name or an IP address."))
        port = str(config.get("port", "")).strip()
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            errors["port"] = str(_("Enter a port number between 1 and 65535."))
        security = str(config.get("security", "") or "starttls")
        if security not in SECURITY_CHOICES:
            errors["security"] = str(_("Choose starttls, tls or none."))
        for name in ("from_address", "reply_to"):
            value = str(config.get(name, "")).strip()
            if value and not _valid_address(value):
                errors[name] = str(_("Enter a valid e-mail address."))
        username = str(secrets.get("username", "")).strip()
        password = str(secrets.get("password", ""))
        if bool(username) != bool(password):
            field_name = "password" if username else "username"
            errors[field_name] = str(_("Give both a user name and a password, or neither."))
        elif username and security == "none" and host and host.strip("[]") not in LOOPBACK_HOSTS:
            # A password in clear text over the network: refuse rather than leak it.
            errors["security"] = str(
                _("Use starttls or tls when signing in to a server on another machine.")
            )
        return errors

    def _endpoint(self) -> tuple[str, int, str]:
        if self.channel.sandbox:
            return (
                getattr(settings, "COPPS_SMTP_SINK_HOST", "127.0.0.1"),
                int(getattr(settings, "COPPS_SMTP_SINK_PORT", 8025)),
                "none",
            )
        port = self.setting("port", "587")
        return (
            self.setting("host"),
            int(port) if port.isdigit() else 587,
            self.setting("security", "starttls"),
        )

    def _connect(self) -> smtplib.SMTP:
        """An open, greeted (and, as configured, encrypted and signed-in) connection."""
        host, port, security = self._endpoint()
        timeout = float(getattr(settings, "COPPS_SMTP_TIMEOUT", 30))
        conn: smtplib.SMTP | None = None
        try:
            if security == "tls":
                conn = smtplib.SMTP_SSL(
                    host, port, local_hostname=_ehlo_name(), timeout=timeout, context=_tls()
                )
            else:
                conn = smtplib.SMTP(host, port, local_hostname=_ehlo_name(), timeout=timeout)
            if conn.sock is not None:  # commands are small and each waits for its answer
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code, reply = conn.ehlo()
            if code != 250:
                raise _smtp_error(code, reply, "EHLO", "")
            if security == "starttls":
                if not conn.has_extn("starttls"):
                    raise ChannelError("the server does not offer STARTTLS", permanent=True)
                conn.starttls(context=_tls())
                conn.ehlo()
            if not self.channel.sandbox and self.secrets.get("username"):
                _login(conn, str(self.secrets["username"]), str(self.secrets.get("password", "")))
            return conn
        except ChannelError:
            _close(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(conn)
            raise ChannelError(
                f"the SMTP server refused the user name or password (SMTP {exc.smtp_code})",
                permanent=True,
                disable_channel=True,
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close(conn)
            raise ChannelError(
                "the SMTP server does not offer sign-in (AUTH) on this connection",
                permanent=True,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            _close(conn)
            raise ChannelError(
                f"the SMTP server's certificate is not valid: {exc.verify_message}",
                permanent=True,
            ) from None
        except smtplib.SMTPConnectError as exc:
            _close(conn)
            raise _smtp_error(exc.smtp_code, exc.smtp_error, "connect", "") from None
        except (OSError, smtplib.SMTPException) as exc:
            _close(conn)
            raise ChannelError(
                f"cannot reach the SMTP server {host}:{port}: {type(exc).__name__}: {exc}"
            ) from None

    def check(self) -> str:
        """Connect, greet, encrypt and sign in as configured, NOOP, QUIT."""
        host, port, security = self._endpoint()
        conn = self._connect()
        try:
            code, reply = conn.noop()
            if code != 250:
                raise _smtp_error(code, reply, "NOOP", "")
            conn.quit()
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"the SMTP server dropped the connection: {exc}") from None
        finally:
            _close(conn)
        where = f"{host}:{port} ({security})"
        if self.secrets.get("username"):
            return gettext("%(server)s, signed in") % {"server": where}
        return where

    # The newsletter ----------------------------------------------------------------------------

    def _prebuilt(self, delivery) -> _Prebuilt:
        cache_key = (
            delivery.pk,
            delivery.key,
            self.channel.pk,
            self.channel.sandbox,
            json.dumps(self.config, sort_keys=True, default=str),
            settings.SITE_URL,
        )
        built = _CACHE.get(cache_key)
        if built is None:
            built = self._build(delivery)
            _CACHE[cache_key] = built
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return built

    def _build(self, delivery) -> _Prebuilt:
        p = delivery.payload or {}
        language = delivery.language
        from_address = self.setting("from_address") or settings.DEFAULT_FROM_EMAIL
        domain = from_address.rpartition("@")[2].lower() or "localhost"
        from_name = _one_line(self.setting("from_name") or settings.FORCE_NAME)
        reply_to = self.setting("reply_to")
        title = _one_line(p.get("title") or "")
        correction = bool(p.get("correction"))
        note = ""
        if correction:
            # The correction's text is "<Correction: title>\n\n<the note>" (distribution.py).
            note = (p.get("text") or "").partition("\n\n")[2].strip()
        with translation.override(language):
            subject = f"{gettext('Correction')}: {title}" if correction else title
            context = {
                "title": title,
                "subject": subject,
                "correction": correction,
                "note": note,
                "body_html": mark_safe(sanitise_html(p.get("body_html") or ""))  # noqa: S308
                if p.get("body_html")
                else "",
                "body_text": (p.get("body_text") or p.get("text") or "").strip(),
                "link": p.get("link") or "",
                "force_name": settings.FORCE_NAME,
                "language": language,
                "unsubscribe_url": _UNSUBSCRIBE,
                "why": _WHY,
            }
            text = render_to_string("channels/email/newsletter.txt", context)
            html_part = render_to_string("channels/email/newsletter.html", context)
        list_label = f"{self.channel.slug}.{domain}"
        list_name = _one_line(self.channel.name)
        list_id = (
            f'"{list_name}" <{list_label}>'
            if list_name.isascii() and '"' not in list_name
            else f"<{list_label}>"
        )
        headers = [
            ("From", formataddr((from_name, from_address), charset="utf-8")),
            ("Subject", Header(subject, "utf-8").encode(linesep="\r\n")),
            ("Date", formatdate(usegmt=True)),
            ("MIME-Version", "1.0"),
            ("Content-Language", language),
            ("List-Id", list_id),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Precedence", "bulk"),
            ("Auto-Submitted", "auto-generated"),
            ("X-Auto-Response-Suppress", "All"),
        ]
        if reply_to:
            headers.append(("Reply-To", reply_to))
        boundary = f"=_copps_{uuid.uuid4().hex}"
        headers.append(
            ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
        )
        head = "".join(f"{name}: {value}\r\n" for name, value in headers)
        return _Prebuilt(
            envelope_from=from_address,
            domain=domain,
            key=delivery.key,
            head=head,
            text=_qp_chunks(_crlf(text.strip() + "\n")),
            html=_qp_chunks(_crlf(html_part.strip() + "\n")),
            boundary=boundary,
            language=language,
            unsubscribe_url=settings.SITE_URL + reverse("unsubscribe", args=[_TOKEN]),
            plain_text=text,
            plain_html=html_part,
        )

    def _why(self, built: _Prebuilt, subscription) -> tuple[bytes, bytes]:
        """'Why you receive this' (text, HTML) for a subscription's topics and postcodes."""
        topics = tuple(subscription.topics or ())
        postcodes = tuple(subscription.postcodes or ())
        cached = built.why.get((topics, postcodes))
        if cached is None:
            with translation.override(built.language):
                labels = _kind_labels()
                topic_text = ", ".join(str(labels.get(t, t)) for t in topics) or gettext(
                    "all topics"
                )
                area_text = (
                    gettext("postcodes %(codes)s") % {"codes": ", ".join(postcodes)}
                    if postcodes
                    else gettext("the whole area")
                )
                sentence = gettext(
                    "You receive this e-mail because you subscribed to messages from "
                    "%(force)s about %(topics)s, for %(area)s."
                ) % {"force": settings.FORCE_NAME, "topics": topic_text, "area": area_text}
            cached = (_qp_open(sentence), _qp_open(html.escape(sentence)))
            built.why[(topics, postcodes)] = cached
        return cached

    def message_bytes(self, built: _Prebuilt, recipient, address: str) -> bytes:
        """One subscriber's copy, as it goes on the wire (CRLF line ends, not dot-stuffed)."""
        subscription = recipient.subscription
        unsubscribe = built.unsubscribe_url.replace(_TOKEN, unsubscribe_token(subscription))
        why_text, why_html = self._why(built, subscription)
        url = _qp_open(unsubscribe)
        url_html = _qp_open(html.escape(unsubscribe))
        text_fill = {_UNSUBSCRIBE: url, _WHY: why_text}
        html_fill = {_UNSUBSCRIBE: url_html, _WHY: why_html}
        b = built.boundary
        head = (
            f"To: {address}\r\n"
            f"Message-ID: <{built.key}.{recipient.pk}@{built.domain}>\r\n"
            f"List-Unsubscribe: <{unsubscribe}>\r\n" + built.head + "\r\n"
        )
        out = [
            head.encode(),
            f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode(),
        ]
        out += [c if isinstance(c, bytes) else text_fill[c] for c in built.text]
        out.append(
            f"\r\n--{b}\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
        )
        out += [c if isinstance(c, bytes) else html_fill[c] for c in built.html]
        out.append(f"\r\n--{b}--\r\n".encode())
        return b"".join(out)

    def message_id(self, delivery, recipient) -> str:
        from_address = self.setting("from_address") or settings.DEFAULT_FROM_EMAIL
        return f"<{delivery.key}.{recipient.pk}@{from_address.rpartition('@')[2].lower()}>"

    # Sending -------------------------------------------------------------------------------

    def send_batch(self, delivery, recipients) -> dict[int, Any]:
        """Each recipient's result ("" when the server took it), over up to ``connections``
        (setting, default 4) SMTP connections in parallel, each carrying its share in turn."""
        built = self._prebuilt(delivery)
        try:
            connections = max(1, min(16, int(self.config.get("connections") or 4)))
        except (TypeError, ValueError):
            connections = 4
        shares = [
            recipients[i::connections] for i in range(connections) if recipients[i::connections]
        ]
        if len(shares) <= 1:
            return self._send_share(built, recipients)
        results: dict[int, Any] = {}
        errors: list[ChannelError] = []
        with ThreadPoolExecutor(max_workers=len(shares)) as pool:
            futures = {pool.submit(self._send_share, built, share): share for share in shares}
            for future, share in futures.items():
                try:
                    results.update(future.result())
                except ChannelError as err:  # that connection could not be opened: none sent
                    errors.append(err)
                    results.update({r.pk: err for r in share})
        if len(errors) == len(shares):
            raise errors[0]  # nothing went anywhere: the engine treats the batch as a whole
        return results

    def _send_share(self, built, recipients) -> dict[int, Any]:
        """One connection for these recipients, one after the other."""
        try:
            conn = self._connect()
        except ChannelError as err:
            if err.permanent:
                # A configuration problem (password refused, no STARTTLS, bad certificate):
                # stop the channel and alert, but keep the copies: they go once it is fixed.
                raise ChannelError(str(err), disable_channel=True) from None
            raise  # nothing was sent: the whole batch is tried again
        results: dict[int, Any] = {}
        utf8 = conn.has_extn("smtputf8")
        try:
            for index, recipient in enumerate(recipients):
                subscription = recipient.subscription
                address = (subscription.address or "").strip() if subscription else ""
                if not address or not _SAFE_ADDRESS.fullmatch(address):
                    results[recipient.pk] = ChannelError("not a usable address", permanent=True)
                    continue
                if not address.isascii() and not utf8:
                    results[recipient.pk] = ChannelError(
                        "the address needs SMTPUTF8, which the server does not offer",
                        permanent=True,
                    )
                    continue
                raw = self.message_bytes(built, recipient, address)
                try:
                    error = _transaction(conn, built.envelope_from, address, raw)
                except _Dropped as drop:
                    results[recipient.pk] = ChannelError(
                        str(drop), maybe_sent=drop.maybe_sent, permanent=False
                    )
                    for rest in recipients[index + 1 :]:
                        results[rest.pk] = ChannelError(
                            "not sent: the connection dropped earlier in the batch"
                        )
                    return results
                results[recipient.pk] = error if error is not None else ""
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass  # everything was answered already
            return results
        finally:
            _close(conn)

    def post(self, delivery) -> Outcome:
        raise NotImplementedError("e-mail is sent per subscriber: see send_batch")

    def preview(self, delivery) -> dict:
        built = self._prebuilt(delivery)
        p = delivery.payload or {}
        return {"title": p.get("title"), "text": built.plain_text, "html": built.plain_html}


def _transaction(conn: smtplib.SMTP, sender: str, address: str, raw: bytes) -> ChannelError | None:
    """MAIL, RCPT, DATA for one copy. Returns None when the server took it, a ChannelError when
    it refused; raises _Dropped when the connection broke."""
    options = " SMTPUTF8" if not address.isascii() else ""
    stage = "MAIL FROM"
    try:
        code, reply = conn.docmd("MAIL", f"FROM:<{sender}>{options}")
        if code != 250:
            return _refused(conn, code, reply, stage, address)
        stage = "RCPT TO"
        code, reply = conn.docmd("RCPT", f"TO:<{address}>")
        if code not in (250, 251):
            return _refused(conn, code, reply, stage, address)
        stage = "DATA"
        code, reply = conn.docmd("DATA")
        if code != 354:
            return _refused(conn, code, reply, stage, address)
    except (OSError, smtplib.SMTPException) as exc:
        # Nothing of the message went out: certainly not sent.
        raise _Dropped(
            f"{stage}: connection lost: {type(exc).__name__}", maybe_sent=False
        ) from None
    body = _LEADING_DOT.sub(b"..", raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    try:
        conn.send(body + b".\r\n")
        code, reply = conn.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        # The message went out and no answer came: it may have been taken.
        raise _Dropped(
            f"end of DATA: no answer from the server: {type(exc).__name__}", maybe_sent=True
        ) from None
    if code == 250:
        return None
    return _smtp_error(code, reply, "end of DATA", address)


def _refused(conn: smtplib.SMTP, code: int, reply: bytes, stage: str, address: str):
    error = _smtp_error(code, reply, stage, address)
    if code == 421:  # the server is closing the connection
        raise _Dropped(str(error), maybe_sent=False)
    try:
        conn.rset()
    except (OSError, smtplib.SMTPException):
        raise _Dropped(f"{stage}: connection lost after a refusal", maybe_sent=False) from None
    return error


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """Sign in once with PLAIN where offered (one failed attempt, not one per mechanism: servers
    lock accounts after a few), else let smtplib pick."""
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("AUTH not offered")
    if "PLAIN" in conn.esmtp_features["auth"].upper().split():
        conn.user, conn.password = user, password
        conn.auth("PLAIN", conn.auth_plain)
    else:
        conn.login(user, password)


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.close()
    except OSError:
        pass


def _valid_address(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return bool(_SAFE_ADDRESS.fullmatch(value))


def _kind_labels() -> dict[str, Any]:
    # Message kinds belong to the newsroom (above channels): read them through the app registry.
    try:
        model = apps.get_model("newsroom", "Message")
        return dict(model._meta.get_field("kind").choices or [])
    except Exception:
        return {}


__all__ = ["ChannelError", "EmailAdapter", "sanitise_html"]
