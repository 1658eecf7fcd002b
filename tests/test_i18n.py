"""Translations: Dutch, French and German ship complete, compiled, and in step with the code."""

import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from tests.conftest import require_component

LOCALE = Path(__file__).resolve().parent.parent / "copps" / "locale"
SHIPPED = ["nl", "fr", "de"]


def po(lang: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_string_is_translated_and_none_is_fuzzy(lang):
    catalogue = po(lang)
    missing = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{lang}: fuzzy entries {fuzzy[:5]}"


@pytest.mark.parametrize("lang", SHIPPED)
def test_placeholders_survive_translation(lang):
    import re

    pattern = re.compile(r"%\(\w+\)[sd]|%[sd]")
    for entry in po(lang).translated_entries():
        pairs = (
            [(entry.msgid, entry.msgstr)]
            if not entry.msgid_plural
            else [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
        )
        for source, text in pairs:
            assert sorted(pattern.findall(source)) == sorted(pattern.findall(text)) or (
                entry.msgid_plural and set(pattern.findall(text)) <= set(pattern.findall(source))
            ), f"{lang}: placeholders differ in {source!r} -> {text!r}"


@pytest.mark.parametrize("lang", [*SHIPPED, "en"])
def test_the_compiled_catalogue_matches_its_source(lang):
    source = {
        (e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural)) for e in po(lang) if e.translated()
    }
    mo_path = LOCALE / lang / "LC_MESSAGES" / "django.mo"
    assert mo_path.exists(), f"{mo_path} missing: run make messages"
    compiled = {
        (e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural))
        for e in polib.mofile(str(mo_path))
        if e.msgid
    }
    assert compiled == source, f"{mo_path} is out of date with its .po: run make messages"


def test_the_catalogues_hold_every_string_the_code_marks_for_translation(tmp_path, monkeypatch):
    require_component(bool(shutil.which("xgettext")), "GNU gettext (xgettext)")
    code = Path(__file__).resolve().parent.parent / "copps"
    copy = tmp_path / "copps"
    shutil.copytree(code, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[str(copy / "locale")]):
        call_command("makemessages", locale=["nl"], no_location=True, no_obsolete=True, verbosity=0)
    # msgctxt None becomes "": sorting the differences for the message must not fail.
    fresh = {
        (e.msgctxt or "", e.msgid)
        for e in polib.pofile(str(copy / "locale/nl/LC_MESSAGES/django.po"))
    }
    shipped = {(e.msgctxt or "", e.msgid) for e in po("nl")}
    assert fresh - shipped == set(), f"strings not in the catalogue: {sorted(fresh - shipped)[:10]}"
    assert shipped - fresh == set(), (
        f"stale strings in the catalogue: {sorted(shipped - fresh)[:10]}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("lang", SHIPPED)
def test_the_public_site_speaks_the_language_of_its_url(client, lang):
    with translation.override(lang):
        expected = translation.gettext("Latest news")
    assert expected != "Latest news"
    response = client.get(f"/{lang}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'lang="{lang}"' in html
    assert expected in html


@pytest.mark.django_db
def test_the_console_sign_in_follows_the_browser_language(client):
    with translation.override("fr"):
        sign_in = translation.gettext("Sign in")
    assert sign_in != "Sign in"
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9")
    assert sign_in in response.content.decode()


def test_translation_functions_are_imported_under_names_the_extractor_knows():
    """xgettext only finds _(), gettext(), gettext_lazy(), ngettext() and friends: a string
    marked with an alias such as `_lazy()` would silently never be translated."""
    import re

    known = {
        "_",
        "gettext",
        "gettext_lazy",
        "ngettext",
        "ngettext_lazy",
        "pgettext",
        "pgettext_lazy",
    }
    alias = re.compile(r"from django\.utils\.translation import .*?\b(\w*gettext\w*) as (\w+)")
    code = Path(__file__).resolve().parent.parent / "copps"
    offenders = []
    for path in code.rglob("*.py"):
        for match in alias.finditer(path.read_text()):
            if match.group(2) not in known:
                offenders.append(f"{path.relative_to(code)}: {match.group(0)}")
    assert not offenders, offenders


@pytest.mark.django_db
def test_the_console_shows_each_message_in_the_readers_language_when_it_has_one(
    client, communicator
):
    from copps.newsroom import actions
    from copps.newsroom.actions import VersionInput

    actions.create_message(
        by=communicator,
        versions=[
            VersionInput("nl", "Wegenwerken in het centrum", "Tekst."),
            VersionInput("fr", "Travaux au centre-ville", "Texte."),
        ],
    )
    client.force_login(communicator)
    french = client.get("/console/messages/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Travaux au centre-ville" in french and "Wegenwerken in het centrum" not in french
    dutch = client.get("/console/messages/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Wegenwerken in het centrum" in dutch and "Travaux au centre-ville" not in dutch
