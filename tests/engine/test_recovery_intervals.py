"""Recoverable intervals against a brute-force oracle (property-based).

Hypothesis writes random histories — log archive started, stopped and failed;
full, incremental and logical backups, some failing; cleanups deleting sets;
secondary copies of sets to two secondary destinations, and secondary log
copies started, stopped and failed there — and the test asks, moment by
moment, whether each moment can be restored to, by a rule written here from
DOMAIN.md with no interval arithmetic at all: some destination holds a set
whose whole chain is there and available, and a round of that same
destination that ran from before the set began to at least the moment.
The engine's intervals must hold exactly the moments the oracle accepts, its
answer for a moment outside them must name the nearest recoverable moments
on either side, and for a moment inside, a destination that reaches it (the
primary whenever the primary does).

A secondary log copy's rounds here open, advance and close on their own;
the real copy trails its source, but the rule must not depend on that, so
the histories do not make it.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from backups.engine.recovery import ArchiveRound, BackupSetPoint, Covering, answer, parts_of, recoverable_intervals, union

HORIZON = 60
PRIMARY = None
SECONDARY = ("s1", "s2")  # two secondary destinations

step = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 6)),
    st.tuples(st.just("log_start"), st.just(0)),
    st.tuples(st.just("log_stop"), st.just(0)),
    # A backup's arg: its duration (arg % 5), and to which secondary
    # destinations it is then copied (arg // 5: none, s1, s2, both).
    st.tuples(st.just("full"), st.integers(0, 19)),
    st.tuples(st.just("incremental"), st.integers(0, 19)),
    st.tuples(st.just("logical"), st.integers(0, 19)),
    st.tuples(st.just("failed_backup"), st.integers(0, 2)),
    st.tuples(st.just("delete_set"), st.integers(0, 30)),
    # Copy set arg // 2 to secondary destination arg % 2 (again: nothing new).
    st.tuples(st.just("copy"), st.integers(0, 59)),
    st.tuples(st.just("sec_log_start"), st.integers(0, 1)),
    st.tuples(st.just("sec_log_stop"), st.integers(0, 1)),
    st.tuples(st.just("sec_log_fail"), st.integers(0, 1)),
)


# The destinations whose log archive runs from the history's start (a round
# must be open before a set starts to carry it: without this, few histories
# would have one on a secondary destination).
running_at_start = st.sets(st.sampled_from((PRIMARY, *SECONDARY)))


def replay(steps, running=()):
    """Turn steps into what they leave behind, per destination: {destination:
    (backup sets, archive rounds)}, and the end of the history."""
    now, sets, open_round = 0, [], dict.fromkeys((PRIMARY, *SECONDARY))
    rounds = {d: [] for d in open_round}
    for d in running:
        open_round[d] = len(rounds[d])
        rounds[d].append([0, 0])
    copies = {d: set() for d in SECONDARY}  # ids of the sets copied there
    last_physical = None  # the set the next incremental builds on
    for op, arg in steps:
        if op == "wait":
            now += arg
        elif op in ("log_start", "sec_log_start"):
            d = PRIMARY if op == "log_start" else SECONDARY[arg]
            if open_round[d] is None:
                open_round[d] = len(rounds[d])
                rounds[d].append([now, now])
        elif op in ("log_stop", "sec_log_stop", "sec_log_fail"):
            # Stopped or failed alike: the round keeps its last checkpoint and a gap follows.
            open_round[PRIMARY if op == "log_stop" else SECONDARY[arg]] = None
        elif op in ("full", "incremental", "logical"):
            if op == "incremental" and last_physical is None:
                continue
            start, now = now, now + arg % 5
            parent = last_physical if op == "incremental" else None
            sets.append(BackupSetPoint(len(sets) + 1, parent, start, now, True, op == "logical"))
            if op != "logical":
                last_physical = len(sets)
            for bit, d in enumerate(SECONDARY):
                if arg // 5 & (1 << bit):
                    copies[d].add(len(sets))
        elif op == "failed_backup":
            now += arg  # a failed backup leaves no set
        elif op == "delete_set" and sets:
            victim = sets[arg % len(sets)]
            sets[victim.id - 1] = BackupSetPoint(
                victim.id, victim.parent_id, victim.replay_from, victim.restore_point, False, victim.logical
            )
        elif op == "copy" and sets:
            copies[SECONDARY[arg % 2]].add(sets[(arg // 2) % len(sets)].id)
        for d, i in open_round.items():
            if i is not None:
                rounds[d][i][1] = now  # the archive keeps up while the round runs
    made = {}
    for d in open_round:
        # A copy is the same set on another destination (same id, same chain,
        # deleted with it); its parent is there only if that was copied too.
        there = sets if d is PRIMARY else [s for s in sets if s.id in copies[d]]
        made[d] = (there, [ArchiveRound(i + 1, start, end) for i, (start, end) in enumerate(rounds[d])])
    return made, now


def oracle(sets, rounds, t):
    """Can moment t be restored to?  Straight from the rule, one set at a time."""
    by_id = {s.id: s for s in sets}

    def whole_chain_available(s):
        while s is not None:
            if not s.available:
                return False
            if s.parent_id is None:
                return True
            s = by_id.get(s.parent_id)
        return False

    for s in sets:
        if not whole_chain_available(s):
            continue
        if s.logical:
            if t == s.restore_point:
                return True
            continue
        for r in rounds:
            if r.start <= s.replay_from and s.restore_point <= t <= r.checkpoint:
                return True
    return False


def anywhere(destinations, t):
    """The oracle over every destination, each alone."""
    return any(oracle(sets, rounds, t) for sets, rounds in destinations.values())


def engine(destinations):
    return union([iv for d, (sets, rounds) in destinations.items() for iv in recoverable_intervals(sets, rounds, d)])


@settings(max_examples=400, deadline=None, report_multiple_bugs=False)
@given(running_at_start, st.lists(step, min_size=8, max_size=50), st.data())
def test_intervals_hold_exactly_the_moments_the_oracle_accepts(running, steps, data):
    destinations, end = replay(steps, running)
    intervals = engine(destinations)

    # Sorted and disjoint, with a gap between neighbours.
    for a, b in zip(intervals, intervals[1:], strict=False):
        assert a.start <= a.end < b.start <= b.end

    # Every moment on a half-unit grid (the half units fall inside gaps).
    grid = [x / 2 for x in range(-2, 2 * (end + 3))]
    accepted = {t: anywhere(destinations, t) for t in grid}
    for t in grid:
        expected = accepted[t]
        got = answer(intervals, t)
        assert got.recoverable == expected, (t, intervals)
        if expected:
            # The restore reads one destination that reaches t: the primary whenever it does.
            d = got.interval.destination
            assert got.interval.start <= t <= got.interval.end and oracle(*destinations[d], t)
            assert d is PRIMARY or not oracle(*destinations[PRIMARY], t)
        else:
            accepted_before = [u for u in grid if u < t and accepted[u]]
            accepted_after = [u for u in grid if u > t and accepted[u]]
            assert got.before == (accepted_before[-1] if accepted_before else None)
            assert got.after == (accepted_after[0] if accepted_after else None)

    # Each interval's edges are accepted and the moments just outside are not;
    # each of its parts is one destination's and holds only what that destination restores to.
    for iv in intervals:
        assert anywhere(destinations, iv.start) and anywhere(destinations, iv.end)
        assert not anywhere(destinations, iv.start - 0.5) and not anywhere(destinations, iv.end + 0.5)
        for part in parts_of(iv):
            assert not part.parts and iv.start <= part.start <= part.end <= iv.end
            assert oracle(*destinations[part.destination], part.start) and oracle(*destinations[part.destination], part.end)

    # A random moment, off the grid.
    t = data.draw(st.floats(-1, end + 1, allow_nan=False))
    assert answer(intervals, t).recoverable == anywhere(destinations, t)


def test_a_copy_counts_only_with_its_own_destination_s_rounds():
    """A set copied to a secondary destination restores there only with that
    destination's log rounds: the primary's round does not carry the copy,
    nor a secondary round the primary's set."""
    full = BackupSetPoint(1, None, 10, 12)
    primary_round, secondary_round = ArchiveRound(1, 5, 20), ArchiveRound(2, 25, 40)
    assert engine({PRIMARY: ([full], [secondary_round]), "s1": ([full], [primary_round])}) == [
        recoverable_intervals([full], [primary_round], "s1")[0]
    ]
    (joined,) = engine({PRIMARY: ([full], [primary_round]), "s1": ([full], [ArchiveRound(2, 8, 30)])})
    assert (joined.start, joined.end) == (12, 30) and [p.destination for p in joined.parts] == [PRIMARY, "s1"]
    assert answer([joined], 15).interval.destination is PRIMARY
    assert answer([joined], 25).interval.destination == "s1" and answer([joined], 25).interval.round_ids == (2,)


def test_a_restore_inside_names_the_sets_and_round_it_uses():
    full = BackupSetPoint(1, None, 10, 12)
    incremental = BackupSetPoint(2, 1, 20, 21)
    rounds = [ArchiveRound(7, 5, 40)]
    (interval,) = recoverable_intervals([full, incremental], rounds)
    assert (interval.start, interval.end) == (12, 40)
    assert interval.set_ids == (1, 2) and interval.round_ids == (7,)


def test_an_incremental_bridges_a_gap_only_while_its_full_set_is_available():
    full = BackupSetPoint(1, None, 10, 12)
    incremental = BackupSetPoint(2, 1, 30, 31)
    rounds = [ArchiveRound(1, 5, 20), ArchiveRound(2, 25, 40)]
    assert [(i.start, i.end) for i in recoverable_intervals([full, incremental], rounds)] == [(12, 20), (31, 40)]
    expired = BackupSetPoint(1, None, 10, 12, available=False)
    assert recoverable_intervals([expired, incremental], rounds) == []


def test_a_logical_backup_restores_to_its_own_point_only():
    (interval,) = recoverable_intervals([BackupSetPoint(1, None, 3, 4, logical=True)], [ArchiveRound(1, 0, 50)])
    assert (interval.start, interval.end) == (4, 4)
    nearest = answer([interval], 10)
    assert not nearest.recoverable and nearest.before == 4 and nearest.after is None


# --- Which round covers a set: any rounds, overlapping too ---------------------------

round_spans = st.lists(st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 20))), max_size=12)
set_spans = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10)), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(round_spans, set_spans)
def test_the_covering_round_is_the_furthest_reaching_of_those_covering_the_set(spans, sets):
    """``Covering`` answers by binary search what a pass over every round
    answers: of the rounds open by the set's start and archived past its
    restore point, the one reaching furthest, the first given on a tie.
    Rounds here may overlap (the histories above never make them), so an
    earlier round may reach further than a later one."""
    rounds = [ArchiveRound(n, start, None if length is None else start + length) for n, (start, length) in enumerate(spans)]
    covering = Covering(rounds)
    for n, (start, length) in enumerate(sets):
        backup_set = BackupSetPoint(n, None, start, start + length)
        candidates = [r for r in rounds if r.checkpoint is not None and r.start <= start and start + length <= r.checkpoint]
        expected = max(candidates, key=lambda r: r.checkpoint, default=None)
        assert covering(backup_set) == expected
