"""The three roles of SPEC section 1, as Django groups.

- viewer: reads every list, detail page and the audit trail; changes nothing.
- operator: a viewer who also presses the console's buttons: instant backup,
  Stop/Start of (secondary) log backups, new/edit/pause/resume of policies,
  start a restore, manage and run restore drill policies, acknowledge
  alerts and silence a cluster's alerts for a maintenance window.
  These are exactly the permissions backups/action_views.py checks.
- admin: every permission, and the Django admin (backup_console/admin_site.py).

``sync_roles`` creates the groups and gives them their permissions; the data
migration ``backups.0005_roles`` runs it, and so does every ``migrate``
afterwards (post_migrate), so the admin group also gets the permissions of
models added later.  It only adds: permissions an admin granted by hand stay.
"""

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)
# Apps whose models a viewer may see.
VIEWED_APPS = ("backups", "clusters")
OPERATOR_PERMISSIONS = (
    ("backups", "add_databackuptask"),  # instant backup (OV-2)
    ("backups", "change_logbackuptask"),  # Stop/Start (OV-4a)
    ("backups", "change_secondarylogbackuptask"),  # Stop/Start (OV-7)
    ("backups", "add_backuppolicy"),  # new policy (OV-1)
    ("backups", "change_backuppolicy"),  # edit, pause, resume
    ("backups", "add_restoretask"),  # start a restore
    ("backups", "add_restoredrillpolicy"),  # new restore drill policy
    ("backups", "change_restoredrillpolicy"),  # edit, enable, disable
    ("backups", "delete_restoredrillpolicy"),
    ("backups", "run_restoredrillpolicy"),  # run a drill now
    ("backups", "change_alert"),  # acknowledge an alert
    ("backups", "add_clustersilence"),  # silence a cluster for a maintenance window
    ("backups", "change_clustersilence"),  # end a silence now
)


def sync_roles(apps=None, verbosity=0):
    """Create the role groups and grant their permissions (idempotent)."""
    if apps is None:
        from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrate (post_migrate): make them now.
    for app_config in apps.get_app_configs():
        # A migration's app registry has no models modules; create_permissions
        # skips such apps unless told they have models.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=verbosity)
        finally:
            app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    viewing = Permission.objects.filter(content_type__app_label__in=VIEWED_APPS, codename__startswith="view_")
    operating = Permission.objects.none()
    for app_label, codename in OPERATOR_PERMISSIONS:
        operating |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    grants = {
        VIEWER: list(viewing),
        OPERATOR: list(viewing) + list(operating),
        ADMIN: list(Permission.objects.all()),
    }
    for name, permissions in grants.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)


def can_use_admin(user):
    """The Django admin is for superusers and the admin group only."""
    if not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_console_is_admin", None)
    if cached is None:
        cached = user.groups.filter(name=ADMIN).exists()
        user._console_is_admin = cached
    return cached


def context_processor(request):
    """``console_admin``: whether the navigation offers the admin."""
    user = getattr(request, "user", None)
    return {"console_admin": lambda: bool(user) and can_use_admin(user)}
