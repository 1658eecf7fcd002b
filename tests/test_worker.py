"""The worker: `copps worker` runs the jobs, reports a heartbeat and survives failing rounds."""

import signal
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from copps.accounts.models import LoginFailure
from copps.newsroom import actions
from copps.newsroom.models import Message
from copps.newsroom.workflow import State
from copps.worker import jobs
from copps.worker.models import Heartbeat


@pytest.fixture(autouse=True)
def no_waiting(settings):
    settings.COPPS_WORKER_TICK_SECONDS = 0


@pytest.fixture
def due_message(make_message, communicator, editor):
    message = make_message(communicator, publish_at=timezone.now() + timedelta(hours=1))
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    Message.objects.filter(pk=message.pk).update(publish_at=timezone.now() - timedelta(minutes=1))
    return message


# The worker closes stale connections between rounds, as a long-running process must; on
# PostgreSQL that would close the test's own transaction, so these tests commit for real.
WORKER_DB = pytest.mark.django_db(transaction=True)


@WORKER_DB
def test_worker_once_runs_a_tick_and_writes_a_heartbeat(due_message):
    started = timezone.now()
    call_command("worker", "--once")
    due_message.refresh_from_db()
    assert due_message.state == State.PUBLISHED
    heartbeat = Heartbeat.objects.get()
    assert heartbeat.ticks == 1 and heartbeat.seen_at >= started


@WORKER_DB
def test_a_failing_tick_does_not_stop_the_loop(monkeypatch):
    calls = []

    def flaky_tick():
        calls.append(Heartbeat.objects.values_list("ticks", flat=True).first())
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return {"errors": 0, "published": 0}

    monkeypatch.setattr(jobs, "tick", flaky_tick)
    call_command("worker", "--rounds", "3")
    assert len(calls) == 3
    # Round 1 failed: no heartbeat for it; round 2 succeeded and was reported before round 3.
    assert calls == [0, 0, 2]
    assert not Heartbeat.objects.exists()  # a worker that stops says goodbye


@WORKER_DB
def test_a_failing_task_round_does_not_stop_the_loop(monkeypatch):
    from django_tasks_db.management.commands import db_worker

    ran = []
    monkeypatch.setattr(db_worker.Worker, "run", lambda self: ran.append(1) or 1 / 0)
    monkeypatch.setattr(jobs, "tick", lambda: ran.append("tick") or {"errors": 0})
    call_command("worker", "--rounds", "2")
    assert ran == ["tick", 1, "tick", 1]


@WORKER_DB
def test_the_worker_gives_back_the_signal_handlers_it_took():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    call_command("worker", "--once")
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@WORKER_DB
def test_heartbeats_of_long_dead_workers_are_cleared():
    Heartbeat.objects.create(worker_id="dead", seen_at=timezone.now() - timedelta(days=2))
    Heartbeat.objects.create(worker_id="alive", seen_at=timezone.now())
    call_command("worker", "--once")
    assert set(Heartbeat.objects.values_list("worker_id", flat=True)) - {"alive"} != set()
    assert not Heartbeat.objects.filter(worker_id="dead").exists()


# Jobs -----------------------------------------------------------------------------------------


def test_tick_publishes_due_messages(due_message):
    assert jobs.tick()["published"] == 1
    assert jobs.tick()["published"] == 0


def test_one_failing_job_does_not_keep_the_others_from_running(due_message, monkeypatch):
    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setattr(actions, "publish_due", broken)
    old = LoginFailure.objects.create(key="k", at=timezone.now() - timedelta(days=1))
    result = jobs.tick()
    assert result["errors"] == 1 and result["published"] == 0
    assert result["login_failures_deleted"] == 1
    assert not LoginFailure.objects.filter(pk=old.pk).exists()


def test_tick_keeps_login_failures_inside_the_throttling_window(db):
    recent = LoginFailure.objects.create(key="k", at=timezone.now())
    assert jobs.tick()["login_failures_deleted"] == 0
    assert LoginFailure.objects.filter(pk=recent.pk).exists()


def test_one_message_that_fails_to_publish_does_not_hold_back_the_others(
    make_message, communicator, editor, monkeypatch, caplog
):
    now = timezone.now()
    messages = []
    for title in ("Eerste bericht", "Tweede bericht"):
        message = make_message(communicator, title=title, publish_at=now + timedelta(hours=1))
        actions.submit_message(message, by=communicator)
        actions.approve_message(message, by=editor)
        messages.append(message)
    first, second = messages
    real = actions._publish

    def broken_for_the_first(message, *, by):
        if message.pk == first.pk:
            raise RuntimeError("a broken row")
        return real(message, by=by)

    monkeypatch.setattr(actions, "_publish", broken_for_the_first)
    results = jobs.tick(now=now + timedelta(hours=2))
    assert results["published"] == 1 and results["errors"] == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.SCHEDULED  # left for the next round
    assert second.state == State.PUBLISHED
    assert "a broken row" in caplog.text
    monkeypatch.setattr(actions, "_publish", real)
    assert jobs.tick(now=now + timedelta(hours=2))["published"] == 1
    first.refresh_from_db()
    assert first.state == State.PUBLISHED
