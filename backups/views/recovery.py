"""A cluster's recovery page: per tenant, to which moments it can be restored
(a timeline of the last 7 or 30 days and the same data as a table), every gap
explained, the backup-set chains, the RPO, and "can I restore to T?".
An interval may join the primary destination's sets and rounds with a
secondary destination's copies and secondary log rounds
(backups/engine/recovery.py): each part is explained by its own.

Everything comes from the stored intervals (backups/engine/intervals.py)
and from the rows of the window, in a constant number of queries.
"""

from bisect import bisect_left
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.decorators import permission_required
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import F, Max, Min, Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backup_console.lists import join_html, one_link
from clusters.models import Cluster

from ..choices import BackupMode, DataBackupStatus, LogBackupStatus, PolicyState
from ..engine import intervals as kept
from ..engine.outcomes import failure_of
from ..engine.recovery import answer, ending_part, parts_of, starting_part
from ..formats import readable_delay, stamp
from ..forms import RestorePointForm
from ..models import BackupPolicy, BackupSet, CleanupTask, DataBackupTask, LogBackupTask, SecondaryDataBackupTask, SecondaryLogBackupTask, TaskEvent
from ..timerange import effective_end

ROWS_PER_TENANT = 10  # the newest rows of each tenant on the cluster's page
ROWS_PER_PAGE = 50  # a tenant's own view (?tenant=<id>) pages its rows
FAILED_PER_GAP = 3  # failed log rounds named inside one gap
CHAINS_SHOWN = 12  # the newest backup sets of the window; the rest are counted
# The columns the page reads: a fleet cluster's window is hundreds of rows,
# and a model's every column (its failure values are JSON) costs per row.
TASK_FIELDS = ("id", "backup_set_id", "mode", "started_at", "ended_at", "size_bytes")
ROUND_FIELDS = ("id", "status", "started_at", "ended_at", "failure_code", "failure_params", "failure_reason")
# A (secondary) log round and a completed copy as the page reads them: values, not models.
Round = namedtuple("Round", ["pk", *ROUND_FIELDS[1:], "destination_name"], defaults=[None])
Copy = namedtuple("Copy", ["pk", "destination_name"])


@dataclass
class Row:
    """A line of a tenant's table: a recoverable stretch, a gap, or the part
    not yet archived. Its explanation, as (text, link or "") parts, is
    written only for the rows shown (``_explain``): a tenant may have
    hundreds of rows in the window."""

    start: object
    end: object
    state: str  # "recoverable", "gap" or "archiving"
    before: object = None  # the interval a gap follows
    after: object = None  # the interval a gap leads to, or the row's own interval
    parts: list = field(default_factory=list)


@dataclass
class Wanted:
    """What the shown rows, the verdict and the chains refer to, by id: all
    that ``_facts`` reads.  A fleet cluster keeps hundreds of sets and rounds
    in 30 days; the page names a few dozen."""

    tasks: set = field(default_factory=set)  # DataBackupTask ids
    whole_sets_of: set = field(default_factory=set)  # task ids whose set's every backup is wanted (a verdict's chain)
    sets: list = field(default_factory=list)  # BackupSet ids of the chains shown
    rounds: set = field(default_factory=set)  # LogBackupTask ids
    secondary_rounds: set = field(default_factory=set)  # SecondaryLogBackupTask ids
    gaps: set = field(default_factory=set)  # (start, end) of the gaps shown (tenants share a cluster's): their failed log rounds

    def round(self, part):
        if part.round_ids:
            (self.rounds if part.destination is None else self.secondary_rounds).add(part.round_ids[-1])

    def row(self, row):
        """What ``_explain`` will read for ``row``."""
        if row.state == "recoverable":
            for part in parts_of(row.after):
                if part.destination is not None:
                    self.round(part)
            return
        if row.before is not None:
            self.round(ending_part(row.before))
        if row.state != "archiving":
            self.gaps.add((row.start, row.end))
        if row.after is not None and starting_part(row.after).set_ids:
            self.tasks.add(starting_part(row.after).set_ids[0])

    def answer(self, found):
        """What ``_verdict`` will read for a recoverable answer."""
        part = found.interval
        self.tasks.update(part.set_ids)
        self.whole_sets_of.update(part.set_ids)
        for pk in part.round_ids:
            (self.rounds if part.destination is None else self.secondary_rounds).add(pk)


@dataclass
class Facts:
    """What the rows the page names say, by id: to explain intervals and gaps."""

    tasks: dict  # DataBackupTask by id (with its set's number, tenant and expiry)
    rounds: dict  # LogBackupTask (Round) by id
    stoppers: dict  # (model, round id) -> who asked it to stop
    cleanups: list  # (id, ended at) of the window's cleanups that deleted sets, oldest first
    secondary_rounds: dict  # SecondaryLogBackupTask (Round) by id
    copies: dict  # (data task id, destination id) -> its completed SecondaryDataBackupTask
    failed: list  # the failed LogBackupTasks (Round) inside the gaps shown, by start

    def __post_init__(self):
        self._failed_starts = [r.started_at for r in self.failed]

    def failed_within(self, start, end):
        """The failed log rounds that started inside [start, end)."""
        first = bisect_left(self._failed_starts, start)
        return self.failed[first:bisect_left(self._failed_starts, end)]

    def round_of(self, part):
        """The (secondary) log round that carries a one-destination interval."""
        if not part.round_ids:
            return None
        kept = self.rounds if part.destination is None else self.secondary_rounds
        return kept.get(part.round_ids[-1])


def _kept_sets(cluster, since, chosen):
    """The backup sets the chain table shows (the newest CHAINS_SHOWN that
    have a backup in the window, newest first) and how many older ones are
    still kept: one row per set, not per backup."""
    sets = BackupSet.objects.filter(cluster=cluster).filter(Q(expired_at__isnull=True) | Q(expired_at__gte=since))  # backupset_cluster_expiry
    if chosen:
        sets = sets.filter(Q(tenant__isnull=True) | Q(tenant=chosen))
    spans = (DataBackupTask.objects.filter(backup_set__in=sets, status=DataBackupStatus.COMPLETED)
             .values_list("backup_set_id").annotate(first=Min("started_at"), last=Max("ended_at")).order_by())
    spans = list(spans)
    shown = sorted((row for row in spans if row[2] >= since), key=lambda row: row[1], reverse=True)[:CHAINS_SHOWN]
    return [row[0] for row in shown], len(spans) - len(shown)


def _facts(cluster, since, wanted):
    """The rows ``wanted`` names, each read by id or a bounded range of an index (named)."""
    # A verdict's chain: every backup of its sets (read first: as a subquery
    # inside the OR below PostgreSQL scans the whole table).
    sets = wanted.sets + list(DataBackupTask.objects.filter(pk__in=wanted.whole_sets_of).values_list("backup_set_id", flat=True)
                              if wanted.whole_sets_of else [])
    tasks = {
        t.pk: t
        for t in DataBackupTask.objects.filter(Q(pk__in=wanted.tasks) | Q(backup_set_id__in=sets), status=DataBackupStatus.COMPLETED)
        .only(*TASK_FIELDS)  # and of its set, values rather than a model each (its tenant's name comes from the page's tenants)
        .annotate(set_number=F("backup_set__number"), set_tenant_id=F("backup_set__tenant_id"),
                  set_expired_at=F("backup_set__expired_at"))
        .order_by("started_at", "id")
    }
    rounds = {row[0]: Round(*row) for row in LogBackupTask.objects.filter(pk__in=wanted.rounds).values_list(*ROUND_FIELDS)}
    secondary_rounds = {row[0]: Round(*row) for row in SecondaryLogBackupTask.objects
                        .filter(pk__in=wanted.secondary_rounds).values_list(*ROUND_FIELDS, "destination__name")}
    inside = Q()
    for start, end in wanted.gaps:
        inside |= Q(started_at__gte=start, started_at__lt=end)
    failed = [Round(*row) for row in LogBackupTask.objects.alias(end=effective_end())  # logbk_cluster_end
              .filter(inside, cluster=cluster, end__gte=min((s for s, _ in wanted.gaps), default=since),
                      status=LogBackupStatus.FAILED).order_by("started_at").values_list(*ROUND_FIELDS)] if wanted.gaps else []
    copies = {
        (source, destination): Copy(pk, name)
        for pk, source, destination, name in SecondaryDataBackupTask.objects
        .filter(source_id__in=list(tasks), status=DataBackupStatus.COMPLETED)
        .values_list("id", "source_id", "destination_id", "destination__name")
    }
    kinds = ContentType.objects.get_for_models(LogBackupTask, SecondaryLogBackupTask)
    model_of = {kinds[model].pk: model for model in kinds}
    stopped = [pk for pk, r in rounds.items() if r.status == LogBackupStatus.STOPPED]
    secondary_stopped = [pk for pk, r in secondary_rounds.items() if r.status == LogBackupStatus.STOPPED]
    stoppers = {
        (model_of[e.content_type_id], e.object_id): e.actor_display
        for e in TaskEvent.objects.filter(
            Q(content_type=kinds[LogBackupTask], object_id__in=stopped)
            | Q(content_type=kinds[SecondaryLogBackupTask], object_id__in=secondary_stopped),
            new_status=LogBackupStatus.STOPPING,
        ).select_related("actor").only("content_type_id", "object_id", "actor_label", "actor__username")
    } if stopped or secondary_stopped else {}
    cleanups = list(
        CleanupTask.objects.alias(end=effective_end())  # cleanup_cluster_end
        .filter(cluster=cluster, end__gte=since, status="completed", deleted_sets__gt=0)
        .order_by("ended_at").values_list("id", "ended_at")
    )
    return Facts(tasks, rounds, stoppers, cleanups, secondary_rounds, copies, failed)


def _set_text(task):
    return _("%(mode)s backup #%(pk)s completed at %(time)s") % {
        "mode": task.get_mode_display(), "pk": task.pk, "time": stamp(task.ended_at)
    }


def _why_it_ended(interval, facts, now):
    """Why restoring stops being possible after ``interval``."""
    part = ending_part(interval)
    round_ = facts.round_of(part)
    if round_ is None:
        if not part.round_ids:
            return _("A logical backup restores to its own point only."), ""
        return _("The log archive round that carried it is no longer kept."), ""
    if part.destination is not None:
        return _why_the_copy_ended(round_, part, facts, now)
    url = reverse("backups:log_detail", args=[round_.pk])
    if round_.status == LogBackupStatus.FAILED:
        return _("Log backup #%(pk)s failed at %(time)s: %(reason)s") % {
            "pk": round_.pk, "time": stamp(round_.ended_at), "reason": failure_of(round_)
        }, url
    if round_.status == LogBackupStatus.STOPPED:
        return _("Log backup #%(pk)s was stopped by %(who)s at %(time)s.") % {
            "pk": round_.pk, "who": facts.stoppers.get((LogBackupTask, round_.pk)) or _("the system"), "time": stamp(round_.ended_at)
        }, url
    return _("Log backup #%(pk)s has archived up to here (%(delay)s ago).") % {
        "pk": round_.pk, "delay": readable_delay((now - part.end).total_seconds())
    }, url


def _why_the_copy_ended(round_, part, facts, now):
    """The same, for a secondary destination's interval: its log copy's round."""
    url = reverse("backups:secondary_log_detail", args=[round_.pk])
    values = {"pk": round_.pk, "destination": round_.destination_name, "time": stamp(round_.ended_at)}
    if round_.status == LogBackupStatus.FAILED:
        return _("Secondary log backup #%(pk)s to %(destination)s failed at %(time)s: %(reason)s") % {
            **values, "reason": failure_of(round_)
        }, url
    if round_.status == LogBackupStatus.STOPPED:
        return _("Secondary log backup #%(pk)s to %(destination)s was stopped by %(who)s at %(time)s.") % {
            **values, "who": facts.stoppers.get((SecondaryLogBackupTask, round_.pk)) or _("the system")
        }, url
    return _("Secondary log backup #%(pk)s to %(destination)s has copied up to here (%(delay)s ago).") % {
        **values, "delay": readable_delay((now - part.end).total_seconds())
    }, url


def _why_it_starts(interval, facts):
    part = starting_part(interval)
    task = facts.tasks.get(part.set_ids[0]) if part.set_ids else None
    if task is None:
        return _("Recoverable from here."), ""
    copy = facts.copies.get((task.pk, part.destination)) if part.destination is not None else None
    if copy is not None:
        return _("Recoverable again from the copy of %(set)s on %(destination)s.") % {
            "set": _set_text(task), "destination": copy.destination_name
        }, reverse("backups:secondary_data_detail", args=[copy.pk])
    return _("Recoverable again from %(set)s.") % {"set": _set_text(task)}, task.get_absolute_url()


def _first_gap_text(facts, until):
    deleted = [(pk, ended) for pk, ended in facts.cleanups if ended <= until]
    if deleted:
        pk, ended = deleted[-1]
        return (_("Backup sets deleted by cleanup #%(pk)s at %(time)s.") % {"pk": pk, "time": stamp(ended)},
                reverse("backups:cleanup_detail", args=[pk]))
    return _("No backup set restores to these moments."), ""


def _between():
    """What separates two sentences: a space, none after Chinese full-width punctuation."""
    return "" if (get_language() or "").startswith("zh") else " "


def _interval_text(iv, facts):
    return _between().join(_part_text(part, facts) for part in parts_of(iv))


def _part_text(part, facts):
    backups = ", ".join(f"#{pk}" for pk in part.set_ids)
    if not part.round_ids:
        return _("Logical backup %(backups)s restores to this point only.") % {"backups": backups}
    if part.destination is None:
        return _("Backups %(backups)s with log archive round #%(round)s.") % {"backups": backups, "round": part.round_ids[-1]}
    round_ = facts.round_of(part)
    return _("Copies of backups %(backups)s on %(destination)s with secondary log backup #%(round)s.") % {
        "backups": backups, "round": part.round_ids[-1], "destination": round_.destination_name if round_ else "—"
    }


def _rows(tenant_intervals, since, now):
    """The window, oldest first: recoverable stretches and the gaps between
    them (not yet explained). The part after the newest interval is a gap
    until its round is read (``_settle``): it may still be archiving."""
    rows, cursor, previous = [], since, None
    for iv in (iv for iv in tenant_intervals if iv.end >= since):
        if iv.start > cursor:
            rows.append(Row(cursor, iv.start, "gap", before=previous, after=iv))
        rows.append(Row(iv.start, iv.end, "recoverable", after=iv))
        cursor, previous = iv.end, iv
    if previous is None:
        rows.append(Row(since, now, "gap"))
    elif cursor < now:
        rows.append(Row(cursor, now, "gap", before=previous))
    return rows


def _settle(rows, facts):
    """The newest row is "not yet archived" while the round that carries the newest interval is alive."""
    last = rows[-1] if rows else None
    if last is not None and last.after is None and last.before is not None:
        live = facts.round_of(ending_part(last.before))
        if live and live.status in LogBackupTask.ALIVE:
            last.state = "archiving"


def _explain(row, facts, now):
    """A shown row's explanation: why a gap began, what failed inside it, what ended it."""
    if row.state == "recoverable":
        return [(_interval_text(row.after, facts), "")]
    if row.before is None and row.after is None:
        return [(_("No backup set restores to any moment of this window."), "")]
    parts = [_why_it_ended(row.before, facts, now) if row.before else _first_gap_text(facts, row.after.start)]
    if row.state == "gap":
        parts += [(_("Log backup #%(pk)s also failed in this gap at %(time)s: %(reason)s") % {
            "pk": r.pk, "time": stamp(r.ended_at), "reason": failure_of(r)}, reverse("backups:log_detail", args=[r.pk]))
            for r in facts.failed_within(row.start, row.end)[:FAILED_PER_GAP]]
    if row.after is not None:
        parts.append(_why_it_starts(row.after, facts))
    return parts


@dataclass
class Draft:
    """A tenant's rows before they are explained: which are shown, and what they name."""

    tenant: object
    intervals: list
    rows: list
    shown: list  # newest first: the newest ROWS_PER_TENANT, or one page of a tenant's own view
    page: object = None


def _draft(tenant, intervals, since, now, wanted, page_number=None):
    rows = _rows(intervals, since, now)
    page = Paginator(rows[::-1], ROWS_PER_PAGE).get_page(page_number) if page_number is not None else None
    shown = list(page.object_list) if page is not None else rows[::-1][:ROWS_PER_TENANT]
    for row in shown:
        wanted.row(row)
    if rows and rows[-1].before is not None and rows[-1].after is None:
        wanted.round(ending_part(rows[-1].before))  # the tail's round: alive or not (``_settle``)
    return Draft(tenant, intervals, rows, shown, page)


ROW_HTML = ('<tr><td class="text-nowrap">{}</td><td class="text-nowrap">{}</td><td class="text-nowrap">'
            '<span class="badge rounded-pill status-badge text-bg-{}">{}</span></td><td class="small why">{}</td></tr>')


def _rows_html(rows):
    """The shown rows of a tenant's table as one piece of markup: its own view
    shows fifty, each with its times, state and explanation (a template loop
    resolved and localized every cell)."""
    zone = timezone.get_current_timezone()
    badges = {"recoverable": ("success", _("Yes")), "archiving": ("info", _("Not yet archived")), "gap": ("secondary", _("Gap"))}
    between = _between()

    def why(parts):
        return mark_safe(between.join(format_html('<a href="{}">{}</a>', url, text) if url else conditional_escape(text)
                                      for text, url in parts))

    return join_html("", ROW_HTML, ((stamp(row.start, zone), stamp(row.end, zone),
                                     *badges[row.state], why(row.parts)) for row in rows))


def _section(draft, rpo, facts, since, now):
    _settle(draft.rows, facts)
    for row in draft.shown:
        row.parts = _explain(row, facts, now)
    newest = next((iv for iv in reversed(draft.intervals) if iv.end >= since), None)
    bars, bar_count = _bars(draft.intervals, since, now)
    return {
        "tenant": draft.tenant,
        "rpo": rpo,
        "rpo_text": readable_delay(rpo.seconds) if rpo.seconds is not None else "—",
        "bars": bars,
        "bar_count": bar_count,
        "newest": newest,
        "gaps": sum(row.state == "gap" for row in draft.rows),
        "total": len(draft.rows),
        "rows": draft.shown,
        "rows_html": _rows_html(draft.shown),
        "page": draft.page,
    }


def _bars(tenant_intervals, since, now):
    """The timeline's bars (SVG rects), as shares of the window.  Written here
    as one piece of markup: a tenant has a hundred or more in 30 days, and a
    template loop would resolve and localize each number. Every value is a
    number or a formatted time, so nothing needs escaping."""
    span = (now - since).total_seconds()
    zone = timezone.get_current_timezone()
    bars = []
    for iv in tenant_intervals:
        start, end = max(iv.start, since), min(iv.end, now)
        if end < since or start > now:
            continue
        x = (start - since).total_seconds() / span * 1000
        width = max((end - start).total_seconds() / span * 1000, 2)  # a point is still seen
        bars.append(f'<rect class="timeline-interval" x="{x:.1f}" y="4" width="{width:.1f}" height="20"><title>'
                    f'{stamp(start, zone)} – {stamp(end, zone)}</title></rect>')
    return mark_safe("".join(bars)), len(bars)


def _chain_row(tasks, retention, names, link, modes):
    """One backup set: its full and incrementals (links as one piece of
    markup: twelve sets have about eighty), size, and when it expires (or
    expired): the newest backup on it plus the retention of its policy."""
    first = tasks[0]
    days = retention.get(first.set_tenant_id, retention.get(None))
    expires = tasks[-1].ended_at + timedelta(days=days) if days and first.set_expired_at is None else None
    return {
        "number": first.set_number,
        "tenant": names.get(first.set_tenant_id),
        "links": join_html(" → ", '<a class="text-nowrap" href="{}">{} #{}</a>',
                                  ((link(t.pk), modes[t.mode], t.pk) for t in tasks)),
        "size": sum(t.size_bytes for t in tasks),
        "expired_at": first.set_expired_at,
        "expires": expires,
    }


def _chain(tasks, until):
    """The backups a restore to a point of ``tasks[until]``'s chain uses: its full, then incrementals, oldest first."""
    last = tasks[until]
    return [t for t in tasks.values() if t.backup_set_id == last.backup_set_id and t.started_at <= last.started_at]


def _verdict(found, moment, facts):
    if found.recoverable:
        part = found.interval  # the one destination a restore reads
        candidates = [facts.tasks[pk] for pk in part.set_ids if pk in facts.tasks and facts.tasks[pk].ended_at <= moment]
        newest = max(candidates, key=lambda t: t.ended_at, default=None)
        used = _chain(facts.tasks, newest.pk) if newest else []
        if part.destination is None:
            sets = [(f"{t.get_mode_display()} #{t.pk}", t.get_absolute_url()) for t in used]
            rounds = [(_("log archive round #%(pk)s") % {"pk": pk}, reverse("backups:log_detail", args=[pk]))
                      for pk in part.round_ids if pk in facts.rounds]
            return {"recoverable": True, "sets": sets, "rounds": rounds, "destination": None}
        copies = [(t, facts.copies[(t.pk, part.destination)]) for t in used if (t.pk, part.destination) in facts.copies]
        sets = [(_("%(mode)s #%(pk)s (copy #%(copy)s)") % {"mode": t.get_mode_display(), "pk": t.pk, "copy": c.pk},
                 reverse("backups:secondary_data_detail", args=[c.pk])) for t, c in copies]
        rounds = [(_("secondary log round #%(pk)s") % {"pk": pk}, reverse("backups:secondary_log_detail", args=[pk]))
                  for pk in part.round_ids if pk in facts.secondary_rounds]
        destination = copies[0][1].destination_name if copies else None
        return {"recoverable": True, "sets": sets, "rounds": rounds, "destination": destination}
    if found.before is None and found.after is None:
        why = _("Nothing of this tenant can be restored: no available backup set is covered by the log archive.")
    elif found.after is None:
        why = _("This moment is after the newest recoverable moment: the log archive has not reached it.")
    elif found.before is None:
        why = _("This moment is before the oldest recoverable moment.")
    else:
        why = _("This moment falls in a gap of the log archive: no backup set and log round reach it without a break.")
    return {"recoverable": False, "why": why, "before": found.before, "after": found.after}


@require_http_methods(["GET", "HEAD"])
@permission_required("clusters.view_cluster", raise_exception=True)
def cluster_recovery(request, pk):
    cluster = get_object_or_404(Cluster, pk=pk)
    form = RestorePointForm(cluster, request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    cleaned = form.cleaned_data if form.is_bound and valid else {}
    now = timezone.now()
    days = cleaned.get("days") or 7
    since = now - timedelta(days=days)

    tenants = list(cluster.tenants.order_by("name"))
    found = kept.by_tenant(cluster.pk)
    by_tenant = {t.pk: found.get(t.pk, []) for t in tenants}
    rpo = kept.cluster_rpo(cluster.pk, now, found=found)
    chosen = cleaned.get("tenant")  # a tenant's own view: all its rows, paged
    wanted = Wanted()
    drafts = [
        _draft(t, by_tenant[t.pk], since, now, wanted, page_number=request.GET.get("page", 1) if chosen else None)
        for t in ([chosen] if chosen else tenants)
    ]
    restorable = None
    if cleaned.get("at") and chosen:
        restorable = answer(by_tenant[chosen.pk], cleaned["at"])
        if restorable.recoverable:
            wanted.answer(restorable)
    wanted.sets, older_chains = _kept_sets(cluster, since, chosen)
    facts = _facts(cluster, since, wanted)
    sections = [_section(draft, rpo[draft.tenant.pk], facts, since, now) for draft in drafts]
    verdict = None
    if restorable is not None:
        verdict = _verdict(restorable, cleaned["at"], facts)
        verdict.update(tenant=chosen, at=cleaned["at"])

    retention = dict(BackupPolicy.objects.filter(cluster=cluster, state=PolicyState.ACTIVE).values_list("tenant_id", "retention_days"))
    chains = {}
    for task in facts.tasks.values():
        if task.backup_set_id in wanted.sets:
            chains.setdefault(task.backup_set_id, []).append(task)
    names = {t.pk: t.name for t in tenants}
    modes = {value: str(label) for value, label in BackupMode.choices}
    link = one_link("backups:data_detail")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "cluster": cluster,
        "form": form,
        "days": days,
        "since": since,
        "now": now,
        "sections": sections,
        "verdict": verdict,
        "chosen": chosen,
        "between": _between(),
        "query": query.urlencode(),
        "chains": [_chain_row(chains[pk], retention, names, link, modes) for pk in wanted.sets if pk in chains],
        "older_chains": older_chains,
        "tz_name": timezone.get_current_timezone_name(),
    }
    return render(request, "backups/recovery.html", context, status=200 if valid else 400)

