"""copps' own recognisers for personal data in Belgian police text (Dutch, French, German, English).

Each recogniser returns spans ``(start, end, label)``: the characters to replace by ``[LABEL]``.
They know the Belgian formats a general de-identification library does not: national register
and BIS numbers (checksum), Belgian phone numbers in every written form, licence plates (Belgian
and the neighbours'), house numbers after a street name (the street stays), dates and ages written
the French, German and English way, and French/German/English names after a title or a phrase
like "le nommé". ``streets(text)`` returns the street names, which stay (and are never a name).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import regex
from django.conf import settings
from stdnum.be import bis, nn

Span = tuple[int, int, str]

UPPER = r"A-ZÀ-ÖØ-ÞŠŽŒ"
LOWER = r"a-zß-öø-ÿšžœ"
# A capitalised word (with hyphenated parts, apostrophes: "Van den Bossche", "D'Hondt").
CAP = rf"(?:[{UPPER}][{LOWER}{UPPER}]*(?:['’-][{UPPER}{LOWER}][{LOWER}{UPPER}]*)*)"
# Name particles written between a first name and a surname.
PARTICLE = r"(?:van der|van den|van de|van 't|van|vande|vanden|der|den|de la|de|du|des|le|la|d'|von|vom|zu|ter|ten|te|'t|mac|ben|el|al)"
NAME_SEQ = rf"{CAP}(?:\s+(?:{PARTICLE}\s+)?{CAP}){{0,3}}"

# ---------------------------------------------------------------------------------------------
# Streets and house numbers
# ---------------------------------------------------------------------------------------------

STREET_SUFFIXES = (
    "straat steenweg weg laan lei dreef kaai plein markt singel dijk baan hof vest wal pad dam "
    "gracht kouter ring rei vliet brug berg wegel gang hoek park veld dries heide poort plaats "
    "burcht ven akker donk vijver toren kade "
    "straße strasse gasse allee platz ring damm chaussee ufer"
).split()
STRONG_SUFFIXES = (
    "straat",
    "steenweg",
    "laan",
    "lei",
    "dreef",
    "kaai",
    "plein",
    "markt",
    "singel",
    "straße",
    "strasse",
    "gasse",
    "allee",
    "platz",
)
STREET_WORDS_FR = (
    "rue avenue av. chaussée chée boulevard bd place square quai allée impasse chemin route drève "
    "clos sentier ruelle rond-point cité galerie parvis esplanade passage venelle voie "
    # places named like streets: "parc de la Boverie", "église Saint-Martin", "gare du Midi"
    "parc église gare pont quartier bois stade cimetière hôpital école athénée collège lycée "
    "institut domaine zoning abbaye château hameau lac canal"
).split()
STREET_WORDS_NL = "grote kleine oude nieuwe lange korte hoge lage sint koning koningin".split()

_street_suffix = "|".join(sorted(STREET_SUFFIXES, key=len, reverse=True))
_street_fr = "|".join(regex.escape(w) for w in sorted(STREET_WORDS_FR, key=len, reverse=True))
# "Kerkstraat", "Koning Albertlaan", "Sint-Pietersnieuwstraat", "Grote Markt", "Hauptstraße".
STREET_NL_RE = regex.compile(
    rf"(?<![\w-])(?:{CAP}\s+){{0,2}}[{UPPER}][{LOWER}{UPPER}'’-]*(?:{_street_suffix})(?![\w])"
    r"|(?<![\w-])(?:Grote|Kleine|Oude|Nieuwe|Lange|Korte) (?:Markt|Plaats|Baan|Weg|Heerweg)(?![\w])"
)
# "rue de la Loi", "avenue Louise", "chaussée de Waterloo", "place Saint-Lambert".
STREET_FR_RE = regex.compile(
    rf"(?<![\w-])(?i:{_street_fr})\s+(?:(?:de la|de l'|de|du|des|d'|aux|au|à la)\s*)?"
    rf"{CAP}(?:\s+(?:(?:de la|de|du|des|d'|et)\s*)?{CAP}){{0,3}}"
)
# "12 Main Street", "221B Baker Street"
STREET_EN_RE = regex.compile(
    rf"(?<![\w-])(?:{CAP}\s+){{1,2}}(?:Street|Road|Avenue|Lane|Drive|Square|Place|Close|Way)(?!\w)"
)
HOUSE_NUMBER = r"\d{1,4}(?:\s?[a-zA-Z](?![\w]))?(?:\s*(?:bus|bte|boîte|b\.|/)\s*\d{1,4}[a-zA-Z]?)?"
NUMBER_AFTER_STREET_RE = regex.compile(
    rf"\A,?\s+(?:nr\.?\s*|n°\s*|no\.?\s*)?({HOUSE_NUMBER})(?![\d:.,]\d)"
)
NUMBER_BEFORE_STREET_RE = regex.compile(r"(?<![\w,.])(\d{1,4}[a-zA-Z]?),?\s+\Z")
HOUSE_NUMBER_WORD_RE = regex.compile(
    r"(?i)(?<![\w])(?:huisnummer|huisnr\.?|nummer|nr\.|n°|numéro|hausnummer)\s*(\d{1,4}[a-zA-Z]?)(?!\w)"
)


def streets(text: str) -> list[tuple[int, int]]:
    """Street names in ``text`` (they stay; the number after them does not)."""
    found = []
    known = lookups()["known"]
    for m in STREET_NL_RE.finditer(text):
        last = m.group().split()[-1]
        # "Bakker", "Vandenberg", "Van Dijk" end like a street but are names.
        if fold(last) in known and not last.casefold().endswith(STRONG_SUFFIXES):
            continue
        found.append((m.start(), m.end()))
    found += [(m.start(), m.end()) for m in STREET_FR_RE.finditer(text)]
    found += [(m.start(), m.end()) for m in STREET_EN_RE.finditer(text)]
    return found


def house_numbers(text: str) -> Iterator[Span]:
    for start, end in streets(text):
        after = NUMBER_AFTER_STREET_RE.match(text[end : end + 30])
        if after:
            yield end + after.start(1), end + after.end(1), "NUMBER"
        before = NUMBER_BEFORE_STREET_RE.search(text[max(0, start - 8) : start])
        french = text[start:end][:1].islower()
        if before and (french or STREET_EN_RE.match(text, start)):  # "12, rue de la Loi"
            offset = max(0, start - 8)
            yield offset + before.start(1), offset + before.end(1), "NUMBER"
    for m in HOUSE_NUMBER_WORD_RE.finditer(text):
        yield m.start(1), m.end(1), "NUMBER"


# ---------------------------------------------------------------------------------------------
# Numbers: national register, phones, plates
# ---------------------------------------------------------------------------------------------

_SEP = r"[-./\s]?"
NRN_RE = regex.compile(
    rf"(?<!\d)(?<!\d[-./])\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{3}}{_SEP}\d{{2}}(?!\d)(?![-./]\d)"
)
# Written the official way (YY.MM.DD-XXX.CC): a national number even with a wrong checksum.
NRN_FORMATTED_RE = regex.compile(r"\A\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}\Z")


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def national_numbers(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, label, valid) for national register / BIS numbers."""
    for m in NRN_RE.finditer(text):
        number = digits(m.group())
        if nn.is_valid(number) or bis.is_valid(number):
            yield m.start(), m.end(), "NATIONAL_NUMBER", True
        elif NRN_FORMATTED_RE.match(m.group()):
            yield m.start(), m.end(), "NATIONAL_NUMBER", False


# Belgian and neighbouring phone numbers as people write them: +32 470 12 34 56, 0032 470…,
# 0470/12.34.56, 0470 12 34 56, 09 123 45 67, 02/123.45.67, +31 6 12345678, 06-12345678.
PHONE_RE = regex.compile(
    r"(?<![\w+./-])(?:(?:\+|00)\s?(?:32|31|33|49|352|44)\s?(?:\(0\)\s?)?|0)"
    r"\d{1,3}(?:[\s./-]{0,2}\d{2,4}){2,4}(?![\w/-]|[.,]\d)"
)


def _own_phone_numbers() -> frozenset[str]:
    return _parse_own(tuple(getattr(settings, "COPPS_OWN_PHONE_NUMBERS", ()) or ()))


@functools.lru_cache(maxsize=4)
def _parse_own(numbers: tuple[str, ...]) -> frozenset[str]:
    own = set()
    for raw in numbers:
        own.add(digits(raw))
        try:
            parsed = phonenumbers.parse(raw, "BE")
            own.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
    return frozenset(own)


def is_own_phone(raw: str) -> bool:
    """Whether ``raw`` is one of the force's own numbers (settings.COPPS_OWN_PHONE_NUMBERS)."""
    own = _own_phone_numbers()
    if digits(raw) in own:
        return True
    try:
        parsed = phonenumbers.parse(raw, "BE")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) in own


def phones(text: str) -> Iterator[Span]:
    for match in phonenumbers.PhoneNumberMatcher(text, "BE"):
        if not is_own_phone(match.raw_string):
            yield match.start, match.end, "PHONE"
    for m in PHONE_RE.finditer(text):
        number = digits(m.group())
        if is_own_phone(m.group()):
            continue
        if m.group().startswith(("+", "00")):
            national = number[2:] if m.group().startswith("00") else number
            national = regex.sub(r"\A(?:352|32|31|33|49|44)0?", "", national)
            ok = 6 <= len(national) <= 11
        else:
            ok = 8 <= len(number) - 1 <= 9  # a trunk 0 and 8 or 9 digits (BE, NL, FR)
        if ok:
            yield m.start(), m.end(), "PHONE"


EMAIL_RE = regex.compile(r"(?<![\w.+-])[\w.+-]{1,64}@([\w-]{1,63}(?:\.[\w-]{1,63}){1,8})")
URL_RE = regex.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+[\w/]")


def _own_domain(domain: str) -> bool:
    domain = domain.lower()
    owns = getattr(settings, "COPPS_OWN_EMAIL_DOMAINS", ()) or ()
    return any(
        domain == d or domain.endswith("." + d) for d in (o.lower().lstrip("@") for o in owns)
    )


def emails(text: str) -> Iterator[Span]:
    for m in EMAIL_RE.finditer(text):
        if not _own_domain(m.group(1)):
            yield m.start(), m.end(), "EMAIL"


# Plates: three dash/space-separated groups of letters and digits, alternating (Belgium 1-ABC-234,
# the Netherlands AB-123-C / 12-ABC-3, France AB-123-CD), the old Belgian ABC-123 / 123-ABC, the
# run-together 1ABC234, German "K-AB 1234", and whatever follows "nummerplaat", "plaque" and co.
PLATE_GROUPS_RE = regex.compile(
    r"(?<![\w-])([A-Za-z0-9]{1,3})([- ])([A-Za-z0-9]{2,3})\2([A-Za-z0-9]{1,3})(?![\w-])"
)
PLATE_RE = regex.compile(
    r"(?<![\w-])(?:[1-9O]\s?[A-Z]{3}\s?\d{3}|[A-Z]{3}[- ]\d{3}|\d{3}[- ][A-Z]{3}|[A-Z]{1,3}-[A-Z]{1,2} \d{1,4}[EH]?"
    r"|[1-9]-[a-z]{3}-\d{3})(?![\w-])"
)
PLATE_CONTEXT_RE = regex.compile(
    r"(?i)(?:nummerplaat|nummerplaten|kenteken|kentekenplaat|plaat|plaque|immatriculation|immatriculée?|"
    r"kennzeichen|number plate|licence plate|license plate|registration)\s*(?:nr\.?|n°|number)?:?\s*"
    r"(?-i:([A-Z0-9](?:[A-Z0-9]|[ .-](?=[A-Z0-9])){3,10}))",
)


def _kind(group: str) -> str:
    return "d" if group.isdigit() else "a" if group.isalpha() else "x"


def plates(text: str) -> Iterator[Span]:
    for m in PLATE_GROUPS_RE.finditer(text):
        groups = (m.group(1), m.group(3), m.group(4))
        kinds = [_kind(g) for g in groups]
        size = sum(len(g) for g in groups)
        letters = [g for g in groups if g.isalpha()]
        if (
            "x" not in kinds
            and kinds[0] != kinds[1]
            and kinds[1] != kinds[2]
            and 6 <= size <= 7
            and (all(g.isupper() for g in letters) or m.group(2) == "-")
        ):
            yield m.start(), m.end(), "PLATE"
    for m in PLATE_RE.finditer(text):
        yield m.start(), m.end(), "PLATE"
    for m in PLATE_CONTEXT_RE.finditer(text):
        plate = m.group(1).rstrip(" .-")
        if any(c.isdigit() for c in plate):
            yield m.start(1), m.start(1) + len(plate), "PLATE"


# ---------------------------------------------------------------------------------------------
# Dates and ages
# ---------------------------------------------------------------------------------------------

MONTHS = (
    "januari februari maart april mei juni juli augustus september oktober november december "
    "jan feb mrt apr jun jul aug sep sept okt nov dec "
    "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre "
    "janv févr avr juil déc "
    "januar februar märz maerz april mai juni juli august september oktober november dezember "
    "january february march april may june july august september october november december"
).split()
_months = "|".join(sorted(set(MONTHS), key=len, reverse=True))
DAY = r"(?:[12]\d|3[01]|0?[1-9])"
MONTH = r"(?:1[0-2]|0?[1-9])"
YEAR = r"(?:19\d{2}|20\d{2}|'?\d{2}|`\d{2})"
DATE_RES = [
    # 12/03/1980, 12-03-80, 12.03.1980 (not times 14.30, not amounts)
    regex.compile(rf"(?<![\w/.-]){DAY}([-/.]){MONTH}\1{YEAR}(?![\w/-]|\.\d)"),
    # 1980-03-12
    regex.compile(rf"(?<![\w/.-])(?:19|20)\d{{2}}-{MONTH}-{DAY}(?![\w/-])"),
    # 12 maart 1980, 1er mars 1980, 12. März 1980
    regex.compile(
        rf"(?i)(?<!\w){DAY}(?:er|e|ste|de|st|nd|rd|th)?\.?\s+(?:{_months})\.?\s+(?:19|20)\d{{2}}(?!\w)"
    ),
    # March 12, 1980
    regex.compile(rf"(?i)(?<!\w)(?:{_months})\s+{DAY}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}(?!\w)"),
]
# A date of birth without a year still identifies with the age: "geboren op 12 maart", "né le 3 mars".
BIRTH_RE = regex.compile(
    r"(?i)(?:geboren(?:\s+op)?|geb\.|°|née?\s+le|née?|born(?:\s+on)?|date of birth|DOB|"
    r"geboortedatum|date de naissance|geburtsdatum|geboren am|geb\.\s+am)\s*:?\s*"
    rf"({DAY}(?:er|e)?\.?\s*(?:(?:{_months})\.?|[-/.]{MONTH}\b)(?:\s*[-/.]?\s*(?:19|20)?\d{{2}}(?!\d))?"
    r"|(?:19|20)\d{2})"
)
AGE_NUMBER = r"\d{1,3}(?:[,.]5)?"
AGE_RES = [
    # Dutch: 45-jarige, 45 jarige, 11-12 jarige, 45 jaar oud, leeftijd van 45, (45), (45 jaar)
    regex.compile(rf"(?i)(?<![\w.,-])({AGE_NUMBER}(?:-\d{{1,3}})?)[- ]?jarige?n?(?!\w)"),
    regex.compile(rf"(?i)(?<![\w.,-])({AGE_NUMBER}) jaar oud(?!\w)"),
    regex.compile(rf"(?i)leeftijd(?: van)? ({AGE_NUMBER}(?:-\d{{1,3}})?)(?: jaar)?(?!\w)"),
    regex.compile(
        r"(?i)(?<=\w\s?)\((\d{1,2}|1[01]\d)(?:\s?(?:jaar|j\.?|ans|jahre|yrs?|years?))?\)"
    ),
    # "45 jaar" when it is not a duration ("al 10 jaar", "10 jaar geleden", "5 jaar cel")
    regex.compile(
        r"(?i)(?<!(?:\b(?:al|sinds|elke|iedere|over|na|binnen|ruim|bijna|voor|om de|tot|na|iets meer dan|minder dan|meer dan)\s))"
        rf"(?<![\w.,-])({AGE_NUMBER}) jaar(?!\s+(?:geleden|cel|celstraf|gevangenis|effectief|voorwaardelijk|rijverbod|"
        r"lang|later|eerder|na|nadat|werd|heeft|in de|uit|verbod|plaatsverbod|\w+straf))(?!\w)"
    ),
    # "van 44 en 47 jaar", "de 17 et 19 ans": the first age of a pair
    regex.compile(
        rf"(?i)(?<![\w.,-])({AGE_NUMBER}) (?:en|et|und|and|of|ou) {AGE_NUMBER} (?:jaar|ans|jahre|years)(?!\w)"
    ),
    # "een man van 21", "un homme de 34": a person and a bare number
    regex.compile(
        r"(?i)\b(?:man|vrouw|jongen|meisje|jongeman|jongedame|tiener|bestuurder|verdachte|slachtoffer|"
        r"persoon|fietser|voetganger|chauffeur|homme|femme|garçon|fille|jeune|conducteur|conductrice|"
        r"suspect|suspecte|victime|mann|frau|fahrer|woman|driver|suspect|victim)\s+(?:van|de|von|of)\s+"
        r"(\d{1,2})(?![\d,.:]|\s*(?:uur|u\b|h\b|km|m\b|meter|euro|€|%|minuten|min|procent|jaar|ans|"
        r"heures|mètres|kilo|kg|cm|jahre|years))"
    ),
    # French: âgé de 45 ans, 45 ans (not "depuis 10 ans", "il y a 10 ans", "5 ans de prison")
    regex.compile(rf"(?i)âgée?s? de ({AGE_NUMBER})(?: ans)?(?!\w)"),
    regex.compile(
        r"(?i)(?<!(?:\b(?:depuis|il y a|pendant|dans|tous les|toutes les|après|durant|plus de|moins de|près de|à|en)\s))"
        rf"(?<![\w.,-])({AGE_NUMBER}) ans(?!\s+(?:de prison|d'emprisonnement|ferme|avec sursis|plus tard|auparavant|"
        r"de réclusion|d'interdiction|de détention))(?!\w)"
    ),
    # German and English: 45-Jähriger, 45 Jahre alt, im Alter von 45, 45-year-old, aged 45
    regex.compile(rf"(?i)(?<![\w.,-])({AGE_NUMBER})[- ]?jährige[rnms]?(?!\w)"),
    regex.compile(rf"(?i)(?<![\w.,-])({AGE_NUMBER}) jahre alt(?!\w)"),
    regex.compile(rf"(?i)im alter von ({AGE_NUMBER})(?!\w)"),
    regex.compile(rf"(?i)(?<![\w.,-])({AGE_NUMBER})[- ]years?[- ]old(?!\w)"),
    regex.compile(rf"(?i)\baged ({AGE_NUMBER})(?!\w)"),
]


def dates(text: str) -> Iterator[Span]:
    for pattern in DATE_RES:
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "DATE"
    for m in BIRTH_RE.finditer(text):
        yield m.start(1), m.end(1), "DATE"


def ages(text: str) -> Iterator[Span]:
    for pattern in AGE_RES:
        for m in pattern.finditer(text):
            number = m.group(1)
            first = number.split("-")[0].replace(",", ".")
            try:
                if float(first) > 120:
                    continue
            except ValueError:
                continue
            yield m.start(1), m.end(1), "AGE"


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------

TITLES = (
    r"(?:de heer|heer|mevrouw|mevr\.?|dhr\.?|meneer|mijnheer|mw\.?|juffrouw|mej\.?|"
    r"monsieur|madame|mademoiselle|mlle\.?|mme\.?|m\.|me\.?|maître|"
    r"herr|frau|hr\.|fr\.|mr\.?|mrs\.?|ms\.?|miss|dr\.?|prof\.?)"
)
INITIALS = rf"(?:[{UPPER}][a-z]?\.\s?)"
TITLE_NAME_RE = regex.compile(
    rf"(?<![\w.])(?i:{TITLES})\s+(?:(?i:{TITLES})\s+)*({INITIALS}{{0,3}}(?:{PARTICLE}\s+)?{NAME_SEQ})"
)
# "J. Peeters", "J. Th. Bakker", "A. van der Berg": initials and a surname.
INITIALS_NAME_RE = regex.compile(
    rf"(?<![\w.])({INITIALS}{{1,3}}\s?(?:{PARTICLE}\s+)?{CAP}(?:\s+{CAP})?)"
)
# "le nommé Dupont", "la prénommée Julie", "een zekere Peeters", "genaamd Jan", "alias Pipo".
NAMED_RE = regex.compile(
    r"(?i:\b(?:le nommé|la nommée|les nommés|nommée?|prénommée?|dénommée?|surnommée?|un certain|une certaine|"
    r"le sieur|la dame|genaamd|genaamde|een zekere|zekere|alias|bijgenaamd|namens|ein gewisser|eine gewisse|"
    rf"namens|named|called)\s+)((?:{PARTICLE}\s+)?{NAME_SEQ})"
)
# Police style: "DUPONT Jean", "Jean DUPONT", "PEETERS J." (surname in capitals).
CAPS_NAME_RE = regex.compile(
    rf"(?<![\w-])(?:[{UPPER}]{{2,}}(?:[- ][{UPPER}]{{2,}})*\s+(?:{CAP}|[{UPPER}]\.)|{CAP}\s+[{UPPER}]{{3,}}(?:[- ][{UPPER}]{{2,}})*)(?![\w-])"
)
WORD_RE = regex.compile(rf"[{UPPER}{LOWER}]+(?:['’-][{UPPER}{LOWER}]+)*")


@functools.lru_cache(maxsize=1)
def lookups() -> dict[str, frozenset[str]]:
    """deduce's Dutch first-name and surname lists (casefolded), and common words to keep.

    Empty when deduce is not installed (the names then come from titles and context only)."""
    out: dict[str, frozenset[str]] = {
        "first": frozenset(),
        "surname": frozenset(),
        "known": frozenset(),
        "common": frozenset(),
    }
    try:
        import deduce
    except ImportError:  # pragma: no cover - deduce is a dependency
        return out
    base = Path(deduce.__file__).with_name("data") / "lookup" / "src"

    def read(relative: str) -> frozenset[str]:
        path = base / relative / "items.txt"
        try:
            return frozenset(
                line.strip().casefold()
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            )
        except OSError:  # pragma: no cover
            return frozenset()

    out["first"] = read("names/lst_first_name")
    out["surname"] = read("names/lst_surname")
    out["common"] = read("whitelist/lst_common_word") | read("whitelist/lst_stop_word")
    out["known"] = out["first"] | out["surname"]
    return out


def fold(word: str) -> str:
    return unicodedata.normalize("NFC", word).casefold()


def names(text: str) -> Iterator[Span]:
    for pattern in (TITLE_NAME_RE, NAMED_RE, INITIALS_NAME_RE):
        for m in pattern.finditer(text):
            yield m.start(1), m.end(1), "NAME"
    for m in CAPS_NAME_RE.finditer(text):
        caps = [w for w in m.group().split() if w.isupper() and len(w) > 1]
        # An acronym next to a word ("PZ Gent", "BMW Antwerpen") is not a name: a known
        # first name or surname must be part of it.
        known = lookups()["known"]
        words = [fold(w.strip(".")) for w in m.group().replace("-", " ").split()]
        if caps and any(w in known for w in words):
            yield m.start(), m.end(), "NAME"
