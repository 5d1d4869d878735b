"""Where backups go and what governs them: storage destinations, backup
policies (SPEC section 2, OV-1) and backup sets (a full backup and the
incrementals built on it)."""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Cast
from django.db.models.lookups import Contains
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, Tenant

from ..choices import BackupMethod, BackupMode, PolicyState, ScheduleKind, StorageKind
from ..validators import (
    DATA_BACKUP_TIMEOUT_MINUTES_MAX,
    LOG_DELAY_THRESHOLD_SECONDS_MAX,
    NO_BACKUP_ALERT_DAYS_MAX,
    RETENTION_DAYS_MAX,
    normalise_storage_directory,
    validate_storage_directory,
)

# schedule_days as text names a mode only as a quoted JSON string value (its
# keys are day numbers), so "has an incremental day" is portable SQL: no JSON
# path functions, the same on PostgreSQL and SQLite.
HAS_INCREMENTAL_DAY = Contains(Cast("schedule_days", TextField()), Value(f'"{BackupMode.INCREMENTAL.value}"'))


class StorageDestination(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("type"), max_length=16, choices=StorageKind.choices)
    # file:///mnt/nfs/backup or oss://bucket/prefix
    uri = models.CharField(_("root directory"), max_length=255)
    # How much it holds, for the cluster page's forecast of when it fills
    # (backups/engine/cluster_charts.py); blank: unknown, no forecast.
    capacity_bytes = models.PositiveBigIntegerField(
        _("capacity (bytes)"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("How many bytes the destination holds; leave empty if unknown."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("storage destination")
        verbose_name_plural = _("storage destinations")
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity_bytes__isnull=True) | Q(capacity_bytes__gt=0),
                name="destination_capacity_positive",
                violation_error_code="destination_capacity_positive",
                violation_error_message=_("The capacity must be more than 0 bytes."),
            ),
        ]

    def __str__(self):
        return self.name


class BackupPolicy(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="policies", verbose_name=_("cluster"))
    # Null: the cluster-wide policy; set: an override for one tenant.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="policies", verbose_name=_("tenant")
    )
    backup_method = models.CharField(_("backup method"), max_length=16, choices=BackupMethod.choices)
    destination = models.ForeignKey(
        StorageDestination, on_delete=models.PROTECT, related_name="policies", verbose_name=_("storage destination")
    )
    directory = models.CharField(_("storage directory"), max_length=255, validators=[validate_storage_directory])
    schedule_kind = models.CharField(_("schedule"), max_length=16, choices=ScheduleKind.choices)
    # {"<day>": "full"|"incremental"}: weekday 1-7 (Monday=1) or day of month 1-31.
    schedule_days = models.JSONField(_("backup days"), default=dict)
    run_at = models.TimeField(_("time of day"))
    log_backup_enabled = models.BooleanField(_("log backup"), default=True)
    retention_days = models.PositiveIntegerField(
        _("retention (days)"), default=7, validators=[MaxValueValidator(RETENTION_DAYS_MAX)]
    )
    secondary_enabled = models.BooleanField(_("secondary backup"), default=False)
    secondary_destination = models.ForeignKey(
        StorageDestination,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="secondary_policies",
        verbose_name=_("secondary destination"),
    )
    data_backup_timeout_minutes = models.PositiveIntegerField(
        _("data backup timeout (minutes)"), default=360, validators=[MaxValueValidator(DATA_BACKUP_TIMEOUT_MINUTES_MAX)]
    )
    log_delay_threshold_seconds = models.PositiveIntegerField(
        _("log backup delay alert (seconds)"), default=300, validators=[MaxValueValidator(LOG_DELAY_THRESHOLD_SECONDS_MAX)]
    )
    # Alert when no data backup completed for this many days (empty: no
    # alert); never shorter than the schedule's cycle (``schedule_cycle_days``).
    no_backup_alert_days = models.PositiveIntegerField(
        _("no data backup alert (days)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(NO_BACKUP_ALERT_DAYS_MAX)],
        help_text=_("Alert when no data backup succeeded for this many days. Empty: no alert."),
    )
    state = models.CharField(_("state"), max_length=16, choices=PolicyState.choices, default=PolicyState.ACTIVE)
    # The beat entry that runs this policy's schedule (django-celery-beat).
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["cluster__name", "tenant__name"]
        verbose_name = _("backup policy")
        verbose_name_plural = _("backup policies")
        constraints = [
            models.UniqueConstraint(
                fields=["cluster"],
                condition=Q(state="active", tenant__isnull=True),
                name="one_active_policy_per_cluster",
                violation_error_message=_("This cluster already has an active backup policy."),
            ),
            models.UniqueConstraint(
                fields=["cluster", "tenant"],
                condition=Q(state="active", tenant__isnull=False),
                name="one_active_policy_per_tenant",
                violation_error_message=_("This tenant already has an active backup policy."),
            ),
            models.CheckConstraint(
                condition=Q(retention_days__gte=1),
                name="policy_retention_at_least_one_day",
                violation_error_code="policy_retention_at_least_one_day",
                violation_error_message=_("Retention must be at least one day."),
            ),
            # The fields' upper bounds (their validators say them on the form
            # and in the admin), for rows written around validation: the
            # engine computes with these numbers.
            models.CheckConstraint(
                condition=Q(retention_days__lte=RETENTION_DAYS_MAX),
                name="policy_retention_at_most_ten_years",
                violation_error_code="policy_retention_at_most_ten_years",
                violation_error_message=format_lazy(_("Retention must be at most {max} days."), max=RETENTION_DAYS_MAX),
            ),
            models.CheckConstraint(
                condition=Q(data_backup_timeout_minutes__lte=DATA_BACKUP_TIMEOUT_MINUTES_MAX),
                name="policy_timeout_at_most_a_week",
                violation_error_code="policy_timeout_at_most_a_week",
                violation_error_message=format_lazy(
                    _("The data backup timeout must be at most {max} minutes."), max=DATA_BACKUP_TIMEOUT_MINUTES_MAX
                ),
            ),
            models.CheckConstraint(
                condition=Q(log_delay_threshold_seconds__lte=LOG_DELAY_THRESHOLD_SECONDS_MAX),
                name="policy_log_delay_alert_at_most_a_week",
                violation_error_code="policy_log_delay_alert_at_most_a_week",
                violation_error_message=format_lazy(
                    _("The log backup delay alert must be at most {max} seconds."), max=LOG_DELAY_THRESHOLD_SECONDS_MAX
                ),
            ),
            models.CheckConstraint(
                condition=~Q(secondary_destination=F("destination")),
                name="policy_secondary_differs_from_primary",
                violation_error_code="policy_secondary_differs_from_primary",
                violation_error_message=_("The secondary destination must differ from the primary one."),
            ),
            models.CheckConstraint(
                condition=Q(secondary_enabled=False) | Q(secondary_destination__isnull=False),
                name="policy_secondary_needs_destination",
                violation_error_code="policy_secondary_needs_destination",
                violation_error_message=_("Secondary backup needs a secondary destination."),
            ),
            models.CheckConstraint(
                condition=Q(backup_method="logical") | Q(log_backup_enabled=True),
                name="policy_physical_needs_log_backup",
                violation_error_code="policy_physical_needs_log_backup",
                violation_error_message=_(
                    "Physical backups need log backup: it is always on for physical backups. Turn it on or choose logical."
                ),
            ),
            models.CheckConstraint(
                condition=Q(backup_method="physical") | ~Q(HAS_INCREMENTAL_DAY),
                name="policy_logical_is_full_only",
                violation_error_code="policy_logical_is_full_only",
                violation_error_message=_(
                    "Logical backups are full only: a logical policy cannot schedule incremental backups. "
                    "Make every backup day full, or choose physical."
                ),
            ),
        ]

    def __str__(self):
        scope = f"{self.cluster}/{self.tenant}" if self.tenant_id else str(self.cluster)
        return f"{scope} ({self.get_backup_method_display()})"

    def clean(self):
        # "prod", "/prod" and "/prod/" are one directory: stored as "/prod".
        self.directory = normalise_storage_directory(self.directory)
        # The "no data backup" alert waits at least the schedule's longest gap
        # between backup days: shorter, it would fire between scheduled backups.
        cycle = schedule_cycle_days(self.schedule_kind, self.schedule_days or {})
        if self.no_backup_alert_days and cycle and self.no_backup_alert_days < cycle:
            raise ValidationError({"no_backup_alert_days": _(
                "At least %(cycle)s days: this schedule can go %(cycle)s days between data backups, "
                "so a shorter alert would fire while nothing is wrong.") % {"cycle": cycle}})


# Four years from a leap year's start: every month length and weekday pattern.
_CYCLE_SPAN = (date(2024, 1, 1), date(2027, 12, 31))


def schedule_cycle_days(kind, days):
    """The longest wait, in days, between two scheduled data backups of a
    schedule (``schedule_kind`` and ``schedule_days``' day numbers): a
    monthly day 31 waits two months where a month is short.  None without days."""
    wanted = {int(day) for day in days}
    if not wanted:
        return None
    start, end = _CYCLE_SPAN
    runs, day = [], start
    while day <= end:
        if (day.isoweekday() if kind == ScheduleKind.WEEKLY else day.day) in wanted:
            runs.append(day)
        day += timedelta(days=1)
    return max((b - a).days for a, b in zip(runs, runs[1:], strict=False)) if len(runs) > 1 else (end - start).days


class BackupSet(models.Model):
    """A full data backup and the incrementals on top of it share one set ID."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="backup_sets", verbose_name=_("cluster"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    number = models.PositiveBigIntegerField(_("backup-set ID"))
    backup_method = models.CharField(_("backup method"), max_length=16, choices=BackupMethod.choices)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set by cleanup when the set is past retention and its files are deleted.
    expired_at = models.DateTimeField(_("deleted by cleanup"), null=True, blank=True)

    class Meta:
        ordering = ["cluster__name", "-number"]
        verbose_name = _("backup set")
        verbose_name_plural = _("backup sets")
        constraints = [
            models.UniqueConstraint(fields=["cluster", "number"], name="backup_set_id_unique_in_cluster"),
        ]
        indexes = [
            # A cluster's sets still available (expired_at IS NULL) or expired
            # since a moment: what recovery reads (backups/engine/intervals.py).
            models.Index(fields=["cluster", "expired_at"], name="backupset_cluster_expiry"),
            # Every cluster's sets not deleted, or deleted since a moment: what a
            # destination holds over a window (engine/cluster_charts.py).
            models.Index(fields=["expired_at"], name="backupset_expiry"),
        ]

    def __str__(self):
        return f"{self.cluster_id}#{self.number}"
