"""The blotter's import, policy and publication (the public pages have their own tests)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from copps.blotter import importer, policy, publish
from copps.blotter.models import Decision, Entry, Incident

HEADER = "incident_id,reported_at,category_code,category,summary,street,house_number,postcode,municipality,lat,lon,status,unit\n"


def when(hours_ago: float) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def csv_file(tmp_path, *rows: str, name="in.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def run_import(path):
    result = importer.Result()
    rows = list(importer.rows_from_file(path.read_bytes(), path.name, result))
    return importer.import_rows(rows, result=result)


@pytest.fixture
def incidents(db, tmp_path):
    return csv_file(
        tmp_path,
        f"A1,{when(13)},theft,Fietsdiefstal,Fiets gestolen aan station,Kerkstraat,12,2000,Antwerpen,51.2,4.4,open,PZ",
        f"A2,{when(2)},burglary,Inbraak,Inbraak in woning,Dorpsstraat,3,9000,Gent,,,open,PZ",
        f"A3,{when(30)},domestic_violence,IFG,Ruzie,Lindelaan,5,9000,Gent,,,open,PZ",
        f"A4,{when(30)},graffiti_x,Onbekend,Tags op muur,Stationsplein,,2000,Antwerpen,,,open,PZ",
    )


def test_an_import_publishes_only_allowed_categories_after_their_delay(incidents):
    result = run_import(incidents)
    assert (result.created, result.errors) == (4, [])
    publish.publish_due()
    decisions = dict(Incident.objects.values_list("incident_id", "decision"))
    assert decisions == {
        "A1": Decision.PUBLISHED,
        "A2": Decision.WAITING,
        "A3": Decision.EXCLUDED,
        "A4": Decision.UNKNOWN,
    }
    entry = Entry.objects.get()
    assert entry.municipality == "Antwerpen" and entry.street == ""
    assert (entry.lat, entry.lon) != (51.2, 4.4)  # the municipality's centre, not the place
    assert entry.occurred_at.minute == 0 and entry.occurred_at.second == 0
    # The delay is honoured: eleven hours later the burglary goes out too.
    publish.publish_due(timezone.now() + timedelta(hours=11))
    assert Entry.objects.count() == 2


def test_reimporting_the_same_file_changes_nothing(incidents):
    run_import(incidents)
    again = run_import(incidents)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_a_withdrawn_or_reclassified_incident_leaves_the_blotter(incidents, tmp_path):
    run_import(incidents)
    publish.publish_due()
    assert Entry.objects.filter(incident__incident_id="A1").exists()
    changed = csv_file(
        tmp_path,
        f"A1,{Incident.objects.get(incident_id='A1').reported_at.isoformat()},sexual_offence,,,Kerkstraat,12,2000,Antwerpen,,,open,PZ",
        name="fix.csv",
    )
    assert run_import(changed).updated == 1
    publish.publish_due()
    assert not Entry.objects.exists()


def test_bad_rows_are_reported_by_line_and_the_good_ones_kept(db, tmp_path):
    path = csv_file(
        tmp_path,
        f"B1,{when(20)},theft,,,,,,Gent,,,,",
        "B2,not a date,theft,,,,,,Gent,,,,",
        f"B3,{when(20)},theft,,,,,,Gent,10.0,10.0,,",
        f"B1,{when(20)},theft,,,,,,Gent,,,,",
        f"B4,{when(20)},theft,too,many,fields,,,,,,,,,",
        f"B5,{when(20)},Bad Code,,,,,,Gent,,,,",
    )
    result = run_import(path)
    assert result.created == 1
    lines = {line for line, _error in result.errors}
    assert lines == {3, 4, 5, 6, 7}


def test_a_file_in_windows_1252_is_read_and_said_so(db, tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes((HEADER + f"C1,{when(20)},theft,,Vélo volé,,,,Liège,,,,\n").encode("cp1252"))
    result = run_import(path)
    assert result.created == 1 and result.notes
    assert Incident.objects.get().summary == "Vélo volé"


def test_minors_are_never_published_whatever_the_category(db, tmp_path):
    run_import(csv_file(tmp_path, f"D1,{when(20)},theft,,Gsm afgenomen van 14-jarige,,,,Gent,,,,"))
    publish.publish_due()
    assert Incident.objects.get().decision == Decision.EXCLUDED and not Entry.objects.exists()


def test_a_new_policy_version_takes_a_category_off_the_blotter(incidents, editor):
    run_import(incidents)
    publish.publish_due()
    categories = policy.current().categories
    categories["theft"]["public"] = False
    policy.save_version(
        by=editor,
        categories=categories,
        location="municipality",
        time_rounding_minutes=60,
        summary="label",
    )
    publish.publish_due()
    assert not Entry.objects.exists()


def test_the_import_command_shows_progress_and_a_summary(incidents, capsys):
    call_command("blotter", "import", str(incidents))
    out, err = capsys.readouterr()
    assert "4 created" in out and "4/4 rows" in err
