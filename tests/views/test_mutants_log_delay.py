"""The log-delay rule (backups/formats.py log_delay, readable_delay) at its
edges; written to kill mutants the rest of the suite let live (bench/mutation.sh)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from backups.formats import DEFAULT_LOG_DELAY_THRESHOLD, log_delay, readable_delay

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("seconds, text", [
    (-5, "0 s"),  # a clock skewed ahead is no delay
    (0, "0 s"),
    (0.9, "0 s"),
    (1, "1 s"),
    (59, "59 s"),
    (60, "1 min"),
    (61, "1 min 1 s"),
    (3599, "59 min 59 s"),
    (3600, "1 h"),
    (3660, "1 h 1 min"),
    (3661, "1 h 1 min"),
    (86399, "23 h 59 min"),
    (86400, "1 d"),
    (2 * 86400 + 59 * 60, "2 d"),
    (2 * 86400 + 3600, "2 d 1 h"),
    (3 * 86400 + 23 * 3600, "3 d 23 h"),
])
def test_readable_delay(seconds, text):
    assert readable_delay(seconds) == text


def task(seconds_behind, status="in_progress", threshold=None):
    policy = SimpleNamespace(log_delay_threshold_seconds=threshold) if threshold is not None else None
    return SimpleNamespace(latest_point=NOW - timedelta(seconds=seconds_behind), status=status, policy=policy)


def test_no_delay_before_the_first_point():
    assert log_delay(SimpleNamespace(latest_point=None, status="starting", policy=None), NOW) is None


def test_the_default_threshold_is_five_minutes_and_only_beyond_it_is_over():
    assert DEFAULT_LOG_DELAY_THRESHOLD == 300
    assert log_delay(task(300), NOW) == {"text": "5 min", "over": False, "threshold": "5 min"}
    assert log_delay(task(301), NOW) == {"text": "5 min 1 s", "over": True, "threshold": "5 min"}


def test_the_policy_threshold_wins():
    assert log_delay(task(90, threshold=60), NOW) == {"text": "1 min 30 s", "over": True, "threshold": "1 min"}
    assert log_delay(task(900, threshold=3600), NOW)["over"] is False


@pytest.mark.parametrize("status, over", [
    ("starting", True), ("in_progress", True), ("stopping", True), ("failed", True), ("stopped", False),
])
def test_a_stopped_backup_lags_by_design_and_is_never_flagged(status, over):
    assert log_delay(task(10 * 86400, status=status), NOW)["over"] is over
