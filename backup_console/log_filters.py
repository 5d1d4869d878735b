"""Filters for the LOGGING setting."""

import logging


class ForbiddenInOneLine(logging.Filter):
    """A 403 is an ordinary answer (a viewer pressed what it may not): log its
    one WARNING line from ``django.request``, without the PermissionDenied
    traceback Django attaches to it."""

    def filter(self, record):
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
