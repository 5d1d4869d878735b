from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class ConsoleAdminConfig(AdminConfig):
    """django.contrib.admin with the admins-only site, role groups kept in sync,
    and each sign-in stamped for the idle timeout (backup_console/middleware.py)."""

    default_site = "backup_console.admin_site.ConsoleAdminSite"

    def ready(self):
        super().ready()
        from .middleware import stamp_session

        post_migrate.connect(_sync_roles, dispatch_uid="backup_console.sync_roles")
        user_logged_in.connect(stamp_session, dispatch_uid="backup_console.stamp_session")


def _sync_roles(sender, app_config=None, using="default", **kwargs):
    # Once per migrate, after the last app (ours) has its permissions.
    if app_config is None or app_config.label != "backups":
        return
    from .roles import sync_roles

    sync_roles()
