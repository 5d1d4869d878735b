"""What an operator does to alerts (告警): acknowledge one with a note, and
silence a cluster for a maintenance window or end a silence early.

Each action is one transaction with its audit row.  Acknowledging is a
conditional UPDATE (only an open alert nobody has acknowledged yet), its row
count checked: of two operators pressing at once, one acknowledges and the
other is told who was first, nothing overwritten.  A refusal raises
``ActionRefused`` and writes nothing.
"""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster

from ..choices import AlertStatus
from ..models import Alert, ClusterSilence
from . import audit
from .outcomes import phrase as _  # gettext that remembers what it said, for the audit trail
from .services import ActionRefused

NOTE_MAX_LENGTH = Alert._meta.get_field("acknowledge_note").max_length
REASON_MAX_LENGTH = ClusterSilence._meta.get_field("reason").max_length
# A maintenance window longer than this is a forgotten one: alerts would stay quiet for good.
MAX_SILENCE = timedelta(days=7)


def acknowledge(pk, user, note=""):
    """Mark the open alert ``pk`` acknowledged by ``user`` with ``note``; the message to show."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ActionRefused(_("The note may have at most %(max)s characters.") % {"max": NOTE_MAX_LENGTH}, "note")
    now = timezone.now()
    with transaction.atomic():
        won = Alert.objects.filter(pk=pk, status=AlertStatus.OPEN, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=user, acknowledge_note=note, updated_at=now)
        alert = Alert.objects.select_related("acknowledged_by", "cluster").filter(pk=pk).first()
        if alert is None:
            raise ActionRefused(_("Alert #%(pk)s does not exist.") % {"pk": pk})
        if not won:
            if alert.acknowledged_at is not None:
                raise ActionRefused(_("Alert #%(pk)s was already acknowledged by %(user)s at %(time)s.") % {
                    "pk": pk, "user": _who(alert.acknowledged_by),
                    "time": timezone.localtime(alert.acknowledged_at).strftime("%Y-%m-%d %H:%M:%S")})
            raise ActionRefused(_("Alert #%(pk)s has resolved: there is nothing to acknowledge.") % {"pk": pk})
        message = (_("Acknowledged alert #%(pk)s: %(note)s") % {"pk": pk, "note": note} if note
                   else _("Acknowledged alert #%(pk)s.") % {"pk": pk})
        audit.record(user, audit.Action.ALERT_ACKNOWLEDGE, alert, object_repr=f"#{pk}", message=message)
    return _("Alert #%(pk)s acknowledged.") % {"pk": pk}


def _who(user):
    return user.get_username() if user is not None else "—"


def check_window(starts_at, ends_at, now=None):
    """Refuse a maintenance window that ends before it starts, lies in the
    past, or lasts longer than MAX_SILENCE; (field, message) or None."""
    now = now or timezone.now()
    if ends_at <= starts_at:
        return "ends_at", _("The silence must end after it starts.")
    if ends_at <= now:
        return "ends_at", _("The silence must end in the future.")
    if starts_at < now - timedelta(minutes=5):
        return "starts_at", _("The silence cannot start in the past.")
    if ends_at - starts_at > MAX_SILENCE:
        return "ends_at", _("A silence lasts at most %(days)s days.") % {"days": MAX_SILENCE.days}
    return None


def silence_cluster(cluster_id, starts_at, ends_at, reason, user):
    """Hold the notifications of ``cluster_id``'s alerts between the two times; the silence."""
    problem = check_window(starts_at, ends_at)
    if problem is not None:
        raise ActionRefused(problem[1], problem[0])
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused(_("Say why the cluster is silenced."), "reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise ActionRefused(_("The reason may have at most %(max)s characters.") % {"max": REASON_MAX_LENGTH}, "reason")
    with transaction.atomic():
        cluster = Cluster.objects.filter(pk=cluster_id).first()
        if cluster is None:
            raise ActionRefused(_("Cluster #%(pk)s does not exist.") % {"pk": cluster_id})
        silence = ClusterSilence.objects.create(cluster=cluster, starts_at=starts_at, ends_at=ends_at, reason=reason,
                                                created_by=user)
        audit.record(user, audit.Action.CLUSTER_SILENCE, silence, object_repr=str(silence),
                     message=_("Silenced %(cluster)s from %(start)s until %(end)s: %(reason)s") % {
                         "cluster": cluster.name, "start": _stamp(starts_at), "end": _stamp(ends_at), "reason": reason})
    return silence


def _stamp(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def end_silence(pk, user):
    """End the silence ``pk`` now (one not begun yet is removed); the message to show."""
    now = timezone.now()
    with transaction.atomic():
        silence = ClusterSilence.objects.select_for_update().select_related("cluster").filter(pk=pk).first()
        if silence is None:
            raise ActionRefused(_("Silence #%(pk)s does not exist.") % {"pk": pk})
        if silence.ends_at <= now:
            raise ActionRefused(_("Silence #%(pk)s has already ended.") % {"pk": pk})
        repr_ = str(silence)
        if silence.starts_at >= now:
            silence.delete()
        else:
            ClusterSilence.objects.filter(pk=pk).update(ends_at=now)
        audit.record(user, audit.Action.SILENCE_END, None, cluster_id=silence.cluster_id, object_repr=repr_,
                     content_type=ContentType.objects.get_for_model(ClusterSilence), object_id=pk,
                     message=_("Ended the silence of %(cluster)s.") % {"cluster": silence.cluster.name})
    return _("The silence of %(cluster)s has ended.") % {"cluster": silence.cluster.name}


def active_silences(cluster_id=None, now=None):
    """Silences not ended yet (current and coming), soonest end first."""
    now = now or timezone.now()
    silences = ClusterSilence.objects.filter(ends_at__gt=now).select_related("cluster", "created_by").order_by("ends_at", "id")
    return silences.filter(cluster_id=cluster_id) if cluster_id is not None else silences
