import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Cluster


class ClusterTable(tables.Table):
    # The column of the clusters themselves: their name (集群名称), not the
    # task lists' "Cluster" (所属集群, the cluster a task belongs to).
    name = tables.Column(verbose_name=_("Cluster name"), linkify=True, attrs={"td": {"class": "fw-semibold"}})
    db_version = tables.Column(verbose_name=_("Database version"))
    region = tables.Column(verbose_name=_("Region / zone"), order_by=("region", "zone"))
    status = tables.Column(verbose_name=_("Status"))
    data_version = tables.Column(verbose_name=_("Data version"), attrs={"td": {"class": "font-monospace"}})
    tenant_count = tables.Column(verbose_name=_("Tenants"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    host_count = tables.Column(verbose_name=_("Hosts"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})

    class Meta:
        model = Cluster
        fields = ("name", "db_version", "region", "status", "data_version", "tenant_count", "host_count")
        template_name = "django_tables2/console.html"
        attrs = {"class": "table table-hover align-middle mb-0 console-table"}
        empty_text = _("No clusters match these filters.")

    def render_region(self, record):
        return f"{record.region} / {record.zone}" if record.zone else record.region

    def render_status(self, record):
        return format_html(
            '<span class="badge rounded-pill status-badge text-bg-{}">{}</span>',
            record.status_color, record.get_status_display(),
        )

    def value_status(self, record):
        # An export's cell: the label without its badge.
        return record.get_status_display()
