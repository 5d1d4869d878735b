"""Restore tasks (恢复任务): a new tenant made from a source tenant's backup
sets and log archive, at a chosen moment (shared/DOMAIN.md, "Restore")."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from ..choices import DataBackupStatus, RestorePhase, TaskKind
from .policies import StorageDestination
from .tasks import TaskBase, list_indexes


class RestoreTask(TaskBase):
    """``cluster`` is the source cluster (the lists filter by it); the new
    tenant goes to ``target_cluster`` under ``new_tenant_name``."""

    KIND = TaskKind.RESTORE
    Status = DataBackupStatus

    source_tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("source tenant"))
    restore_point = models.DateTimeField(_("restore point"))
    target_cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+", verbose_name=_("target cluster"))
    new_tenant_name = models.CharField(_("new tenant"), max_length=64)
    # The tenant the restore made, once it exists.
    new_tenant = models.ForeignKey(
        Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("restored tenant")
    )
    status = models.CharField(_("status"), max_length=16, choices=DataBackupStatus.choices, default=DataBackupStatus.IN_PROGRESS)
    phase = models.CharField(_("phase"), max_length=32, choices=RestorePhase.choices, default=RestorePhase.CREATE_TENANT)
    total_bytes = models.PositiveBigIntegerField(_("total (bytes)"), default=0)
    finished_bytes = models.PositiveBigIntegerField(_("finished (bytes)"), default=0)
    # Where the restore reads: the primary destination (null) or a secondary one.
    source_destination = models.ForeignKey(
        StorageDestination, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("read from destination"),
    )
    # What the restore reads: the data backups (full first), whichever the
    # destination; from the primary, the log archive rounds (log backup
    # tasks); from a secondary destination, the copies of those backups there
    # (secondary data backup tasks) and its log copies (secondary log backup
    # tasks) instead — ``round_ids`` is then empty.
    data_task_ids = models.JSONField(_("backup sets used"), default=list)
    round_ids = models.JSONField(_("log archive rounds used"), default=list)
    secondary_data_task_ids = models.JSONField(_("secondary data copies used"), default=list)
    secondary_round_ids = models.JSONField(_("secondary log copies used"), default=list)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("requested by")
    )
    # The simulated machinery's plan, fixed at creation (see engine/restores.py).
    sim_outcome = models.CharField(_("simulated outcome"), max_length=32, blank=True, editable=False)

    class Meta(TaskBase.Meta):
        verbose_name = _("restore task")
        verbose_name_plural = _("restore tasks")
        indexes = list_indexes("restore")
        constraints = TaskBase.Meta.constraints + [
            models.UniqueConstraint(
                fields=["target_cluster", "new_tenant_name"],
                condition=~Q(status="failed"),
                name="one_restore_per_new_tenant",
                violation_error_message=_("A restore into this new tenant already exists on the target cluster."),
            ),
            models.CheckConstraint(condition=Q(finished_bytes__lte=models.F("total_bytes")), name="restore_finished_within_total"),
            models.CheckConstraint(
                condition=Q(status="in_progress", ended_at__isnull=True) | (~Q(status="in_progress") & Q(ended_at__isnull=False)),
                name="restore_ended_iff_finished",
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(failure_code="") | ~Q(failure_reason=""),
                                   name="restore_failure_has_reason"),
        ]

    def __str__(self):
        return f"restore #{self.pk} → {self.new_tenant_name}"

    def get_absolute_url(self):
        return reverse("backups:restore_detail", args=[self.pk])

    @property
    def progress(self):
        return int(self.finished_bytes * 100 / self.total_bytes) if self.total_bytes else 0
