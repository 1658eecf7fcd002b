"""`copps crowd_simulate --direct` (what `make demo` runs): never overwrites real counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from copps.accounts.roles import Role
from copps.crowd import ingest
from copps.crowd.management.commands.crowd_simulate import Command
from copps.crowd.models import Sensor
from tests.crowd_helpers import iso, make_event

pytestmark = pytest.mark.django_db


def test_the_direct_simulation_leaves_a_sensor_alone_once_someone_else_counts(make_user):
    make_event(make_user(Role.ADMIN))
    send, _close = Command()._direct_sender()
    start = timezone.now() - timedelta(seconds=30)
    first = [
        ("bt-korenmarkt-1", f'{{"ts": "{iso(start)}", "devices": 10}}'),
        ("gate-vrijdag-1", f'{{"ts": "{iso(start)}", "in": 1, "out": 0}}'),
    ]
    assert send(first) == (2, 0)
    # A real count (the API, a sensor, an acceptance check) arrives for one sensor.
    real = ingest.ingest(
        [("bt-korenmarkt-1", {"ts": iso(start + timedelta(seconds=5)), "devices": 900})],
        via="http",
    )
    assert real.accepted == 1
    later = start + timedelta(seconds=10)
    second = [
        ("bt-korenmarkt-1", f'{{"ts": "{iso(later)}", "devices": 11}}'),
        ("gate-vrijdag-1", f'{{"ts": "{iso(later)}", "in": 1, "out": 0}}'),
    ]
    assert send(second) == (1, 0)
    assert Sensor.objects.get(sensor_id="bt-korenmarkt-1").last_devices == 900
    assert Sensor.objects.get(sensor_id="gate-vrijdag-1").occupancy == 2
