"""The watch query language: boolean queries over public posts.

Grammar (operators in capitals only — ``and``, ``or`` and ``not`` are ordinary words in the
languages we listen to, so lowercase forms are searched as words)::

    query   := or
    or      := and ( "OR" and )*
    and     := unary ( ["AND"] unary )*        # adjacent terms: AND
    unary   := "NOT" unary | "(" or ")" | term
    term    := "exact phrase" | #hashtag | @account | lang:nl | place:Gent | place:9000
             | word | prefix*

Precedence: NOT binds tighter than AND, AND tighter than OR. Words and phrases match whole
words, without regard to case or accents (``politie`` matches "Politie", ``veiligheid*``
matches "veiligheidsdiensten", ``"zone gent"`` the two words in a row). A word also matches the
same hashtag (``brand`` matches "#brand"); ``#brand`` matches only the hashtag. ``@account``
matches the post's author (without the leading @, case-insensitive). ``lang:`` is a language
code (ISO 639-1). ``place:`` takes a Belgian municipality (any of its names, or a former
municipality's: the post names it, or the analysis placed the post there) or a four-digit
postcode, which is matched as a number in the text (the gazetteer has no postcodes).

A query must be able to match on something it names (``NOT spam`` alone is refused): this is what
lets the matcher look only at watches whose terms occur in a post.

``parse(text)`` returns the tree; a syntax error raises ``QueryError`` with the 0-based position.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

MAX_QUERY = 2000
MAX_TERMS = 200
# ASCII letters, digits and "#" stay; every other byte becomes a space (the fast path).
_ASCII = bytes(c if chr(c).isalnum() or c == 35 else 32 for c in range(128)) + b" " * 128
_SEPARATORS = re.compile(r"(?:[^\w#]|_)+")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


class QueryError(ValueError):
    """A query that cannot be parsed: ``message`` says why, ``position`` where (0-based)."""

    def __init__(self, message: str, position: int):
        super().__init__(
            _("%(message)s at %(position)s") % {"message": message, "position": position}
        )
        self.message = message
        self.position = position


def normalise(text: str) -> str:
    """Text as the matcher sees it: folded case, no accents, words and "#" separated by one
    space, with a space at both ends (so " word " is a whole word wherever it occurs)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    if folded.isascii():
        folded = folded.encode().translate(_ASCII).decode()
    else:  # other scripts, typographic quotes, emoji: the (slower) Unicode-aware way
        folded = _SEPARATORS.sub(" ", folded)
    return (" " + " ".join(folded.split()) + " ").replace(" #", " # ")


def words(text: str) -> list[str]:
    """The words of ``text`` as the matcher compares them (no "#")."""
    return normalise(text).replace("#", " ").split()


# The tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A leaf. ``kind`` is word | prefix | phrase | hashtag | author | lang | place | postcode.

    ``value`` is the normalised form: for word/prefix/hashtag/postcode a single token, for a
    phrase the words joined by one space, for place the NIS code, for author and lang the folded
    name or code. ``names`` (place only): the normalised names the municipality goes by.
    """

    kind: str
    value: str
    position: int = 0
    names: tuple[str, ...] = ()

    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


def terms(node: Node) -> list[Term]:
    """Every leaf of the tree."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms(node.child)
    return [t for c in node.children for t in terms(c)]


def positive_terms(node: Node) -> list[Term]:
    """Leaves not under a NOT: when the query matches, at least one of them is true."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for c in node.children for t in positive_terms(c)]


def can_match_alone(node: Node) -> bool:
    """True when the query can only match through one of its positive leaves."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(can_match_alone(c) for c in node.children)
    return all(can_match_alone(c) for c in node.children)


# The tokenizer -------------------------------------------------------------------------------

_OPERATORS = {"AND", "OR", "NOT"}
_LANG = re.compile(r"[a-z]{2,3}")
_POSTCODE = re.compile(r"[1-9][0-9]{3}")


@dataclass(frozen=True)
class _Token:
    kind: str  # ( ) AND OR NOT TERM END
    text: str
    position: int


def _describe(token: _Token) -> str:
    return _("end of query") if token.kind == "END" else f'"{token.text}"'


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Token(c, c, i))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(_("unclosed quote"), i)
            out.append(_Token("TERM", text[i : end + 1], i))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            if j < n and text[j] == '"' and text[i:j].endswith(":"):
                # place:"Sint-Niklaas" — a quoted value after a field name.
                end = text.find('"', j + 1)
                if end < 0:
                    raise QueryError(_("unclosed quote"), j)
                j = end + 1
            raw = text[i:j]
            out.append(_Token(raw if raw in _OPERATORS else "TERM", raw, i))
            i = j
    out.append(_Token("END", "", n))
    return out


# The parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0
        self.count = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise QueryError(_("empty query"), 0)
        node = self.parse_or()
        token = self.peek()
        if token.kind != "END":
            raise QueryError(
                _("unexpected %(token)s") % {"token": _describe(token)}, token.position
            )
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            token = self.peek()
            if token.kind == "AND":
                self.take()
                children.append(self.parse_unary())
            elif token.kind in ("TERM", "NOT", "("):
                children.append(self.parse_unary())
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        token = self.take()
        if token.kind == "NOT":
            return Not(self.parse_unary())
        if token.kind == "(":
            if self.peek().kind == ")":
                raise QueryError(_('empty "()"'), token.position)
            node = self.parse_or()
            closing = self.peek()
            if closing.kind != ")":
                raise QueryError(_('unclosed "("'), token.position)
            self.take()
            return node
        if token.kind == "TERM":
            self.count += 1
            if self.count > MAX_TERMS:
                raise QueryError(
                    _("too many terms (at most %(n)s)") % {"n": MAX_TERMS}, token.position
                )
            return _term(token.text, token.position)
        if token.kind == "END":
            raise QueryError(_("a term is missing"), token.position)
        raise QueryError(_("unexpected %(token)s") % {"token": _describe(token)}, token.position)


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _term(raw: str, position: int) -> Term:
    if raw.startswith('"'):
        tokens = words(raw[1:-1])
        if not tokens:
            raise QueryError(_("empty phrase"), position)
        return Term("word" if len(tokens) == 1 else "phrase", " ".join(tokens), position)
    if raw.startswith("#"):
        tokens = words(raw[1:].rstrip("*"))
        if len(tokens) != 1:
            raise QueryError(_('"%(text)s" is not a hashtag') % {"text": raw}, position)
        return Term("hashtag", tokens[0] + ("*" if raw.endswith("*") else ""), position)
    if raw.startswith("@"):
        name = raw[1:].strip().casefold()
        if not name:
            raise QueryError(_('an account is missing after "@"'), position)
        return Term("author", name, position)
    field, sep, value = raw.partition(":")
    if sep and field.casefold() in ("lang", "place"):
        value = _unquote(value).strip()
        if not value:
            raise QueryError(
                _('a value is missing after "%(field)s:"') % {"field": field}, position
            )
        if field.casefold() == "lang":
            code = value.casefold()
            if not _LANG.fullmatch(code):
                raise QueryError(
                    _('"%(text)s" is not a language code (such as nl)') % {"text": value}, position
                )
            return Term("lang", code, position)
        if _POSTCODE.fullmatch(value):
            return Term("postcode", value, position)
        return _place(value, position)
    prefix = raw.endswith("*")
    tokens = words(raw.rstrip("*"))
    if not tokens:
        raise QueryError(_('"%(text)s" has no letters or digits') % {"text": raw}, position)
    if prefix and len(tokens) != 1:
        raise QueryError(_('"%(text)s": a prefix must be a single word') % {"text": raw}, position)
    if prefix:
        return Term("prefix", tokens[0], position)
    # "e-mail", "l'agent": several words written as one are a phrase.
    return Term("word" if len(tokens) == 1 else "phrase", " ".join(tokens), position)


def _place(value: str, position: int) -> Term:
    from copps.blotter import gazetteer

    municipality = gazetteer.find(value)
    if municipality is None:
        raise QueryError(
            _('"%(text)s" is not a Belgian municipality we know') % {"text": value}, position
        )
    return Term("place", municipality.nis, position, names=place_names(municipality.nis))


def place_names(nis: str) -> tuple[str, ...]:
    """Every name (normalised) the gazetteer files under the municipality ``nis``."""
    from copps.blotter import gazetteer

    by_nis, names = gazetteer._index()
    # Short variants (transliterations such as "gne") would match ordinary words: only the
    # municipality's own name may be shorter than four letters ("As").
    found = {" ".join(words(key)) for key, m in names.items() if m.nis == nis and len(key) >= 4}
    if nis in by_nis:
        found.add(" ".join(words(by_nis[nis].name)))
    return tuple(sorted(n for n in found if n))


def parse(text: str) -> Node:
    """The tree of ``text``; raises ``QueryError`` (message, 0-based position)."""
    text = str(text or "")
    if len(text) > MAX_QUERY:
        raise QueryError(
            _("the query is too long (at most %(n)s characters)") % {"n": MAX_QUERY}, MAX_QUERY
        )
    node = _Parser(text).parse()
    if not can_match_alone(node):
        raise QueryError(_("a query needs a term to look for, not only NOT"), 0)
    return node


# A reference evaluation (slow, obvious; the matcher must agree with it) --------------------


def evaluate(node: Node, *, text: str, author: str = "", language: str = "", places=()) -> bool:
    """Does ``node`` match this post? Straightforward, one post at a time (tests, try-outs)."""
    norm = normalise(text)
    tokens = norm.split()

    def leaf(t: Term) -> bool:
        if t.kind in ("word", "phrase", "postcode"):
            return f" {t.value} " in norm
        if t.kind == "prefix":
            return any(w.startswith(t.value) for w in tokens)
        if t.kind == "hashtag":
            if t.value.endswith("*"):
                return f" # {t.value[:-1]}" in norm
            return f" # {t.value} " in norm
        if t.kind == "author":
            return author.lstrip("@").casefold() == t.value.lstrip("@")
        if t.kind == "lang":
            return language.casefold() == t.value
        if t.kind == "place":
            return t.value in (places or ()) or any(f" {n} " in norm for n in t.names)
        return False

    def walk(n: Node) -> bool:
        if isinstance(n, Term):
            return leaf(n)
        if isinstance(n, Not):
            return not walk(n.child)
        if isinstance(n, And):
            return all(walk(c) for c in n.children)
        return any(walk(c) for c in n.children)

    return walk(node)
