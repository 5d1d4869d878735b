"""Restore drills (恢复抽检): a policy that, on its schedule, restores a random
tenant of its clusters to a random recoverable moment into a scratch tenant,
checks it, and records how long it took (shared/DOMAIN.md, "Restore drill").

A run is written once per due time: the unique constraint on (policy, due
time) is what makes two beat messages, or two workers, run one drill."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from ..choices import DrillStatus
from .restores import RestoreTask

DRILL_KEEP_HOURS_MAX = 720  # a month: a scratch tenant costs a tenant's resources on the target


class RestoreDrillPolicy(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True,
                            error_messages={"unique": _("A restore drill policy with this name already exists.")})
    enabled = models.BooleanField(_("enabled"), default=True)
    # Every cluster (also those added later), or the ones chosen.
    all_clusters = models.BooleanField(_("all clusters"), default=False)
    clusters = models.ManyToManyField(Cluster, blank=True, related_name="+", verbose_name=_("clusters covered"))
    # Weekdays, Monday=1 .. Sunday=7, like a weekly backup policy's days; every day: daily.
    schedule_days = models.JSONField(_("drill days"), default=list)
    run_at = models.TimeField(_("time of day"))
    target_cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("cluster for scratch tenants"))
    keep_hours = models.PositiveIntegerField(
        _("scratch tenant kept (hours)"), default=24,
        validators=[MinValueValidator(1), MaxValueValidator(DRILL_KEEP_HOURS_MAX)],
    )
    # The beat entry that runs this policy's schedule (django-celery-beat).
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("restore drill policy")
        verbose_name_plural = _("restore drill policies")
        permissions = [("run_restoredrillpolicy", _("Can run a restore drill now"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(keep_hours__gte=1) & Q(keep_hours__lte=DRILL_KEEP_HOURS_MAX),
                name="drill_keep_hours_in_range",
                violation_error_code="drill_keep_hours_in_range",
                violation_error_message=format_lazy(
                    _("A scratch tenant is kept between 1 and {max} hours."), max=DRILL_KEEP_HOURS_MAX),
            ),
        ]

    def __str__(self):
        return self.name


class RestoreDrillRun(models.Model):
    """One drill: what it picked, the restore it started, and how that ended."""

    Status = DrillStatus

    policy = models.ForeignKey(RestoreDrillPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs",
                               verbose_name=_("restore drill policy"))
    # The policy's name as it was, so a run still says whose it was after the policy is gone.
    policy_name = models.CharField(_("policy"), max_length=64)
    due_at = models.DateTimeField(_("due time"))
    started_at = models.DateTimeField(_("start time"))
    ended_at = models.DateTimeField(_("end time"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=DrillStatus.choices, default=DrillStatus.RUNNING)
    source_cluster = models.ForeignKey(Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                       verbose_name=_("source cluster"))
    source_tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                      verbose_name=_("source tenant"))
    restore_point = models.DateTimeField(_("restore point"), null=True, blank=True)
    target_cluster = models.ForeignKey(Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                       verbose_name=_("target cluster"))
    restore_task = models.ForeignKey(RestoreTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                     verbose_name=_("restore task"))
    scratch_tenant_name = models.CharField(_("scratch tenant"), max_length=64, blank=True)
    # The tenant the restore made, while it is kept.
    scratch_tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                       verbose_name=_("scratch tenant (kept)"))
    # Wall-clock seconds from the restore's start to its success.
    recovery_seconds = models.FloatField(_("recovery time (seconds)"), null=True, blank=True)
    # What the check of the restored tenant found, as a code and its values (engine/outcomes.py).
    check_code = models.CharField(_("check result code"), max_length=32, blank=True, editable=False)
    check_params = models.JSONField(_("check result values"), default=dict, blank=True, editable=False)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    failure_code = models.CharField(_("failure code"), max_length=32, blank=True, editable=False)
    failure_params = models.JSONField(_("failure values"), default=dict, blank=True, editable=False)
    removed_at = models.DateTimeField(_("scratch tenant removed"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("restore drill")
        verbose_name_plural = _("restore drills")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "due_at"], name="one_drill_per_due_time",
                violation_error_message=_("This restore drill policy already ran for this due time."),
            ),
            models.CheckConstraint(
                condition=Q(status="running", ended_at__isnull=True) | (~Q(status="running") & Q(ended_at__isnull=False)),
                name="drill_ended_iff_finished",
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(failure_code="") | ~Q(failure_reason=""),
                                   name="drill_failure_has_reason"),
        ]
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="drill_start"),
            models.Index(fields=["source_cluster", "-started_at", "-id"], name="drill_cluster_start"),
            models.Index(fields=["status", "-started_at", "-id"], name="drill_status_start"),
            models.Index(fields=["policy", "-started_at", "-id"], name="drill_policy_start"),
        ]

    def __str__(self):
        return f"drill #{self.pk} ({self.policy_name})"

    @property
    def status_color(self):
        return DrillStatus(self.status).color
