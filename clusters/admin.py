from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backups.engine.audit import AuditedAdminMixin

from .models import Cluster, Host, Tenant

# The admin has no Bootstrap: the contextual colour names the choices carry
# (backups.choices.STATUS_COLORS, clusters.choices.CLUSTER_STATUS_COLORS) are
# classes of static/console/admin.css (Bootstrap 5's palette), not inline
# styles, which the Content Security Policy refuses.
BADGE_COLORS = {"primary", "secondary", "success", "danger", "warning", "info"}


def badge(label, color):
    """A small coloured label for a status in a changelist or read-only field."""
    return format_html(
        '<span class="status-badge status-badge-{}">{}</span>',
        color if color in BADGE_COLORS else "secondary",
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
class ClusterAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
class TenantAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "cluster", "created_at"]
    list_filter = ["cluster"]
    list_select_related = ["cluster"]
    search_fields = ["name", "cluster__name"]
    autocomplete_fields = ["cluster"]
    readonly_fields = ["created_at"]


@admin.register(Host)
class HostAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "cluster", "role", "zone"]
    list_filter = ["role", "cluster"]
    list_select_related = ["cluster"]
    # ip is an inet column: Django searches it as HOST(ip), so partial IPs match.
    search_fields = ["ip", "cluster__name"]
    autocomplete_fields = ["cluster"]
