"""The schedule ahead (issue 13): the next seven days of data backups, cleanups
and restore drills across the fleet, by day and hour (engine/calendar.py)."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from clusters.models import Cluster

from ..engine import calendar

KIND_LABELS = {
    calendar.FULL: _("Full data backup"),
    calendar.INCREMENTAL: _("Incremental data backup"),
    calendar.CLEANUP: _("Cleanup"),
    calendar.DRILL: _("Restore drill"),
}


class CalendarFilterForm(forms.Form):
    cluster = forms.ModelChoiceField(Cluster.objects.order_by("name"), required=False, label=_("Cluster"),
                                     empty_label=_("All clusters"))
    kind = forms.ChoiceField(choices=[("", _("All kinds")), *KIND_LABELS.items()], required=False, label=_("Kind"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, bound in self.fields.items():
            bound.widget.attrs.update({"class": "form-select form-select-sm", "id": f"calendar-{name}"})


@require_http_methods(["GET", "HEAD"])
@permission_required("backups.view_backuppolicy", raise_exception=True)
def calendar_page(request):
    form = CalendarFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    chosen = form.cleaned_data if form.is_bound and valid else {}
    now = timezone.now()
    found = calendar.entries(now, cluster=chosen.get("cluster"), kind=chosen.get("kind")) if valid else []
    for entry in found:
        entry.label = KIND_LABELS[entry.kind]
    days = calendar.by_day(found, now)
    conflicts = sum(1 for entry in found if entry.conflicts)
    return render(request, "backups/calendar.html", {
        "form": form, "filter_valid": valid, "days": days, "count": len(found), "conflicts": conflicts,
        "time_zone": settings.TIME_ZONE, "now": now, "days_ahead": calendar.DAYS,
    })
