"""The audit trail's table."""

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry

# Task kinds whose console detail page an audit row links to, by model name.
DETAIL_URLS = {
    "databackuptask": "backups:data_detail",
    "logbackuptask": "backups:log_detail",
    "cleanuptask": "backups:cleanup_detail",
    "secondarydatabackuptask": "backups:secondary_data_detail",
    "secondarylogbackuptask": "backups:secondary_log_detail",
    "backuppolicy": "backups:policy_edit",
}


def object_url(entry):
    if entry.content_type_id is None or entry.object_id is None or entry.action == AuditEntry.Action.ADMIN_DELETE:
        return None
    name = DETAIL_URLS.get(entry.content_type.model)
    if name is None:
        return None
    try:
        return reverse(name, args=[entry.object_id])
    except NoReverseMatch:
        return None


class AuditEntryTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name=_("User"))
    action = tables.Column(verbose_name=_("Action"))
    cluster = tables.Column(verbose_name=_("Cluster"), default="—")
    object_repr = tables.Column(verbose_name=_("Object"), default="—")
    message = tables.Column(verbose_name=_("Details"), default="")

    class Meta:
        model = AuditEntry
        fields = ("created_at", "actor_name", "action", "cluster", "object_repr", "message")
        template_name = "django_tables2/console.html"
        attrs = {"class": "table table-hover align-middle mb-0 console-table audit-table"}
        order_by = None
        orderable = False
        empty_text = _("No audit entries match these filters.")
        row_attrs = {"data-audit": lambda record: record.pk}

    def render_cluster(self, value, record):
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)

    def render_object_repr(self, value, record):
        url = object_url(record)
        return format_html('<a href="{}">{}</a>', url, value) if url else value
