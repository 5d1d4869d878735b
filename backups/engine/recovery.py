"""Recoverable intervals: to which moments can a tenant be restored?

The rule, as the real system states it (shared/DOMAIN.md, "Restore"): a
physical backup set restores to any moment from its own restore point to the
newest checkpoint of the log archive round that has run, without a gap, since
before the set began (replay starts at the set's start).  A set is usable
only with every set it builds on: an incremental needs its previous
incremental and so on down to its full set, all available.  A logical backup
restores to its own point only.  A tenant's recoverable moments are the union
of what each usable set gives; the union is kept as sorted, disjoint
intervals, each remembering the sets and the round that make it.

Secondary backups copy sets and log to a second destination.  Each
destination is a backup source of its own, as the real system keeps it
(shared/DOMAIN.md): the secondary data copy of each successful data backup
sits there, and the secondary log copy archives there in rounds of its own —
"always on with its own cycle", opened when it starts, advanced while it
copies, closed with a gap when it is stopped or fails, whatever the primary
round does.  A restore reads the sets and archive pieces of one source, so
a set counts only with the rounds of its own destination: a secondary copy
of a set with the secondary log rounds, never with the primary's (and the
other way round).  Mixing them would claim moments a real restore of either
source refuses.  A tenant's recoverable moments are the union over its
destinations (``union``); where two destinations both reach a moment, the
primary is the one a restore uses (``part_at``).

This module is pure (no Django, no database): the engine feeds it the sets
and rounds of one tenant, and the property-based test
(tests/engine/test_recovery_intervals.py) checks it against a brute-force
oracle moment by moment.  Any comparable values work as moments (datetimes
in the engine, integers in the test).
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple


class BackupSetPoint(NamedTuple):
    """What recovery needs to know of one backup set.  A named tuple, as
    ArchiveRound: the engine makes one per kept set and round, twice per
    cluster page (the cleanup preview's before and after), and a frozen
    dataclass costs several times a tuple to make."""

    id: int
    # The set it builds on: None for a full set; for an incremental, the
    # previous incremental or, for the first one, the full set.
    parent_id: int | None
    # Replay starts here (the set's start) and the set is consistent from
    # ``restore_point`` (its end): the earliest moment it restores to.
    replay_from: object
    restore_point: object
    available: bool = True
    logical: bool = False


class ArchiveRound(NamedTuple):
    """One round of continuous log archive: from ``start`` to ``checkpoint``
    (the newest archived moment; None while nothing is archived yet)."""

    id: int
    start: object
    checkpoint: object | None


@dataclass(frozen=True)
class Interval:
    """Recoverable from ``start`` to ``end``, both included."""

    start: object
    end: object
    # The sets (ids) whose restore point opens a part of this interval and
    # the rounds that carry it, in order: what a restore inside would use.
    set_ids: tuple = field(default=())
    round_ids: tuple = field(default=())
    # Where those sets and rounds are: None for the primary destination, or
    # the key of a secondary one.
    destination: object = None
    # Set when the interval joins pieces of several destinations (``union``):
    # those pieces, by start; its own ids are then empty — what a restore
    # uses depends on the moment (``part_at``).
    parts: tuple = field(default=())


def usable(sets):
    """The sets whose whole chain down to the full set is available."""
    by_id = {s.id: s for s in sets}
    ok = {}

    def chain_ok(backup_set):
        path, current = [], backup_set
        while True:
            if current.id in ok:
                result = ok[current.id]
                break
            if not current.available or current in path:  # unavailable, or a cycle
                result = False
                break
            path.append(current)
            if current.parent_id is None:
                result = True
                break
            current = by_id.get(current.parent_id)
            if current is None:  # builds on a set that is gone
                result = False
                break
        for s in path:
            ok[s.id] = result
        return result

    return [s for s in sets if chain_ok(s)]


class Covering:
    """Which round covers a set, for many sets: of the rounds that archived
    without a gap from the set's start to its restore point, the one that
    reaches furthest (the first given, on a tie), or None.  The rounds are
    sorted by start once, each position remembering the furthest-reaching
    round so far, so a set costs a binary search, not a pass over the rounds
    (the cluster page asks this for every kept set)."""

    def __init__(self, rounds):
        archived = sorted(((r.start, n, r) for n, r in enumerate(rounds) if r.checkpoint is not None),
                          key=lambda item: (item[0], item[1]))
        self.starts = [start for start, _, _ in archived]
        self.furthest = []
        best = None  # (checkpoint, -position, round)
        for _, n, r in archived:
            if best is None or (r.checkpoint, -n) > best[:2]:
                best = (r.checkpoint, -n, r)
            self.furthest.append(best[2])

    def __call__(self, backup_set):
        i = bisect_right(self.starts, backup_set.replay_from) - 1
        if i < 0:
            return None
        r = self.furthest[i]  # of the rounds started by then, the furthest-reaching
        return r if backup_set.restore_point <= r.checkpoint else None


def recoverable_intervals(sets, rounds, destination=None):
    """Sorted, disjoint intervals of the moments these sets and rounds (of one
    destination) restore to."""
    pieces = []
    covering = Covering(rounds)
    for s in usable(sets):
        if s.logical:
            pieces.append(Interval(s.restore_point, s.restore_point, (s.id,), (), destination))
            continue
        r = covering(s)
        if r is not None:
            pieces.append(Interval(s.restore_point, r.checkpoint, (s.id,), (r.id,), destination))
    return merge(pieces)


def merge(pieces):
    merged = []
    for piece in sorted(pieces, key=lambda p: (p.start, p.end)):
        if merged and piece.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(
                last.start,
                max(last.end, piece.end),
                last.set_ids + tuple(i for i in piece.set_ids if i not in last.set_ids),
                last.round_ids + tuple(i for i in piece.round_ids if i not in last.round_ids),
                last.destination,
            )
        else:
            merged.append(piece)
    return merged


def parts_of(interval):
    """The one-destination intervals an interval is made of."""
    return interval.parts or (interval,)


def union(intervals):
    """Sorted, disjoint intervals of the moments any of ``intervals`` (each of
    one destination, those of a destination disjoint) restores to: where
    pieces of different destinations overlap or touch, one interval whose
    ``parts`` are those pieces."""
    joined = []
    for piece in sorted(intervals, key=lambda p: (p.start, p.end)):
        if joined and piece.start <= joined[-1].end:
            last = joined[-1]
            joined[-1] = Interval(last.start, max(last.end, piece.end), parts=parts_of(last) + (piece,))
        else:
            joined.append(piece)
    return joined


def part_at(interval, moment):
    """The one-destination part of ``interval`` a restore to ``moment`` uses:
    the primary destination's when it reaches the moment, else the first
    secondary one that does."""
    holding = [p for p in parts_of(interval) if p.start <= moment <= p.end]
    return min(holding, key=lambda p: p.destination is not None, default=None)


def ending_part(interval):
    """The part that carries ``interval`` to its end (the primary's on a
    tie): what explains why restoring stops after it."""
    ending = [p for p in parts_of(interval) if p.end == interval.end]
    return min(ending, key=lambda p: p.destination is not None)


def starting_part(interval):
    """The part that opens ``interval`` (the primary's on a tie)."""
    starting = [p for p in parts_of(interval) if p.start == interval.start]
    return min(starting, key=lambda p: p.destination is not None)


@dataclass(frozen=True)
class Answer:
    """"Can I restore to T?": the interval a restore to T uses (of one
    destination: its sets and rounds), or the nearest moments."""

    recoverable: bool
    interval: Interval | None = None
    before: object | None = None  # the newest recoverable moment before T
    after: object | None = None  # the oldest recoverable moment after T


def answer(intervals, moment):
    """Look T up in sorted, disjoint intervals (as ``recoverable_intervals`` or ``union`` gives)."""
    i = bisect_right([iv.start for iv in intervals], moment) - 1
    if i >= 0 and moment <= intervals[i].end:
        return Answer(True, part_at(intervals[i], moment))
    before = intervals[i].end if i >= 0 else None
    after = intervals[i + 1].start if i + 1 < len(intervals) else None
    return Answer(False, None, before, after)
