"""What a tenant can be restored to: its recoverable intervals, kept by the
engine (backups/engine/intervals.py) by the rule of backups/engine/recovery.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from .policies import StorageDestination
from .tasks import LogBackupTask, SecondaryLogBackupTask


class RecoverableInterval(models.Model):
    """One stretch of moments, both ends included, that a tenant restores to.

    Rewritten for a cluster's tenants whenever a backup set (or its
    secondary copy) completes or expires and whenever a log archive round (or
    a secondary log copy's round) closes or opens again, in the transaction
    of that change.  While the round that carries it still archives, ``end`` is
    empty and the interval ends at that round's checkpoint, read live: a round
    advancing every few seconds writes nothing here.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("cluster"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="recoverable_intervals", verbose_name=_("tenant"))
    start = models.DateTimeField(_("recoverable from"))
    end = models.DateTimeField(_("recoverable to"), null=True, blank=True)
    # The newest round that carries the interval (none for a logical backup's
    # single point).  An interval goes with its round: without the round's
    # archive nothing in it can be restored.
    round = models.ForeignKey(
        LogBackupTask, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("log archive round")
    )
    # The data backups (sets) whose restore points open parts of it, oldest
    # first (on a secondary destination: the backups whose copies these are).
    data_task_ids = models.JSONField(_("backup sets"), default=list)
    # Empty: the sets and round of the primary destination.  Set: their
    # secondary copies on this destination, carried by ``secondary_round``
    # (a secondary log copy's round) instead of ``round``.  Intervals of
    # different destinations may overlap; a tenant's recoverable moments are
    # their union (backups/engine/recovery.py).
    destination = models.ForeignKey(
        StorageDestination, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("secondary destination"),
    )
    secondary_round = models.ForeignKey(
        SecondaryLogBackupTask, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("secondary log archive round"),
    )
    # Set (by intervals.refresh) on a closed interval when a newer closed one
    # of the same tenant and destination exists: it cannot hold the tenant's
    # newest recoverable moment. The fleet's RPO reads only the others, a few
    # per tenant (intervals.newest_points). Left unset, an interval is read:
    # slower, never wrong.
    superseded = models.BooleanField(_("superseded"), default=False, editable=False)

    class Meta:
        ordering = ["tenant", "start"]
        verbose_name = _("recoverable interval")
        verbose_name_plural = _("recoverable intervals")
        indexes = [
            models.Index(fields=["tenant", "start"], name="interval_tenant_start"),
            models.Index(fields=["tenant"], condition=models.Q(superseded=False), name="interval_tenant_current"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True, round__isnull=False)
                | models.Q(end__isnull=True, secondary_round__isnull=False)
                | models.Q(end__isnull=False, end__gte=models.F("start")),
                name="interval_ends_after_start_or_follows_its_round",
            ),
            # A primary interval rides a primary round, a secondary one a round
            # of its own destination's copy.
            models.CheckConstraint(
                condition=models.Q(destination__isnull=True, secondary_round__isnull=True)
                | models.Q(destination__isnull=False, round__isnull=True),
                name="interval_round_of_its_destination",
            ),
        ]

    def __str__(self):
        return f"{self.tenant_id}: {self.start:%Y-%m-%d %H:%M:%S} → {self.effective_end or '…'}"

    @property
    def effective_end(self):
        """The newest moment it restores to (the live checkpoint of an open round)."""
        if self.end is not None:
            return self.end
        if self.secondary_round_id:
            return self.secondary_round.latest_point
        return self.round.latest_point if self.round_id else None
