"""The audit trail: one ``AuditEntry`` per thing a person did.

``record`` is called inside the transaction of the change it records, so a
refused or rolled-back action leaves no row.  Operator actions record
themselves in backups/engine/services.py; admin changes through ``AuditedAdmin``
(backups/admin.py, clusters/admin.py).
"""

from django.contrib.contenttypes.models import ContentType

from ..models import AuditEntry

Action = AuditEntry.Action


def cluster_of(obj):
    """The cluster an object belongs to (itself, for a cluster), or None."""
    from clusters.models import Cluster

    if isinstance(obj, Cluster):
        return obj.pk
    return getattr(obj, "cluster_id", None)


def record(user, action, obj=None, *, message="", cluster_id=None, object_repr=None):
    """Write one audit row; ``obj`` is what was acted on (may be None)."""
    authenticated = user is not None and user.is_authenticated
    entry = AuditEntry(
        actor=user if authenticated else None,
        actor_name=user.get_username() if authenticated else "",
        action=action,
        cluster_id=cluster_id if cluster_id is not None else (cluster_of(obj) if obj is not None else None),
        message=str(message),
    )
    if obj is not None:
        entry.content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        entry.object_id = obj.pk if isinstance(obj.pk, int) else None
        entry.object_repr = (object_repr if object_repr is not None else str(obj))[:200]
    entry.save()
    return entry


class AuditedAdminMixin:
    """A ModelAdmin whose additions, changes and deletions go to the audit trail.

    Hooks the admin's own logging (LogEntry), which runs inside the save's or
    delete's transaction; bulk deletions are recorded one row per object.
    """

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        record(request.user, Action.ADMIN_ADD, obj, message=_admin_message(entry))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        record(request.user, Action.ADMIN_CHANGE, obj, message=_admin_message(entry))
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            record(request.user, Action.ADMIN_DELETE, obj)
        return entries


def _admin_message(entry):
    entries = entry if isinstance(entry, list) else [entry]
    return "; ".join(str(e.get_change_message()) for e in entries if e is not None)
