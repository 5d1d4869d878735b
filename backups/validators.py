"""Rules on single policy fields, kept on the model fields so that the admin
and the policy form refuse the same values with the same messages."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DIRECTORY_MAX_LENGTH = 200

# The largest numbers a policy may hold: beyond them the engine's date
# arithmetic overflows (a retention of a million days), and no real policy
# needs more.  The model puts them on its fields and in its constraints.
RETENTION_DAYS_MAX = 3650  # ten years
DATA_BACKUP_TIMEOUT_MINUTES_MAX = 7 * 24 * 60  # a week
LOG_DELAY_THRESHOLD_SECONDS_MAX = 7 * 24 * 3600  # a week
NO_BACKUP_ALERT_DAYS_MAX = 366  # a year
# A directory name: letters and digits of any script, and . _ - ~ @ + = ,
# Nothing a shell, a URI (? # %) or a path (\ and control characters) reads
# as anything but part of the name.
SAFE_NAME = re.compile(r"[\w.~@+=,-]+")


def directory_names(value):
    """The names of a storage directory, outer slashes dropped."""
    return value.strip("/").split("/")


def normalise_storage_directory(value):
    """The stored form: one leading slash, no trailing one (the engine joins
    it to the destination's root with exactly one separator)."""
    return "/" + "/".join(directory_names(value))


def _shown(char):
    if char.isprintable() and not char.isspace():
        return f"“{char}”"
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'control character').lower()})"


def validate_storage_directory(value):
    """A path under the destination's root: names joined by "/", a leading
    or trailing slash tolerated; nothing that climbs out of the root or
    that a path or URI would read differently."""
    if len(value) > DIRECTORY_MAX_LENGTH:
        raise ValidationError(
            _("A storage directory has at most %(max)s characters; this one has %(count)s.")
            % {"max": DIRECTORY_MAX_LENGTH, "count": len(value)},
            code="directory_too_long",
        )
    for char in value:
        if char != "/" and not SAFE_NAME.fullmatch(char):
            raise ValidationError(
                _("%(char)s is not allowed in a storage directory: use letters, digits and . _ - ~ @ + = , "
                  "between slashes.") % {"char": _shown(char)},
                code="directory_character",
            )
    names = directory_names(value)
    if names == [""]:
        raise ValidationError(
            _("Name a directory under the destination's root directory, e.g. /prod-cluster."), code="directory_empty"
        )
    if "" in names:
        raise ValidationError(_("A storage directory cannot contain an empty name (“//”)."), code="directory_empty_name")
    for name in names:
        if not name.strip("."):
            raise ValidationError(
                _("“%(name)s” is not allowed in a storage directory: it must stay under the destination's root "
                  "directory.") % {"name": name},
                code="directory_dots",
            )
