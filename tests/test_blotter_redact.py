"""The blotter's redactor: planted personal data in Dutch and French never comes out, places stay,
benign texts go out, doubtful ones wait for a person; and `copps redact` on JSON lines."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from stdnum.be import nn

from copps.blotter import redact as redaction
from copps.blotter.redact import redact

# Each case: a text and the personal data planted in it (none of it may survive).
PLANTED = [
    (
        "Jan Peeters (45) werd om 14.30 uur aangehouden in de Kerkstraat 12 te Gent.",
        ["Jan", "Peeters", "45", "Kerkstraat 12"],
    ),
    (
        "Een 37-jarige vrouw uit Antwerpen meldde de diefstal; bel haar op +32 471 23 45 67.",
        ["37", "471 23 45 67"],
    ),
    (
        "Getuigen kunnen de eigenaar bereiken op 0472/34.56.78 of 0032 473 45 67 89.",
        ["0472/34.56.78", "34.56.78", "473 45 67 89"],
    ),
    (
        "De buurman (tel. 09 123 45 67, gsm 0474 56 78 90) zag de daders wegrijden.",
        ["09 123 45 67", "123 45 67", "0474 56 78 90"],
    ),
    (
        "Mevrouw De Smedt, geboren op 12 maart 1980, woont op de Grote Markt 7 in Brugge.",
        ["Smedt", "12 maart 1980", "Markt 7"],
    ),
    (
        "Het slachtoffer, Sofie Claes, rijksregisternummer 85.07.30-033.28, mailde naar "
        "sofie.claes@telenet.be.",
        ["Sofie", "Claes", "85.07.30-033.28", "sofie.claes@telenet.be", "telenet"],
    ),
    (
        "Bij controle bleek rijksregisternummer 75030314897 niet te kloppen met de wagen 1-ABC-234.",
        ["75030314897", "1-ABC-234", "ABC"],
    ),
    (
        "De bestuurder van de oude wagen XYZ-987 was 19 jaar oud en woont in de Stationsstraat 4 bus 2.",
        ["XYZ-987", "19", "Stationsstraat 4"],
    ),
    (
        "Een Nederlandse wagen met kenteken AB-123-C ramde een gevel op 03/11/1990 gebouwd.",
        ["AB-123-C", "03/11/1990"],
    ),
    (
        "M. Jean Dupont, âgé de 52 ans, domicilié rue de la Loi 16 à Namur, a été interpellé.",
        ["Jean", "Dupont", "52", "Loi 16"],
    ),
    (
        "La nommée Sophie Lambert, née le 3 mars 1975, circulait avec la plaque 2-DEF-345.",
        ["Sophie", "Lambert", "3 mars 1975", "2-DEF-345", "DEF"],
    ),
    (
        "Mme Martin (tél. 0475 12 34 56) a signalé le vol de son vélo avenue Louise 54, Bruxelles.",
        ["Martin", "0475 12 34 56", "Louise 54"],
    ),
    (
        "Un homme de 34 ans, numéro national 050412 117 73, joignable à marc.dubois@skynet.be.",
        ["34 ans", "050412 117 73", "marc.dubois", "skynet"],
    ),
    (
        "Le prénommé Kevin, né le 14/02/2001, a blessé un passant chaussée de Waterloo 1234 à Uccle.",
        ["Kevin", "14/02/2001", "Waterloo 1234"],
    ),
    (
        "Van den Bossche Pieter (°12/03/1980) reed te snel op de Antwerpsesteenweg 45 in Mechelen.",
        ["Van den", "Bossche", "Pieter", "12/03/1980", "steenweg 45"],
    ),
    (
        "De 23-jarige K.V. uit Genk en Mohamed El Amrani werden verhoord; bel 04 70 12 34 56.",
        ["23", "K.V", "Mohamed", "Amrani", "70 12 34 56"],
    ),
    (
        "Jean-Pierre Dubois et Marie-Claire Lejeune ont été entendus à Mons-Tournai.",
        ["Jean", "Pierre", "Dubois", "Marie", "Claire", "Lejeune"],
    ),
    (
        "Appel au 02/512.34.56 : le conducteur, immatriculé 1ABC234, habite 12, rue Haute.",
        ["512.34.56", "1ABC234", "12, rue"],
    ),
]

KEPT = [
    ("in de Kerkstraat 12 te Gent", ["Kerkstraat", "Gent"]),
    ("domicilié rue de la Loi 16 à Namur", ["rue de la Loi", "Namur"]),
    ("op de Grote Markt 7 in Brugge", ["Grote Markt", "Brugge"]),
    ("avenue Louise 54, Bruxelles", ["avenue Louise", "Bruxelles"]),
    ("chaussée de Waterloo 1234 à Uccle", ["chaussée de Waterloo", "Uccle"]),
    ("Inbraak in Sint-Niklaas, in de Koning Albertlaan 3", ["Sint-Niklaas", "Koning Albertlaan"]),
    ("Vol à La Louvière, place Communale", ["La Louvière", "place Communale"]),
]

BENIGN = [
    "Fietsdiefstal aan het station. Geen verdachten.",
    "Inbraak in een woning in de Dorpsstraat in Leuven; de daders gingen aan de haal met juwelen.",
    "Een bestuurder werd betrapt met 1,2 promille in de Koning Albertlaan in Brugge.",
    "Geluidsoverlast bij een fuif in Mechelen. De politie kwam ter plaatse om 23.15 uur.",
    "Vol à l'étalage dans un supermarché de Charleroi vers 14 heures.",
    "Un vélo a été volé devant la gare de Namur. La police de Namur enquête.",
    "Tags op de muur van de sporthal in Sint-Truiden, de schade bedraagt 2.500 euro.",
    "Aanrijding op de E40 ter hoogte van Aalst, twee wagens betrokken.",
    "Sinds 10 jaar woont hij in Mechelen; hij kreeg 5 jaar cel.",
    "Des tags ont été découverts sur les murs de l'église Saint-Martin à Arlon.",
    "Vol à la tire à Jemappes, le parquet de Mons-Tournai a été avisé.",
    "Dégradations au parc de la Boverie à Liège pendant le week-end.",
    "Une voiture a percuté un poteau avenue de la Toison d'Or à Ixelles.",
    "Vandalisme aan bushokjes van De Lijn langs de Gentsesteenweg in Sint-Agatha-Berchem.",
]


@pytest.fixture(scope="module")
def redacted():
    """One redaction per planted case (deduce is loaded once for the whole run)."""
    return [redact(text) for text, _planted in PLANTED]


def test_the_planted_national_numbers_have_a_valid_checksum():
    for number in ("85073003328", "75030314897", "05041211773"):
        assert nn.is_valid(number)


@pytest.mark.parametrize("index", range(len(PLANTED)))
def test_it_removes_every_planted_value(redacted, index):
    text, planted = PLANTED[index]
    result = redacted[index]
    for value in planted:
        assert value not in result.text, (value, result.text)
    assert result.found, result.text


def test_it_uses_the_placeholders_of_each_kind(redacted):
    kinds = set()
    for result in redacted:
        kinds |= set(result.found)
    assert {"NAME", "PHONE", "EMAIL", "NATIONAL_NUMBER", "PLATE", "NUMBER", "DATE", "AGE"} <= kinds
    assert "[NAME] ([AGE]) werd om 14.30 uur aangehouden in de Kerkstraat [NUMBER] te Gent." in [
        r.text for r in redacted
    ]


@pytest.mark.parametrize(("text", "kept"), KEPT)
def test_it_keeps_municipalities_and_street_names_but_not_the_house_number(text, kept):
    result = redact(text)
    for value in kept:
        assert value in result.text, result.text
    assert "[NUMBER]" in result.text or not any(ch.isdigit() for ch in text)


@pytest.mark.parametrize("text", BENIGN)
def test_it_leaves_a_benign_text_alone_and_is_sure_of_it(text):
    result = redact(text)
    assert result.text == text
    assert not result.unsure, result.reasons


def test_it_is_unsure_of_a_surname_standing_alone():
    result = redact("Er werd ingebroken bij Vandenbroucke in Kortrijk.")
    assert result.unsure and result.reasons


def test_a_surname_that_is_also_a_word_is_never_published_silently():
    result = redact("A De Jong werd verhoord over de diefstal.")
    assert "Jong" not in result.text or result.unsure


def test_it_is_unsure_of_a_capitalised_word_it_does_not_know():
    result = redact("Le vélo de Zbigniewski a été retrouvé à Liège.")
    assert result.unsure


def test_a_long_number_is_redacted_as_an_id_or_makes_it_unsure():
    # 11 digits with a wrong checksum: not a national number, but not to be published blindly.
    text = "Dossier 12345678901 werd overgemaakt aan het parket."
    result = redact(text)
    assert "NATIONAL_NUMBER" not in result.found
    assert result.text == "Dossier [ID] werd overgemaakt aan het parket."  # deduce's identifiers
    with override_settings(COPPS_REDACT_DEDUCE=False):
        result = redact(text)
    assert result.text == text and result.unsure


def test_a_national_number_written_officially_with_a_wrong_checksum_is_redacted_but_unsure():
    result = redact("Rijksregisternummer 85.07.30-033.29 werd nagekeken.")
    assert result.text == "Rijksregisternummer [NATIONAL_NUMBER] werd nagekeken."
    assert result.unsure


def test_it_is_unsure_of_a_language_it_does_not_handle():
    result = redact("El coche estaba aparcado en la calle con las luces encendidas todo el día.")
    assert result.unsure


def test_it_is_unsure_when_deduce_fails(monkeypatch):
    class Broken:
        def deidentify(self, text):
            raise ValueError("boom")

    monkeypatch.setattr(redaction, "_deduce", Broken())
    result = redact("Fietsdiefstal aan het station. Geen verdachten.")
    assert result.unsure and result.text == "Fietsdiefstal aan het station. Geen verdachten."


def test_it_finds_dutch_names_through_deduce_alone(monkeypatch):
    # A Dutch name with no title and no first name from the lists: deduce's context finds it.
    result = redact("Patiënt de heer Vermeulen werd opgehaald.")
    assert "Vermeulen" not in result.text


def test_it_keeps_the_forces_own_phone_number():
    with override_settings(COPPS_OWN_PHONE_NUMBERS=["+3292661111"]):
        result = redact(
            "Getuigen bellen de politie op 09 266 11 11 of de eigenaar op 0476 11 22 33."
        )
    assert "09 266 11 11" in result.text and "0476" not in result.text


def test_it_handles_german_and_english_reasonably():
    german = redact("Der 45-jährige Fahrer aus Eupen, Herr Schmidt, wurde am 12.03.1980 geboren.")
    english = redact("A 45-year-old man, Mr Smith, born 12/03/1980, lives at 12 Main Street.")
    for result in (german, english):
        assert "45" not in result.text and "Schmidt" not in result.text
        assert "Smith" not in result.text and "1980" not in result.text
    assert "Eupen" in german.text and "[NUMBER] Main Street" in english.text


def test_it_is_deterministic_and_shares_one_deduce():
    text = PLANTED[0][0] + " " + PLANTED[9][0]
    assert redact(text) == redact(text)
    assert redaction.deduce_instance() is redaction.deduce_instance()


def test_empty_and_hostile_text_does_not_break_it():
    assert redact("").text == ""
    assert redact(None).text == ""  # type: ignore[arg-type]
    weird = (
        "\x00\u202e" + "[NAME] " * 50 + "ß" * 5000 + "\ud800".encode("utf-8", "replace").decode()
    )
    assert isinstance(redact(weird).text, str)


def test_long_hostile_texts_take_linear_time():
    import time

    for text in ("a." * 5000 + "@", "Aa " * 5000, "1-" * 5000, "A. " * 5000, "rue " * 3000):
        started = time.perf_counter()
        redact(text)
        assert time.perf_counter() - started < 5, text[:10]


def test_threads_share_deduce_and_get_the_same_results():
    from concurrent.futures import ThreadPoolExecutor

    texts = [text for text, _planted in PLANTED] * 4
    alone = [redact(text).text for text in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda t: redact(t).text, texts))
    assert together == alone


# --- copps redact ----------------------------------------------------------------------------


def test_the_command_redacts_json_lines_in_order_keeping_the_ids(tmp_path):
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out.jsonl"
    lines = [{"id": i, "text": text} for i, (text, _planted) in enumerate(PLANTED)]
    lines.append({"id": "benign", "text": BENIGN[0], "extra": 1})
    source.write_text("".join(json.dumps(item) + "\n" for item in lines), encoding="utf-8")
    call_command("redact", "--input", str(source), "--output", str(target), "--quiet")
    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [item["id"] for item in out] == [item["id"] for item in lines]
    assert out[-1] == {"id": "benign", "text": BENIGN[0], "extra": 1}
    for item, (_text, planted) in zip(out, PLANTED, strict=False):
        assert set(item) == {"id", "text"}
        for value in planted:
            assert value not in item["text"]


def test_the_command_reports_a_bad_line_and_still_writes_the_good_ones(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out.jsonl"
    source.write_text(
        json.dumps({"id": "a", "text": "Jan Peeters woont in Gent."})
        + "\n{not json\n"
        + json.dumps({"id": "c"})
        + "\n"
        + json.dumps({"id": "d", "text": "Vol à Namur."})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="2 bad lines"):
        call_command("redact", "--input", str(source), "--output", str(target))
    err = capsys.readouterr().err
    assert "line 2:" in err and "line 3:" in err
    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [item["id"] for item in out] == ["a", "d"]
    assert "Peeters" not in out[0]["text"] and out[1]["text"] == "Vol à Namur."


def test_the_command_can_add_the_unsure_flag(tmp_path):
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out.jsonl"
    source.write_text(
        json.dumps({"id": 1, "text": "Er werd ingebroken bij Vandenbroucke in Kortrijk."}) + "\n",
        encoding="utf-8",
    )
    call_command("redact", "--input", str(source), "--output", str(target), "--flags", "--quiet")
    item = json.loads(target.read_text(encoding="utf-8"))
    assert item["unsure"] is True and item["reasons"]


def test_the_command_refuses_a_missing_input(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "redact", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o"), "--quiet"
        )


# --- publication ------------------------------------------------------------------------------


def test_a_published_entry_never_carries_the_planted_data_and_a_doubtful_one_waits(db):
    from datetime import timedelta

    from django.utils import timezone

    from copps.blotter import importer, publish
    from copps.blotter.models import Entry, EntryState

    when = (timezone.now() - timedelta(hours=13)).isoformat()
    rows = [
        {
            "incident_id": "P1",
            "reported_at": when,
            "category_code": "theft",
            "category": "Diefstal",
            "summary": PLANTED[1][0],
            "street": "Kerkstraat",
            "house_number": "12",
            "postcode": "2000",
            "municipality": "Antwerpen",
        },
        {
            "incident_id": "P2",
            "reported_at": when,
            "category_code": "theft",
            "category": "Diefstal",
            "summary": "Er werd ingebroken bij Vandenbroucke in Kortrijk.",
            "street": "",
            "house_number": "",
            "postcode": "8500",
            "municipality": "Kortrijk",
        },
    ]
    result = importer.Result()
    importer.import_rows([(i + 2, row) for i, row in enumerate(rows)], result=result)
    assert result.errors == []
    publish.publish_due()
    published = Entry.objects.get(incident__incident_id="P1")
    assert published.state == EntryState.PUBLISHED
    assert "471" not in published.summary and "37" not in published.summary
    assert Entry.objects.get(incident__incident_id="P2").state == EntryState.REVIEW


def test_a_short_dutch_text_with_a_word_shared_with_another_language_is_not_unsure():
    result = redact("Luide muziek na middernacht")
    assert not result.unsure and result.text == "Luide muziek na middernacht"
