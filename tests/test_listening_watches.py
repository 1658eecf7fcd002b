"""Listening: purposes and their separation, watches, results, audit, ingest -> matches,
retention (copps.listening.access / actions / console_views / pipeline / jobs)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from copps.accounts.models import Role
from copps.audit.models import AuditRecord
from copps.listening import jobs, matcher, pipeline
from copps.listening.models import Match, Post, Purpose, PurposeKind, Source, Watch
from copps.worker import jobs as worker_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, "ivan")


@pytest.fixture
def source(db):
    return Source.objects.create(kind="import", name="test import")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def purpose(kind=PurposeKind.MOOD, **extra) -> Purpose:
    if kind == PurposeKind.INVESTIGATION:
        extra = {
            "case_reference": "PV-2026-001",
            "legal_basis": "Art. 28bis Sv.",
            "authorised_by": "Procureur X",
            "ends_on": date.today() + timedelta(days=30),
            **extra,
        }
    return Purpose.objects.create(name=f"{kind} purpose", kind=kind, **extra)


def post(source, n: int, text: str, **extra) -> pipeline.Incoming:
    return pipeline.Incoming(external_id=f"p{n}", text=text, **extra)


# Ingest -> matches ---------------------------------------------------------------------------


def test_it_matches_new_posts_against_the_active_watches(source):
    mood = purpose()
    fire = Watch.objects.create(purpose=mood, name="fire", query="brand NOT oefening")
    bikes = Watch.objects.create(purpose=mood, name="bikes", query="fiets*")
    stored = pipeline.ingest(
        source,
        [
            post(source, 1, "Grote BRAND in de haven"),
            post(source, 2, "Brand, maar het is een oefening"),
            post(source, 3, "Fietsendiefstal aan het station"),
            post(source, 4, "Niets te melden"),
        ],
        cursor="c4",
    )
    assert len(stored) == 4
    assert sorted(Match.objects.values_list("watch_id", "post__external_id")) == sorted(
        [(fire.pk, "p1"), (bikes.pk, "p3")]
    )
    assert Source.objects.get(pk=source.pk).cursor == "c4"


def test_it_links_reposts_to_the_first_post_with_the_same_text(source):
    pipeline.ingest(source, [post(source, 1, "Brand in Gent!")])
    pipeline.ingest(source, [post(source, 2, "brand  in GENT!"), post(source, 3, "Brand in Gent!")])
    first = Post.objects.get(external_id="p1")
    assert Post.objects.get(external_id="p2").repost_of == first
    assert Post.objects.get(external_id="p3").repost_of == first
    assert first.repost_of is None


def test_it_links_reposts_within_one_batch(source):
    pipeline.ingest(source, [post(source, 1, "zelfde tekst"), post(source, 2, "Zelfde tekst")])
    assert Post.objects.get(external_id="p2").repost_of == Post.objects.get(external_id="p1")


def test_it_rebuilds_the_matcher_when_a_watch_changes(source):
    mood = purpose()
    watch = Watch.objects.create(purpose=mood, name="w", query="brand")
    first = matcher.current()
    assert matcher.current() is first  # cached
    watch.query = "fiets"
    watch.save()
    pipeline.ingest(source, [post(source, 1, "brand"), post(source, 2, "fiets")])
    assert list(Match.objects.values_list("post__external_id", flat=True)) == ["p2"]


def test_it_stops_matching_for_a_purpose_past_its_end_date(source):
    case = purpose(PurposeKind.INVESTIGATION, ends_on=date.today() - timedelta(days=1))
    Watch.objects.create(purpose=case, name="w", query="brand")
    pipeline.ingest(source, [post(source, 1, "brand")])
    assert not Match.objects.exists()


def test_it_does_not_match_inactive_watches_or_purposes(source):
    Watch.objects.create(purpose=purpose(), name="w", query="brand", active=False)
    Watch.objects.create(purpose=purpose(active=False), name="v", query="brand")
    pipeline.ingest(source, [post(source, 1, "brand")])
    assert not Match.objects.exists()


# Purposes: the register and its rules ------------------------------------------------------


def test_it_refuses_an_investigation_purpose_without_case_basis_officer_and_end(investigator):
    response = client_for(investigator).post(
        "/console/listening/purposes/new",
        {"name": "Case", "kind": "investigation", "retention_days": 30, "active": "on"},
    )
    assert response.status_code == 400
    for text in ("case reference", "legal basis", "authorising officer", "end date"):
        assert text in response.content.decode()
    assert not Purpose.objects.exists()


def test_it_creates_an_investigation_purpose_with_everything_and_audits_it(investigator):
    response = client_for(investigator).post(
        "/console/listening/purposes/new",
        {
            "name": "Case",
            "kind": "investigation",
            "retention_days": 30,
            "active": "on",
            "case_reference": "PV-1",
            "legal_basis": "Art. 46sexies Sv.",
            "authorised_by": "Procureur Y",
            "ends_on": "2099-01-01",
        },
    )
    assert response.status_code == 302
    created = Purpose.objects.get()
    assert created.is_investigation and created.created_by == investigator
    assert AuditRecord.objects.filter(
        action="listening.purpose.create", object_id=str(created.pk)
    ).exists()


def test_it_refuses_a_communicator_creating_an_investigation_purpose(communicator):
    response = client_for(communicator).post(
        "/console/listening/purposes/new",
        {
            "name": "Case",
            "kind": "investigation",
            "retention_days": 30,
            "case_reference": "PV-1",
            "legal_basis": "x",
            "authorised_by": "y",
            "ends_on": "2099-01-01",
        },
    )
    assert response.status_code == 400
    assert not Purpose.objects.exists()


def test_it_hides_investigation_purposes_watches_and_results_from_communicators(communicator):
    case = purpose(PurposeKind.INVESTIGATION)
    watch = Watch.objects.create(purpose=case, name="suspect", query="@someone")
    client = client_for(communicator)
    for url in (
        f"/console/listening/purposes/{case.pk}",
        f"/console/listening/purposes/{case.pk}/edit",
        f"/console/listening/purposes/{case.pk}/watches/new",
        f"/console/listening/watches/{watch.pk}",
        f"/console/listening/watches/{watch.pk}/edit",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        f"/console/listening/purposes/{case.pk}/watches/new", {"name": "x", "query": "brand"}
    )
    assert response.status_code == 404
    assert "suspect" not in client.get("/console/listening/").content.decode()
    assert not AuditRecord.objects.filter(action="listening.view").exists()


def test_it_hides_communication_results_from_investigators(investigator):
    watch = Watch.objects.create(purpose=purpose(), name="mood", query="brand")
    assert client_for(investigator).get(f"/console/listening/watches/{watch.pk}").status_code == 404


def test_it_keeps_staff_without_a_listening_role_out(make_user):
    officer = make_user(Role.OFFICER, "olaf")
    assert client_for(officer).get("/console/listening/").status_code == 404


def test_it_sends_anonymous_visitors_to_the_login_page():
    response = Client().get("/console/listening/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_refuses_get_on_the_try_endpoint(communicator):
    assert client_for(communicator).get("/console/listening/try").status_code == 405


# Watches and results -------------------------------------------------------------------------


def test_it_shows_a_query_error_pointing_at_the_position(communicator):
    mood = purpose()
    response = client_for(communicator).post(
        f"/console/listening/purposes/{mood.pk}/watches/new",
        {"name": "w", "query": "brand AND (haven"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "unclosed &quot;(&quot; at 10" in body
    assert "brand AND (haven\n" + " " * 10 + "^" in body
    assert not Watch.objects.exists()


def test_it_creates_a_watch_and_shows_its_results_newest_first_and_audits_the_view(
    communicator, source
):
    mood = purpose()
    client = client_for(communicator)
    response = client.post(
        f"/console/listening/purposes/{mood.pk}/watches/new",
        {"name": "fire", "query": "#brand OR brand", "active": "on"},
    )
    assert response.status_code == 302
    watch = Watch.objects.get()
    now = timezone.now()
    pipeline.ingest(
        source,
        [
            post(source, 1, "oude brand", published_at=now - timedelta(hours=2)),
            post(source, 2, "nieuwe #brand", published_at=now - timedelta(hours=1)),
            post(source, 3, "niets"),
        ],
    )
    response = client.get(f"/console/listening/watches/{watch.pk}")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("nieuwe #brand") < body.index("oude brand")
    assert "niets" not in body
    record = AuditRecord.objects.filter(action="listening.view").latest("seq")
    assert record.actor == communicator.username
    assert record.object_id == str(watch.pk)
    assert sorted(record.data["posts"]) == sorted(
        Post.objects.filter(external_id__in=["p1", "p2"]).values_list("pk", flat=True)
    )
    assert "brand" not in str(record.data)  # ids only


def test_it_tries_a_query_on_recent_posts_and_audits_it_without_the_query(communicator, source):
    pipeline.ingest(
        source,
        [post(source, 1, "brand in Gent"), post(source, 2, "fietsen"), post(source, 3, "brand")],
    )
    response = client_for(communicator).post(
        "/console/listening/try", {"query": "brand place:Gent", "posts": 100}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 of the last 3 posts match." in body
    record = AuditRecord.objects.filter(action="listening.query").latest("seq")
    assert record.data["matched"] == [Post.objects.get(external_id="p1").pk]
    assert "Gent" not in str(record.data) and "brand" not in str(record.data)


def test_it_does_not_let_a_communicator_try_queries_on_investigation_results(communicator, source):
    case = purpose(PurposeKind.INVESTIGATION)
    Watch.objects.create(purpose=case, name="suspect", query="geheim")
    pipeline.ingest(source, [post(source, 1, "geheim bericht"), post(source, 2, "geheim ook")])
    Match.objects.filter(post__external_id="p2").delete()  # p2: not an investigation result
    response = client_for(communicator).post(
        "/console/listening/try", {"query": "geheim", "posts": 100}
    )
    assert "1 of the last 1 posts match." in response.content.decode()
    assert "geheim bericht" not in response.content.decode()


def test_it_refuses_a_bad_query_in_the_try_box_with_its_position(communicator):
    response = client_for(communicator).post(
        "/console/listening/try", {"query": "a OR", "posts": 10}
    )
    assert response.status_code == 400
    assert "a term is missing at 4" in response.content.decode()
    assert not AuditRecord.objects.filter(action="listening.query").exists()


def test_it_shows_the_listening_link_to_both_desks_only(communicator, investigator, make_user):
    for user in (communicator, investigator):
        assert 'href="/console/listening/"' in client_for(user).get("/console/").content.decode()
    coach = make_user(Role.COACH, "cora")
    assert 'href="/console/listening/"' not in client_for(coach).get("/console/").content.decode()


# Retention -----------------------------------------------------------------------------------


def test_it_purges_old_matches_then_posts_nothing_needs(source):
    short = purpose(retention_days=7)
    long = purpose(PurposeKind.RUMOURS, retention_days=90)
    a = Watch.objects.create(purpose=short, name="a", query="brand")
    b = Watch.objects.create(purpose=long, name="b", query="fiets")
    pipeline.ingest(
        source,
        [
            post(source, 1, "brand"),
            post(source, 2, "fiets"),
            post(source, 3, "niets"),
            post(source, 4, "brand en fiets"),
        ],
    )
    later = timezone.now() + timedelta(days=10)
    removed = jobs.retention(later)
    assert not Match.objects.filter(watch=a).exists()
    assert Match.objects.filter(watch=b).count() == 2
    assert sorted(Post.objects.values_list("external_id", flat=True)) == ["p2", "p4"]
    assert removed == 2 + 2  # two matches of a, then p1 and p3
    note = AuditRecord.objects.filter(action="listening.retention").latest("seq")
    assert note.data == {"matches": 2, "posts": 2}


def test_it_keeps_unmatched_posts_for_a_day(source):
    pipeline.ingest(source, [post(source, 1, "niets")])
    jobs.retention(timezone.now() + timedelta(hours=20))
    assert Post.objects.count() == 1
    jobs.retention(timezone.now() + timedelta(hours=25))
    assert Post.objects.count() == 0


def test_it_runs_retention_in_the_worker_tick(source):
    pipeline.ingest(source, [post(source, 1, "niets")])
    result = worker_jobs.tick(timezone.now() + timedelta(days=2))
    assert result["listening_expired"] == 1
    assert not Post.objects.exists()


def test_it_refuses_hostile_numbers_in_the_forms(communicator):
    client = client_for(communicator)
    response = client.post("/console/listening/try", {"query": "brand", "posts": 10**9})
    assert response.status_code == 400
    response = client.post(
        "/console/listening/purposes/new",
        {"name": "x", "kind": "mood", "retention_days": 0},
    )
    assert response.status_code == 400
    assert not Purpose.objects.exists()
    response = client.post("/console/listening/try", {"query": "x" * 5000, "posts": 10})
    assert response.status_code == 400


def test_it_shows_every_page_of_ones_own_desk(communicator):
    mood = purpose(description="Stemming rond het festival")
    watch = Watch.objects.create(purpose=mood, name="festival", query="festival*")
    client = client_for(communicator)
    for url in (
        "/console/listening/",
        "/console/listening/purposes/new",
        f"/console/listening/purposes/{mood.pk}",
        f"/console/listening/purposes/{mood.pk}/edit",
        f"/console/listening/purposes/{mood.pk}/watches/new",
        f"/console/listening/watches/{watch.pk}",
        f"/console/listening/watches/{watch.pk}/edit",
    ):
        assert client.get(url).status_code == 200, url
    response = client.post(
        f"/console/listening/watches/{watch.pk}/edit",
        {"name": "festival", "query": "festival* NOT afgelast", "active": "on"},
    )
    assert response.status_code == 302
    watch.refresh_from_db()
    assert watch.query == "festival* NOT afgelast"
    assert AuditRecord.objects.filter(action="listening.watch.change").exists()
