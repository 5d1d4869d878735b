"""What the cluster page shows of its charts (backups/engine/cluster_charts.py):
the numbers the charts draw (json_script, drawn by static/console/charts.js)
and the same numbers for the tables under them, rounded once here so the
chart and its table cannot disagree, and each destination's forecast in
words."""

from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from backup_console.lists import join_html, one_link
from backups.engine import cluster_charts as charts

GIB = 2**30


def gib(size):
    return round(size / GIB, 2)


def minutes(seconds):
    return round(seconds / 60, 1)


def clock(moment, zone=None):
    """A moment as the charts' time axis reads it: local wall-clock time (in
    ``zone``, the current time zone looked up once by a caller of many)."""
    return moment.astimezone(zone or timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")


def window_days(request):
    """The window the page shows: ?days=90, or 30 for anything else."""
    value = request.GET.get("days", "")
    return int(value) if value in {str(days) for days in charts.WINDOWS} else charts.WINDOWS[0]


def forecast_text(forecast, horizon=charts.HORIZON_DAYS):
    """A destination's forecast in words."""
    if forecast.state == charts.FILLS:
        return ngettext("full on %(date)s, in %(days)d day, at this trend",
                        "full on %(date)s, in %(days)d days, at this trend", forecast.days) % {
            "date": formats.date_format(forecast.on, "Y-m-d"), "days": forecast.days}
    return {
        charts.FULL: gettext("full now"),
        charts.NOT_WITHIN: ngettext("not full within %(days)d day at this trend",
                                    "not full within %(days)d days at this trend", horizon) % {"days": horizon},
        charts.NO_GROWTH: gettext("no growth: not filling at this trend"),
        charts.NO_CAPACITY: gettext("no capacity set: no forecast"),
        charts.NO_DATA: gettext("nothing stored in this window: no forecast"),
    }[forecast.state]


class ClusterChartsPage:
    """The charts of ``cluster_charts.ClusterCharts`` for the template."""

    def __init__(self, data):
        self.data = data
        self.days = data.days
        self.windows = charts.WINDOWS
        zone = timezone.get_current_timezone()
        self.runs = [{"pk": run.pk, "at": clock(run.started_at, zone), "mode": run.mode, "minutes": minutes(run.seconds),
                      "gib": gib(run.size_bytes)} for run in data.runs]
        self.delays = [{"at": clock(hour, zone), "minutes": minutes(seconds)} for hour, seconds in data.delays]
        self.day_labels = [day.strftime("%Y-%m-%d") for day in data.day_list]
        self.storage = [{
            "name": use.destination.name,
            "gib": [gib(size) for size in use.used],
            "capacity": gib(use.destination.capacity_bytes) if use.destination.capacity_bytes else None,
            "now": gib(use.used[-1]),
            "forecast": forecast_text(use.forecast),
            "state": use.forecast.state,
        } for use in data.storage]

    # The tables' rows, as markup made here: a 90-day window has up to 2,160
    # hourly delays, and a template loop would resolve and localize each
    # number (the numbers are plain decimals in both languages).

    def run_rows(self):
        detail = one_link("backups:data_detail")
        labels = {"full": gettext("Full"), "incremental": gettext("Incremental")}
        return join_html("", '<tr><td><a href="{}">#{}</a></td><td class="text-nowrap">{}</td>'
                             "<td>{}</td><td>{}</td><td>{}</td></tr>",
                         ((detail(run["pk"]), run["pk"], run["at"], labels.get(run["mode"], run["mode"]),
                           run["minutes"], run["gib"]) for run in self.runs))

    def delay_rows(self):
        return join_html("", '<tr><td class="text-nowrap">{}</td><td>{}</td></tr>',
                         ((row["at"], row["minutes"]) for row in self.delays))

    def storage_rows(self):
        """The storage table's rows: a day, then GiB per destination, oldest first."""
        cells = [join_html("", "<td>{}</td>", ((use["gib"][n],) for use in self.storage)) for n in range(len(self.day_labels))]
        return join_html("", '<tr><td class="text-nowrap">{}</td>{}</tr>', zip(self.day_labels, cells, strict=True))

    @property
    def chart_data(self):
        def series(mode, field):
            return [[run["at"], run[field]] for run in self.runs if run["mode"] == mode]

        return {
            "duration": {"full": series("full", "minutes"), "incremental": series("incremental", "minutes")},
            "size": {"full": series("full", "gib"), "incremental": series("incremental", "gib")},
            "delay": [[row["at"], row["minutes"]] for row in self.delays],
            "days": self.day_labels,
            "storage": [{"name": use["name"], "gib": use["gib"], "capacity": use["capacity"]} for use in self.storage],
            "labels": {
                "full": gettext("Full"), "incremental": gettext("Incremental"),
                "minutes": gettext("Duration (min)"), "gib": gettext("Size (GiB)"),
                "delay": gettext("Largest delay (min)"), "used": gettext("Used (GiB)"),
                "capacity": gettext("Capacity"),
            },
        }
