"""The Jinja2 environment of the list rows (templates/jinja2/).

Every page is a Django template; only the rows of the task lists, fifty
rows × ten cells on every request, are Jinja2, which renders the same loop
about three times faster.  Texts go through Django's gettext (the active
language, the same catalogue); values are escaped as in Django templates.
"""

from django.utils import translation
from jinja2 import Environment


def environment(**options):
    options.setdefault("extensions", []).append("jinja2.ext.i18n")
    env = Environment(**options)
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=True)
    return env
