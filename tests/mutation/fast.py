"""pytest plugin of the mutation run only (setup.cfg [mutmut]: `-p tests.mutation.fast`).

mutmut runs, for each mutant, the tests that call the mutated function, in a
fresh test database, and stops at the first failure (-x).  This plugin makes
that cheap without changing which tests run or what they check:

- Most tests sign a user in, and the real password hasher (hundreds of
  thousands of PBKDF2 rounds) was most of a short test's time.  No core
  module hashes passwords.
- The focused tests (tests/test_mutants_*.py) run first, so a mutant they
  kill is known in a fraction of a second instead of after the page tests.
- On PostgreSQL (bench/mutation.sh --postgres) each process gets a test
  database of its own (test_backup_console_<pid>, as tests/run.py names
  them), so two mutants can run side by side.
"""

import os


def pytest_configure(config):
    from django.conf import settings
    from django.db import connections

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    database = connections["default"].settings_dict
    if database["ENGINE"].endswith("postgresql"):
        database.setdefault("TEST", {})["NAME"] = f"test_backup_console_{os.getpid()}"


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: "/test_mutants_" not in f"/{item.nodeid}")
