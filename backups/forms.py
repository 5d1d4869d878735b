"""Forms of the operator actions: new/edit backup policy (OV-1), instant backup (OV-2).

Each refusal the SPEC names is a message on the field it concerns, and a form
that is refused writes nothing.  Posted names the form does not know are
refused too: a typo or a forged parameter must not be silently ignored on an
action that changes data.
"""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import EmailValidator, MaxValueValidator
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clusters.choices import ClusterStatus
from clusters.models import Cluster, Tenant

from .choices import BackupMethod, BackupMode, PolicyState, ScheduleKind
from .engine import alert_actions, services, webhooks
from .models import BackupPolicy, NotificationChannel, RestoreDrillPolicy
from .models.drills import DRILL_KEEP_HOURS_MAX

MAX_MONTHLY_DAYS = 10
WEEKDAYS = range(1, 8)  # Monday=1 .. Sunday=7, as stored in schedule_days


class RefuseUnknownFieldsMixin:
    """Adds a form error for every posted name that is not a field."""

    allowed_names = {"csrfmiddlewaretoken", "next"}

    def clean(self):
        cleaned = super().clean()
        unknown = sorted(set(self.data) - set(self.fields) - self.allowed_names)
        if unknown:
            raise forms.ValidationError(
                _("Unknown parameter(s): %(names)s. Nothing was changed.") % {"names": ", ".join(unknown)},
                code="unknown_parameter",
            )
        return cleaned


class BootstrapMixin:
    """Bootstrap 5 classes on every widget, and is-invalid where there is an error."""

    def style_widgets(self):
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            if self.is_bound and name in self.errors:
                css += " is-invalid"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        self.style_widgets()


class TenantSelect(forms.Select):
    """Each tenant option says its cluster, so the page can offer only the chosen cluster's tenants."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-cluster"] = instance.cluster_id
        return option


class TenantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.cluster.name} / {obj.name}"

    @classmethod
    def optional(cls, help_text):
        """The forms' tenant field: any tenant or none, offered per cluster."""
        return cls(Tenant.objects.select_related("cluster"), required=False, widget=TenantSelect,
                   label=gettext_lazy("Tenant"), help_text=help_text)


def _clean_tenant(form, cleaned):
    cluster, tenant = cleaned.get("cluster"), cleaned.get("tenant")
    if cluster and tenant and tenant.cluster_id != cluster.pk:
        form.add_error(
            "tenant", _("Tenant %(tenant)s belongs to another cluster, not %(cluster)s.") % {"tenant": tenant, "cluster": cluster}
        )
        return False
    return True


class AlwaysOnCheckbox(forms.CheckboxInput):
    """A checkbox the form can lock on: shown ticked and disabled, with a
    hidden input that posts "on" in its place (a disabled input posts
    nothing).  The hidden input is always rendered, disabled while the
    checkbox is free, so the page's script can lock and free it; what is
    posted is still checked by the server."""

    locked = False

    def get_context(self, name, value, attrs):
        if self.locked:
            value, attrs = True, {**(attrs or {}), "disabled": True}
        return super().get_context(name, value, attrs)

    def render(self, name, value, attrs=None, renderer=None):
        checkbox = super().render(name, value, attrs, renderer)
        return format_html('{}<input type="hidden" name="{}" value="on" data-locked-on{}>',
                           checkbox, name, "" if self.locked else " disabled")


# The field each of BackupPolicy's check constraints is shown on.
CONSTRAINT_FIELDS = {
    "policy_retention_at_least_one_day": "retention_days",
    "policy_retention_at_most_ten_years": "retention_days",
    "policy_timeout_at_most_a_week": "data_backup_timeout_minutes",
    "policy_log_delay_alert_at_most_a_week": "log_delay_threshold_seconds",
    "policy_secondary_differs_from_primary": "secondary_destination",
    "policy_secondary_needs_destination": "secondary_destination",
    "policy_physical_needs_log_backup": "log_backup_enabled",
    "policy_logical_is_full_only": "schedule_kind",
}


class BackupPolicyForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.ModelForm):
    """OV-1.  The schedule is edited as weekday checkboxes (each full or
    incremental) or as two lists of days of the month, and stored as
    ``schedule_days``."""

    tenant = TenantChoiceField.optional(
        gettext_lazy("Leave empty for the cluster-wide policy; pick a tenant to override it for that tenant.")
    )
    monthly_full_days = forms.CharField(
        required=False,
        label=gettext_lazy("Full backup days"),
        help_text=gettext_lazy("Days of the month, separated by commas, e.g. 1, 15."),
    )
    monthly_incremental_days = forms.CharField(
        required=False,
        label=gettext_lazy("Incremental backup days"),
        help_text=gettext_lazy("Days of the month, separated by commas, e.g. 8, 22."),
    )

    class Meta:
        model = BackupPolicy
        fields = [
            "cluster",
            "tenant",
            "backup_method",
            "destination",
            "directory",
            "schedule_kind",
            "run_at",
            "log_backup_enabled",
            "retention_days",
            "secondary_enabled",
            "secondary_destination",
            "data_backup_timeout_minutes",
            "log_delay_threshold_seconds",
            "no_backup_alert_days",
        ]
        widgets = {
            "run_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "schedule_kind": forms.RadioSelect,
            "backup_method": forms.RadioSelect,
            "log_backup_enabled": AlwaysOnCheckbox,
        }
        help_texts = {
            "log_backup_enabled": gettext_lazy("Always on for physical backups: they restore by replaying logs."),
            "retention_days": gettext_lazy("Recovery window: cleanup deletes backup sets older than this."),
            "directory": gettext_lazy("Under the destination's root directory, e.g. /prod-cluster."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = Cluster.objects.order_by("name")
        self.fields["secondary_destination"].required = False
        for day in WEEKDAYS:
            self.fields[f"week_{day}"] = forms.BooleanField(required=False, label=WEEKDAY_NAMES[day - 1])
            self.fields[f"week_{day}_mode"] = forms.ChoiceField(
                choices=BackupMode.choices, required=False, initial=BackupMode.FULL if day == 1 else BackupMode.INCREMENTAL,
                label=gettext_lazy("Mode"),
            )
            # The mode's select sits in the day's table row without a <label> of its own.
            self.fields[f"week_{day}_mode"].widget.attrs["aria-label"] = format_lazy(
                "{} · {}", WEEKDAY_NAMES[day - 1], gettext_lazy("Mode"))
        for name in ("schedule_kind", "backup_method"):
            self.fields[name].choices = [c for c in self.fields[name].choices if c[0]]
        for name, field in self.fields.items():
            if isinstance(field, forms.IntegerField):
                # The model's upper bound as the input's max: the form offers what the server takes.
                limits = [v.limit_value for v in BackupPolicy._meta.get_field(name).validators if isinstance(v, MaxValueValidator)]
                field.widget.attrs["max"] = min(limits)
        if self.instance.pk:
            # A policy belongs to its cluster/tenant for life; make a new one to move it.
            self.fields["cluster"].disabled = True
            self.fields["tenant"].disabled = True
            self._load_schedule(self.instance)
        else:
            self.initial.setdefault("schedule_kind", ScheduleKind.WEEKLY)
            self.initial.setdefault("backup_method", BackupMethod.PHYSICAL)
            self.initial.setdefault("run_at", "02:00")
            self.initial.setdefault("week_1", True)
        # Physical backups restore by replaying logs: their log backup is
        # shown on and cannot be unticked (the policy's constraint refuses it).
        method = self.data.get("backup_method") if self.is_bound else self.initial.get("backup_method")
        self.fields["log_backup_enabled"].widget.locked = method == BackupMethod.PHYSICAL
        self.style_widgets()

    def _load_schedule(self, policy):
        days = {int(day): mode for day, mode in policy.schedule_days.items()}
        if policy.schedule_kind == ScheduleKind.WEEKLY:
            for day, mode in days.items():
                self.initial[f"week_{day}"] = True
                self.initial[f"week_{day}_mode"] = mode
        else:
            self.initial["monthly_full_days"] = ", ".join(str(d) for d in sorted(days) if days[d] == BackupMode.FULL)
            self.initial["monthly_incremental_days"] = ", ".join(
                str(d) for d in sorted(days) if days[d] == BackupMode.INCREMENTAL
            )

    @property
    def weekday_rows(self):
        return [(self[f"week_{day}"], self[f"week_{day}_mode"]) for day in WEEKDAYS]

    def _days_of_month(self, name):
        text = (self.cleaned_data.get(name) or "").replace("，", ",")
        days = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            if not part.isdigit() or not 1 <= int(part) <= 31:
                self.add_error(name, _("“%(day)s” is not a day of the month (1–31).") % {"day": part})
                return None
            days.append(int(part))
        return days

    def _schedule(self, kind):
        """schedule_days from the schedule fields, or None after adding the errors."""
        if kind == ScheduleKind.WEEKLY:
            return {
                str(day): self.cleaned_data.get(f"week_{day}_mode") or BackupMode.FULL
                for day in WEEKDAYS
                if self.cleaned_data.get(f"week_{day}")
            }
        full = self._days_of_month("monthly_full_days")
        incremental = self._days_of_month("monthly_incremental_days")
        if full is None or incremental is None:
            return None
        both = sorted(set(full) & set(incremental))
        if both:
            self.add_error(
                "monthly_incremental_days",
                _("Day(s) %(days)s cannot be both full and incremental.") % {"days": ", ".join(map(str, both))},
            )
            return None
        days = {str(day): BackupMode.FULL for day in full}
        days.update({str(day): BackupMode.INCREMENTAL for day in incremental})
        if len(days) > MAX_MONTHLY_DAYS:
            self.add_error(
                "monthly_full_days",
                _("A monthly schedule may have at most %(max)s backup days; this one has %(count)s.")
                % {"max": MAX_MONTHLY_DAYS, "count": len(days)},
            )
            return None
        return days

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("schedule_kind")
        if kind:
            days = self._schedule(kind)
            if days is not None:
                if BackupMode.FULL not in days.values():
                    field = "schedule_kind" if kind == ScheduleKind.WEEKLY else "monthly_full_days"
                    self.add_error(
                        field,
                        _("The schedule has no full backup day: every backup set starts with a full backup.")
                        if days
                        else _("Pick at least one backup day, with a full backup on one of them."),
                    )
                else:
                    self.instance.schedule_days = days
                    self._schedule_days_set = True
        if _clean_tenant(self, cleaned):
            self._clean_one_active_policy(cleaned)
        return cleaned

    def _get_validation_exclusions(self):
        # schedule_days is not a field, but clean() wrote it: validate the
        # model's rules on it too (a logical policy schedules no incrementals).
        exclude = super()._get_validation_exclusions()
        if getattr(self, "_schedule_days_set", False):
            exclude.discard("schedule_days")
        return exclude

    def _update_errors(self, errors):
        """The policy's check constraints (BackupPolicy.Meta) are its rules,
        stated once; the model validates them, and their refusals land here on
        the field each is about instead of above the form."""
        if hasattr(errors, "error_dict"):
            general = []
            for error in errors.error_dict.pop(NON_FIELD_ERRORS, []):
                field = CONSTRAINT_FIELDS.get(error.code)
                if field in self.fields:
                    errors.error_dict.setdefault(field, []).append(error)
                else:
                    general.append(error)
            if general:
                errors.error_dict[NON_FIELD_ERRORS] = general
        super()._update_errors(errors)

    def _clean_one_active_policy(self, cleaned):
        cluster, tenant = cleaned.get("cluster"), cleaned.get("tenant")
        if not cluster or self.instance.state != PolicyState.ACTIVE:
            return
        others = BackupPolicy.objects.filter(cluster=cluster, tenant=tenant, state=PolicyState.ACTIVE)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        other = others.first()
        if other is None:
            return
        if tenant:
            message = _("Tenant %(tenant)s already has an active backup policy (#%(pk)s): edit or pause that one.")
        else:
            message = _("Cluster %(cluster)s already has an active backup policy (#%(pk)s): edit or pause that one.")
        self.add_error("tenant" if tenant else "cluster", message % {"tenant": tenant, "cluster": cluster, "pk": other.pk})


class InstantBackupForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.Form):
    """OV-2: cluster, optional tenant, full or incremental."""

    refused = refused_target = None  # the engine's refusal (services.ActionRefused) found while cleaning

    cluster = forms.ModelChoiceField(Cluster.objects.order_by("name"), label=gettext_lazy("Cluster"))
    tenant = TenantChoiceField.optional(gettext_lazy("Optional: back up one tenant of the cluster."))
    mode = forms.ChoiceField(
        choices=BackupMode.choices,
        initial=BackupMode.FULL,
        widget=forms.RadioSelect,
        label=gettext_lazy("Data backup mode"),
        help_text=gettext_lazy("Logical backups are full only; an incremental builds on the last completed full backup."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean(self):
        cleaned = super().clean()
        cluster = cleaned.get("cluster")
        if cluster and "mode" in cleaned and _clean_tenant(self, cleaned):
            tenant = cleaned.get("tenant")
            try:
                services.check_data_backup(cluster, tenant, cleaned["mode"], services.active_policy(cluster, tenant))
            except services.ActionRefused as refused:
                # The engine's refusal, and what it refused: the view records them in the audit trail.
                self.refused, self.refused_target = refused, tenant or cluster
                self.add_error(refused.field, refused.message)
        return cleaned

    def refuse(self, refused):
        """Show a refusal the service raised after the form was valid (a race)."""
        self.add_error(refused.field if refused.field in self.fields else None, refused.message)
        self.style_widgets()


class RestorePointForm(BootstrapMixin, forms.Form):
    """"Can I restore to T?": a tenant of the cluster and a moment to the second
    (in the shown time zone), plus the timeline's window."""

    tenant = forms.ModelChoiceField(Tenant.objects.none(), label=gettext_lazy("Source tenant"), required=False)
    at = forms.DateTimeField(
        label=gettext_lazy("Restore point"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
    )
    days = forms.TypedChoiceField(
        choices=[(7, gettext_lazy("Last 7 days")), (30, gettext_lazy("Last 30 days"))],
        coerce=int, required=False, empty_value=7, label=gettext_lazy("Timeline"),
    )

    def __init__(self, cluster, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = Tenant.objects.filter(cluster=cluster).order_by("name")
        self.style_widgets()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("at") and not cleaned.get("tenant"):
            self.add_error("tenant", _("Choose the tenant to restore."))
        return cleaned


class RestoreForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.Form):
    """Start a restore (发起恢复): source, restore point, target and the new tenant's name."""

    source_cluster = forms.ModelChoiceField(Cluster.objects.order_by("name"), label=gettext_lazy("Source cluster"))
    source_tenant = TenantChoiceField(Tenant.objects.select_related("cluster"), widget=TenantSelect,
                                      label=gettext_lazy("Source tenant"))
    latest = forms.BooleanField(required=False, label=gettext_lazy("Latest recoverable moment"))
    restore_point = forms.DateTimeField(
        label=gettext_lazy("Restore point"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        help_text=gettext_lazy("Date and time to the second, in the console's time zone."),
    )
    target_cluster = forms.ModelChoiceField(Cluster.objects.order_by("name"), label=gettext_lazy("Target cluster"))
    new_tenant_name = forms.RegexField(
        regex=r"^[A-Za-z][A-Za-z0-9_]{0,63}$", max_length=64, label=gettext_lazy("New tenant"),
        error_messages={"invalid": gettext_lazy("A tenant name starts with a letter and has up to 64 letters, digits and underscores.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean(self):
        cleaned = super().clean()
        cluster, tenant = cleaned.get("source_cluster"), cleaned.get("source_tenant")
        if cluster and tenant and tenant.cluster_id != cluster.pk:
            self.add_error("source_tenant", _("Tenant %(tenant)s belongs to another cluster, not %(cluster)s.")
                           % {"tenant": tenant.name, "cluster": cluster})
        if not cleaned.get("latest") and not cleaned.get("restore_point") and "restore_point" not in self.errors:
            self.add_error("restore_point", _("Give a restore point, or choose the latest recoverable moment."))
        return cleaned

    def refuse(self, refused):
        self.add_error(refused.field if refused.field in self.fields else None, refused.message)
        self.style_widgets()


class RestoreDrillPolicyForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.ModelForm):
    """A restore drill policy (恢复抽检策略): the clusters it picks from (or
    all), its weekdays and time, where scratch tenants go and how long they stay."""

    class Meta:
        model = RestoreDrillPolicy
        fields = ["name", "enabled", "all_clusters", "clusters", "run_at", "target_cluster", "keep_hours"]
        widgets = {
            "clusters": forms.CheckboxSelectMultiple,
            "run_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"run_at": gettext_lazy("Drill time")}
        help_texts = {
            "all_clusters": gettext_lazy("Every cluster, also those added later."),
            "target_cluster": gettext_lazy("Scratch tenants are restored here; it must be running."),
            "keep_hours": format_lazy(gettext_lazy("Then the scratch tenant is removed: 1 to {max} hours."),
                                      max=DRILL_KEEP_HOURS_MAX),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clusters"].queryset = Cluster.objects.order_by("name")
        self.fields["clusters"].required = False
        self.fields["target_cluster"].queryset = Cluster.objects.order_by("name")
        self.fields["keep_hours"].widget.attrs.update(min=1, max=DRILL_KEEP_HOURS_MAX)
        for day in WEEKDAYS:
            self.fields[f"day_{day}"] = forms.BooleanField(required=False, label=WEEKDAY_NAMES[day - 1])
        days = self.instance.schedule_days if self.instance.pk else list(WEEKDAYS)
        for day in days:
            self.initial.setdefault(f"day_{day}", True)
        self.initial.setdefault("run_at", "03:00")
        self.style_widgets()

    @property
    def day_fields(self):
        return [self[f"day_{day}"] for day in WEEKDAYS]

    def clean(self):
        cleaned = super().clean()
        days = [day for day in WEEKDAYS if cleaned.get(f"day_{day}")]
        if not days:
            self.add_error("day_1", _("Pick at least one day for the drills."))
        else:
            self.instance.schedule_days = days
        if not cleaned.get("all_clusters") and not cleaned.get("clusters") and "clusters" not in self.errors:
            self.add_error("clusters", _("Choose at least one cluster, or all clusters."))
        target = cleaned.get("target_cluster")
        if target is not None and target.status != ClusterStatus.RUNNING:
            self.add_error("target_cluster", _("The cluster %(cluster)s is %(status)s: scratch tenants need a running cluster.")
                           % {"cluster": target.name, "status": ClusterStatus(target.status).label.lower()})
        return cleaned

    def _update_errors(self, errors):
        # The keep-time constraint's refusal belongs on its field.
        if hasattr(errors, "error_dict"):
            moved = [e for e in errors.error_dict.get(NON_FIELD_ERRORS, []) if e.code == "drill_keep_hours_in_range"]
            if moved:
                errors.error_dict[NON_FIELD_ERRORS] = [e for e in errors.error_dict[NON_FIELD_ERRORS] if e not in moved]
                if not errors.error_dict[NON_FIELD_ERRORS]:
                    del errors.error_dict[NON_FIELD_ERRORS]
                errors.error_dict.setdefault("keep_hours", []).extend(moved)
        super()._update_errors(errors)


# --- Alerts (告警) ----------------------------------------------------------------------


class AcknowledgeForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.Form):
    """An operator's note on an alert they take care of (optional, length-checked)."""

    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=alert_actions.NOTE_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=gettext_lazy("What is being done about it (optional)."))


class SilenceForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.Form):
    """A maintenance window: from, until (in the shown time zone) and why."""

    starts_at = forms.DateTimeField(label=gettext_lazy("From"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label=gettext_lazy("Until"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=alert_actions.REASON_MAX_LENGTH)

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at"):
            problem = alert_actions.check_window(data["starts_at"], data["ends_at"])
            if problem is not None:
                self.add_error(*problem)
        return data


# --- Notification channels (通知渠道) ----------------------------------------------------


class RecipientsField(forms.CharField):
    """Email addresses, one per line or separated by commas; each one checked."""

    widget = forms.Textarea(attrs={"rows": 3})
    MAX = 50

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [item for item in (part.strip() for part in text.replace(",", "\n").splitlines()) if item]

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def validate(self, value):
        super().validate(value)
        bad = []
        for address in value:
            try:
                EmailValidator()(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(_("Not an email address: %(addresses)s.") % {"addresses": ", ".join(bad[:5])},
                                  code="invalid")
        if len(value) > self.MAX:
            raise ValidationError(_("At most %(max)s recipients.") % {"max": self.MAX}, code="max_length")


class NotificationChannelForm(RefuseUnknownFieldsMixin, BootstrapMixin, forms.ModelForm):
    """A delivery channel of alert notifications (通知渠道): email or a webhook,
    with the severities and clusters it takes."""

    email_recipients = RecipientsField(label=gettext_lazy("Recipients"), required=False,
                                       help_text=gettext_lazy("Email addresses, one per line."))

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "enabled", "email_recipients", "webhook_url", "min_severity", "all_clusters", "clusters"]
        widgets = {
            "kind": forms.RadioSelect,
            "clusters": forms.CheckboxSelectMultiple,
            "webhook_url": forms.URLInput(attrs={"placeholder": "https://"}),
        }
        help_texts = {
            "webhook_url": gettext_lazy("http:// or https://; the body is JSON, signed with the channel's secret."),
            "min_severity": gettext_lazy("Alerts of this severity and above are sent."),
            "all_clusters": gettext_lazy("Every cluster, also those added later."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clusters"].queryset = Cluster.objects.order_by("name")
        self.fields["clusters"].required = False
        self.style_widgets()

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == NotificationChannel.Kind.EMAIL:
            if not cleaned.get("email_recipients") and "email_recipients" not in self.errors:
                self.add_error("email_recipients", _("Enter at least one email address."))
            cleaned["webhook_url"] = ""
        elif kind == NotificationChannel.Kind.WEBHOOK:
            url = (cleaned.get("webhook_url") or "").strip()
            if not url:
                self.add_error("webhook_url", _("Enter the URL that receives the webhooks."))
            else:
                try:
                    webhooks.resolve(url)
                except webhooks.UnsafeTarget as refused:
                    self.add_error("webhook_url", str(refused))
                cleaned["webhook_url"] = url
            cleaned["email_recipients"] = []
        if not cleaned.get("all_clusters") and not cleaned.get("clusters") and "clusters" not in self.errors:
            self.add_error("clusters", _("Choose at least one cluster, or all clusters."))
        return cleaned
