"""HTTP Signatures for ActivityPub: sign outgoing requests, check incoming ones.

Two schemes are in use on the fediverse and both are accepted incoming:

- draft-cavage-http-signatures-12, as Mastodon sends it: a ``Signature`` (or ``Authorization:
  Signature``) header with ``keyId``, ``algorithm``, ``headers`` and ``signature``; the body is
  covered through a ``Digest: SHA-256=...`` header;
- RFC 9421 HTTP Message Signatures (Fedify and newer servers): ``Signature-Input`` and
  ``Signature`` structured-field dictionaries; the body is covered through ``Content-Digest``
  (RFC 9530).

Outgoing requests are signed with cavage ``rsa-sha256`` (``sign_request``), which every major
server verifies; ``sign_request_rfc9421`` exists for tests and later use. See ADR 15.

Checking is split in two because the key has to be fetched between the steps:
``parse_request`` validates everything that needs no key (syntax, algorithm, freshness, body
digest, what the signature covers) and returns the exact bytes that were signed;
``verify`` then checks the signature with the sender's public key. Both raise only
``SignatureError``, whose ``reason`` is a short stable code, whatever the input.

The structured-field parser (RFC 8941) is written here rather than imported: only dictionaries,
inner lists, parameters and bare items are needed, and a small strict parser with size bounds is
easier to trust with hostile input than a general one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

MAX_HEADER_BYTES = 8192
"""Longest signature-related header accepted (Signature, Signature-Input, digests, covered
fields); anything longer is 'malformed'. Real signatures are well under 1 KB."""
MAX_COMPONENTS = 32
"""Most covered headers/components in one signature."""
MAX_KEY_PEM_BYTES = 16384
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
DEFAULT_WINDOW = 300

RFC9421_LABEL = "sig1"
OUTGOING_CONTENT_TYPE = "application/activity+json"

REASONS = frozenset(
    {"missing", "malformed", "algorithm", "date", "digest", "headers", "bad_signature"}
)


class SignatureError(Exception):
    """The request's signature is absent, unusable or wrong.

    ``reason`` is one of ``REASONS``: 'missing' (no signature at all), 'malformed' (unparseable
    header, bad base64, over-long input, unreadable key), 'algorithm' (unsupported algorithm or a
    key that does not fit it), 'date' (outside the time window, expired), 'digest' (body digest
    absent or wrong), 'headers' (the signature does not cover what it must, or a covered header
    is absent), 'bad_signature' (the bytes do not verify with the key).
    """

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ParsedSignature:
    """A signature whose syntax, freshness and digest have been checked, not yet its bytes.

    ``algorithm`` is normalised: "rsa-sha256" (cavage rsa-sha256, RFC 9421 rsa-v1_5-sha256),
    "rsa-pss-sha512", "ed25519", or "hs2019" (cavage hs2019, or RFC 9421 without ``alg``:
    the key decides). ``covered`` lists the covered headers / components in signed order.
    """

    scheme: str
    key_id: str
    algorithm: str
    signing_string: bytes
    signature: bytes
    created: datetime | None
    covered: tuple[str, ...] = field(default=())


def _fail(reason: str, message: str) -> SignatureError:
    return SignatureError(message, reason=reason)


def _show(value: object) -> str:
    """A peer-supplied value fit for an error message (and so a log line): short and quoted."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- header access -------------------------------------------------------------------------------


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers keyed by lower-case name; two spellings of one name are ambiguous."""
    out: dict[str, str] = {}
    try:
        items = list(headers.items())
    except Exception as exc:  # a hostile or broken mapping must not escape as another error
        raise _fail("malformed", "headers unreadable") from exc
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise _fail("malformed", "header names and values must be text")
        key = name.lower()
        if key in out:
            raise _fail("malformed", f"header {_show(key)} given twice")
        out[key] = value
    return out


def _bounded(hdrs: dict[str, str], name: str) -> str | None:
    value = hdrs.get(name)
    if value is not None and len(value) > MAX_HEADER_BYTES:
        raise _fail("malformed", f"{name} header too long")
    return value


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _fail("malformed", f"{what} is not base64") from exc
    if not raw:
        raise _fail("malformed", f"{what} is empty")
    return raw


# --- time ----------------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _http_date(value: str) -> datetime:
    if len(value) > 64:
        raise _fail("malformed", "Date header too long")
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise _fail("malformed", "Date header unreadable") from exc
    return _utc(moment)


def _from_timestamp(value: int, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _fail("date", f"{what} out of range") from exc


def _check_fresh(moment: datetime, now: datetime, window: int, what: str) -> None:
    # Both directions: a stale request may be a replay, a future one a clock or a forgery
    # prepared in advance.
    if abs((now - moment).total_seconds()) > window:
        raise _fail("date", f"{what} is more than {window} s away from now")


# --- digests -------------------------------------------------------------------------------------

_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _check_digests(found: dict[str, bytes], body: bytes, header: str) -> None:
    """Every digest we know must match; at least one must be known."""
    known = {alg: value for alg, value in found.items() if alg in _DIGESTS}
    if not known:
        raise _fail("digest", f"{header} has no SHA-256 or SHA-512 digest")
    for alg, value in known.items():
        if not hmac.compare_digest(_DIGESTS[alg](body).digest(), value):
            raise _fail("digest", f"{header} {alg} does not match the body")


def _parse_digest_header(value: str) -> dict[str, bytes]:
    """``Digest: SHA-256=base64, SHA-512=base64`` (RFC 3230)."""
    found: dict[str, bytes] = {}
    for part in value.split(","):
        alg, sep, encoded = part.strip().partition("=")
        if not sep or not alg:
            raise _fail("malformed", "Digest header unreadable")
        alg = alg.lower()
        if alg in found:
            raise _fail("malformed", "Digest header repeats an algorithm")
        found[alg] = _b64decode(encoded.strip(), "Digest value")
    return found


# --- RFC 8941 structured fields (the subset RFC 9421 and RFC 9530 need) ------------------------


class _Token(str):
    """An sf-token, kept apart from sf-string because they serialise differently."""


BareItem = int | float | str | bytes | bool
Params = dict[str, BareItem]


@dataclass(frozen=True)
class _Item:
    value: BareItem
    params: Params


@dataclass(frozen=True)
class _InnerList:
    items: list[_Item]
    params: Params


_KEY_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz*")
_KEY_CHARS = _KEY_FIRST | frozenset("0123456789_-.")
_TCHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:/"
)
_B64CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class _SFParser:
    """A strict RFC 8941 dictionary parser; every error is SignatureError('malformed')."""

    def __init__(self, text: str):
        if not text.isascii():
            raise _fail("malformed", "structured header is not ASCII")
        self.s = text.strip(" \t")
        self.i = 0

    def error(self, what: str) -> SignatureError:
        return _fail("malformed", f"structured header: {what} at {self.i}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def dictionary(self) -> dict[str, _Item | _InnerList]:
        out: dict[str, _Item | _InnerList] = {}
        if not self.s:
            return out
        while True:
            key = self.key()
            if key in out:
                # RFC 8941 would keep the last; a repeated label is never legitimate here.
                raise self.error(f"key {_show(key)} repeated")
            if self.peek() == "=":
                self.i += 1
                out[key] = self.inner_list() if self.peek() == "(" else self.item()
            else:
                out[key] = _Item(True, self.parameters())
            self.ows()
            if self.i >= len(self.s):
                return out
            if self.peek() != ",":
                raise self.error("',' expected")
            self.i += 1
            self.ows()
            if self.i >= len(self.s):
                raise self.error("trailing ','")

    def ows(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def key(self) -> str:
        start = self.i
        if self.peek() not in _KEY_FIRST:
            raise self.error("key expected")
        while self.peek() in _KEY_CHARS:
            self.i += 1
        return self.s[start : self.i]

    def inner_list(self) -> _InnerList:
        self.i += 1  # "("
        items: list[_Item] = []
        while True:
            while self.peek() == " ":
                self.i += 1
            if self.peek() == ")":
                self.i += 1
                return _InnerList(items, self.parameters())
            if len(items) >= MAX_COMPONENTS:
                raise self.error("too many members")
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                raise self.error("' ' or ')' expected")

    def item(self) -> _Item:
        value = self.bare_item()
        return _Item(value, self.parameters())

    def parameters(self) -> Params:
        params: Params = {}
        while self.peek() == ";":
            self.i += 1
            while self.peek() == " ":
                self.i += 1
            key = self.key()
            if key in params:
                raise self.error(f"parameter {_show(key)} repeated")
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            params[key] = value
        return params

    def bare_item(self) -> BareItem:
        c = self.peek()
        if c == "-" or c.isdigit():
            return self.number()
        if c == '"':
            return self.string()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            return self.boolean()
        if c in _ALPHA or c == "*":
            return self.token()
        raise self.error("item expected")

    def number(self) -> int | float:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        digits_start = self.i
        while self.peek().isdigit():
            self.i += 1
        int_digits = self.i - digits_start
        if int_digits == 0:
            raise self.error("digit expected")
        if self.peek() != ".":
            if int_digits > 15:
                raise self.error("integer too long")
            return int(self.s[start : self.i])
        if int_digits > 12:
            raise self.error("decimal too long")
        self.i += 1
        frac_start = self.i
        while self.peek().isdigit():
            self.i += 1
        if not 1 <= self.i - frac_start <= 3:
            raise self.error("bad decimal")
        return float(self.s[start : self.i])

    def string(self) -> str:
        self.i += 1  # opening quote
        chars: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if c == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\"):
                    raise self.error("bad escape")
                chars.append(nxt)
                self.i += 1
            elif c == '"':
                return "".join(chars)
            elif not " " <= c <= "~":
                raise self.error("control character in string")
            else:
                chars.append(c)
        raise self.error("unterminated string")

    def token(self) -> _Token:
        start = self.i
        self.i += 1
        while self.peek() in _TCHARS:
            self.i += 1
        return _Token(self.s[start : self.i])

    def byte_sequence(self) -> bytes:
        self.i += 1  # ":"
        start = self.i
        while self.peek() in _B64CHARS:
            self.i += 1
        if self.peek() != ":":
            raise self.error("unterminated byte sequence")
        encoded = self.s[start : self.i]
        self.i += 1
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.error("bad base64") from exc

    def boolean(self) -> bool:
        self.i += 1
        c = self.peek()
        if c not in ("0", "1"):
            raise self.error("bad boolean")
        self.i += 1
        return c == "1"


def _sf_dictionary(text: str) -> dict[str, _Item | _InnerList]:
    return _SFParser(text).dictionary()


def _sf_bare(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, _Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def _sf_params(params: Params) -> str:
    return "".join(f";{k}" if v is True else f";{k}={_sf_bare(v)}" for k, v in params.items())


def _sf_inner_list(inner: _InnerList) -> str:
    members = " ".join(_sf_bare(item.value) + _sf_params(item.params) for item in inner.items)
    return f"({members}){_sf_params(inner.params)}"


# --- URLs ----------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_url(url: str) -> tuple[str, str, str]:
    """(scheme, authority, path-with-query) of ``url``; authority lower-case, default port
    dropped (RFC 9421 §2.2.3). Raises ValueError on an unusable URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    authority = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, authority.lower(), target


# --- signing -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _rsa_private(private_key_pem: str) -> RSAPrivateKey:
    # Loading checks the key's consistency (~60 ms for RSA-2048): once per key, not per delivery.
    key = load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("outgoing signatures need an RSA private key")
    return key


def _check_key_id(key_id: str) -> None:
    if (
        not key_id
        or not key_id.isascii()
        or any(c in key_id for c in '"\\')
        or not key_id.isprintable()
    ):
        raise ValueError(f"key id cannot be put in a signature header: {key_id!r}")


def _find(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def sign_request(
    method: str,
    url: str,
    *,
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request with draft-cavage-http-signatures-12 as Mastodon does: ``rsa-sha256`` over
    ``(request-target) host date`` and, with a body, ``digest`` (``SHA-256=base64``) and
    ``content-type``.

    Returns the headers to send: Host, Date, Digest (with a body), Signature, and Content-Type
    (``application/activity+json``) when there is a body and ``headers`` has none. Of
    ``headers`` only Content-Type is read. Raises ValueError for a non-RSA key, a key id that
    cannot be quoted, or a non-http(s) URL (our own configuration errors, not the peer's).
    """
    _check_key_id(key_id)
    _scheme, authority, target = _split_url(url)
    key = _rsa_private(private_key_pem)
    out: dict[str, str] = {
        "Host": authority,
        "Date": format_datetime(_utc(now).astimezone(UTC), usegmt=True),
    }
    lines = [f"(request-target): {method.lower()} {target}", f"host: {authority}"]
    lines.append(f"date: {out['Date']}")
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        out["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        content_type = _find(headers, "content-type")
        if content_type is None:
            content_type = out["Content-Type"] = OUTGOING_CONTENT_TYPE
        lines += [f"digest: {out['Digest']}", f"content-type: {content_type.strip()}"]
        covered += ["digest", "content-type"]
    signature = key.sign("\n".join(lines).encode("latin-1"), padding.PKCS1v15(), hashes.SHA256())
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return out


def sign_request_rfc9421(
    method: str,
    url: str,
    *,
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request with RFC 9421 ``rsa-v1_5-sha256``, as Fedify does: components "@method"
    "@target-uri" "@authority" and, with a body, "content-digest" (RFC 9530 sha-256); parameters
    created, keyid, alg; label ``sig1``.

    Returns Content-Digest (with a body), Signature-Input and Signature. ``headers`` is accepted
    for symmetry with ``sign_request`` and not read. The target URI is signed in normalised form
    (lower-case scheme and host, no default port, "/" for an empty path): send that URL.
    """
    del headers
    _check_key_id(key_id)
    scheme, authority, target = _split_url(url)
    key = _rsa_private(private_key_pem)
    out: dict[str, str] = {}
    values = {
        "@method": method.upper(),
        "@target-uri": f"{scheme}://{authority}{target}",
        "@authority": authority,
    }
    if body is not None:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        values["content-digest"] = out["Content-Digest"] = f"sha-256=:{digest}:"
    created = int(_utc(now).timestamp())
    params: Params = {"created": created, "keyid": key_id, "alg": "rsa-v1_5-sha256"}
    inner = _InnerList([_Item(name, {}) for name in values], params)
    signature_params = _sf_inner_list(inner)
    base = "".join(f'"{name}": {value}\n' for name, value in values.items())
    base += f'"@signature-params": {signature_params}'
    signature = key.sign(base.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    out["Signature-Input"] = f"{RFC9421_LABEL}={signature_params}"
    out["Signature"] = f"{RFC9421_LABEL}=:{base64.b64encode(signature).decode()}:"
    return out


# --- parsing: draft-cavage -----------------------------------------------------------------------

_CAVAGE_PARAM = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]{0,31})[ \t]*=[ \t]*(?:"([ !#-\[\]-~]*)"|([A-Za-z0-9._~+/=-]+))[ \t]*'
)
_CAVAGE_ALGORITHMS = {"rsa-sha256": "rsa-sha256", "hs2019": "hs2019", "ed25519": "ed25519"}


def _cavage_params(value: str) -> dict[str, str]:
    if not value.isascii():
        raise _fail("malformed", "Signature header is not ASCII")
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _CAVAGE_PARAM.match(value, pos)
        if not match:
            raise _fail("malformed", f"Signature header unreadable at {pos}")
        name = match.group(1).lower()
        if name in params:
            raise _fail("malformed", f"Signature parameter {_show(name)} repeated")
        quoted = match.group(2)
        params[name] = quoted if quoted is not None else match.group(3)
        pos = match.end()
        if pos == len(value):
            return params
        if value[pos] != ",":
            raise _fail("malformed", f"',' expected in Signature header at {pos}")
        pos += 1


def _int_param(params: Mapping[str, object], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail("malformed", f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 15:
        return int(value)
    raise _fail("malformed", f"{name} must be an integer")


def _parse_cavage(
    value: str,
    method: str,
    target: str,
    hdrs: dict[str, str],
    body: bytes,
    now: datetime,
    window: int,
) -> ParsedSignature:
    params = _cavage_params(value)
    key_id = params.get("keyid")
    encoded = params.get("signature")
    if not key_id or not encoded:
        raise _fail("malformed", "Signature header needs keyId and signature")
    signature = _b64decode(encoded, "signature")
    # Mastodon's default when algorithm is absent: the key decides.
    algorithm = _CAVAGE_ALGORITHMS.get(params.get("algorithm", "hs2019").lower())
    if algorithm is None:
        raise _fail("algorithm", f"unsupported algorithm {_show(params.get('algorithm'))}")
    default_headers = "(created)" if algorithm == "hs2019" else "date"
    covered = params.get("headers", default_headers).lower().split()
    if not covered or len(covered) > MAX_COMPONENTS:
        raise _fail("malformed", "headers parameter empty or too long")
    if len(set(covered)) != len(covered):
        raise _fail("malformed", "headers parameter repeats a name")
    created_param = _int_param(params, "created")
    expires_param = _int_param(params, "expires")

    if "(request-target)" not in covered or "host" not in covered:
        raise _fail("headers", "signature must cover (request-target) and host")
    if "date" not in covered and "(created)" not in covered:
        raise _fail("headers", "signature must cover date or (created)")

    created: datetime | None = None
    lines: list[str] = []
    for name in covered:
        if name == "(request-target)":
            line_value = f"{method.lower()} {target}"
        elif name in ("(created)", "(expires)"):
            # draft-cavage-12 §2.3: only for algorithms that do not name their hash.
            if algorithm == "rsa-sha256":
                raise _fail("headers", f"{name} cannot be used with rsa-sha256")
            stamp = created_param if name == "(created)" else expires_param
            if stamp is None:
                raise _fail("malformed", f"{name} covered but its parameter is absent")
            line_value = str(stamp)
        else:
            field_value = _bounded(hdrs, name)
            if field_value is None:
                raise _fail("headers", f"covered header {_show(name)} is absent")
            line_value = field_value.strip()
        lines.append(f"{name}: {line_value}")

    if "date" in covered:
        created = _http_date(hdrs["date"])
        _check_fresh(created, now, window, "Date")
    if "(created)" in covered and created_param is not None:
        stamp_time = _from_timestamp(created_param, "created")
        _check_fresh(stamp_time, now, window, "created")
        created = created or stamp_time
    if expires_param is not None and _from_timestamp(expires_param, "expires") < now:
        raise _fail("date", "signature expired")

    digest_header = _bounded(hdrs, "digest")
    if digest_header is not None:
        _check_digests(_parse_digest_header(digest_header), body, "Digest")
    elif body:
        raise _fail("digest", "a request with a body needs a Digest header")
    if body and "digest" not in covered:
        raise _fail("headers", "signature must cover the Digest header")

    try:
        signing_string = "\n".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise _fail("malformed", "covered header is not Latin-1") from exc
    if b"\r" in signing_string or signing_string.count(b"\n") != len(lines) - 1:
        # A line break inside a value would let one header impersonate another.
        raise _fail("malformed", "line break inside a covered value")
    return ParsedSignature(
        scheme="cavage",
        key_id=key_id,
        algorithm=algorithm,
        signing_string=signing_string,
        signature=signature,
        created=created,
        covered=tuple(covered),
    )


# --- parsing: RFC 9421 ---------------------------------------------------------------------------

_RFC9421_ALGORITHMS = {
    "rsa-v1_5-sha256": "rsa-sha256",
    "rsa-pss-sha512": "rsa-pss-sha512",
    "ed25519": "ed25519",
}
_DERIVED = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
)


@dataclass(frozen=True)
class _Rfc9421:
    parsed: ParsedSignature
    params: Params


def _parse_rfc9421(
    signature_input: str,
    signature_header: str,
    method: str,
    target: str,
    hdrs: dict[str, str],
    url: str,
) -> _Rfc9421:
    """The signature base and parameters of the first signature in Signature-Input that has a
    value in Signature. No policy: freshness, digest and coverage are checked by the caller."""
    inputs = _sf_dictionary(signature_input)
    signatures = _sf_dictionary(signature_header)
    label = next((name for name in inputs if name in signatures), None)
    if label is None:
        raise _fail("malformed", "no label in both Signature-Input and Signature")
    inner = inputs[label]
    sig_item = signatures[label]
    if not isinstance(inner, _InnerList):
        raise _fail("malformed", "Signature-Input member is not an inner list")
    if not isinstance(sig_item, _Item) or not isinstance(sig_item.value, bytes):
        raise _fail("malformed", "Signature member is not a byte sequence")
    if not sig_item.value:
        raise _fail("malformed", "signature is empty")
    key_id = inner.params.get("keyid")
    if not isinstance(key_id, str) or isinstance(key_id, _Token) or not key_id:
        raise _fail("malformed", "keyid parameter absent or not a string")
    alg = inner.params.get("alg")
    if alg is None:
        algorithm = "hs2019"
    elif isinstance(alg, str) and alg in _RFC9421_ALGORITHMS:
        algorithm = _RFC9421_ALGORITHMS[alg]
    else:
        raise _fail("algorithm", f"unsupported alg {_show(alg)}")

    scheme = authority = target_uri = ""
    if url:
        try:
            scheme, authority, _ = _split_url(url)
        except ValueError as exc:
            raise _fail("malformed", "request URL unusable") from exc
        target_uri = url
    elif "host" in hdrs:
        authority = hdrs["host"].strip().lower()
    path, _sep, query = target.partition("?")

    covered: list[str] = []
    lines: list[str] = []
    for item in inner.items:
        name = item.value
        if not isinstance(name, str) or isinstance(name, _Token):
            raise _fail("malformed", "component identifiers must be strings")
        if item.params:
            raise _fail("malformed", f"component parameters are not supported ({_show(name)})")
        if name in covered:
            raise _fail("malformed", f"component {_show(name)} repeated")
        if name.startswith("@"):
            if name not in _DERIVED:
                raise _fail("malformed", f"unsupported derived component {_show(name)}")
            derived = {
                "@method": method,
                "@target-uri": target_uri,
                "@authority": authority,
                "@scheme": scheme,
                "@request-target": target,
                "@path": path or "/",
                "@query": f"?{query}",
            }[name]
            if not derived:
                raise _fail("headers", f"{name} cannot be derived for this request")
            value = derived
        else:
            if name != name.lower() or not name:
                raise _fail("malformed", f"field name {_show(name)} must be lower-case")
            field_value = _bounded(hdrs, name)
            if field_value is None:
                raise _fail("headers", f"covered header {_show(name)} is absent")
            value = field_value.strip(" \t")
        covered.append(name)
        lines.append(f'"{name}": {value}\n')
    lines.append(f'"@signature-params": {_sf_inner_list(inner)}')
    try:
        base = "".join(lines).encode("ascii")
    except UnicodeEncodeError as exc:
        raise _fail("malformed", "signature base is not ASCII") from exc
    if b"\r" in base or base.count(b"\n") != len(covered):
        # A newline inside a value would let one component impersonate another.
        raise _fail("malformed", "line break inside a covered value")

    created_param = _int_param(inner.params, "created")
    created: datetime | None = None
    if created_param is not None:
        created = _from_timestamp(created_param, "created")
    elif "date" in covered:
        created = _http_date(hdrs["date"])
    parsed = ParsedSignature(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=algorithm,
        signing_string=base,
        signature=sig_item.value,
        created=created,
        covered=tuple(covered),
    )
    return _Rfc9421(parsed, inner.params)


def _rfc9421_policy(
    result: _Rfc9421, hdrs: dict[str, str], body: bytes, now: datetime, window: int
) -> None:
    covered = set(result.parsed.covered)
    if "@method" not in covered:
        raise _fail("headers", "signature must cover @method")
    if not covered & {"@target-uri", "@path", "@request-target"}:
        raise _fail("headers", "signature must cover @target-uri or @path")
    if not covered & {"@authority", "host", "@target-uri"}:
        raise _fail("headers", "signature must cover @authority")
    created_param = _int_param(result.params, "created")
    if created_param is None and "date" not in covered:
        raise _fail("headers", "signature must have created or cover date")
    if created_param is not None:
        _check_fresh(_from_timestamp(created_param, "created"), now, window, "created")
    if "date" in covered:
        _check_fresh(_http_date(hdrs["date"]), now, window, "Date")
    expires = _int_param(result.params, "expires")
    if expires is not None and _from_timestamp(expires, "expires") < now:
        raise _fail("date", "signature expired")

    digest_header = _bounded(hdrs, "content-digest")
    if digest_header is not None:
        found: dict[str, bytes] = {}
        for alg, member in _sf_dictionary(digest_header).items():
            if not isinstance(member, _Item) or not isinstance(member.value, bytes):
                raise _fail("malformed", "Content-Digest member is not a byte sequence")
            found[alg] = member.value
        _check_digests(found, body, "Content-Digest")
    elif body:
        raise _fail("digest", "a request with a body needs a Content-Digest header")
    if body and "content-digest" not in covered:
        raise _fail("headers", "signature must cover Content-Digest")


# --- entry points --------------------------------------------------------------------------------


def parse_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str = "",
    now: datetime | None = None,
    window: int = DEFAULT_WINDOW,
) -> ParsedSignature:
    """Check everything about an incoming request's signature that needs no key.

    ``target`` is the path with query as received ("/inbox?x=1"); ``url`` the full URL
    (for @target-uri and @authority; without it @authority comes from Host). ``headers`` is
    looked up case-insensitively. An RFC 9421 signature (``Signature-Input`` present) is used in
    preference to a cavage one (``Signature`` / ``Authorization: Signature``).

    Checked: syntax and size; a supported algorithm; Date (or ``created``) within ``window``
    seconds of ``now`` either way and ``expires`` not passed ('date'); coverage of the method and
    path, the host and the date/created ('headers'); with a body, a digest header that matches
    it ('digest') and is covered ('headers'). Raises SignatureError only.
    """
    try:
        return _parse_request(method, target, headers, body, url=url, now=now, window=window)
    except SignatureError:
        raise
    except Exception as exc:  # hostile input must never surface as a server error
        raise _fail("malformed", f"unreadable signature ({type(exc).__name__})") from exc


def _parse_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    url: str,
    now: datetime | None,
    window: int,
) -> ParsedSignature:
    hdrs = _lowered(headers)
    moment = _utc(now)
    body = body or b""
    signature_input = _bounded(hdrs, "signature-input")
    signature = _bounded(hdrs, "signature")
    if signature_input is not None:
        if signature is None:
            raise _fail("malformed", "Signature-Input without Signature")
        result = _parse_rfc9421(signature_input, signature, method, target, hdrs, url)
        _rfc9421_policy(result, hdrs, body, moment, window)
        return result.parsed
    if signature is None:
        authorization = _bounded(hdrs, "authorization") or ""
        scheme, _sep, rest = authorization.strip().partition(" ")
        if scheme.lower() == "signature" and rest.strip():
            signature = rest.strip()
    if signature is None or not signature.strip():
        raise _fail("missing", "request is not signed")
    return _parse_cavage(signature, method, target, hdrs, body, moment, window)


def _load_public_key(public_key_pem: str) -> object:
    if not isinstance(public_key_pem, str) or len(public_key_pem) > MAX_KEY_PEM_BYTES:
        raise _fail("malformed", "public key unreadable")
    try:
        return load_pem_public_key(public_key_pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise _fail("malformed", "public key unreadable") from exc


def _rsa_ok(
    key: RSAPublicKey,
    message: bytes,
    signature: bytes,
    pad: padding.AsymmetricPadding,
    algorithm: hashes.HashAlgorithm,
) -> bool:
    try:
        key.verify(signature, message, pad, algorithm)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(parsed: ParsedSignature, public_key_pem: str) -> None:
    """Check ``parsed.signature`` over ``parsed.signing_string`` with the sender's key.

    rsa-sha256: RSA PKCS#1 v1.5 with SHA-256; rsa-pss-sha512: RSA-PSS with SHA-512 (MGF1
    SHA-512, 64-byte salt, RFC 9421 §3.3.1); ed25519: Ed25519; hs2019 (the key decides): an
    Ed25519 key means Ed25519, an RSA key PKCS#1 v1.5 SHA-256 and, failing that, RSA-PSS SHA-512
    (draft-cavage-12's recommendation for hs2019). RSA keys must have 2048 to 8192 bits.
    Raises SignatureError: 'algorithm' when the key does not fit, 'malformed' for an unreadable
    key, 'bad_signature' when the signature does not verify. Returns None on success.
    """
    key = _load_public_key(public_key_pem)
    algorithm = parsed.algorithm
    message, signature = parsed.signing_string, parsed.signature
    if isinstance(key, Ed25519PublicKey):
        if algorithm not in ("ed25519", "hs2019"):
            raise _fail("algorithm", f"an Ed25519 key cannot check {algorithm}")
        try:
            key.verify(signature, message)
        except (InvalidSignature, ValueError) as exc:
            raise _fail("bad_signature", "signature does not verify") from exc
        return
    if not isinstance(key, RSAPublicKey):
        raise _fail("algorithm", f"key type {type(key).__name__} is not supported")
    if algorithm not in ("rsa-sha256", "rsa-pss-sha512", "hs2019"):
        raise _fail("algorithm", f"an RSA key cannot check {algorithm}")
    if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise _fail("algorithm", f"RSA key of {key.key_size} bits refused")
    pkcs1 = padding.PKCS1v15()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    if algorithm == "rsa-sha256":
        ok = _rsa_ok(key, message, signature, pkcs1, hashes.SHA256())
    elif algorithm == "rsa-pss-sha512":
        ok = _rsa_ok(key, message, signature, pss, hashes.SHA512())
    else:
        hs2019_pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.AUTO)
        ok = _rsa_ok(key, message, signature, pkcs1, hashes.SHA256()) or _rsa_ok(
            key, message, signature, hs2019_pss, hashes.SHA512()
        )
    if not ok:
        raise _fail("bad_signature", "signature does not verify")
