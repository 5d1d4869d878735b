"""The audit trail's filters: time range (the shared OV-8 filter bar's
fields, backups.timerange), actor, cluster and action."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster

from .models import AuditEntry
from .timerange import TimeRangeFilterSet


class AuditEntryFilterSet(TimeRangeFilterSet):
    actor = django_filters.ModelChoiceFilter(
        label=_("User"), queryset=get_user_model().objects.order_by("username"), empty_label=_("Any user"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    cluster = django_filters.ModelChoiceFilter(
        label=_("Cluster"), queryset=Cluster.objects.order_by("name"), empty_label=_("All clusters"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=AuditEntry.Action.choices, empty_label=_("Any action"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["range", "start", "end", "actor", "cluster", "action"]

    def filter_window(self, queryset, name, value):
        # An audit entry is a moment, not a span: it belongs to the window it
        # happened in (the time index answers it as one range).
        window = self.form.window
        if window is None:
            return queryset
        if window.start is not None:
            queryset = queryset.filter(created_at__gte=window.start)
        if window.end is not None:
            queryset = queryset.filter(created_at__lt=window.end)
        return queryset
