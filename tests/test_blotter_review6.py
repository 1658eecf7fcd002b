"""Review of the blotter (issue 6): leaks and robustness found after the parts were merged."""

# ruff: noqa: F811 -- the fixtures imported from other test modules are redefined as arguments

import json
from datetime import UTC
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree

from django.utils import timezone

from copps.blotter import publish
from copps.blotter.models import Entry, EntryState

from .test_api import api  # noqa: F401 (fixture)
from .test_blotter_api import analyst, pusher  # noqa: F401 (fixtures)
from .test_blotter_public import row, run_import, use_policy


def test_it_never_tells_the_moment_of_publication_in_the_rss_feed(client, db, tmp_path):
    # Published at "reported_at + delay" to the minute: that would undo the time rounding.
    use_policy()
    run_import(tmp_path, row("T1", "theft", "Antwerpen", 20))
    publish.publish_due(timezone.now().replace(minute=33, second=7))
    entry = Entry.objects.get(state=EntryState.PUBLISHED)
    assert entry.published_at.minute == 33
    feed = ElementTree.fromstring(client.get("/feeds/blotter.xml").content)  # noqa: S314
    dates = [feed.find("channel/lastBuildDate").text]
    dates += [item.find("pubDate").text for item in feed.iter("item")]
    assert len(dates) == 2
    for text in dates:
        moment = parsedate_to_datetime(text)
        assert moment == entry.occurred_at
        assert (moment.minute, moment.second) == (0, 0)


# Hostile rows: an error with the line number, never a traceback, and the good rows go in ------

GOOD = {"reported_at": "2026-11-01T10:00", "category_code": "theft"}
HOSTILE_JSONL = "\n".join(
    [
        json.dumps(
            {"incident_id": "G1", **GOOD, "summary": "Fiets\u2028gestolen"}, ensure_ascii=False
        ),
        json.dumps({"incident_id": "H1", **GOOD, "reported_at": "2026-11-01T10:00" + "x" * 6000}),
        '{"incident_id": "H2", "reported_at": "2026-11-01T10:00", "category_code": "theft", '
        '"summary": "\\ud800"}',
        '{"incident_id": 1e400, "reported_at": "2026-11-01T10:00", "category_code": "theft"}',
        json.dumps({"incident_id": "G2", **GOOD}),
    ]
)


def assert_hostile_rows_refused():
    from copps.blotter.models import Incident

    assert set(Incident.objects.values_list("incident_id", flat=True)) == {"G1", "G2"}
    assert Incident.objects.get(incident_id="G1").summary == "Fiets\u2028gestolen"


def test_the_import_command_reports_hostile_rows_by_line(db, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "push.jsonl"
    path.write_text(HOSTILE_JSONL, encoding="utf-8")
    out = StringIO()
    call_command("blotter", "import", str(path), "--quiet", stdout=out)
    assert_hostile_rows_refused()
    text = out.getvalue()
    assert "line 2: reported_at: longer than" in text
    assert "line 3: summary: not valid text" in text
    assert "line 4: incident_id: must be text" in text
    assert "2 created" in text


def test_an_upload_of_hostile_rows_is_no_500(make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from copps.accounts.roles import Role

    from .test_blotter_console import logged_in

    client = logged_in(make_user(Role.EDITOR))
    response = client.post(
        "/console/blotter/upload",
        {"file": SimpleUploadedFile("push.jsonl", HOSTILE_JSONL.encode())},
    )
    assert response.status_code == 200
    assert_hostile_rows_refused()


def test_the_push_api_refuses_an_overlong_date_by_index(pusher):
    rows = [{"incident_id": "G1", **GOOD}, {"incident_id": "H1", **GOOD, "reported_at": "2" * 6000}]
    response = pusher.post("/api/v1/incidents", rows)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], [e["index"] for e in body["errors"]]) == (1, [1])


def test_an_approved_review_and_a_withdrawal_together_change_the_etag(client, db, tmp_path):
    # count, highest id and newest change of the public entries stay the same if one older
    # entry is approved while another is taken down: a 304 would keep the withdrawn one out there.
    from copps.blotter import policy
    from copps.blotter.models import Decision, Incident

    use_policy()
    run_import(tmp_path, row("R1", "theft", "Antwerpen", 30))
    review = publish.render(Incident.objects.get(incident_id="R1"), policy.current())
    review.state = EntryState.REVIEW
    review.save()
    Incident.objects.filter(incident_id="R1").update(decision=Decision.REVIEW)
    run_import(tmp_path, row("T1", "theft", "Gent", 20), row("T2", "theft", "Antwerpen", 14))
    publish.publish_due()
    first = client.get("/blotter.geojson")
    etag = first["ETag"]
    assert '"Gent"' in first.content.decode()

    run_import(tmp_path, row("T1", "theft", "Gent", 20).replace(",open,", ",withdrawn,"))
    publish.approve_review(Entry.objects.get(pk=review.pk), by=None)
    publish.publish_due()
    assert not Entry.objects.filter(incident__incident_id="T1").exists()
    again = client.get("/blotter.geojson", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200
    assert '"Gent"' not in again.content.decode()
    page = client.get("/en/blotter/").content.decode()
    assert "Gent" not in page  # nor in the (cached) filter menu and map


def test_redact_refuses_lines_it_cannot_write_back_and_goes_on(tmp_path, capsys):
    import pytest
    from django.core.management import CommandError, call_command

    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(
        "\n".join(
            [
                '{"id": NaN, "text": "a"}',
                '{"id": 1e400, "text": "b"}',
                '{"id": "s", "text": "a\\ud800b"}',
                '{"id": [1, {"a": null}], "text": "Bel 0470 12 34 56"}',
                '{"id": 12345678901234567890123, "text": "c"}',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="2 texts redacted, 3 bad lines"):
        call_command("redact", "--input", str(source), "--output", str(target), "--quiet")
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [[1, {"a": None}], 12345678901234567890123]
    assert "0470" not in lines[0]["text"]
    err = capsys.readouterr().err
    assert all(f"line {n}:" in err for n in (1, 2, 3))


STREETS = {
    "Kerkstraat 12-14": "Kerkstraat",
    "Kerkstraat nr. 12": "Kerkstraat",
    "12, rue de la Loi": "rue de la Loi",
    "Rue Neuve 5 bt 2": "Rue Neuve",
    "Avenue Louise 54 box 3": "Avenue Louise",
    "Kerkstraat 12, 2000 Antwerpen": "Kerkstraat",
    "Kerkstraat 12 (achterkant)": "Kerkstraat",
    "Kerkstraat 12 en 14": "Kerkstraat",
    "Kerkstraat12": "Kerkstraat",
    "Rue du 11 Novembre 5": "Rue du 11 Novembre",
    "Place du 1er Mai": "Place du 1er Mai",
    "E40 richting Brussel": "E40 richting Brussel",
}


def test_no_form_of_house_number_in_the_street_field_reaches_the_public(client, db, tmp_path):
    import csv as csvlib
    import io

    from .test_blotter_public import when

    use_policy(location="street")
    lines = [
        f'S{n},{when(20)},theft,X,Fiets gestolen,"{street}",,2000,Antwerpen,,,open,PZ'
        for n, street in enumerate(STREETS)
    ]
    run_import(tmp_path, *lines)
    publish.publish_due()
    body = b"".join(client.get("/blotter.csv").streaming_content).decode("utf-8-sig")
    published = {
        Entry.objects.get(pk=int(r["id"])).incident.street: r["street"]
        for r in csvlib.DictReader(io.StringIO(body))
    }
    assert published == STREETS


def test_a_rejected_entry_stays_out_after_a_policy_change_or_a_new_import(db, tmp_path):
    from copps.blotter import policy
    from copps.blotter.models import Incident

    use_policy()
    line = row("R1", "burglary", "Kortrijk", 20, "Er werd ingebroken bij Vandenbroucke")
    run_import(tmp_path, line)
    publish.publish_due()
    entry = Entry.objects.get(incident__incident_id="R1")
    assert entry.state == EntryState.REVIEW
    publish.reject_review(entry, by=None)

    # A later policy shows labels instead of summaries: the reviewer's "no" still holds.
    use_policy(summary="label")
    publish.publish_due()
    assert not Entry.objects.exists()
    # So does a correction of the record (its text changed), unless it is taken back anyway.
    run_import(tmp_path, line.replace("Vandenbroucke", "Vandenbroucke thuis"))
    publish.publish_due()
    assert not Entry.objects.exists()
    run_import(tmp_path, line.replace(",open,", ",withdrawn,"))
    use_policy(summary="label")
    run_import(tmp_path, line.replace(",burglary,", ",theft,"))
    publish.publish_due()
    assert not Entry.objects.exists()
    assert Incident.objects.get(incident_id="R1").decision == "rejected"
    assert policy.current().summary == "label"


def test_entries_appear_once_their_delay_has_passed_with_the_rounded_time(db, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    use_policy()
    run_import(
        tmp_path,
        "E1,2026-10-20T10:05:00,theft,X,Fiets gestolen,Kerkstraat,,2000,Antwerpen,,,open,PZ",
        "E2,2026-10-20T10:50:00,theft,X,Gsm gestolen,Kerkstraat,,2000,Antwerpen,,,open,PZ",
    )
    brussels = ZoneInfo("Europe/Brussels")
    publish.publish_due(datetime(2026, 10, 20, 22, 4, tzinfo=brussels))
    assert not Entry.objects.exists()
    publish.publish_due(datetime(2026, 10, 20, 22, 6, tzinfo=brussels))
    assert Entry.objects.filter(state=EntryState.PUBLISHED).count() == 1
    publish.publish_due(datetime(2026, 10, 20, 22, 51, tzinfo=brussels))
    assert Entry.objects.filter(state=EntryState.PUBLISHED).count() == 2
    assert {e.occurred_at for e in Entry.objects.all()} == {
        datetime(2026, 10, 20, 10, 0, tzinfo=brussels)
    }


def test_rounding_in_the_hour_the_clocks_go_back_is_the_hour_it_happened_in():
    from datetime import datetime

    from copps.blotter.policy import round_time

    # 01:40 UTC on 25 October 2026 is 02:40 CET, the second 02:40 of that night.
    rounded = round_time(datetime(2026, 10, 25, 1, 40, tzinfo=UTC), 60)
    assert rounded.astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    # and in spring, 03:30 CEST (01:30 UTC) goes to 03:00 CEST
    rounded = round_time(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), 60)
    assert rounded.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_the_public_place_is_always_a_municipality_name_never_a_hamlet_or_a_note(
    client, db, tmp_path
):
    from .test_blotter_public import when

    use_policy(location="municipality")
    given = {
        "Zoutenaaie": "Veurne",  # a hamlet of 22 people is no municipality
        "Antwerpen (bij Jan Peeters)": "Antwerpen",
        "Antwerpen 李四": "Antwerpen",
        "GENT": "Gent",
        "Bruxelles": "Bruxelles",  # the force's own language variant stays
    }
    lines = [
        f'M{n},{when(20)},theft,X,Fiets gestolen,Kerkstraat,,,"{place}",,,open,PZ'
        for n, place in enumerate(given)
    ]
    run_import(tmp_path, *lines)
    publish.publish_due()
    shown = {e.incident.municipality: e.municipality for e in Entry.objects.all()}
    assert shown == given
    body = "".join(
        client.get(path).content.decode() for path in ("/en/blotter/", "/blotter.geojson")
    )
    assert "Zoutenaaie" not in body and "Peeters" not in body and "李四" not in body


def test_a_minor_named_by_a_written_out_age_or_a_common_word_is_never_published(db, tmp_path):
    from copps.blotter import policy
    from copps.blotter.models import Incident

    texts = [
        "Fiets gestolen van een zestienjarige",
        "Gsm afgenomen van een tiener aan het station",
        "Vélo volé à un garçon de quinze ans",
        "Un ado a été bousculé",
        "Fahrrad eines Fünfzehnjährigen gestohlen",
    ]
    for n, text in enumerate(texts):
        incident = Incident(incident_id=f"K{n}", category_code="theft", summary=text, status="open")
        assert policy.involves_minor(incident), text
    adult = Incident(incident_id="A", category_code="theft", summary="Fiets gestolen, al twee jaar")
    assert not policy.involves_minor(adult)


def test_a_csv_header_naming_a_column_twice_is_refused(db):
    from copps.blotter import importer
    from copps.blotter.models import Incident

    raw = (
        b"incident_id,reported_at,category_code,summary,summary\n"
        b"D1,2026-11-01T10:00,theft,Fiets gestolen,Jan Peeters 0470 12 34 56\n"
    )
    result = importer.Result()
    importer.import_rows(importer.rows_from_file(raw, "x.csv", result), result=result)
    assert result.errors == [(1, "header: column(s) named twice: summary")]
    assert not Incident.objects.exists()


def test_the_same_incident_sent_again_in_another_form_changes_nothing(db):
    from copps.blotter import importer

    first = {
        "incident_id": "P1",
        "reported_at": "2026-11-01T10:00:00",
        "category_code": "theft",
        "lat": "51.2",
        "lon": "4.4",
    }
    again = {
        "lon": 4.4,
        "lat": 51.2,
        "category_code": "theft",
        "reported_at": "2026-11-01T09:00:00Z",
        "incident_id": "P1",
    }
    importer.import_rows([(1, first)])
    result = importer.import_rows([(1, again)])
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


def test_a_withdrawal_written_with_a_decomposed_accent_is_a_withdrawal():
    import unicodedata

    from copps.blotter import policy
    from copps.blotter.models import Incident, PolicyVersion

    status = unicodedata.normalize("NFD", "Annulé")
    incident = Incident(incident_id="W", category_code="theft", status=status)
    rules = PolicyVersion(categories=policy.default_categories())
    assert policy.decide(incident, rules)[0] == "withdrawn"
