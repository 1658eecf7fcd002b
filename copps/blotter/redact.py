"""Redaction of free text before anything leaves the force.

``redact(text, language=None)`` replaces personal data with bracketed placeholders — [NAME],
[PHONE], [EMAIL], [NATIONAL_NUMBER], [PLATE], [NUMBER] (a house number; the street stays),
[DATE], [AGE], [URL], [ID] — and says whether it is unsure (the entry then waits for a person
instead of going out).

Two layers find the personal data:

- deduce (https://github.com/vmenger/deduce, Dutch de-identification): names, dates, ages, phone
  numbers, identifiers. Its place names are *kept*: a public entry names its municipality anyway.
- copps' own recognisers (``recognisers.py``): Belgian national register numbers with their
  checksum, Belgian phone and plate formats, house numbers after a street, French, German and
  English dates, ages and names (after a title, "le nommé", a first name from deduce's lists).

What is left is then checked: a capitalised word that is not at the start of a sentence and not a
municipality, a street or a common word, a long run of digits, a language we do not handle, or a
failure of deduce each make the result ``unsure`` (with the reasons).

deduce loads its lookup lists once per process (about 4 s; the first run after installing builds
a cache inside its package, about 80 s: ``copps redact --warm`` does it at deployment). The
instance is shared by all threads. The result depends on the text only: deterministic.
"""

from __future__ import annotations

import gc
import logging
import threading
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import regex
from django.conf import settings
from django.utils.translation import gettext as _

from . import gazetteer
from . import recognisers as rec

logger = logging.getLogger(__name__)

LABELS = (
    "EMAIL",
    "URL",
    "NATIONAL_NUMBER",
    "PHONE",
    "PLATE",
    "DATE",
    "NAME",
    "AGE",
    "ID",
    "NUMBER",
)
PRIORITY = {label: rank for rank, label in enumerate(LABELS)}

# deduce's tags -> our placeholders (its locations and institutions stay: see above).
DEDUCE_TAGS = {
    "datum": "DATE",
    "leeftijd": "AGE",
    "telefoonnummer": "PHONE",
    "emailadres": "EMAIL",
    "url": "URL",
    "bsn": "ID",
    "id": "ID",
}


@dataclass
class Redacted:
    text: str
    unsure: bool = False
    reasons: list[str] = field(default_factory=list)
    found: dict[str, int] = field(default_factory=dict)
    # The replaced ranges of the (NFC-normalised) source text: (start, end, label).
    spans: list[tuple[int, int, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# deduce, loaded once per process
# ---------------------------------------------------------------------------------------------

_lock = threading.Lock()
_deduce: Any = None
_deduce_error: str = ""


def deduce_instance() -> Any:
    """The process's deduce instance (loaded on first use), or None if it cannot be loaded."""
    global _deduce, _deduce_error
    if _deduce is None and not _deduce_error:
        with _lock:
            if _deduce is None and not _deduce_error:
                try:
                    from deduce import Deduce

                    _deduce = Deduce()
                    # deduce's lookup structures are millions of long-lived objects: keep the
                    # garbage collector's full passes from walking them again and again (each
                    # pass took ~2.5 s).
                    gc.freeze()
                except Exception as exc:  # ImportError, or a broken cache
                    logger.exception("deduce could not be loaded")
                    _deduce_error = type(exc).__name__
    return _deduce


def warm() -> bool:
    """Load (and on a new install build) deduce now; True if it is usable."""
    return deduce_instance() is not None


def _use_deduce() -> bool:
    return bool(getattr(settings, "COPPS_REDACT_DEDUCE", True))


# ---------------------------------------------------------------------------------------------
# Language
# ---------------------------------------------------------------------------------------------

STOPWORDS = {
    "nl": "de het een en van in op is werd met aan door die dat bij te voor niet zijn naar om er "
    "uit hij zij ze heeft wordt man vrouw geen ook nog wat tussen tegen",
    "fr": "le la les un une et du des à au aux en est a été par pour dans sur avec il elle qui que "
    "ne pas homme femme été ont son sa ses cette après vers",
    "de": "der die das und ein eine ist wurde mit von zu im auf für nicht den dem sich bei nach mann "
    "frau wird hat sind zum zur",
    "en": "the a an and of in on is was with by to for at from man woman has been were his her "
    "after into",
    "es": "el los las y que en un una por con es del se lo al pero su hombre mujer fue",
    "it": "il gli e che di un una per con è del della sono uomo donna stato alla nel",
    "pt": "o os as e que em um uma por com é do da dos não homem mulher foi",
    "pl": "i w z na się nie że do jest o to jak po mężczyzna kobieta",
    "tr": "ve bir bu da de ile için olarak adam kadın",
}
_stop = {lang: set(words.split()) for lang, words in STOPWORDS.items()}
HANDLED = ("nl", "fr", "de", "en")
WORDS_RE = regex.compile(r"\p{L}+")


def detect_language(text: str) -> str:
    """ "nl", "fr", "de", "en", another code, or "" when the text is too short to tell."""
    words = [w.casefold() for w in WORDS_RE.findall(text)]
    if not words:
        return ""
    letters = "".join(words)
    latin = sum(1 for ch in letters if ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"))
    if latin < 0.7 * len(letters):
        return "other"
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _stop.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang in HANDLED, lang == "nl"))
    if scores[best] == 0:
        return "" if len(words) < 8 else "other"
    if best not in HANDLED and scores[best] < 2:
        # One shared little word ("na" is Dutch and Polish) says nothing: too short to tell.
        return ""
    if len(words) >= 8 and scores[best] < 0.08 * len(words):
        return "other"
    return best


# ---------------------------------------------------------------------------------------------
# Words that may stand capitalised in the middle of a sentence without being a name
# ---------------------------------------------------------------------------------------------

KEEP_WORDS = set(
    """
    politie police polizei polizeizone zone pz zp lpa federale fédérale lokale locale parket parquet
    staatsanwaltschaft brandweer pompiers feuerwehr ambulance ziekenwagen samu dringende hulp
    dienst service civiele bescherming protection civile procureur onderzoeksrechter juge
    rechtbank tribunal court cour justice rijkswacht gendarmerie douane douanes defensie défense
    stad ville gemeente commune gemeinde provincie province vlaanderen wallonie wallonië brussel
    bruxelles belgië belgique belgien belgium nederland pays-bas frankrijk france duitsland
    allemagne luxemburg luxembourg europa europe e40 e17 e19 e34 e313 e314 e411 e42 r0 r1 r4
    sint saint sainte st ste onze lieve vrouw notre dame heilig heilige
    maandag dinsdag woensdag donderdag vrijdag zaterdag zondag lundi mardi mercredi jeudi vendredi
    samedi dimanche montag dienstag mittwoch donnerstag freitag samstag sonntag monday tuesday
    wednesday thursday friday saturday sunday
    januari februari maart april mei juni juli augustus september oktober november december
    janvier février mars avril mai juin juillet août septembre octobre novembre décembre
    januar februar märz august dezember january february march may june july october
    pasen kerstmis nieuwjaar pâques noël carnaval kermis toussaint allerheiligen
    bmw audi volkswagen vw mercedes mercedes-benz opel renault peugeot citroën citroen toyota ford
    fiat tesla volvo skoda škoda kia hyundai nissan mazda seat dacia mini porsche honda suzuki
    yamaha kawasaki vespa ducati jeep land rover range lexus mitsubishi smart cupra alfa romeo
    delhaize colruyt aldi lidl carrefour action kruidvat brico albert heijn proxy spar match hema
    zara ikea mediamarkt fnac decathlon blokker okay intermarché cora makro
    de het een den der des du le la les l un une van von vom zu aan op in te ter ten bij
    ik je jij u hij zij we wij jullie ze hun hen ons il elle ils elles nous vous on er sie wir
    ich du the a an he she they we i you it
    nmbs sncb stib mivb de lijn tec bpost proximus telenet orange base mobistar vrt rtbf vtm
    gsm smartphone iphone samsung apple huawei xiaomi nokia
    euro eur
    belg belgische belgisch nederlands nederlandse nederlander frans franse fransman duits duitse
    luxemburgse marokkaans marokkaanse turks turkse pools poolse roemeens roemeense bulgaars
    bulgaarse italiaans italiaanse spaans spaanse brits britse engels engelse albanees albanese
    syrisch syrische afghaans afghaanse oekraïens oekraïense russisch russische
    europees europese européen européenne nationaal nationale national internationale
    vlaams vlaamse waals waalse brussels brusselse antwerps antwerpse gents gentse
    """.split()
)


def _keep(word: str) -> bool:
    key = rec.fold(word)
    return key in KEEP_WORDS or key in rec.lookups().get("common", frozenset())


def _municipality_at(words: list[tuple[int, int, str]], i: int) -> int:
    """How many words from ``i`` form a municipality name ("La Louvière", "Sint-Niklaas")."""
    for size in (3, 2, 1):
        if i + size <= len(words):
            name = " ".join(w for _s, _e, w in words[i : i + size])
            if gazetteer.find(name):
                return size
    return 0


SENTENCE_END = set(".!?:;\n…•")
QUOTES = "\"'«»“”„‘’([–—-* \t\r"


def _sentence_initial(text: str, start: int) -> bool:
    window = max(0, start - 100)  # not the whole prefix: long texts stay linear
    before = text[window:start].rstrip(QUOTES)
    if not before:
        return window == 0
    if before[-1] not in SENTENCE_END:
        return False
    # "M. Dupont", "dhr. Peeters", "Mme. X": a title's dot does not end a sentence.
    tail = before[:-1].rsplit(None, 1)[-1].casefold() if before[:-1].strip() else ""
    return tail not in {
        "m",
        "mme",
        "mlle",
        "dhr",
        "mevr",
        "mr",
        "mrs",
        "ms",
        "dr",
        "me",
        "st",
        "nr",
    }


def _capital(word: str) -> bool:
    return word[:1].isupper()


def _words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in rec.WORD_RE.finditer(text)]


# ---------------------------------------------------------------------------------------------
# Spans
# ---------------------------------------------------------------------------------------------


def _inside(span: tuple[int, int], areas: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and span[1] > s for s, e in areas)


def _deduce_spans(text: str, streets: list[tuple[int, int]], places: set[str]) -> list[rec.Span]:
    """deduce's findings as our spans; the words of the places it found go into ``places``."""
    engine = deduce_instance()
    if engine is None:
        raise RuntimeError("deduce unavailable")
    document = engine.deidentify(text)
    spans: list[rec.Span] = []
    for annotation in document.annotations:
        tag = annotation.tag
        start, end = annotation.start_char, annotation.end_char
        if "locatie" in tag or "straat" in tag or "ziekenhuis" in tag or "zorginstelling" in tag:
            places.update(rec.WORD_RE.findall(text[start:end]))
        if "huisnummer" in tag or "locatie" in tag or "straat" in tag:
            # "Kerkstraat 12a": the street stays, the number goes.
            number = HOUSE_NUMBER_END_RE.search(text[start:end])
            if number:
                spans.append((start + number.start(1), end, "NUMBER"))
            continue
        label = DEDUCE_TAGS.get(tag)
        if label is None and ("persoon" in tag or "naam" in tag or "patient" in tag):
            label = "NAME"
        if label is None:
            continue  # locations and institutions stay
        if label == "NAME" and (
            _name_is_place(text, start, end, streets)
            or all(_keep(w) for w in rec.WORD_RE.findall(text[start:end]))
        ):
            continue  # "in Brecht", "een Franse plaat"
        if label == "PHONE" and rec.is_own_phone(text[start:end]):
            continue  # the force's own number stays
        if label == "AGE" and SENTENCE_NOT_AGE_RE.match(text, end):
            continue  # "5 jaar cel" is a sentence, not an age
        spans.append((start, end, label))
    return spans


HOUSE_NUMBER_END_RE = regex.compile(
    r"\s(\d{1,4}(?:\s?[a-zA-Z])?(?:\s*(?:bus|bte|/)\s*\d{1,4}[a-zA-Z]?)?)\Z"
)
SENTENCE_NOT_AGE_RE = regex.compile(
    r"(?i)\s*(?:jaar|ans)\s+(?:cel|celstraf|gevangenis|effectief|voorwaardelijk|rijverbod|geleden|"
    r"de prison|d'emprisonnement|ferme|avec sursis)"
)
PARTICLES = {"te", "van", "de", "der", "den", "ter", "ten", "in", "op", "du", "la", "le", "à"}

COMPOUND_PLACE_RE = regex.compile(r"(?i)\b(?:saint|sainte|sint|st|ste)-\Z")

PLACE_WORDS = set(
    "in te à a uit naar bij nabij richting van de d' aan op tot om vers près nach bei aus von from to at near "
    "near of sur en".split()
)


def _name_is_place(text: str, start: int, end: int, streets: list[tuple[int, int]]) -> bool:
    """deduce takes "Brecht", "Jette" or "Avenue Louise" for a person: not in front of a place word."""
    if _inside((start, end), streets):
        return True
    if COMPOUND_PLACE_RE.search(text[max(0, start - 7) : start]):
        return True  # "église Saint-Martin", "Sint-Jan": a saint's name is a place's
    # The whole hyphenated word(s) around the find: "Mons-Tournai", "Halle-Vilvoorde".
    while start > 0 and (text[start - 1] == "-" or text[start - 1].isalpha()):
        start -= 1
    while end < len(text) and (text[end] == "-" or text[end].isalpha()):
        end += 1
    parts = text[start:end].split("-")
    if len(parts) > 1 and " " not in text[start:end] and all(gazetteer.find(p) for p in parts):
        return True
    words = text[start:end].split()
    while len(words) > 1 and words[0].casefold() in PARTICLES:
        words = words[1:]  # deduce reads "te Gent" as a surname with its particle
        if gazetteer.find(" ".join(words)):
            return True
    if gazetteer.find(text[start:end]):
        before = text[:start].rstrip().rsplit(None, 1)
        return bool(before) and before[-1].casefold() in PLACE_WORDS
    return False


NAME_PARTICLES = frozenset("van de der den du la le von d ten ter".split())


def _lookup_name_spans(text: str, streets: list[tuple[int, int]]) -> list[rec.Span]:
    """A first name from the lists, with the capitalised words that follow it (French, German…)."""
    tables = rec.lookups()
    first = tables["first"]
    words = _words(text)
    spans: list[rec.Span] = []
    i = 0
    while i < len(words):
        start, end, word = words[i]
        key = rec.fold(word)
        if (
            _capital(word)
            and not word.isupper()
            and key in first
            and not _keep(word)
            and not _inside((start, end), streets)
            and not _name_is_place(text, start, end, streets)
        ):
            j = i + 1
            # The surname: capitalised words (or particles followed by one) right after it.
            while j < len(words) and j - i <= 4:
                gap = text[words[j - 1][1] : words[j][0]]
                if gap.strip() not in ("", "-", "'"):
                    break
                w = words[j][2]
                if _capital(w) and not _inside(words[j][:2], streets):
                    j += 1
                elif rec.fold(w) in NAME_PARTICLES and (
                    j + 1 < len(words) and _capital(words[j + 1][2])
                ):
                    j += 2
                else:
                    break
            if j > i + 1 or not _sentence_initial(text, start):
                spans.append((start, words[j - 1][1], "NAME"))
            # else: a lone first name opening a sentence ("Dan", "Will", "Marie") is left to the
            # checks on what remains, which send it to a person.
            i = j
            continue
        i += 1
    return spans


LEADING_PARTICLES_RE = regex.compile(
    r"(?<![\w-])(?:Van|Vanden|Vander|Vande|Von|Ver|De|Den|Der|Di|Da|Du|Le|El|Al|Ben|Ter|Ten|'t)"
    r"(?:\s+(?:de|den|der|het|la|le|'t))?\s+\Z"
)


def _with_particles(text: str, spans: list[rec.Span]) -> list[rec.Span]:
    """ "Van den [NAME]" -> "[NAME]": a surname's particles go with it."""
    out = []
    for start, end, label in spans:
        if label == "NAME":
            particles = LEADING_PARTICLES_RE.search(text[max(0, start - 20) : start])
            if particles:
                start = max(0, start - 20) + particles.start()
        out.append((start, end, label))
    return out


def _resolve(spans: list[rec.Span]) -> list[rec.Span]:
    """Overlapping spans become one (their union) with the label of the highest priority."""
    merged: list[list[Any]] = []
    for start, end, label in sorted(spans, key=lambda s: (s[0], -s[1], PRIORITY.get(s[2], 99))):
        if start >= end:
            continue
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if PRIORITY.get(label, 99) < PRIORITY.get(last[2], 99):
                last[2] = label
        else:
            merged.append([start, end, label])
    return [(s, e, label) for s, e, label in merged]


# ---------------------------------------------------------------------------------------------
# What is left: the checks that make a result unsure
# ---------------------------------------------------------------------------------------------

LONG_DIGITS_RE = regex.compile(r"(?<![\d])\d{7,}(?!\d)|(?<![\d])\d{2,4}(?:[ ./-]\d{2,4}){2,}(?!\d)")
PLACEHOLDER_RE = regex.compile(r"\[(?:" + "|".join(LABELS) + r")\]")


def _capitalised_leftovers(text: str, language: str, places: Collection[str] = ()) -> int:
    """How many capitalised words in the redacted text may still be a name."""
    tables = rec.lookups()
    first, surnames = tables["first"], tables["surname"]
    holders = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]
    streets = rec.streets(text)
    words = [w for w in _words(text) if not _inside(w[:2], holders)]
    suspicious = 0
    i = 0
    while i < len(words):
        start, end, word = words[i]
        if not _capital(word):
            i += 1
            continue
        size = _municipality_at(words, i)
        if size and not (rec.fold(word) in first and size == 1 and _next_is_capital(words, i)):
            i += size
            continue
        i += 1
        key = rec.fold(word)
        if word in places or _inside((start, end), streets) or key in KEEP_WORDS:
            continue
        parts = word.split("-")
        if len(parts) > 1 and (
            rec.fold(parts[0]) in {"saint", "sainte", "sint", "st", "ste"}
            or all(gazetteer.find(p) for p in parts)
        ):
            continue  # "Saint-Martin", "Mons-Tournai"
        if word.isupper():
            if len(word) <= 4:
                continue  # acronyms: PV, BMW, SUV, NMBS
        elif language == "de":
            # German capitalises every noun: only known first names count.
            if key not in first:
                continue
        elif _sentence_initial(text, start):
            if _keep(word) or (key not in first and key not in surnames):
                continue
        elif key in first or key in surnames:
            pass  # "De Jong", "Bakker" mid-sentence: a name even if also a word
        elif _keep(word):
            continue
        suspicious += 1
    return suspicious


def _next_is_capital(words: list[tuple[int, int, str]], i: int) -> bool:
    return i + 1 < len(words) and _capital(words[i + 1][2])


# ---------------------------------------------------------------------------------------------
# The redactor
# ---------------------------------------------------------------------------------------------


def redact(text: str, language: str | None = None) -> Redacted:
    source = unicodedata.normalize("NFC", str(text or ""))
    reasons: list[str] = []
    if not source.strip():
        return Redacted(text=source)
    language = (language or "").split("-")[0].lower() or detect_language(source)
    if language and language not in HANDLED:
        reasons.append(_("The text is in a language the redactor does not handle."))

    streets = rec.streets(source)
    spans: list[rec.Span] = []
    spans += rec.emails(source)
    spans += [(m.start(), m.end(), "URL") for m in rec.URL_RE.finditer(source)]
    for start, end, label, valid in rec.national_numbers(source):
        spans.append((start, end, label))
        if not valid:
            reasons.append(
                _("A number written like a national register number has a wrong checksum.")
            )
    spans += rec.phones(source)
    spans += rec.plates(source)
    spans += rec.dates(source)
    spans += rec.ages(source)
    spans += rec.house_numbers(source)
    spans += [s for s in rec.names(source) if not _inside(s[:2], streets)]
    spans += _lookup_name_spans(source, streets)
    places: set[str] = set()
    if _use_deduce():
        try:
            spans += _deduce_spans(source, streets, places)
        except Exception:
            logger.exception("deduce failed on a text")
            reasons.append(_("The de-identification library failed on this text."))

    out: list[str] = []
    found: dict[str, int] = {}
    position = 0
    resolved = _resolve(_with_particles(source, spans))
    for start, end, label in resolved:
        out.append(source[position:start])
        out.append(f"[{label}]")
        found[label] = found.get(label, 0) + 1
        position = end
    out.append(source[position:])
    redacted = "".join(out)

    leftovers = _capitalised_leftovers(redacted, language, places)
    if leftovers:
        reasons.append(_("Capitalised words remain that may be a name."))
    if LONG_DIGITS_RE.search(PLACEHOLDER_RE.sub(" ", redacted)):
        reasons.append(_("A long number remains."))
    return Redacted(
        text=redacted, unsure=bool(reasons), reasons=reasons, found=found, spans=resolved
    )
