"""`make run`'s process manager: honcho, given time for a clean stop.

On Ctrl-C honcho sends SIGTERM to each process's group and SIGKILLs what is
still running 5 s later.  A Celery worker's warm shutdown on the embedded
broker takes up to about 4.5 s (it finishes the 2 s poll it is in, polls once
more, then stops its timer and pool), so a busy machine tipped it over and the
worker was killed mid-stop.  The Procfile's worker runs the threads pool, so
the group's SIGTERM reaches no pool children (the prefork children died of it
and were logged as errors), and honcho waits KILL_WAIT seconds here.

Usage: ``python -m backup_console.procfile start -f Procfile`` (honcho's own
arguments).
"""

import sys

from honcho import manager
from honcho.command import main

KILL_WAIT = 20
manager.KILL_WAIT = KILL_WAIT

if __name__ == "__main__":
    sys.exit(main())
