"""The audit trail: one ``AuditEntry`` per thing a person did, or tried to.

``record`` is called inside the transaction of the change it records, so a
rolled-back action leaves no row.  Operator actions record themselves in
backups/engine/services.py; admin changes through ``AuditedAdminMixin``
(backups/admin.py, clusters/admin.py), with each changed field's old and new
value (``changes``).

What was refused is recorded too (``record_attempt``): an action the engine
refused with a reason (``Outcome.REFUSED``, from the views that catch the
refusal) and one the user's role may not take (``Outcome.FORBIDDEN``, from
the 403 page).  An attempt is written on its own, after the refusal, and a
failure to write it is logged, never raised: the refusal stays a refusal.
So that one user cannot grow the trail without bound, the same attempt
(same user, action, object, outcome and reason) within ``REPEAT_WINDOW``
counts up ``repeats`` on its row instead of adding one, and a user gets at
most ``ATTEMPTS_PER_WINDOW`` attempt rows per window; past that, attempts
go to the log only.

Details are stored as codes (backups/engine/outcomes.py) and said in the
reader's language when the trail is read.
"""

import json
import logging
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _

from ..choices import BackupMode, ScheduleKind
from ..models import AuditEntry, BackupPolicy
from . import outcomes

log = logging.getLogger(__name__)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

REPEAT_WINDOW = timedelta(minutes=10)
ATTEMPTS_PER_WINDOW = 50
MAX_BIGINT = 2**63 - 1


def cluster_of(obj):
    """The cluster an object belongs to (itself, for a cluster), or None."""
    from clusters.models import Cluster

    if isinstance(obj, Cluster):
        return obj.pk
    return getattr(obj, "cluster_id", None)


def record(user, action, obj=None, *, message="", cluster_id=None, object_repr=None, outcome=Outcome.DONE,
           content_type=None, object_id=None):
    """Write one audit row; ``obj`` is what was acted on (may be None; or name
    it by ``content_type`` and ``object_id``).  ``message``: a code
    (outcomes.Said), a translation, or plain text (outcomes.stored)."""
    authenticated = user is not None and user.is_authenticated
    code, params, text = outcomes.stored(message)
    entry = AuditEntry(
        actor=user if authenticated else None,
        actor_name=user.get_username() if authenticated else "",
        action=action,
        outcome=outcome,
        cluster_id=cluster_id if cluster_id is not None else (cluster_of(obj) if obj is not None else None),
        message=text,
        message_code=code,
        message_params=params,
    )
    if obj is not None:
        entry.content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        entry.object_id = obj.pk if isinstance(obj.pk, int) else None
        entry.object_repr = (object_repr if object_repr is not None else str(obj))[:200]
    elif content_type is not None:
        entry.content_type, entry.object_id, entry.object_repr = content_type, object_id, (object_repr or "")[:200]
    entry.save()
    return entry


# --- Refused and forbidden attempts -------------------------------------------------------


def find(model, pk):
    """``model``'s row ``pk``, or None (also for a pk no row can have)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    if not 0 < pk <= MAX_BIGINT:
        return None
    return model._default_manager.filter(pk=pk).first()


def record_attempt(user, action, outcome, *, reason, obj=None, model=None, pk=None, cluster_id=None):
    """Record that ``user`` tried ``action`` and was refused (``outcome``:
    refused or forbidden) for ``reason``, on ``obj`` (or ``model``'s row
    ``pk``, which may not exist).  Returns the row, or None if none was
    written; never raises (see the module doc)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        with transaction.atomic():
            return _record_attempt(user, action, outcome, reason, obj, model, pk, cluster_id)
    except Exception:
        log.exception("could not record a %s attempt of %s by %s", outcome, action, user.get_username())
        return None


def _record_attempt(user, action, outcome, reason, obj, model, pk, cluster_id):
    if obj is None and model is not None and pk is not None:
        obj = find(model, pk)
    content_type = object_id = object_repr = None
    if obj is None and model is not None:
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        object_id = int(pk) if str(pk).isdigit() and 0 < int(pk) <= MAX_BIGINT else None
        object_repr = f"#{str(pk)[:40]}" if pk is not None else ""
    code, params, text = outcomes.stored(reason)
    now = timezone.now()
    recent = list(
        AuditEntry.objects.filter(actor=user, created_at__gte=now - REPEAT_WINDOW)
        .exclude(outcome=Outcome.DONE)
        .order_by("-created_at", "-id")
        .values("id", "action", "outcome", "content_type_id", "object_id", "message_code", "message_params", "message")
        [:ATTEMPTS_PER_WINDOW]
    )
    same = {
        "action": action, "outcome": outcome,
        "content_type_id": (ContentType.objects.get_for_model(obj, for_concrete_model=False).pk if obj is not None
                            else content_type.pk if content_type is not None else None),
        "object_id": obj.pk if obj is not None else object_id,
        "message_code": code, "message_params": params, "message": text,
    }
    for row in recent:
        if all(row[name] == value for name, value in same.items()):
            AuditEntry.objects.filter(pk=row["id"]).update(repeats=F("repeats") + 1)
            return AuditEntry.objects.get(pk=row["id"])
    if len(recent) >= ATTEMPTS_PER_WINDOW:
        log.warning("audit: %s made %s refused attempts within %s; %s %s not recorded",
                    user.get_username(), len(recent), REPEAT_WINDOW, outcome, action)
        return None
    return record(user, action, obj, message=reason, outcome=outcome, cluster_id=cluster_id,
                  content_type=content_type, object_id=object_id, object_repr=object_repr)


# --- What an edit changed -------------------------------------------------------------------

FULL_DAYS = _("Full backup days")
INCREMENTAL_DAYS = _("Incremental backup days")
SECRET_FIELDS = {"password"}


def _msgid(lazy):
    return outcomes.stored(lazy)[1].get("msgid", str(lazy)) if lazy is not None else ""


def shown_value(field, obj):
    """How a change shows ``field`` of ``obj``: text as it is, or a list of
    msgids (labels, yes/no) said in the reader's language when read."""
    if field.name in SECRET_FIELDS:
        return "••••••"
    value = getattr(obj, field.name) if field.is_relation else getattr(obj, field.attname)
    if value is None or value == "":
        return ""
    if field.is_relation:
        return str(value)
    if field.choices:
        label = dict(field.flatchoices).get(value)
        return [_msgid(label)] if label is not None else str(value)
    if isinstance(field, models.BooleanField):
        return ["Yes" if value else "No"]
    if isinstance(field, models.DateTimeField):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else str(value)
    if isinstance(field, models.TimeField):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(field, models.JSONField):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _schedule(policy):
    """A policy's schedule as its form shows it: (full days, incremental days)."""
    days = {int(day): mode for day, mode in (policy.schedule_days or {}).items() if str(day).isdigit()}
    if policy.schedule_kind == ScheduleKind.WEEKLY:
        def shown(mode):
            return [_msgid(WEEKDAYS_ABBR[day - 1]) for day in sorted(days) if days[day] == mode and 1 <= day <= 7]
    else:
        def shown(mode):
            return ", ".join(str(day) for day in sorted(days) if days[day] == mode)
    return shown(BackupMode.FULL), shown(BackupMode.INCREMENTAL)


def changes(before, after, names, old_values=None, new_values=None, log_message=""):
    """What an edit of ``before`` into ``after`` changed among ``names`` (model
    field names), as the audit details "Label: old → new; ...", labels and
    values said in the reader's language when read.  ``old_values`` and
    ``new_values``: a many-to-many field's objects before and after (saved
    apart from the row); ``log_message``: the admin's own change message,
    said when no field changed (an inline)."""
    rows = []
    old_values, new_values = old_values or {}, new_values or {}
    for name in names:
        if name == "schedule_days" and isinstance(after, BackupPolicy):
            for label, old, new in zip((FULL_DAYS, INCREMENTAL_DAYS), _schedule(before), _schedule(after), strict=True):
                if old != new:
                    rows.append({"field": _msgid(label), "old": old, "new": new})
            continue
        field = _model_field(after, name)
        if field is None:  # a form field that is not the model's
            continue
        if field.many_to_many:
            old = ", ".join(sorted(str(o) for o in old_values.get(name, ())))
            new = ", ".join(sorted(str(o) for o in new_values.get(name, ())))
        elif not field.concrete or getattr(before, field.attname) == getattr(after, field.attname):
            continue
        else:
            old, new = shown_value(field, before), shown_value(field, after)
        if old != new:
            rows.append({"field": _msgid(field.verbose_name), "old": old, "new": new})
    params = {"changes": rows}
    if log_message:
        params["log"] = log_message
    return outcomes.Said("changes", params)


# --- The admin ----------------------------------------------------------------------------------


class AuditedAdminMixin:
    """A ModelAdmin whose additions, changes and deletions go to the audit trail.

    Hooks the admin's own logging (LogEntry), which runs inside the save's or
    delete's transaction; bulk deletions are recorded one row per object.  A
    change records each changed field's old and new value: the row as it was
    is read in ``save_model``, before it is written.
    """

    def save_model(self, request, obj, form, change):
        if change and obj.pk is not None:
            before = type(obj)._default_manager.filter(pk=obj.pk).first()
            if before is not None:
                names = [name for name in form.changed_data if name in form.fields]
                # Many-to-many values are saved after the row: read them now.
                m2m = [name for name in names if getattr(_model_field(obj, name), "many_to_many", False)]
                old_values = {name: list(getattr(before, name).all()) for name in m2m}
                new_values = {name: list(form.cleaned_data.get(name) or []) for name in m2m}
                pending = request.__dict__.setdefault("_audit_before", {})
                pending[(type(obj), obj.pk)] = (before, names, old_values, new_values)
        super().save_model(request, obj, form, change)

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        record(request.user, Action.ADMIN_ADD, obj, message=outcomes.Said("admin_log", {"log": _log_message(entry)}))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        pending = request.__dict__.get("_audit_before", {}).pop((type(obj), obj.pk), None)
        if pending is None:
            said = outcomes.Said("admin_log", {"log": _log_message(entry)})
        else:
            before, names, old_values, new_values = pending
            said = changes(before, obj, names, old_values, new_values, log_message=_log_message(entry))
        record(request.user, Action.ADMIN_CHANGE, obj, message=said)
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            record(request.user, Action.ADMIN_DELETE, obj)
        return entries


def _model_field(obj, name):
    try:
        return obj._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _log_message(entry):
    entries = entry if isinstance(entry, list) else [entry]
    messages = [e.change_message for e in entries if e is not None]
    return messages[0] if len(messages) == 1 else json.dumps(
        [part for m in messages for part in (json.loads(m) if m and m.startswith("[") else [])]
    )
