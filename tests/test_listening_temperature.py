"""Listening: hourly volume and sentiment, bursts, emerging terms, alerts by e-mail, the
dashboard (copps.listening.temperature / alerts / dashboard_views)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client

from copps.accounts.models import Role
from copps.audit.models import AuditRecord
from copps.inbox.models import Duty
from copps.listening import alerts, temperature
from copps.listening.models import (
    ListeningAlert,
    Match,
    Post,
    Purpose,
    PurposeKind,
    Source,
    Watch,
    WatchState,
)
from copps.worker import jobs as worker_jobs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 4, 12, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def source(db):
    return Source.objects.create(kind="import", name="test import")


@pytest.fixture
def watch(db):
    mood = Purpose.objects.create(name="mood", kind=PurposeKind.MOOD)
    return Watch.objects.create(
        purpose=mood, name="brand", query="brand", created_at=NOW - timedelta(hours=50)
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


_n = iter(range(1_000_000))


def add(source, watch, at, text="brand in de haven", sentiment="neutral", places=()) -> Post:
    n = next(_n)
    post = Post.objects.create(
        source=source,
        external_id=f"p{n}",
        text=text,
        sentiment=sentiment,
        places=list(places),
        fingerprint=f"f{n}",
        published_at=at,
        received_at=at,
    )
    Match.objects.create(watch=watch, post=post, matched_at=at)
    return post


def flat(source, watch, hours=48, per_hour=3, end=NOW - HOUR):
    """``per_hour`` posts in each of the ``hours`` hours before ``end``."""
    start = temperature.floor_hour(end) - hours * HOUR
    for h in range(hours):
        for i in range(per_hour):
            add(source, watch, start + h * HOUR + timedelta(minutes=7 + 10 * i))


def spike(source, watch, n=30, text="brand in de haven", at=NOW):
    return [add(source, watch, at - timedelta(minutes=1 + i), text=text) for i in range(n)]


# Time series ---------------------------------------------------------------------------------


def test_it_counts_matches_and_sentiments_per_hour(source, watch):
    hour = datetime(2026, 7, 4, 9, tzinfo=UTC)
    add(source, watch, hour + timedelta(minutes=5), sentiment="negative")
    add(source, watch, hour + timedelta(minutes=50), sentiment="negative")
    add(source, watch, hour + timedelta(minutes=55), sentiment="positive")
    add(source, watch, hour + timedelta(hours=2, minutes=1), sentiment="neutral")
    series = temperature.hourly(watch, hour, hour + 3 * HOUR)
    assert [
        (h["hour"].hour, h["total"], h["negative"], h["neutral"], h["positive"]) for h in series
    ] == [
        (9, 3, 2, 0, 1),
        (10, 0, 0, 0, 0),
        (11, 1, 0, 1, 0),
    ]


def test_it_counts_a_post_at_its_arrival_when_it_has_no_publication_time(source, watch):
    post = add(source, watch, NOW - 2 * HOUR)
    Post.objects.filter(pk=post.pk).update(published_at=None)
    series = temperature.hourly(watch, NOW - 3 * HOUR, NOW)
    assert [h["total"] for h in series] == [0, 1, 0, 0]


# Bursts --------------------------------------------------------------------------------------


def test_it_raises_a_burst_alert_on_a_spike_with_the_posts_that_caused_it(source, watch):
    flat(source, watch)
    posts = spike(source, watch, n=30)
    assert alerts.evaluate(watch, NOW) == 1
    alert = ListeningAlert.objects.get()
    assert alert.kind == "burst"
    assert alert.detail["count"] == 30
    assert alert.detail["mean"] == pytest.approx(3, abs=0.5)
    assert sorted(alert.detail["posts"]) == sorted(p.pk for p in posts)


def test_it_raises_nothing_on_a_flat_series(source, watch):
    flat(source, watch, per_hour=12, end=NOW + HOUR)
    assert temperature.burst(watch, NOW).count == 12
    assert alerts.evaluate(watch, NOW) == 0
    assert not ListeningAlert.objects.exists()


def test_it_raises_nothing_below_the_minimum_count(source, watch):
    # From nothing to a few posts is a rise, but too small to wake anyone.
    spike(source, watch, n=temperature.BURST_MIN - 1)
    assert alerts.evaluate(watch, NOW) == 0


def test_it_raises_nothing_for_a_watch_younger_than_a_day(source, watch):
    Watch.objects.filter(pk=watch.pk).update(created_at=NOW - timedelta(hours=20))
    watch.refresh_from_db()
    spike(source, watch, n=40)
    assert alerts.evaluate(watch, NOW) == 0


def test_it_raises_one_alert_per_burst(source, watch):
    flat(source, watch)
    spike(source, watch, n=30)
    assert alerts.evaluate(watch, NOW) == 1
    # Still bursting ten minutes later: no second alert.
    spike(source, watch, n=5, at=NOW + timedelta(minutes=10))
    assert alerts.evaluate(watch, NOW + timedelta(minutes=10)) == 0
    # Quiet again, then a new spike the next day: a new alert.
    assert alerts.evaluate(watch, NOW + 3 * HOUR) == 0
    assert WatchState.objects.get(watch=watch).bursting is False
    later = NOW + timedelta(hours=26)
    spike(source, watch, n=40, at=later)
    assert alerts.evaluate(watch, later) == 1
    assert ListeningAlert.objects.filter(kind="burst").count() == 2


def test_the_worker_evaluates_each_watch_at_most_every_five_minutes(source, watch, monkeypatch):
    seen = []
    monkeypatch.setattr(alerts, "evaluate", lambda w, now: seen.append((w.pk, now)) or 0)
    worker_jobs.listening_alerts(NOW)
    WatchState.objects.create(watch=watch, evaluated_at=NOW)
    worker_jobs.listening_alerts(NOW + timedelta(minutes=4))
    worker_jobs.listening_alerts(NOW + timedelta(minutes=6))
    assert seen == [(watch.pk, NOW), (watch.pk, NOW + timedelta(minutes=6))]
    assert "listening_alerts" in worker_jobs._jobs()


# Emerging terms ------------------------------------------------------------------------------


def test_it_finds_a_term_that_rises_sharply_against_the_baseline(source, watch):
    flat(source, watch, per_hour=4)
    for i in range(6):
        add(source, watch, NOW - timedelta(minutes=2 + i), text="brand in de haven, gifwolk boven")
    add(source, watch, NOW - timedelta(minutes=20), text="brand in de haven")
    terms = temperature.emerging(watch, NOW)
    assert [t.term for t in terms] == ["boven", "gifwolk"]
    # "brand" and "haven" are in every post, before and now: not emerging; "de", "in" stopwords.
    gifwolk = terms[1]
    assert gifwolk.count == 6 and len(gifwolk.posts) == 6


def test_it_raises_one_term_alert_while_the_term_keeps_emerging(source, watch):
    flat(source, watch, per_hour=4)
    for i in range(6):
        add(source, watch, NOW - timedelta(minutes=2 + i), text="gifwolk brand")
    assert alerts.evaluate(watch, NOW) == 1
    alert = ListeningAlert.objects.get()
    assert (alert.kind, alert.detail["term"], alert.detail["count"]) == ("term", "gifwolk", 6)
    assert alerts.evaluate(watch, NOW + timedelta(minutes=5)) == 0
    assert WatchState.objects.get(watch=watch).terms == ["gifwolk"]


def test_it_ignores_short_words_numbers_and_stopwords():
    assert temperature.terms_of("De brand in 9000 is op de E17, niet ok! Feu à Gand") == {
        "brand",
        "feu",
        "gand",
    }


# E-mail --------------------------------------------------------------------------------------


def test_it_mails_the_on_duty_communicator_and_audits_ids_only(source, watch, make_user):
    on_duty = make_user(Role.COMMUNICATOR, "duty", email="duty@police.example")
    make_user(Role.COMMUNICATOR, "other", email="other@police.example")
    investigator = make_user(Role.INVESTIGATOR, "ivan", email="ivan@police.example")
    Duty.objects.create(user=on_duty, desk="communication")
    Duty.objects.create(user=investigator, desk="investigation")
    flat(source, watch)
    spike(source, watch, n=30, text="brand in de haven")
    assert alerts.evaluate(watch, NOW) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["duty@police.example"]
    assert "brand" in message.subject
    assert f"/console/listening/watches/{watch.pk}/dashboard" in message.body
    record = AuditRecord.objects.get(action="listening.alert")
    assert record.data["recipients"] == [on_duty.pk]
    assert record.data["watch"] == watch.pk
    assert "haven" not in str(record.data)


def test_it_mails_the_whole_desk_when_nobody_is_on_duty(source, watch, make_user):
    make_user(Role.COMMUNICATOR, "a", email="a@police.example")
    make_user(Role.ANALYST, "b", email="b@police.example")
    make_user(Role.INVESTIGATOR, "ivan", email="ivan@police.example")
    flat(source, watch)
    spike(source, watch, n=30)
    alerts.evaluate(watch, NOW)
    assert sorted(mail.outbox[0].to) == ["a@police.example", "b@police.example"]


def test_an_investigation_alert_goes_to_the_investigators(source, make_user):
    make_user(Role.COMMUNICATOR, "a", email="a@police.example")
    make_user(Role.INVESTIGATOR, "ivan", email="ivan@police.example")
    case = Purpose.objects.create(
        name="case",
        kind=PurposeKind.INVESTIGATION,
        case_reference="PV-1",
        legal_basis="x",
        authorised_by="y",
        ends_on=NOW.date() + timedelta(days=30),
    )
    watch = Watch.objects.create(
        purpose=case, name="case watch", query="brand", created_at=NOW - timedelta(hours=50)
    )
    flat(source, watch)
    spike(source, watch, n=30)
    alerts.evaluate(watch, NOW)
    assert mail.outbox[0].to == ["ivan@police.example"]


# Dashboard and banner ------------------------------------------------------------------------


def test_the_dashboard_charts_volume_and_sentiment_per_hour(source, watch, communicator):
    from django.utils import timezone

    now = timezone.now()
    add(source, watch, now - 3 * HOUR, sentiment="negative", places=["44021"])
    add(source, watch, now - 3 * HOUR, sentiment="negative", places=["44021"])
    add(source, watch, now - 3 * HOUR, sentiment="positive", text="brand feestzaal")
    add(source, watch, now - 10 * HOUR, sentiment="neutral")
    response = client_for(communicator).get(f"/console/listening/watches/{watch.pk}/dashboard")
    assert response.status_code == 200
    html = response.content.decode()
    volume = html.split('data-chart="volume"')[1].split("</svg>")[0]
    counts = re.findall(r'data-count="(\d+)"', volume)
    assert sorted(counts) == ["1", "3"]
    tallest = re.search(r'data-count="3" x="\d+" y="(\d+)" width="\d+" height="(\d+)"', volume)
    assert tallest and int(tallest.group(2)) == temperature_chart_usable()
    sentiment = html.split('data-chart="sentiment"')[1].split("</svg>")[0]
    assert sentiment.count('data-sentiment="negative"') == 1
    assert sentiment.count('data-sentiment="positive"') == 1
    assert sentiment.count('data-sentiment="neutral"') == 1
    assert 'data-term="brand"' in html and 'data-term="feestzaal"' in html
    assert 'data-nis="44021"' in html and "Gent" in html
    record = AuditRecord.objects.filter(action="listening.view").latest("pk")
    assert record.object_id == str(watch.pk) and record.data["view"] == "dashboard"


def temperature_chart_usable() -> int:
    from copps.listening.dashboard_views import CHART

    return CHART["height"] - CHART["top"]


def test_the_dashboard_is_not_found_for_the_other_desk(source, watch, make_user):
    investigator = make_user(Role.INVESTIGATOR, "ivan")
    response = client_for(investigator).get(f"/console/listening/watches/{watch.pk}/dashboard")
    assert response.status_code == 404
    assert not AuditRecord.objects.filter(action="listening.view").exists()


def test_the_banner_shows_alerts_to_their_desk_only_until_acknowledged(
    source, watch, communicator, make_user
):
    alert = ListeningAlert.objects.create(
        watch=watch, kind="term", detail={"term": "gifwolk", "count": 6, "posts": []}
    )
    investigator = make_user(Role.INVESTIGATOR, "ivan")
    assert f'data-alert="{alert.pk}"' not in (
        client_for(investigator).get("/console/listening/").content.decode()
    )
    assert (
        client_for(investigator).post(f"/console/listening/alerts/{alert.pk}/acknowledge")
    ).status_code == 404
    client = client_for(communicator)
    for url in ("/console/listening/", f"/console/listening/watches/{watch.pk}"):
        assert f'data-alert="{alert.pk}"' in client.get(url).content.decode()
    response = client.post(f"/console/listening/alerts/{alert.pk}/acknowledge")
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == communicator
    assert f'data-alert="{alert.pk}"' not in client.get("/console/listening/").content.decode()
    assert client.get(f"/console/listening/alerts/{alert.pk}/acknowledge").status_code == 405


def test_retention_deletes_alerts_with_the_matches(watch):
    from copps.listening import jobs

    old = ListeningAlert.objects.create(
        watch=watch, kind="burst", detail={}, created_at=NOW - timedelta(days=31)
    )
    recent = ListeningAlert.objects.create(
        watch=watch, kind="burst", detail={}, created_at=NOW - timedelta(days=29)
    )
    jobs.retention(NOW)
    assert list(ListeningAlert.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk
