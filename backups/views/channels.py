"""Delivery channels of alert notifications (通知渠道), for admins: the list
(with a channel's notice when it turned itself off), the form, the secret
(shown whole once, when made or rotated), "send test" and the delivery log.

Every page and button needs ``change_notificationchannel``: a viewer may see
alerts but not where they are sent, nor touch the secrets.  Saving, rotating
and testing go through ``engine.notify`` (one transaction each, with the
audit row); a refused form writes nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..engine import dispatch, notify
from ..forms import NotificationChannelForm
from ..models import Delivery, DeliveryAttempt, NotificationChannel
from .actions import ACTION_PARAMS

PERMISSION = "backups.change_notificationchannel"
LOG_DELIVERIES = 50  # the newest deliveries shown on a channel's log


@require_http_methods(["GET", "HEAD"])
@permission_required(PERMISSION, raise_exception=True)
def channel_list(request):
    channels = NotificationChannel.objects.prefetch_related("clusters")
    return render(request, "backups/channel_list.html", {"channels": channels})


def _form_page(request, form, channel=None):
    return render(request, "backups/channel_form.html", {"form": form, "channel": channel},
                  status=400 if form.errors else 200)


def _secret_page(request, channel, created):
    # The one page that shows a secret whole; not cached anywhere.
    response = render(request, "backups/channel_secret.html", {"channel": channel, "created": created})
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(PERMISSION, raise_exception=True)
def channel_create(request):
    if request.method == "POST":
        form = NotificationChannelForm(request.POST)
        if form.is_valid():
            channel = notify.save_channel(form, request.user)
            return _secret_page(request, channel, created=True)
    else:
        form = NotificationChannelForm()
    return _form_page(request, form)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(PERMISSION, raise_exception=True)
def channel_edit(request, pk):
    channel = get_object_or_404(NotificationChannel, pk=pk)
    if request.method == "POST":
        form = NotificationChannelForm(request.POST, instance=channel)
        if form.is_valid():
            notify.save_channel(form, request.user)
            messages.success(request, _("Notification channel %(name)s saved.") % {"name": channel.name})
            return redirect("channels:list")
    else:
        form = NotificationChannelForm(instance=channel)
    return _form_page(request, form, channel)


def _refuse_unknown(request):
    unknown = sorted(set(request.POST) - ACTION_PARAMS)
    if unknown:
        messages.error(request, _("Unknown parameter(s): %(names)s. Nothing was changed.") % {"names": ", ".join(unknown)})
    return bool(unknown)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def channel_rotate(request, pk):
    get_object_or_404(NotificationChannel, pk=pk)
    if _refuse_unknown(request):
        return redirect("channels:edit", pk=pk)
    return _secret_page(request, notify.rotate_secret(pk, request.user), created=False)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def channel_test(request, pk):
    channel = get_object_or_404(NotificationChannel, pk=pk)
    if _refuse_unknown(request):
        return redirect("channels:log", pk=pk)
    try:
        dispatch.check_broker()
    except dispatch.BrokerUnavailable as error:
        messages.error(request, str(error))
    else:
        delivery = notify.send_test(pk, request.user)
        messages.success(request, _("Test notification #%(pk)s queued for %(name)s: its attempts appear below.")
                         % {"pk": delivery.pk, "name": channel.name})
    return redirect("channels:log", pk=pk)


@require_http_methods(["GET", "HEAD"])
@permission_required(PERMISSION, raise_exception=True)
def channel_log(request, pk):
    channel = get_object_or_404(NotificationChannel, pk=pk)
    deliveries = list(
        Delivery.objects.filter(channel=channel).select_related("alert").order_by("-created_at", "-id")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number")))
        [:LOG_DELIVERIES])
    return render(request, "backups/channel_log.html", {"channel": channel, "deliveries": deliveries,
                                                        "limit": LOG_DELIVERIES})
