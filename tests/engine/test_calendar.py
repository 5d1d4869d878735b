"""The schedule ahead equals what beat runs: the calendar's data backups and drills
are compared both ways with beat's own entries (django-celery-beat's ModelEntry
over each PeriodicTask, its crontab's ``is_due`` with the clock frozen) at every
minute of the seven days; its cleanups with what ``schedule_cleanups`` starts."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from backups.choices import PolicyState, ScheduleKind
from backups.engine import calendar, schedules, simulation
from backups.models import CleanupTask, RestoreDrillPolicy
from tests import factories as f

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 28, 10, 17, 30, tzinfo=UTC)  # a Wednesday


def estate():
    """A weekly, a monthly and a paused policy; an enabled and a disabled drill policy."""
    prod, test, stage = f.make_cluster(name="prod"), f.make_cluster(name="test"), f.make_cluster(name="stage")
    local = timezone.localtime(START)
    soon = [(local + timedelta(days=n)).day for n in (0, 2, 5)]
    policies = [
        f.make_policy(prod, schedule_days={"1": "full", "4": "incremental", "7": "incremental"}, run_at=time(2, 0)),
        f.make_policy(test, schedule_kind=ScheduleKind.MONTHLY, run_at=time(23, 45),
                      schedule_days={str(soon[0]): "full", str(soon[1]): "incremental", str(soon[2]): "full", "31": "full"}),
        f.make_policy(stage, schedule_days={"3": "full", "5": "full"}, run_at=time(10, 18), state=PolicyState.PAUSED),
    ]
    for policy in policies:
        schedules.sync_periodic_task(policy)
    drills = [RestoreDrillPolicy.objects.create(name="nightly", target_cluster=stage, run_at=time(3, 5), schedule_days=[2, 6]),
              RestoreDrillPolicy.objects.create(name="off", target_cluster=stage, run_at=time(4), schedule_days=[1], enabled=False)]
    drills[0].clusters.set([prod])
    for drill in drills:
        schedules.sync_drill_task(drill)
    return policies, drills


def beat_runs(start, end):
    """(periodic task name, minute) for every minute in (start, end] at which beat's
    entry for a policy or drill policy is due."""
    due = set()
    entries = [ModelEntry(task) for task in PeriodicTask.objects.filter(name__regex=r"^(backup|restore-drill)-policy-")]
    minute = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute <= end:
        for entry in entries:
            entry.schedule.nowfun = lambda minute=minute: minute.astimezone(entry.schedule.tz)
            entry.last_run_at = minute - timedelta(minutes=1)
            if entry.is_due().is_due:
                due.add((entry.name, minute))
        minute += timedelta(minutes=1)
    return due


def calendar_runs(found):
    names = {}
    for entry in found:
        if entry.kind != calendar.CLEANUP and not entry.paused:
            names.setdefault((entry.policy.periodic_task.name, entry.at), entry)
    return names


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_calendar_runs_are_what_beat_runs(settings, zone):
    settings.TIME_ZONE = zone
    policies, drills = estate()
    found = calendar.entries(START)
    end = calendar.window_end(START)
    assert timezone.localdate(end) == timezone.localdate(START) + timedelta(days=6)
    beat = beat_runs(START, end)
    ours = calendar_runs(found)
    assert beat, "the estate schedules something"
    assert set(ours) - beat == set(), "the calendar shows runs beat does not start"
    assert beat - set(ours) == set(), "beat starts runs the calendar misses"
    # The paused policy and the disabled drill keep their would-be runs, marked paused.
    paused = {(entry.policy.pk, entry.kind) for entry in found if entry.paused}
    assert (policies[2].pk, calendar.FULL) in paused and (drills[1].pk, calendar.DRILL) in paused
    assert all(not entry.paused for entry in found if entry.policy in (policies[0], policies[1], drills[0]))


def test_mode_is_the_days_mode():
    policies, _drills = estate()
    weekly = [entry for entry in calendar.entries(START, kind=None) if entry.policy == policies[0] and entry.kind != "cleanup"]
    by_day = {timezone.localtime(entry.at).isoweekday(): entry.kind for entry in weekly}
    assert by_day == {1: "full", 4: "incremental", 7: "incremental"}
    monthly = [entry for entry in calendar.entries(START) if entry.policy == policies[1] and entry.kind != "cleanup"]
    local = timezone.localtime(START)
    assert [(timezone.localtime(e.at).day, e.kind) for e in monthly] == [
        (local.day, "full"), ((local + timedelta(days=2)).day, "incremental"), (31, "full"),
        ((local + timedelta(days=5)).day, "full")]  # January has a 31st


def test_cleanups_come_when_schedule_cleanups_starts_them():
    policies, _drills = estate()
    every = simulation.cleanup_every()
    f.make_cleanup_task(policies[0].cluster, policy=policies[0], started_at=START - every + timedelta(minutes=7))
    found = [entry for entry in calendar.entries(START, days=1) if entry.kind == calendar.CLEANUP]
    first = {}
    for entry in found:
        first.setdefault(entry.policy.pk, entry.at)
    assert set(first) == {policies[0].pk, policies[1].pk}, "a paused policy gets no cleanup"
    assert first[policies[1].pk] == START  # never cleaned: at the next tick
    due = first[policies[0].pk]
    assert due == START + timedelta(minutes=7)
    assert policies[0].pk not in {CleanupTask.objects.get(pk=pk).policy_id
                                  for pk in simulation.schedule_cleanups(now=due - timedelta(seconds=1))}
    assert policies[0].pk in {CleanupTask.objects.get(pk=pk).policy_id for pk in simulation.schedule_cleanups(now=due)}
    # One entry per day (the first, with how many) when cleanups come more often.
    end = calendar.window_end(START, 1)
    assert [entry.count for entry in found if entry.policy == policies[1]] == [(end - START) // every + 1]


def test_two_data_backups_on_one_destination_in_an_hour_conflict():
    destination = f.make_destination(name="shared")
    one = f.make_policy(f.make_cluster(name="a"), destination=destination, run_at=time(2, 0), schedule_days={"1": "full"})
    two = f.make_policy(f.make_cluster(name="b"), destination=destination, run_at=time(2, 40), schedule_days={"1": "full"})
    apart = f.make_policy(f.make_cluster(name="c"), destination=destination, run_at=time(3, 0), schedule_days={"1": "full"})
    elsewhere = f.make_policy(f.make_cluster(name="d"), run_at=time(2, 0), schedule_days={"1": "full"})
    for policy in (one, two, apart, elsewhere):
        schedules.sync_periodic_task(policy)
    found = {entry.policy: entry for entry in calendar.entries(START) if entry.kind == calendar.FULL}
    assert found[one].conflicts == [found[two]] and found[two].conflicts == [found[one]]
    assert found[apart].conflicts == [] and found[elsewhere].conflicts == []
