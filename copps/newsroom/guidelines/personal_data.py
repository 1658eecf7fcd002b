"""Citizens' personal data in what the force publishes: protect their privacy.

National register numbers are confirmed with their checksum and IBANs with theirs (python-stdnum),
phone numbers are found with Google's libphonenumber rules (phonenumbers); the force's own
numbers and e-mail domains (settings) are not personal data.
"""

import phonenumbers
import regex
from django.conf import settings
from django.utils.translation import gettext as _
from stdnum import iban
from stdnum.be import nn

from .base import BLOCKING, Content, Finding, fields_of

NRN_RE = regex.compile(r"(?<![\d.])\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[-.\s]?\d{2}(?![\d])")
IBAN_RE = regex.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
EMAIL_RE = regex.compile(r"(?<![\w.+-])[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", regex.UNICODE)
# Belgian plates: 1-ABC-123 (since 2010, also without dashes), ABC-123 and 123-ABC (older series).
PLATE_RE = regex.compile(
    r"(?<![\w-])(?:[1-9][-\s]?[A-Z]{3}[-\s]?\d{3}|[A-Z]{3}-\d{3}|\d{3}-[A-Z]{3})(?![\w-])"
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _own_numbers() -> set[str]:
    own = set()
    for raw in settings.COPPS_OWN_PHONE_NUMBERS:
        own.add(_digits(raw))
        try:
            parsed = phonenumbers.parse(raw, "BE")
            own.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
    return own


def check(content: Content) -> list[Finding]:
    findings: list[Finding] = []
    own_numbers = _own_numbers()
    own_domains = {d.lower() for d in settings.COPPS_OWN_EMAIL_DOMAINS}
    for version in content.versions:
        for field, text in fields_of(version):
            taken: list[tuple[int, int]] = []

            def add(code, message, m_start, m_end, *, field=field, text=text, taken=taken):
                taken.append((m_start, m_end))
                findings.append(
                    Finding(
                        code, BLOCKING, message, version.language, field,
                        text[m_start:m_end], m_start, m_end,
                    )
                )

            def free(a, b, taken=taken):
                return all(b <= s or a >= e for s, e in taken)

            for m in NRN_RE.finditer(text):
                if nn.is_valid(_digits(m.group())):
                    add("national_number", _("National register number"), m.start(), m.end())
            for m in IBAN_RE.finditer(text):
                if iban.is_valid(m.group()) and free(m.start(), m.end()):
                    add("iban", _("Bank account number (IBAN)"), m.start(), m.end())
            for match in phonenumbers.PhoneNumberMatcher(text, "BE"):
                if not free(match.start, match.end):
                    continue
                e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                if e164 in own_numbers or _digits(match.raw_string) in own_numbers:
                    continue
                add("phone_number", _("Phone number"), match.start, match.end)
            for m in EMAIL_RE.finditer(text):
                domain = m.group(1).lower()
                if domain in own_domains or any(domain.endswith("." + d) for d in own_domains):
                    continue
                add("email_address", _("E-mail address"), m.start(), m.end())
            for m in PLATE_RE.finditer(text):
                if free(m.start(), m.end()):
                    add("licence_plate", _("Licence plate"), m.start(), m.end())
    return findings
