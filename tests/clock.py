"""A frozen clock for tests that check a time to the second (there is no
freezegun): ``django.utils.timezone.now`` returns ``now`` inside the block.

Product code reads the clock as ``timezone.now()``, so patching the module
attribute reaches every caller.
"""

from contextlib import contextmanager
from unittest import mock

from django.utils import timezone


@contextmanager
def frozen(now=None):
    now = now or timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=now):
        yield now
