"""Past log backup delay samples for seeded history (the demo's and the
benchmark fleet's).

The engine writes a ``LogDelaySample`` on each log tick (engine/samples.py),
so a database filled without it has no delay history, and the cluster page's
delay chart would start empty.  History that was never watched cannot be
measured after the fact (a log backup keeps only its latest point), so these
samples are generated, like the rest of the seeded history: for each hour a
log round of the cluster was running, a delay of tens of seconds, now and
then a few minutes (a slow hour), the same for the same seed.  The rounds are
the cluster's seeded ``LogBackupTask`` rows; an hour the engine has already
sampled keeps the engine's value.
"""

import random
from datetime import timedelta

from clusters.models import Cluster

from ..engine.samples import hour_of
from ..models import LogBackupTask, LogDelaySample

DAYS = 90  # the cluster page's longest window
SLOW_HOUR = 40  # one hour in about this many is slow
BATCH = 10_000


def delay_seconds(rng):
    """One hour's largest delay: mostly 15–90 s, a slow hour 3–25 min."""
    if rng.randrange(SLOW_HOUR) == 0:
        return rng.randint(180, 1500)
    return rng.randint(15, 90)


def hours_running(rounds, since, now):
    """The hours (UTC, on the hour) from ``since`` to ``now`` in which one of
    ``rounds`` — (start, end or None while running) — ran, oldest first."""
    hours = set()
    for start, end in rounds:
        hour = hour_of(max(start, since))
        until = min(end or now, now)
        while hour < until:
            hours.add(hour)
            hour += timedelta(hours=1)
    return sorted(hours)


def backfill(cluster_ids, now, seed=0, days=DAYS):
    """Write the samples of the last ``days`` days for these clusters; returns
    how many were added (an hour already sampled is left as it is)."""
    since = now - timedelta(days=days)
    rounds = {}
    for cluster_id, start, end in (LogBackupTask.objects.filter(cluster_id__in=cluster_ids, started_at__lt=now)
                                   .exclude(ended_at__lt=since)  # still running, or ended in the window
                                   .values_list("cluster_id", "started_at", "ended_at")):
        rounds.setdefault(cluster_id, []).append((start, end))
    names = dict(Cluster.objects.filter(pk__in=list(rounds)).values_list("pk", "name"))
    samples = LogDelaySample.objects.filter(cluster_id__in=list(rounds))
    before, batch = samples.count(), []
    for cluster_id in sorted(rounds):
        rng = random.Random(f"{seed}:{names[cluster_id]}")  # by name: the same rows whatever the ids
        for hour in hours_running(rounds[cluster_id], since, now):
            batch.append(LogDelaySample(cluster_id=cluster_id, hour=hour, delay_seconds=delay_seconds(rng)))
            if len(batch) == BATCH:
                LogDelaySample.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
    LogDelaySample.objects.bulk_create(batch, ignore_conflicts=True)
    return samples.count() - before
