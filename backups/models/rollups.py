"""Daily rollups of finished tasks: how many of each kind ended on a day, per
cluster and outcome, with the bytes they wrote and the time they took.

The overview's core metrics and charts read these instead of the task
history, so a page costs the same at ten million rows as at ten.  A row is
counted up by the engine in the transaction of the move that ends a task
(backups/engine/rollups.py), so a rollup never disagrees with the rows it
sums; bulk writers that bypass the engine recompute them from the rows
(``rollups.rebuild_rollups``).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster

from ..choices import TaskKind


class DailyRollup(models.Model):
    """Tasks of one kind that ended on ``day`` (in the console's time zone) in
    one cluster with one outcome (their final status)."""

    day = models.DateField(_("day"))
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"))
    kind = models.CharField(_("task kind"), max_length=16, choices=TaskKind.choices)
    outcome = models.CharField(_("outcome"), max_length=16)
    count = models.PositiveBigIntegerField(_("tasks"), default=0)
    # Data backups: their size; restores: the bytes they restored; others none.
    bytes_written = models.PositiveBigIntegerField(_("bytes written"), default=0)
    # The sum of (end − start) of the tasks counted.
    duration = models.DurationField(_("total duration"))

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            # The key every upsert conflicts on (engine/rollups.py).
            models.UniqueConstraint(fields=["day", "cluster", "kind", "outcome"], name="rollup_one_row_per_key"),
        ]
        indexes = [
            # The overview reads a kind's last days across every cluster.
            models.Index(fields=["kind", "day"], name="rollup_kind_day"),
        ]

    def __str__(self):
        return f"{self.day} {self.cluster_id} {self.kind} {self.outcome}: {self.count}"


class StorageRollup(models.Model):
    """What landed on a storage destination on ``day`` (the console's time
    zone) and what cleanup freed there that day, in bytes: a completed data
    backup lands on its policy's destination, a completed secondary copy on
    its own, and cleanup deleting a set frees every kept backup and copy of
    it.  What a destination holds at the end of a day is the sum of
    ``added − freed`` up to it (the cluster page's storage chart, the
    storage alert), read from a row per destination and day instead of
    every backup kept on it.  Kept by the engine in the transaction of the
    move that lands or frees the bytes (engine/rollups.py); bulk writers
    recompute it from the rows (``rebuild_rollups``)."""

    destination = models.ForeignKey("backups.StorageDestination", on_delete=models.CASCADE, related_name="+",
                                    verbose_name=_("storage destination"))
    day = models.DateField(_("day"))
    added_bytes = models.PositiveBigIntegerField(_("bytes added"), default=0)
    freed_bytes = models.PositiveBigIntegerField(_("bytes freed"), default=0)

    class Meta:
        verbose_name = _("storage rollup")
        verbose_name_plural = _("storage rollups")
        constraints = [
            # The key every upsert conflicts on; it also serves a destination's read, oldest first.
            models.UniqueConstraint(fields=["destination", "day"], name="storage_one_row_per_day"),
        ]

    def __str__(self):
        return f"{self.day} {self.destination_id}: +{self.added_bytes} -{self.freed_bytes}"


class LogDelaySample(models.Model):
    """The worst log backup delay of one cluster's live log backup in one
    hour: what the cluster page's delay chart draws.

    The engine writes it on each log tick (engine/samples.py), keeping the
    largest delay seen in the hour, so a chart over 90 days reads at most
    2,160 rows per cluster however often the tick runs.  No row: no log
    backup ran in that hour.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"))
    hour = models.DateTimeField(_("hour"))
    delay_seconds = models.PositiveIntegerField(_("largest delay (seconds)"))

    class Meta:
        verbose_name = _("log backup delay sample")
        verbose_name_plural = _("log backup delay samples")
        constraints = [
            # The key every upsert conflicts on; it also serves the page's
            # read of a cluster's window, oldest first.
            models.UniqueConstraint(fields=["cluster", "hour"], name="logdelay_one_row_per_hour"),
        ]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00} {self.cluster_id}: {self.delay_seconds}s"
