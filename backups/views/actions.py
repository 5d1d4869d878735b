"""Operator actions (OV-1, OV-2, OV-4a): short views over backups/engine/services.py.

State-changing requests are POST only and CSRF-protected; a refused or
malformed request gets a message and a redirect, never a 500.  Buttons on
the list pages come back to the page they were pressed on (``next``, or the
Referer), query string and all.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..choices import TaskKind
from ..engine import audit, services
from ..engine.transitions import IllegalTransition
from ..forms import InstantBackupForm
from ..kinds import LOG_KINDS

# Besides the CSRF token, the one name an action button may send.
ACTION_PARAMS = {"csrfmiddlewaretoken", "next"}


def is_safe(request, url):
    """A page of this site to go back to: a path, or a URL on this host.

    Anything else (another host, a bare word that ``redirect`` would try to
    reverse as a view name, control characters) is not followed.
    """
    if not url or len(url) > 2000 or any(ord(char) < 32 or ord(char) == 127 for char in url):
        return False
    if not (url.startswith("/") or url.lower().startswith(("http://", "https://"))):
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def _back(request, default):
    """Where an action returns to: ``next``, else the page it came from, else ``default``."""
    for url in (request.POST.get("next"), request.GET.get("next"), request.META.get("HTTP_REFERER")):
        if is_safe(request, url):
            return url
    try:
        return reverse(default)
    except NoReverseMatch:
        return reverse("backups:overview")


def _unknown_params(request):
    return sorted((set(request.POST) | set(request.GET)) - ACTION_PARAMS)


def act(request, action, default, *args, attempt=None):
    """Run a button's action; say what happened or why not, and go back.

    ``attempt``: (audit action, model, pk) of what the button acts on; a
    refusal is recorded in the audit trail under it (``record_refusal``)."""
    unknown = _unknown_params(request)
    if unknown:
        messages.error(
            request, _("Unknown parameter(s): %(names)s. Nothing was changed.") % {"names": ", ".join(unknown)}
        )
    else:
        try:
            messages.success(request, action(*args, request.user))
        except (IllegalTransition, services.ActionRefused) as refused:
            messages.error(request, str(refused))
            if attempt is not None:
                record_refusal(request, refused, *attempt)
    return HttpResponseRedirect(_back(request, default))


def refusal_reason(refused):
    """What the engine said when it refused, as the audit trail stores it:
    a state machine's refusal, or an ActionRefused's message (a Phrase, said
    again in the reader's language), or a form error the engine added."""
    if isinstance(refused, IllegalTransition):
        return refused.said
    return getattr(refused, "message", refused)


def record_refusal(request, refused, action, model=None, pk=None, obj=None):
    """Record in the audit trail that the engine refused ``request.user``'s
    ``action`` on ``obj`` (or ``model``'s row ``pk``), and why; never raises."""
    audit.record_attempt(request.user, action, audit.Outcome.REFUSED, reason=refusal_reason(refused),
                         obj=obj, model=model, pk=pk)


# --- Log backups and secondary log backups (OV-4a, OV-7) ----------------------------


def _log_move(kind, move):
    """The view of Stop or Start for one log kind: POST only, and only for a
    user who may change that kind's tasks."""
    log_kind = LOG_KINDS[kind]
    meta = log_kind.model._meta

    audit_action = audit.Action.LOG_STOP if move is services.stop_log_backup else audit.Action.LOG_START

    @require_POST
    @permission_required(f"{meta.app_label}.change_{meta.model_name}", raise_exception=True)
    def view(request, pk):
        return act(request, move, log_kind.list_view, kind, pk, attempt=(audit_action, log_kind.model, pk))

    view.__name__ = f"{kind}_{move.__name__.split('_')[0]}"
    return view


log_stop = _log_move(TaskKind.LOG, services.stop_log_backup)
log_start = _log_move(TaskKind.LOG, services.start_log_backup)
secondary_log_stop = _log_move(TaskKind.SECONDARY_LOG, services.stop_log_backup)
secondary_log_start = _log_move(TaskKind.SECONDARY_LOG, services.start_log_backup)


# --- Instant backup (OV-2) ---------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("backups.add_databackuptask", raise_exception=True)
def instant_backup(request):
    if request.method == "POST":
        form = InstantBackupForm(request.POST)
        if not form.is_valid() and form.refused is not None:
            record_refusal(request, form.refused, audit.Action.INSTANT_BACKUP, obj=form.refused_target)
        elif form.is_valid():
            data = form.cleaned_data
            target = data["tenant"] or data["cluster"]  # before a refusal takes the field's value off the form
            try:
                task = services.instant_backup(data["cluster"], data["tenant"], data["mode"], request.user)
            except services.ActionRefused as refused:
                form.refuse(refused)
                record_refusal(request, refused, audit.Action.INSTANT_BACKUP, obj=target)
            else:
                messages.success(
                    request,
                    _("Data backup #%(pk)s of %(cluster)s started (%(mode)s).")
                    % {"pk": task.pk, "cluster": task.cluster, "mode": task.get_mode_display().lower()},
                )
                return redirect(f"{reverse('backups:data_list')}?cluster={task.cluster_id}")
    else:
        known = {key: request.GET[key] for key in ("cluster", "tenant", "mode") if key in request.GET}
        form = InstantBackupForm(initial=known)
    return render(request, "backups/instant_backup.html", {"form": form, "cancel_url": _back_to_list_data(request)})


def _back_to_list_data(request):
    url = request.GET.get("next")
    return url if is_safe(request, url) else reverse("backups:overview")
