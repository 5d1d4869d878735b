import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import ClusterStatus
from .models import Cluster


class ClusterFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), field_name="name", lookup_expr="icontains", max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("Cluster name"), "type": "search"}),
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=ClusterStatus.choices, distinct=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Cluster
        fields = ["q", "status"]
