"""Mutation testing of the core (issue 10), outside `make test`.

    bash bench/mutation.sh              # the core, on the embedded SQLite (about 30 min with 2 children)
    bash bench/mutation.sh --postgres   # the code only PostgreSQL runs (1 child per core, its own test databases)
    bash bench/mutation.sh --score      # print the score of the last runs again

mutmut 3 (requirements-mutation.txt; its settings, and which tests run, are the
[mutmut] section of setup.cfg) copies the project into ./mutants/, mutates the
functions in SCOPE below, and for each mutant runs the tests that call the
mutated function; a mutant is killed when one of them fails.

The score is killed / mutants in scope, by area.  Each run keeps its results
in var/mutation-<database>.json; the score merges the runs made on the current
sources (a mutant of ``transition`` killed on either database is killed).
Survivors are listed, those known to be equivalent (no test can tell them from
the original) with the reason; see one with `.venv/bin/mutmut show NAME`.

MUTATION_CHILDREN (default 2) sets how many mutants run at once.
"""

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
CORE_FILES = ["backups/engine/transitions.py", "backups/timerange.py", "backups/paging.py",
              "backups/views/actions.py", "backups/engine/simulation.py", "backups/formats.py"]

# The core, as mutmut names its mutants: module.x_function or module.xǁClassǁmethod.
AREAS = {
    "transitions": ["backups.engine.transitions.*"],
    "timerange": ["backups.timerange.*"],
    "paging": ["backups.paging.*"],
    "actions guards": [
        "backups.views.actions.x_is_safe__mutmut_*",
        "backups.views.actions.x__back__mutmut_*",
        "backups.views.actions.x__back_to_list_data__mutmut_*",
        "backups.views.actions.x__unknown_params__mutmut_*",
        "backups.views.actions.x_act__mutmut_*",
    ],
    "sweeper": ["backups.engine.simulation.x_sweep_lost_tasks__mutmut_*"],
    "log delay": ["backups.formats.x_log_delay__mutmut_*", "backups.formats.x_readable_delay__mutmut_*"],
}
# What only PostgreSQL runs: the one-statement move, and the GiST-shaped AliveAt.
POSTGRES_ONLY = [
    "backups.engine.transitions.x__plain__mutmut_*",
    "backups.engine.transitions.x__move_in_one_statement__mutmut_*",
    "backups.timerange.xǁAliveAtǁas_postgresql__mutmut_*",
]
# Each run's mutants.  transition() chooses the path by database, so it is in both.
SCOPE = {
    "sqlite": [p for patterns in AREAS.values() for p in patterns],
    "postgres": ["backups.engine.transitions.x_transition__mutmut_*", *POSTGRES_ONLY],
}

# Mutants no test can tell from the original: (a fragment of the mutated line, why).
# A fragment that no longer matches (the code moved) drops the entry: the mutant is then
# reported as a plain survivor, to be looked at again.
EQUIVALENT = {
    "backups.engine.transitions.x__move_step_by_step__mutmut_1": (
        "atomic(None)", "one database: None is the default alias"),
    "backups.engine.transitions.x__move_step_by_step__mutmut_4": (
        "len(MOVES[model.KIND]) + 2", "one more retry of a move that keeps losing races; no test can race it forever"),
    "backups.engine.transitions.x__move_step_by_step__mutmut_11": ("using(None)", "one database"),
    "backups.engine.transitions.x__move_step_by_step__mutmut_26": ("using(None)", "one database"),
    "backups.engine.transitions.x__move_step_by_step__mutmut_34": ("using(None)", "one database"),
    "backups.engine.transitions.x_transition__mutmut_30": (
        'setdefault("ended_at", )', "setdefault(key) stores None, as the original does"),
    "backups.engine.transitions.x_transition__mutmut_75": ("db_for_write(None)", "no database router"),
    "backups.engine.transitions.x_transition__mutmut_98": ("_move_step_by_step(None,", "one database"),
    "backups.engine.transitions.x_record_created__mutmut_15": (
        'cluster_id=task.cluster_id,\n        new_status', "old_status defaults to the empty string"),
    "backups.engine.simulation.x_sweep_lost_tasks__mutmut_46": (
        "expect=None", "sources(kind, 'failed') is already exactly the running status"),
    "backups.engine.simulation.x_sweep_lost_tasks__mutmut_54": (
        'actor_label="sweeper",\n                           now=now', "the same: expect adds nothing here"),
    "backups.engine.simulation.x_sweep_lost_tasks__mutmut_106": (
        "values_list(\n        flat=True", "values_list(flat=True) yields the first column, the pk"),
    "backups.engine.simulation.x_sweep_lost_tasks__mutmut_119": (
        "filter(pk=pk, ).update", "only a cleanup started between the sweeper's read and write differs"),
    "backups.timerange.x_effective_end__mutmut_5": ("output_field=None)", "Coalesce infers DateTimeField"),
    "backups.timerange.x_effective_end__mutmut_8": ("DateTimeField()), )", "Coalesce infers DateTimeField"),
    "backups.timerange.x_effective_end__mutmut_10": ("Value(FAR_FUTURE, output_field=None)",
                                                     "Value infers DateTimeField from a datetime"),
    "backups.timerange.x_effective_end__mutmut_12": ("Value(FAR_FUTURE, )", "Value infers DateTimeField"),
    "backups.timerange.xǁAliveAtǁ__init____mutmut_10": ("Value(moment, output_field=None)",
                                                         "Value infers DateTimeField from a datetime"),
    "backups.timerange.xǁAliveAtǁ__init____mutmut_12": ("Value(moment, )", "Value infers DateTimeField"),
    "backups.timerange.xǁWindowǁq__mutmut_7": ("q = Q(", "q is still the empty Q() there"),
    "backups.timerange.xǁWindowǁq__mutmut_8": ("q |= Q(", "q is still the empty Q() there"),
    "backups.timerange.xǁDateOrDateTimeFieldǁ__init____mutmut_9": (
        '"required", None', "django-filter always passes required=False"),
    "backups.timerange.xǁDateOrDateTimeFieldǁ__init____mutmut_11": (
        'setdefault("required", )', "django-filter always passes required=False"),
    "backups.timerange.xǁDateOrDateTimeFieldǁ__init____mutmut_14": (
        '"required", True', "django-filter always passes required=False"),
    "backups.timerange.xǁDateOrDateTimeFieldǁto_python__mutmut_17": (
        'replace("XX XX"', "parse_datetime accepts a space between date and time itself"),
    "backups.timerange.xǁTimeRangeFilterSetǁfilter_window__mutmut_6": (
        '"_outside_window", None', "None and False are both false"),
    "backups.timerange.xǁTimeRangeFilterSetǁwindow_parts__mutmut_7": (
        'lstrip("XX-XX")', "strips the same '-' (field names have no X)"),
    "backups.timerange.xǁTimeRangeFilterSetǁwindow_parts__mutmut_19": (
        "self._outside_window = None", "None and False are both false"),
    "backups.paging.xǁPageǁpage_range__mutmut_12": ("max(2, self.number - 2)", "page 1 is always in the set"),
    "backups.paging.xǁPageǁpage_range__mutmut_24": ("shown, previous = [], 1", "the first page is always 1"),
    "backups.paging.xǁPartsQueryǁ__init____mutmut_5": ('lstrip("XX-XX")', "strips the same '-'"),
    "backups.paging.xǁPartsQueryǁ_union__mutmut_16": ('" union all "', "SQL keywords are case-insensitive"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_3": (
        '"K_ID"', "SQLite identifiers are case-insensitive (PostgreSQL's are not: killed there)"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_10": ("and False", "ORDER BY k1 (the id) instead of k_id (the id)"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_12": ('"XXk_idXX" if', "the id under another alias"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_13": ('"K_ID" if', "the id under another alias"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_15": ('("XXidXX", "pk")', "the id under another alias"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_16": ('("ID", "pk")', "the id under another alias"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_17": ('("id", "XXpkXX")', "the lists order by id, not pk"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_18": ('("id", "PK")', "the lists order by id, not pk"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_28": ('"desc"', "SQL keywords are case-insensitive"),
    "backups.paging.xǁPartsQueryǁpage_ids__mutmut_30": ('"asc"', "SQL keywords are case-insensitive"),
    "backups.paging.xǁPartsQueryǁcapped_total__mutmut_4": ("ordered=None", "None and False are both false"),
    "backups.paging.xǁPartsQueryǁcapped_total__mutmut_8": ('{"XXk_idXX"', "the count selects 1, not the column"),
    "backups.paging.xǁPartsQueryǁcapped_total__mutmut_9": ('{"K_ID"', "the count selects 1, not the column"),
    "backups.paging.xǁPartsQueryǁcapped_total__mutmut_18": (
        "output_field=None", "a COUNT is an integer on both databases"),
    "backups.paging.xǁPartsQueryǁcapped_total__mutmut_21": (
        "params,\n                      )", "a COUNT is an integer on both databases"),
}

KILLED, TIMEOUT = {1, 3}, {24, -24, 36, 152, 255}
NAMES = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}
RANK = {"killed": 0, "timeout": 1, "survived": 2}


def status_of(code):
    return "killed" if code in KILLED else "timeout" if code in TIMEOUT else NAMES.get(code, f"exit {code}")


def sources_hash():
    digest = hashlib.sha256()
    for name in CORE_FILES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def in_scope(name, patterns):
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def save(database):
    """The last run's results (from mutmut's files in mutants/) into var/mutation-<database>.json."""
    found = {}
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        found.update(json.loads(meta.read_text())["exit_code_by_key"])
    results = {name: code for name, code in found.items() if in_scope(name, SCOPE[database])
               and not (database == "sqlite" and in_scope(name, POSTGRES_ONLY))}
    path = ROOT / "var" / f"mutation-{database}.json"
    path.write_text(json.dumps({"sources": sources_hash(), "results": results}, indent=0, sort_keys=True))


def load():
    """{mutant: (status, database)} merged over the runs made on the current sources."""
    merged, current = {}, sources_hash()
    for database in SCOPE:
        path = ROOT / "var" / f"mutation-{database}.json"
        if not path.exists():
            continue
        saved = json.loads(path.read_text())
        if saved["sources"] != current:
            print(f"(var/mutation-{database}.json is of other sources: run it again)")
            continue
        for name, code in saved["results"].items():
            status = status_of(code)
            if name not in merged or RANK.get(status, 9) < RANK.get(merged[name][0], 9):
                merged[name] = (status, database)
    return merged


def mutant_source(name):
    """The mutated function's source, from mutants/ (None if absent)."""
    module, function = name.rsplit(".", 1)
    path = ROOT / "mutants" / (module.replace(".", "/") + ".py")
    lines = path.read_text().splitlines() if path.exists() else []
    for number, line in enumerate(lines):
        if line.lstrip().startswith(f"def {function}("):
            indent = len(line) - len(line.lstrip())
            body = [line]
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            return "\n".join(body)
    return None


def equivalent(name):
    fragment, reason = EQUIVALENT.get(name, (None, None))
    source = mutant_source(name) if fragment else None
    return reason if source and fragment in source else None


def score():
    merged = load()
    if not merged:
        print("No results: run bash bench/mutation.sh first.")
        return 1
    rows = {area: defaultdict(list) for area in AREAS}
    for name, (status, _database) in merged.items():
        for area, patterns in AREAS.items():
            if in_scope(name, patterns):
                rows[area][status].append(name)
                break
    print(f"\n{'area':16} {'killed':>7} {'timeout':>7} {'survived':>8} {'other':>6} {'total':>6}   score"
          f"  {'equivalent':>10}  score without them")
    totals = defaultdict(int)
    survivors = []
    for area, statuses in rows.items():
        row = {key: len(statuses.get(key, [])) for key in ("killed", "timeout", "survived")}
        row["total"] = sum(len(names) for names in statuses.values())
        row["other"] = row["total"] - row["killed"] - row["timeout"] - row["survived"]
        alive = [name for status, names in statuses.items() if status not in ("killed", "timeout") for name in names]
        row["equivalent"] = sum(1 for name in alive if equivalent(name))
        survivors += [(name, merged[name][0]) for name in alive]
        for key, value in row.items():
            totals[key] += value
        print(_line(area, row))
    print(_line("all", totals))
    print("score = (killed + timeout) / total; a timeout is a mutant the tests stopped (e.g. an endless loop).")
    missing = [database for database in SCOPE if not (ROOT / "var" / f"mutation-{database}.json").exists()]
    if missing:
        print(f"Not run yet on: {', '.join(missing)} (its mutants count as not checked above).")
    if survivors:
        print(f"\n{len(survivors)} not killed (see one with: .venv/bin/mutmut show NAME):")
        for name, status in sorted(survivors, key=lambda item: (_function(item[0]), _number(item[0]))):
            reason = equivalent(name)
            print(f"  {status:11} {name}" + (f"  [equivalent: {reason}]" if reason else ""))
    return 0


def _function(name):
    return re.sub(r"__mutmut_\d+$", "", name)


def _number(name):
    return int(name.rsplit("_", 1)[-1])


def _line(area, row):
    detected, total = row["killed"] + row["timeout"], row["total"]
    percent = 100.0 * detected / total if total else 0.0
    adjusted = 100.0 * detected / (total - row["equivalent"]) if total > row["equivalent"] else 0.0
    return (f"{area:16} {row['killed']:7} {row['timeout']:7} {row['survived']:8} {row['other']:6} {total:6}"
            f"  {percent:5.1f}%  {row['equivalent']:10}  {adjusted:5.1f}%")


def run(database, env, children):
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # mutmut would reuse a stale copy
    (ROOT / "var").mkdir(exist_ok=True)
    subprocess.run([sys.executable, "manage.py", "compile_catalogues"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = ROOT / "var" / f"mutation-{database}.log"
    print(f"mutmut run on {database}, {children} children, {len(SCOPE[database])} function patterns; "
          f"progress in {log.relative_to(ROOT)}", flush=True)
    with open(log, "w") as out:
        done = subprocess.run([str(MUTMUT), "run", "--max-children", str(children), *SCOPE[database]],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        print(log.read_text()[-3000:])
        sys.exit(f"mutmut failed (exit {done.returncode}); see {log}")
    save(database)


def main(args):
    if "--score" not in args:
        database = "postgres" if "--postgres" in args else "sqlite"
        # The embedded defaults: no real services, and CI unset (in CI a missing
        # service fails a test instead of skipping it).
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "CI", "REDIS_URL", "CELERY_BROKER_URL", "TEST_DATABASE_NAME")}
        env["DJANGO_SETTINGS_MODULE"] = "backup_console.settings"
        # Tests run with DEBUG off, where the settings demand a key (as tests/run.py gives one).
        env.setdefault("SECRET_KEY", "mutation-run-only-" + hashlib.sha256(os.urandom(16)).hexdigest())
        if database == "postgres":
            env["DATABASE_URL"] = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/backup_console")
        run(database, env, int(os.environ.get("MUTATION_CHILDREN", "2")))
    return score()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
