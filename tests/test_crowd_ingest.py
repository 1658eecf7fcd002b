"""Sensor counts: parsing, refusals with reasons, zone levels, trends, alerts, staleness."""

from datetime import timedelta

import pytest
from django.utils import timezone

from copps.accounts.roles import Role
from copps.crowd import ingest
from copps.crowd.models import (
    AlertKind,
    AlertState,
    CrowdAlert,
    Reading,
    Rejection,
    Sensor,
    Zone,
    ZoneSample,
)
from tests.crowd_helpers import iso, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, "admin-crowd")


@pytest.fixture
def setup(admin):
    return make_event(admin)


def push(sensor_id, payload, *, now=None):
    return ingest.ingest([(sensor_id, payload)], via="mqtt", now=now)


def test_devices_become_people_density_and_level(setup):
    event, markt, _v, bt, _t, _g = setup
    now = timezone.now()
    area = Zone.objects.get(pk=markt.pk).area_m2
    assert 9600 < area < 10000  # 0.0014° (98 m at 51° N) × 0.0009° (100 m)
    result = push("bt-korenmarkt-1", f'{{"ts": "{iso(now)}", "devices": 1000}}', now=now)
    assert result.accepted == 1 and not result.rejected
    zone = Zone.objects.get(pk=markt.pk)
    assert zone.people == 2000  # calibration 2.0
    assert zone.density == pytest.approx(2000 / area, abs=0.001)
    assert zone.level == "green" and not zone.stale
    assert Reading.objects.filter(sensor=bt, devices=1000).count() == 1
    assert ZoneSample.objects.filter(zone=zone).count() == 1


def test_rising_level_raises_one_alert_then_resolves(setup):
    event, markt, *_ = setup
    area = Zone.objects.get(pk=markt.pk).area_m2
    now = timezone.now()
    devices_for = lambda density: int(density * area / 2.0) + 1  # noqa: E731
    push("bt-korenmarkt-1", {"ts": iso(now), "devices": devices_for(1.2)}, now=now)
    zone = Zone.objects.get(pk=markt.pk)
    assert zone.level == "amber"
    amber = CrowdAlert.objects.get(zone=zone)
    assert amber.level == "amber" and amber.state == AlertState.OPEN
    later = now + timedelta(seconds=10)
    push("bt-korenmarkt-1", {"ts": iso(later), "devices": devices_for(2.5)}, now=later)
    assert Zone.objects.get(pk=markt.pk).level == "red"
    red = CrowdAlert.objects.get(zone=zone, level="red")
    assert red.people >= 2.5 * area - 2
    # The same level again raises nothing new.
    again = later + timedelta(seconds=10)
    push("bt-korenmarkt-1", {"ts": iso(again), "devices": devices_for(2.6)}, now=again)
    assert CrowdAlert.objects.filter(zone=zone, kind=AlertKind.LEVEL).count() == 2
    # Just under the maximum: hysteresis keeps it red; well under: amber, and the red alert ends.
    t3 = again + timedelta(seconds=10)
    push("bt-korenmarkt-1", {"ts": iso(t3), "devices": devices_for(1.9)}, now=t3)
    assert Zone.objects.get(pk=markt.pk).level == "red"
    t4 = t3 + timedelta(seconds=10)
    push("bt-korenmarkt-1", {"ts": iso(t4), "devices": devices_for(1.5)}, now=t4)
    assert Zone.objects.get(pk=markt.pk).level == "amber"
    red.refresh_from_db()
    assert red.state == AlertState.RESOLVED
    t5 = t4 + timedelta(seconds=10)
    push("bt-korenmarkt-1", {"ts": iso(t5), "devices": 1}, now=t5)
    assert Zone.objects.get(pk=markt.pk).level == "green"
    amber.refresh_from_db()
    assert amber.state == AlertState.RESOLVED


def test_people_counter_keeps_occupancy_never_below_zero(setup):
    *_, gate = setup
    now = timezone.now()
    push("gate-vrijdag-1", {"ts": iso(now), "in": 120, "out": 20}, now=now)
    t2 = now + timedelta(seconds=5)
    push("gate-vrijdag-1", {"ts": iso(t2), "in": 5, "out": 40}, now=t2)
    gate.refresh_from_db()
    assert gate.occupancy == 65
    assert Zone.objects.get(pk=gate.zone_id).people == 65
    t3 = t2 + timedelta(seconds=5)
    push("gate-vrijdag-1", {"ts": iso(t3), "in": 0, "out": 500}, now=t3)
    gate.refresh_from_db()
    assert gate.occupancy == 0


BAD = [
    ("nope-sensor", '{"ts": "%(now)s", "devices": 3}', "unknown_sensor"),
    ("bt-korenmarkt-1", "{not json", "malformed"),
    ("bt-korenmarkt-1", "[1, 2]", "malformed"),
    ("bt-korenmarkt-1", '{"ts": "%(now)s"}', "malformed"),
    ("bt-korenmarkt-1", '{"ts": "%(now)s", "devices": 3, "in": 1, "out": 0}', "malformed"),
    ("bt-korenmarkt-1", '{"ts": "%(now)s", "devices": -4}', "negative"),
    ("bt-korenmarkt-1", '{"ts": "%(now)s", "devices": 2.5}', "bad_count"),
    ("bt-korenmarkt-1", '{"ts": "%(now)s", "devices": true}', "bad_count"),
    ("bt-korenmarkt-1", '{"ts": "%(now)s", "devices": 10000000}', "bad_count"),
    ("bt-korenmarkt-1", '{"ts": "yesterday", "devices": 3}', "bad_timestamp"),
    ("bt-korenmarkt-1", '{"ts": "2026-13-45T10:00:00Z", "devices": 3}', "bad_timestamp"),
    ("bt-korenmarkt-1", '{"ts": "%(future)s", "devices": 3}', "future"),
    ("bt-korenmarkt-1", '{"ts": "%(old)s", "devices": 3}', "too_old"),
    (
        "bt-korenmarkt-1",
        '{"ts": "%(now)s", "devices": 3, "mac": "aa:bb:cc:dd:ee:ff"}',
        "unexpected_field",
    ),
    ("bt-korenmarkt-1", '{"ts": "%(now)s", "in": 3, "out": 1}', "wrong_kind"),
    ("gate-vrijdag-1", '{"ts": "%(now)s", "devices": 3}', "wrong_kind"),
    ("bad/id", '{"ts": "%(now)s", "devices": 3}', "bad_sensor_id"),
    ("bt-korenmarkt-1", "x" * 5000, "too_large"),
]


@pytest.mark.parametrize(("sensor_id", "payload", "reason"), BAD)
def test_bad_counts_are_refused_with_a_reason_and_counted(setup, sensor_id, payload, reason):
    now = timezone.now()
    text = (
        payload
        % {
            "now": iso(now),
            "future": iso(now + timedelta(minutes=10)),
            "old": iso(now - timedelta(days=3)),
        }
        if "%(" in payload
        else payload
    )
    result = push(sensor_id, text, now=now)
    assert result.accepted == 0
    assert result.rejected == {reason: 1}
    assert Rejection.objects.get(reason=reason, via="mqtt").count == 1
    assert not Reading.objects.exists()


def test_a_bad_count_never_stops_the_good_ones_in_its_batch(setup):
    now = timezone.now()
    batch = [
        ("bt-korenmarkt-1", "garbage"),
        ("bt-korenmarkt-1", {"ts": iso(now), "devices": 10}),
        ("ghost", {"ts": iso(now), "devices": 10}),
        ("gate-vrijdag-1", {"ts": iso(now), "in": 4, "out": 0}),
    ]
    result = ingest.ingest(batch, via="mqtt", now=now)
    assert result.accepted == 2
    assert result.rejected == {"malformed": 1, "unknown_sensor": 1}
    assert Reading.objects.count() == 2


def test_out_of_order_and_replayed_counts_are_refused(setup):
    now = timezone.now()
    push("gate-vrijdag-1", {"ts": iso(now), "in": 10, "out": 0}, now=now)
    # An MQTT redelivery of the same message must not count the passages twice.
    replay = push("gate-vrijdag-1", {"ts": iso(now), "in": 10, "out": 0}, now=now)
    earlier = push(
        "gate-vrijdag-1", {"ts": iso(now - timedelta(seconds=30)), "in": 1, "out": 0}, now=now
    )
    assert replay.rejected == {"out_of_order": 1} and earlier.rejected == {"out_of_order": 1}
    assert Sensor.objects.get(sensor_id="gate-vrijdag-1").occupancy == 10
    assert Rejection.objects.get(reason="out_of_order").count == 2


def test_a_flooding_sensor_is_cut_off_for_the_minute(setup, settings):
    settings.COPPS_SENSOR_MAX_PER_MINUTE = 5
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    batch = [
        ("bt-korenmarkt-1", {"ts": iso(minute + timedelta(seconds=i)), "devices": i})
        for i in range(8)
    ]
    result = ingest.ingest(batch, via="http", now=timezone.now())
    assert result.accepted == 5 and result.rejected == {"flood": 3}
    # The next minute of the sensor's time is a new window.
    next_minute = minute + timedelta(minutes=1, seconds=1)
    ok = push("bt-korenmarkt-1", {"ts": iso(next_minute), "devices": 1})
    assert ok.accepted == 1


def test_a_buffer_sent_after_an_outage_is_not_a_flood(setup, settings):
    settings.COPPS_SENSOR_MAX_PER_MINUTE = 5
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    # One count every 15 seconds for the last hour, sent at once: 4 per minute of sensor time.
    batch = [
        ("bt-korenmarkt-1", {"ts": iso(start + timedelta(seconds=15 * i)), "devices": i})
        for i in range(240)
    ]
    result = ingest.ingest(batch, via="http")
    assert result.accepted == 240 and not result.rejected


def test_a_counter_sending_running_totals_cannot_overflow(setup):
    *_, gate = setup
    now = timezone.now() - timedelta(minutes=30)
    batch = [
        ("gate-vrijdag-1", {"ts": iso(now + timedelta(seconds=i)), "in": 1_000_000, "out": 0})
        for i in range(100)
    ]
    result = ingest.ingest(batch, via="mqtt")
    assert result.accepted == 100
    gate.refresh_from_db()
    assert gate.occupancy == ingest.MAX_COUNT
    assert Zone.objects.get(pk=gate.zone_id).people == ingest.MAX_COUNT


def test_a_silent_sensor_turns_stale_with_one_alert_and_recovers(setup, settings):
    settings.COPPS_SENSOR_STALE_SECONDS = 60
    _e, markt, _v, bt, *_ = setup
    now = timezone.now()
    push("bt-korenmarkt-1", {"ts": iso(now), "devices": 10}, now=now)
    assert not Zone.objects.get(pk=markt.pk).stale
    assert ingest.mark_stale(now + timedelta(seconds=30)) == 0
    later = now + timedelta(seconds=90)
    assert ingest.mark_stale(later) == 1
    assert ingest.mark_stale(later + timedelta(seconds=5)) == 0  # once
    bt.refresh_from_db()
    assert bt.stale
    assert Zone.objects.get(pk=markt.pk).stale
    alert = CrowdAlert.objects.get(kind=AlertKind.STALE)
    assert alert.sensor_id == "bt-korenmarkt-1" and alert.state == AlertState.OPEN
    back = later + timedelta(seconds=10)
    push("bt-korenmarkt-1", {"ts": iso(back), "devices": 12}, now=back)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert not Zone.objects.get(pk=markt.pk).stale


def test_trend_uses_the_latest_sample_five_to_ten_minutes_back(setup):
    _e, markt, *_ = setup
    area = Zone.objects.get(pk=markt.pk).area_m2
    now = timezone.now().replace(second=10)
    push("bt-korenmarkt-1", {"ts": iso(now), "devices": int(0.2 * area / 2)}, now=now)
    # The sensor then reports only seven minutes later.
    later = now + timedelta(minutes=7)
    push("bt-korenmarkt-1", {"ts": iso(later), "devices": int(0.8 * area / 2)}, now=later)
    assert Zone.objects.get(pk=markt.pk).trend == 1


def test_trend_compares_with_five_minutes_ago(setup):
    _e, markt, *_ = setup
    area = Zone.objects.get(pk=markt.pk).area_m2
    now = timezone.now().replace(second=10)
    push("bt-korenmarkt-1", {"ts": iso(now), "devices": int(0.2 * area / 2)}, now=now)
    later = now + timedelta(minutes=5)
    push("bt-korenmarkt-1", {"ts": iso(later), "devices": int(0.8 * area / 2)}, now=later)
    assert Zone.objects.get(pk=markt.pk).trend == 1
    last = later + timedelta(minutes=5)
    push("bt-korenmarkt-1", {"ts": iso(last), "devices": int(0.1 * area / 2)}, now=last)
    assert Zone.objects.get(pk=markt.pk).trend == -1


def test_a_timestamp_without_offset_is_read_as_utc(setup):
    from datetime import UTC

    now = timezone.now()
    naive = now.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert push("bt-korenmarkt-1", {"ts": naive, "devices": 5}, now=now).accepted == 1
    assert Sensor.objects.get(sensor_id="bt-korenmarkt-1").last_ts == now
    ahead = (now.astimezone(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    later = push("bt-korenmarkt-1", {"ts": ahead, "devices": 5}, now=now + timedelta(seconds=1))
    assert later.rejected == {"future": 1}
