"""What a tenant can be restored to: its recoverable intervals, kept by the
engine (backups/engine/intervals.py) by the rule of backups/engine/recovery.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from .tasks import LogBackupTask


class RecoverableInterval(models.Model):
    """One stretch of moments, both ends included, that a tenant restores to.

    Rewritten for a cluster's tenants whenever a backup set completes or
    expires and whenever a log archive round closes, in the transaction of
    that change.  While the round that carries it still archives, ``end`` is
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
    # The data backups (sets) whose restore points open parts of it, oldest first.
    data_task_ids = models.JSONField(_("backup sets"), default=list)

    class Meta:
        ordering = ["tenant", "start"]
        verbose_name = _("recoverable interval")
        verbose_name_plural = _("recoverable intervals")
        indexes = [models.Index(fields=["tenant", "start"], name="interval_tenant_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True, round__isnull=False) | models.Q(end__isnull=False, end__gte=models.F("start")),
                name="interval_ends_after_start_or_follows_its_round",
            ),
        ]

    def __str__(self):
        return f"{self.tenant_id}: {self.start:%Y-%m-%d %H:%M:%S} → {self.effective_end or '…'}"

    @property
    def effective_end(self):
        """The newest moment it restores to (the live checkpoint of an open round)."""
        if self.end is not None:
            return self.end
        return self.round.latest_point if self.round_id else None
