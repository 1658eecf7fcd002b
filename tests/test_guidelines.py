"""Guideline checks: each rule finds what it must, and ordinary police text passes untouched."""

import importlib

import pytest

from copps.newsroom import guidelines
from copps.newsroom.guidelines import (
    BLOCKING,
    INFO,
    WARNING,
    Content,
    VersionText,
    personal_data,
    presentation,
    words,
)
from copps.newsroom.models import WordList

# Ordinary police text: dates, times, postcodes, house numbers, amounts, case numbers, roads.
ORDINARY = [
    "Op 12/03/2026 om 14.30 uur werd in de Kerkstraat 12, 9000 Gent, ingebroken.",
    "De schade bedraagt € 1.250 (in totaal 1.250,00 euro); 10.000 bezoekers verwacht.",
    "Er werd een PV GE.12.L1.012345/2026 opgesteld.",
    "Controle tussen 08.00 en 17.00 uur op de E40 richting Brussel, 2026-03-12.",
    "Zone 5344 Vlaamse Ardennen, postcodes 1000 Brussel en 2000 Antwerpen, 50 km/u.",
    "Le 14/03 à 22h15, 3 personnes, rue Haute 123, 1000 Bruxelles. PV BR.55.L3.004567/2026.",
    "COVID-19-maatregelen en artikel 123-456 van het wetboek. Bel 101 of in nood 112.",
    "Contact: info@police.example of bel ons op 02 555 10 10.",
]


def content(*texts, language="nl", **kwargs) -> Content:
    return Content(versions=[VersionText(language, "Titel", "", t) for t in texts], **kwargs)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def national_number(yymmdd: str, serial: str, born_2000: bool = False) -> str:
    base = yymmdd + serial
    check = 97 - int(("2" if born_2000 else "") + base) % 97
    return f"{base}{check:02d}"


# Personal data -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_police_text_has_no_personal_data_findings(text):
    assert personal_data.check(content(text)) == []


@pytest.mark.parametrize(
    "number",
    [
        national_number("850730", "033"),
        "85.07.30-033.28",
        "85 07 30 033 28",
        national_number("050315", "124", born_2000=True),  # born in 2005: checksum over 2 + digits
        national_number("850000", "123"),  # unknown birth date
    ],
)
def test_it_finds_a_valid_national_register_number(number):
    findings = personal_data.check(content(f"Rijksregisternummer {number}."))
    assert codes(findings) == ["national_number"]
    assert findings[0].severity == BLOCKING
    assert findings[0].excerpt == number


def test_it_finds_a_bis_number():
    findings = personal_data.check(content(f"BIS {national_number('852730', '033')}"))
    assert codes(findings) == ["bis_number"]


def test_it_ignores_eleven_digits_whose_checksum_fails():
    wrong = national_number("850730", "033")[:-2] + "00"
    assert "national_number" not in codes(personal_data.check(content(f"nummer {wrong}")))


def test_a_born_2000_number_is_not_valid_with_the_old_checksum():
    old_style = national_number("050315", "124", born_2000=False)
    new_style = national_number("050315", "124", born_2000=True)
    assert old_style != new_style
    assert codes(personal_data.check(content(new_style))) == ["national_number"]


@pytest.mark.parametrize(
    "text",
    [
        "Bel 0470 12 34 56.",
        "Bel +32 470 12 34 56.",
        "Bel 0470/12.34.56.",
        "Bel 09 266 86 11.",
        "Call +44 20 7946 0958.",
        "Bel 0032 470 12 34 56.",
        "Bel 0498123456.",
    ],
)
def test_it_finds_a_citizens_phone_number(text):
    findings = personal_data.check(content(text))
    assert codes(findings) == ["phone_number"]
    assert findings[0].severity == BLOCKING


@pytest.mark.parametrize("text", ["Bel 101 of 112.", "Bel 02 555 10 10.", "Bel +32 2 555 10 10."])
def test_the_forces_own_numbers_and_emergency_numbers_pass(text):
    assert personal_data.check(content(text)) == []


def test_own_numbers_come_from_settings(settings):
    settings.COPPS_OWN_PHONE_NUMBERS = ["+32 9 266 86 11"]
    assert personal_data.check(content("Bel 09 266 86 11.")) == []
    assert codes(personal_data.check(content("Bel 02 555 10 10."))) == ["phone_number"]


def test_a_toll_free_number_is_only_a_warning():
    findings = personal_data.check(content("Bel gratis 0800 123 45."))
    assert [(f.code, f.severity) for f in findings] == [("service_phone_number", WARNING)]


def test_it_finds_an_email_address_but_not_the_forces_own():
    findings = personal_data.check(
        content("Mail jan.peeters@gmail.com, info@police.example of wijk@noord.police.example.")
    )
    assert [f.excerpt for f in findings] == ["jan.peeters@gmail.com"]
    assert findings[0].code == "email_address"


def test_a_domain_that_merely_ends_like_the_own_domain_is_not_own():
    findings = personal_data.check(content("Mail x@evilpolice.example"))
    assert codes(findings) == ["email_address"]


@pytest.mark.parametrize("plate", ["1-ABC-123", "1ABC123", "ABC-123", "123-ABC", "2-xyz-987"])
def test_it_finds_a_belgian_licence_plate(plate):
    findings = personal_data.check(content(f"De wagen met nummerplaat {plate} reed weg."))
    assert [(f.code, f.excerpt) for f in findings] == [("licence_plate", plate)]


@pytest.mark.parametrize(
    "text",
    [
        "ABC123 firmware",
        "om 14.30",
        "9000 Gent",
        "1 ABC",
        "ABCD-123",
        "ABC-1234",
        "12-ABC-34",
        "COVID-19",
    ],
)
def test_things_that_only_resemble_a_plate_pass(text):
    assert "licence_plate" not in codes(personal_data.check(content(text)))


def test_it_finds_an_iban_with_a_valid_checksum_with_or_without_spaces():
    findings = personal_data.check(
        content("Stort op BE71 0961 2345 6769 of BE71096123456769 of NL91 ABNA 0417 1643 00 aub.")
    )
    assert [(f.code, f.excerpt) for f in findings] == [
        ("iban", "BE71 0961 2345 6769"),
        ("iban", "BE71096123456769"),
        ("iban", "NL91 ABNA 0417 1643 00"),
    ]


def test_an_iban_with_a_wrong_checksum_passes():
    assert "iban" not in codes(personal_data.check(content("Rekening BE72 0961 2345 6769.")))


def test_findings_point_at_the_field_and_position():
    c = Content(versions=[VersionText("fr", "Titre", "Appelez 0470 12 34 56", "Rien.")])
    (finding,) = personal_data.check(c)
    assert (finding.language, finding.field) == ("fr", "teaser")
    assert "Appelez 0470 12 34 56"[finding.start : finding.end] == "0470 12 34 56"


# Word lists ----------------------------------------------------------------------------------


@pytest.fixture
def word_lists(db):
    WordList.objects.update_or_create(
        language="nl", category="offensive", defaults={"terms": "idioot\nklootzak*\nvuile rat"}
    )
    WordList.objects.update_or_create(
        language="en", category="offensive", defaults={"terms": "idiot"}
    )
    WordList.objects.update_or_create(
        language="en", category="discriminatory", defaults={"terms": "retard"}
    )
    WordList.objects.filter(language__in=["fr", "de"]).delete()


def word_findings(text, language="nl"):
    return [(f.code, f.excerpt) for f in words.check(content(text, language=language))]


def test_it_finds_a_listed_term_as_a_whole_word(word_lists):
    assert word_findings("Wat een idioot.") == [("offensive_term", "idioot")]


def test_it_ignores_a_listed_term_inside_another_word(word_lists):
    assert word_findings("Een idiootje, idiootste.") == []
    assert word_findings("idiots", language="en") == []


def test_a_term_ending_in_a_star_matches_words_that_start_with_it(word_lists):
    assert word_findings("Die klootzakken!") == [("offensive_term", "klootzakken")]


def test_matching_ignores_case_and_accents_on_both_sides(word_lists):
    assert word_findings("IDIÖT", language="en") == [("offensive_term", "IDIÖT")]
    assert word_findings("Ïdiòot!") == [("offensive_term", "Ïdiòot")]
    decomposed = "Idio\u0308t"  # ö written as o + combining diaeresis
    assert word_findings(decomposed, language="en") == [("offensive_term", decomposed)]


def test_a_term_of_several_words_matches_across_any_whitespace(word_lists):
    assert word_findings("Jij vuile\nrat") == [("offensive_term", "vuile\nrat")]


def test_a_list_applies_only_to_its_own_language(word_lists):
    assert word_findings("Le train a du retard.", language="fr") == []
    assert word_findings("You retard.", language="en") == [("discriminatory_term", "retard")]


def test_a_term_finding_is_blocking_and_located(word_lists):
    (finding,) = words.check(content("Een idioot."))
    assert finding.severity == BLOCKING
    assert "Een idioot."[finding.start : finding.end] == "idioot"


def test_edited_lists_take_effect_at_once(word_lists):
    assert word_findings("Sukkel!") == []
    WordList.objects.filter(language="nl", category="offensive").update(terms="sukkel")
    assert word_findings("Sukkel!") == [("offensive_term", "Sukkel")]


def test_ordinary_police_text_has_no_word_findings_with_the_default_lists(db):
    seed_default_lists()
    samples = [(text, "nl") for text in ORDINARY] + [
        ("De politie negeert niets; de lichten flikkeren.", "nl"),
        ("Le train a du retard; la députée a parlé.", "fr"),
        ("Traffic in Scunthorpe was delayed; a spicy dish, a fuchsia bike.", "en"),
        ("Die Polizei ignoriert nichts.", "de"),
    ]
    for text, language in samples:
        assert words.check(content(text, language=language)) == [], (text, language)


def seed_default_lists():
    migration = importlib.import_module("copps.newsroom.migrations.0002_default_word_lists")
    from django.apps import apps

    WordList.objects.all().delete()
    migration.seed(apps, None)
    return migration


def test_the_default_lists_cover_offensive_and_discriminatory_terms_in_four_languages(db):
    seed_default_lists()
    lists = {(wl.language, wl.category) for wl in WordList.objects.all()}
    assert lists == {
        (language, category)
        for language in ("nl", "fr", "en", "de")
        for category in ("offensive", "discriminatory")
    }
    assert word_findings("Wat een klootzakken.") == [("offensive_term", "klootzakken")]
    assert word_findings("Quel connard.", language="fr") == [("offensive_term", "connard")]
    assert word_findings("Du Idiot.", language="de") == [("offensive_term", "Idiot")]


def test_the_default_lists_never_overwrite_a_coachs_list(db):
    WordList.objects.all().delete()
    WordList.objects.create(language="nl", category="offensive", terms="eigen term")
    migration = importlib.import_module("copps.newsroom.migrations.0002_default_word_lists")
    from django.apps import apps

    migration.seed(apps, None)
    assert WordList.objects.get(language="nl", category="offensive").terms == "eigen term"


def test_a_coach_edits_a_word_list_and_the_change_is_audited(make_user):
    from copps.audit.models import AuditRecord
    from copps.newsroom import actions

    coach = make_user("coach")
    actions.update_word_list(by=coach, language="nl", category="offensive", terms="sukkel\nidioot")
    record = AuditRecord.objects.filter(action="guidelines.update_word_list").last()
    assert record.actor == coach.username
    assert "sukkel" in record.data["added"]


def test_a_communicator_cannot_edit_a_word_list(communicator):
    from django.core.exceptions import PermissionDenied

    from copps.newsroom import actions

    with pytest.raises(PermissionDenied):
        actions.update_word_list(by=communicator, language="nl", category="offensive", terms="x")


# Presentation --------------------------------------------------------------------------------


def test_a_personal_post_without_a_signature_is_blocked():
    findings = presentation.check(content("Tekst.", is_personal=True, signature="  "))
    assert [(f.code, f.severity) for f in findings] == [("missing_identity", BLOCKING)]


def test_a_signed_personal_post_and_an_unsigned_force_post_pass():
    assert presentation.check(content("Tekst.", is_personal=True, signature="Jan, wijkagent")) == []
    assert presentation.check(content("Tekst.", is_personal=False)) == []


def test_an_image_without_alt_text_is_blocked():
    findings = presentation.check(content("Tekst.", image_alts=["Een fiets", " "]))
    assert [(f.code, f.severity) for f in findings] == [("missing_alt_text", BLOCKING)]
    assert "2" in findings[0].message


# Length --------------------------------------------------------------------------------------


def test_a_text_too_long_for_a_channel_is_shortened_as_info(db):
    findings = guidelines.check(content("Wees alert. " * 60, channels=["x", "web"]))
    shortened = [f for f in findings if f.code == "shortened"]
    assert len(shortened) == 1 and shortened[0].severity == INFO and "X" in shortened[0].message


def test_a_short_text_or_an_unlimited_channel_has_no_length_finding(db):
    assert guidelines.check(content("Wees alert.", channels=["x", "sms"])) == []
    assert guidelines.check(content("Wees alert. " * 600, channels=["web", "email"])) == []


def test_a_title_that_nearly_fills_a_post_is_a_warning(db):
    c = Content(versions=[VersionText("nl", "Lange titel " * 12, "", "Tekst.")], channels=["sms"])
    assert ("title_too_long", WARNING) in [(f.code, f.severity) for f in guidelines.check(c)]


def test_length_is_checked_for_a_saved_message_with_its_real_link(make_message, communicator):
    message = make_message(communicator, body="Wees alert. " * 60, channels=["bluesky"])
    findings = guidelines.check(Content.from_message(message))
    assert codes(findings) == ["shortened"]


# All together --------------------------------------------------------------------------------


def test_findings_are_sorted_blocking_first(word_lists):
    c = content("Bel 0470 12 34 56, idioot. " + "Wees alert. " * 40, channels=["x"])
    severities = [f.severity for f in guidelines.check(c)]
    assert severities == sorted(severities, key=[BLOCKING, WARNING, INFO].index)
    assert severities[0] == BLOCKING and INFO in severities
    assert guidelines.has_blocking(guidelines.check(c))


# Speed: word lists and patterns are not rebuilt for every check ---------------------------------


def test_the_word_lists_are_compiled_once_not_on_every_check(word_lists, monkeypatch):
    words._compile_rows.cache_clear()  # other tests may have compiled the same lists before
    words.check(content("een idioot"))  # compiles the current lists
    built = []
    real = words.term_pattern
    monkeypatch.setattr(words, "term_pattern", lambda term: built.append(term) or real(term))
    for _ in range(3):
        assert [f.code for f in words.check(content("een idioot"))] == ["offensive_term"]
    assert built == []
    WordList.objects.filter(language="nl", category="offensive").update(terms="sukkel")
    assert [f.code for f in words.check(content("een sukkel"))] == ["offensive_term"]
    assert built  # a changed list is compiled again, whoever changed it


def test_checks_inside_a_pinned_block_read_the_word_lists_once(
    word_lists, django_assert_num_queries
):
    with guidelines.pinned_word_lists():
        with django_assert_num_queries(0):
            for _ in range(5):
                assert words.check(content("een idioot"))
