"""Citizens' personal data in what the force publishes: protect their privacy.

What is found, and how false positives on ordinary police text are kept out:

- national register numbers and BIS numbers (11 digits, YYMMDD-SSS-CC with optional separators):
  only when the checksum holds, for people born before and from 2000 (python-stdnum);
- IBANs: only when the ISO 7064 checksum holds (the bank code is not looked up: a new bank's
  account is personal data too);
- phone numbers, Belgian and international, with libphonenumber's rules (phonenumbers), which
  leave dates, times, amounts, postcodes and case numbers alone; the force's own numbers
  (``settings.COPPS_OWN_PHONE_NUMBERS``; 101 and 112 are too short to ever match) pass, and
  toll-free / shared-cost / premium numbers (usually a company's) are a warning only;
- e-mail addresses, except at the force's own domains (``settings.COPPS_OWN_EMAIL_DOMAINS``);
- Belgian licence plates in the written forms 1-ABC-123 / 1ABC123 (since 2010), ABC-123 and
  123-ABC (older series): letters in capitals, as on the plate, so "9000 Gent" or "om 14.30" never
  look like one.

Every finding is blocking except those named above: an editor may still override with a reason
(a witness appeal can name a car's plate on purpose).
"""

import functools

import phonenumbers
import regex
from django.conf import settings
from django.utils.translation import gettext as _
from stdnum import iban
from stdnum.be import bis, nn

from .base import BLOCKING, WARNING, Content, Finding, fields_of

_SEP = r"[-./\s]?"
NRN_RE = regex.compile(
    r"(?<!\d)(?<!\d[-./])\d{2}"
    + _SEP
    + r"\d{2}"
    + _SEP
    + r"\d{2}"
    + _SEP
    + r"\d{3}"
    + _SEP
    + r"\d{2}(?!\d)(?![-./]\d)"
)
IBAN_RE = regex.compile(
    r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?!\w)",
    regex.IGNORECASE,
)
EMAIL_RE = regex.compile(r"(?<![\w.+-])[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
PLATE_RE = regex.compile(
    r"(?<![\w-])(?:[1-9]-[A-Za-z]{3}-\d{3}|[1-9][A-Z]{3}\d{3}|[A-Z]{3}-\d{3}|\d{3}-[A-Z]{3})(?![\w-])"
)
# Numbers that usually belong to an organisation, not to a citizen.
SERVICE_NUMBER_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.UAN,
    }
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _own_numbers() -> frozenset[str]:
    """The force's own numbers, as digits and as E.164."""
    return _parse_own_numbers(tuple(settings.COPPS_OWN_PHONE_NUMBERS))


@functools.lru_cache(maxsize=4)
def _parse_own_numbers(numbers: tuple[str, ...]) -> frozenset[str]:
    # Parsed once per setting value, not on every check (keyed by the value: tests change it).
    own = set()
    for raw in numbers:
        own.add(_digits(raw))
        try:
            parsed = phonenumbers.parse(raw, "BE")
            own.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
    return frozenset(own)


def is_own_email_domain(domain: str) -> bool:
    domain = domain.lower()
    return any(
        domain == own or domain.endswith("." + own)
        for own in (d.lower().lstrip("@") for d in settings.COPPS_OWN_EMAIL_DOMAINS)
    )


def _iban_at(text: str, start: int, end: int) -> int | None:
    """The end of the longest valid IBAN starting at ``start`` (the pattern may take a word too many)."""
    for stop in range(end, start + 14, -1):
        if text[stop - 1].isalnum() and iban.is_valid(text[start:stop], check_country=False):
            return stop
    return None


def check(content: Content) -> list[Finding]:
    findings: list[Finding] = []
    own_numbers = _own_numbers()
    for version in content.versions:
        for field, text in fields_of(version):
            taken: list[tuple[int, int]] = []

            def free(a: int, b: int, taken=taken) -> bool:
                return all(b <= s or a >= e for s, e in taken)

            def add(
                code,
                message,
                start,
                end,
                severity=BLOCKING,
                *,
                language=version.language,
                field=field,
                text=text,
                taken=taken,
            ):
                taken.append((start, end))
                findings.append(
                    Finding(code, severity, message, language, field, text[start:end], start, end)
                )

            for m in NRN_RE.finditer(text):
                digits = _digits(m.group())
                if nn.is_valid(digits):
                    add(
                        "national_number",
                        _("National register number: it identifies a citizen."),
                        m.start(),
                        m.end(),
                    )
                elif bis.is_valid(digits):
                    add("bis_number", _("BIS number: it identifies a person."), m.start(), m.end())
            for m in IBAN_RE.finditer(text):
                stop = _iban_at(text, m.start(), m.end())
                if stop and free(m.start(), stop):
                    add("iban", _("Bank account number (IBAN)."), m.start(), stop)
            for match in phonenumbers.PhoneNumberMatcher(text, "BE"):
                if not free(match.start, match.end):
                    continue
                e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                if e164 in own_numbers or _digits(match.raw_string) in own_numbers:
                    continue
                if phonenumbers.number_type(match.number) in SERVICE_NUMBER_TYPES:
                    add(
                        "service_phone_number",
                        _("Phone number of a service or company: check it is not a citizen's."),
                        match.start,
                        match.end,
                        WARNING,
                    )
                else:
                    add(
                        "phone_number",
                        _("Phone number: only the force's own numbers may be published."),
                        match.start,
                        match.end,
                    )
            for m in EMAIL_RE.finditer(text):
                if free(m.start(), m.end()) and not is_own_email_domain(m.group(1)):
                    add(
                        "email_address",
                        _("E-mail address: only the force's own addresses may be published."),
                        m.start(),
                        m.end(),
                    )
            for m in PLATE_RE.finditer(text):
                if free(m.start(), m.end()):
                    add(
                        "licence_plate",
                        _("Licence plate: it identifies a vehicle's owner."),
                        m.start(),
                        m.end(),
                    )
    return findings
