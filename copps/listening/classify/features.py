"""Text normalisation and hashed features, shared by training and inference.

Whatever changes here changes what the shipped model means: bump FEATURES_VERSION and retrain
(`python -m copps.listening.classify.train`). Pure Python, no state, thread-safe.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

FEATURES_VERSION = 2

# Longer texts are cut: a post's sentiment is in its first few thousand characters, and the
# cost of a 100 KB post must stay bounded.
MAX_CHARS = 4000

_ESCAPED = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"(?:https?://|www\.)\S*|\bhttps?\b", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
LETTER = re.compile(r"[^\W\d_]")
_REPEAT = re.compile(r"(.)\1{2,}")
_EMOTICON = re.compile(
    r"(?<!\w)(?:[:;=8][-'^o]?[)(\]\[dpo/\\|*]+|<3+|\^\^|xd+)(?!\w)", re.IGNORECASE
)
_EMOJI = "\u2600-\u27bf\U0001f000-\U0001faff\u2b50\u2b55\u2764\u203c\u2049"
_TOKEN = re.compile(
    rf"#?[^\W\d_]+(?:['’][^\W\d_]+)?|\d+|[{_EMOJI}]|[!?]+|[.,;:]|__emo\d+__",
    re.UNICODE,
)


def _emoticon(match: re.Match[str]) -> str:
    face = match.group(0)
    if "(" in face or "[" in face:
        return " __emo1__ "  # sad
    if face[-1] in ")]dp3^" or face.startswith("x"):
        return " __emo0__ "  # happy, laughing, heart
    return " __emo2__ "  # sceptical


# Negation cues: the next few words are marked (a "!" prefix) until punctuation ends the scope.
NEGATORS = frozenset(
    """
    not no never nothing nobody none nor cannot cant dont doesnt didnt isnt wasnt arent werent
    wont wouldnt shouldnt couldnt aint without
    niet geen nooit niets niemand noch zonder nergens
    ne pas jamais rien personne aucun aucune ni sans
    nicht kein keine keinen keinem keiner keines nie niemals nichts niemand ohne weder
    """.split()
)
_SCOPE = 3

# A small hand-written polarity lexicon (common forms) adds "_pos"/"_neg" features, so that
# words that are rare in the thin training data (Dutch above all) still count. Negated words
# count for the other side.
POSITIVE = frozenset(
    """
    good great nice love loved lovely happy glad thanks thank awesome amazing wonderful excellent
    fantastic perfect best beautiful proud congratulations congrats brilliant enjoy enjoyed
    goed goede geweldig geweldige mooi mooie fijn fijne leuk leuke blij dank bedankt dankjewel
    super prachtig prachtige fantastisch fantastische top heerlijk heerlijke lekker lekkere trots
    proficiat gefeliciteerd uitstekend uitstekende prima sterk sterke knap vriendelijk vriendelijke
    aanrader hoop
    bon bonne bons bonnes bien super génial géniale merci bravo magnifique excellent excellente
    parfait parfaite heureux heureuse content contente ravi ravie adore aime beau belle
    formidable félicitations superbe fier fière top
    gut gute guten toll tolle super danke dank schön schöne schönen wunderbar wunderbare
    großartig großartige perfekt glücklich froh freue freut liebe lieben herzlichen
    glückwunsch klasse prima geil stolz hervorragend spitze
    """.split()
)
NEGATIVE = frozenset(
    """
    bad worst terrible awful horrible hate hated sad angry disgusting disappointed disappointing
    poor rude shame disaster fail failed wrong ugly stupid sucks annoying scandal crisis
    slecht slechte slechter slechtste verschrikkelijk verschrikkelijke vreselijk vreselijke
    triest trieste droevig boos woedend schandalig schandalige schande ramp rampzalig jammer
    spijtig helaas teleurgesteld teleurstellend teleurstellende walgelijk lelijk haat
    onbeleefd onvriendelijk koud smakeloos belachelijk dom stom zielig verdrietig waardeloos
    mauvais mauvaise mauvaises nul nulle horrible horribles triste honte honteux honteuse
    scandale catastrophe colère déteste dégoûtant dégoûtante déçu déçue décevant décevante
    terrible affreux affreuse pire malheureusement marre grave stupide ridicule
    schlecht schlechte schlechter schlimm schlimme schrecklich schreckliche traurig wütend
    enttäuscht enttäuschend ekelhaft ekelig scheiße scheiß mist frechheit katastrophe leider
    hasse hass peinlich dumm blöd furchtbar furchtbare mies miese
    """.split()
)


def normalise(text: str) -> str:
    """Lower-cased text with URLs, mentions, escapes and elongations tidied (also for langid)."""
    text = text[:MAX_CHARS]
    if "\\u" in text:
        text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    # Lone surrogates (from JSON escapes) would break encoding further on.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return _REPEAT.sub(r"\1\1", text)


def tokens(text: str) -> list[str]:
    """Words (negation-marked), hashtags split off, emoji, emoticons, runs of ! and ?."""
    low = text.lower()
    low = _EMOTICON.sub(_emoticon, low)
    out: list[str] = []
    scope = 0
    for tok in _TOKEN.findall(low):
        if tok[0] == "#" and len(tok) > 1:
            out.append(tok)
            tok = tok[1:]
        first = tok[0]
        if first in ".,;:":
            scope = 0
            continue
        if first == "_" or first > "\u2000":  # emoticons and emoji are never negated
            out.append(tok)
            continue
        if first in "!?":
            out.append(tok[:2])
            scope = 0
            continue
        word = tok.replace("’", "'")
        if "'" in word:
            head, _, tail = word.partition("'")
            if tail == "t" and head.endswith("n"):  # don't, isn't
                word = head[:-1] + "nt" if head not in ("can", "won") else head + "t"
            elif len(head) <= 2:  # l'école, j'aime, qu'il
                out.append(head + "'")
                word = tail
        if word in NEGATORS:
            out.append(word)
            scope = _SCOPE
            continue
        if scope:
            out.append("!" + word)
            scope -= 1
        else:
            out.append(word)
    return out


# Posts share most of their words: each word's features (the word and its character 3- and
# 4-grams) and their checksums are computed once per process and remembered (bounded, least
# recently used out), and a post's features are gathered in a dict (feature -> crc32): the same
# features as computing them afresh, each with its checksum, never hashed twice in one post.
@lru_cache(maxsize=1 << 16)
def _word(tok: str) -> dict[str, int]:
    """A token and, for a word of three letters or more, its character 3- and 4-grams (padded
    with spaces, 3-grams first), each with its crc32."""
    if len(tok) > 2 and tok[0] not in "#!_":
        padded = f"~ {tok} "
        n = len(padded)
        grams = [padded[0] + padded[i : i + 3] for i in range(1, n - 2)]
        grams += [padded[0] + padded[i : i + 4] for i in range(1, n - 3)]
    else:
        grams = []
    return {f: zlib.crc32(f.encode("utf-8")) for f in (tok, *grams)}


def _crc(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8"))


def features(text: str, lang: str, norm: str | None = None) -> dict[str, int]:
    """The features of one text, each with its crc32; `norm`: normalise(text), if known."""
    if norm is None:
        norm = normalise(text)
    toks = tokens(norm)
    lang_feature = "_lang=" + lang
    feats = {lang_feature: _crc(lang_feature)}
    update, crc = feats.update, zlib.crc32
    prev = "<s>"
    for tok in toks:
        update(_word(tok))
        pair = prev + " " + tok
        feats[pair] = crc(pair.encode("utf-8"))
        prev = tok
    extra = [prev + " </s>"]
    pos = neg = 0
    for tok in toks:
        negated = tok[0] == "!"
        word = tok[1:] if negated else tok
        if word in POSITIVE:
            neg, pos = (neg + 1, pos) if negated else (neg, pos + 1)
        elif word in NEGATIVE:
            neg, pos = (neg, pos + 1) if negated else (neg + 1, pos)
    if pos:
        extra += ("_pos", f"_pos{min(pos, 3)}")
    if neg:
        extra += ("_neg", f"_neg{min(neg, 3)}")
    if pos and neg:
        extra.append("_mixed")
    # Shouting: six letters or more, over 60 % of them capitals (so at least four capitals).
    capitals = sum(map(str.isupper, norm))
    if capitals >= 4:
        letters = sum(map(str.isalpha, norm))
        if letters >= 6 and capitals > 0.6 * letters:
            extra.append("_shouting")
    if not toks:
        extra.append("_empty")
    for feature in extra:
        feats[feature] = crc(feature.encode("utf-8"))
    return feats


def feature_strings(text: str, lang: str, norm: str | None = None) -> set[str]:
    """The feature names of one text (before hashing); `norm`: normalise(text), if known."""
    return set(features(text, lang, norm))


def checksums(text: str, lang: str, norm: str | None = None) -> list[int]:
    """crc32 of each feature (stable across processes, unlike hash())."""
    return list(features(text, lang, norm).values())


def hashed(text: str, lang: str, bits: int) -> list[int]:
    """Sorted distinct bucket numbers of a text's features: crc32 modulo 2**bits."""
    mask = (1 << bits) - 1
    return sorted({c & mask for c in checksums(text, lang)})
