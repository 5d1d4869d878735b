"""Recoverable intervals against a brute-force oracle (property-based).

Hypothesis writes random histories — log archive started, stopped and failed;
full, incremental and logical backups, some failing; cleanups deleting sets —
and the test asks, moment by moment, whether each moment can be restored to,
by a rule written here from DOMAIN.md with no interval arithmetic at all.
The engine's intervals must hold exactly the moments the oracle accepts, and
its answer for a moment outside them must name the nearest recoverable
moments on either side.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from backups.engine.recovery import ArchiveRound, BackupSetPoint, answer, recoverable_intervals

HORIZON = 60

step = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 6)),
    st.tuples(st.just("log_start"), st.just(0)),
    st.tuples(st.just("log_stop"), st.just(0)),
    st.tuples(st.just("full"), st.integers(0, 4)),
    st.tuples(st.just("incremental"), st.integers(0, 3)),
    st.tuples(st.just("logical"), st.integers(0, 2)),
    st.tuples(st.just("failed_backup"), st.integers(0, 2)),
    st.tuples(st.just("delete_set"), st.integers(0, 30)),
)


def replay(steps):
    """Turn steps into the backup sets and archive rounds they leave behind."""
    now, sets, rounds, open_round = 0, [], [], None
    last_physical = None  # the set the next incremental builds on
    for op, arg in steps:
        if op == "wait":
            now += arg
        elif op == "log_start" and open_round is None:
            open_round = len(rounds)
            rounds.append([now, now])
        elif op == "log_stop" and open_round is not None:
            open_round = None  # the round keeps its last checkpoint: a gap follows
        elif op in ("full", "incremental", "logical"):
            if op == "incremental" and last_physical is None:
                continue
            start, now = now, now + arg
            parent = last_physical if op == "incremental" else None
            sets.append(BackupSetPoint(len(sets) + 1, parent, start, now, True, op == "logical"))
            if op != "logical":
                last_physical = len(sets)
        elif op == "failed_backup":
            now += arg  # a failed backup leaves no set
        elif op == "delete_set" and sets:
            victim = sets[arg % len(sets)]
            sets[victim.id - 1] = BackupSetPoint(
                victim.id, victim.parent_id, victim.replay_from, victim.restore_point, False, victim.logical
            )
        if open_round is not None:
            rounds[open_round][1] = now  # the archive keeps up while the round runs
    return sets, [ArchiveRound(i + 1, start, end) for i, (start, end) in enumerate(rounds)], now


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


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40), st.data())
def test_intervals_hold_exactly_the_moments_the_oracle_accepts(steps, data):
    sets, rounds, end = replay(steps)
    intervals = recoverable_intervals(sets, rounds)

    # Sorted and disjoint, with a gap between neighbours.
    for a, b in zip(intervals, intervals[1:], strict=False):
        assert a.start <= a.end < b.start <= b.end

    # Every moment on a half-unit grid (the half units fall inside gaps).
    grid = [x / 2 for x in range(-2, 2 * (end + 3))]
    for t in grid:
        expected = oracle(sets, rounds, t)
        got = answer(intervals, t)
        assert got.recoverable == expected, (t, intervals)
        if not expected:
            accepted_before = [u for u in grid if u < t and oracle(sets, rounds, u)]
            accepted_after = [u for u in grid if u > t and oracle(sets, rounds, u)]
            assert got.before == (accepted_before[-1] if accepted_before else None)
            assert got.after == (accepted_after[0] if accepted_after else None)

    # Each interval's edges are accepted and the moments just outside are not.
    for iv in intervals:
        assert oracle(sets, rounds, iv.start) and oracle(sets, rounds, iv.end)
        assert not oracle(sets, rounds, iv.start - 0.5) and not oracle(sets, rounds, iv.end + 0.5)

    # A random moment, off the grid.
    t = data.draw(st.floats(-1, end + 1, allow_nan=False))
    assert answer(intervals, t).recoverable == oracle(sets, rounds, t)


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
