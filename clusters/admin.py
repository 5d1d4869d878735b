from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Cluster, Host, Tenant

# The admin has no Bootstrap: the contextual colour names the choices carry
# (backups.choices.STATUS_COLORS, clusters.choices.CLUSTER_STATUS_COLORS) map to
# Bootstrap 5's palette here, with a readable text colour for each.
BADGE_STYLES = {
    "primary": ("#0d6efd", "#fff"),
    "secondary": ("#6c757d", "#fff"),
    "success": ("#198754", "#fff"),
    "danger": ("#dc3545", "#fff"),
    "warning": ("#ffc107", "#000"),
    "info": ("#0dcaf0", "#000"),
}


def badge(label, color):
    """A small coloured label for a status in a changelist or read-only field."""
    background, text = BADGE_STYLES.get(color, BADGE_STYLES["secondary"])
    return format_html(
        '<span class="status-badge" style="background:{};color:{};padding:1px 6px;'
        'border-radius:4px;font-size:11px;white-space:nowrap">{}</span>',
        background,
        text,
        label,
    )


class TenantInline(admin.TabularInline):
    model = Tenant
    fields = ["name", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0


class HostInline(admin.TabularInline):
    model = Host
    fields = ["ip", "port", "role", "zone"]
    extra = 0


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "db_version", "region", "zone", "status_badge", "data_version", "created_at"]
    list_filter = ["status", "region"]
    # Also what every autocomplete of a cluster field searches.
    search_fields = ["name", "region"]
    readonly_fields = ["created_at"]
    inlines = [TenantInline, HostInline]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), obj.status_color)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "cluster", "created_at"]
    list_filter = ["cluster"]
    list_select_related = ["cluster"]
    search_fields = ["name", "cluster__name"]
    autocomplete_fields = ["cluster"]
    readonly_fields = ["created_at"]


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["__str__", "cluster", "role", "zone"]
    list_filter = ["role", "cluster"]
    list_select_related = ["cluster"]
    # ip is an inet column: Django searches it as HOST(ip), so partial IPs match.
    search_fields = ["ip", "cluster__name"]
    autocomplete_fields = ["cluster"]
