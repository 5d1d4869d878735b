"""The settings' embedded/real switch, migrations in sync, and a clean
`check --deploy` for the production configuration (issue 2)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.services import require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
from backup_console.celery import app
connection.ensure_connection()
with app.connection_for_write() as conn:
    conn.ensure_connection(max_retries=1)
    transport = conn.transport_cls
print(json.dumps({"vendor": connection.vendor, "broker": settings.CELERY_BROKER_URL, "transport": str(transport)}))
"""


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def clean_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "HTTPS", "DEBUG", "SECRET_KEY"}}
    env["DJANGO_SETTINGS_MODULE"] = "backup_console.settings"
    env.update(overrides)
    return env


def keyed_env(**overrides):
    """A clean environment with a SECRET_KEY, as every deployment has (DEBUG=0 refuses to start without one)."""
    return clean_env(SECRET_KEY=secrets.token_urlsafe(50), **overrides)


def probe(env):
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_unset_environment_uses_embedded_sqlite_and_filesystem_broker(tmp_path):
    found = probe(keyed_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path)))
    assert found["vendor"] == "sqlite"
    assert found["broker"] == "filesystem://"
    assert (tmp_path / "db.sqlite3").exists()
    assert (tmp_path / "celery-broker").is_dir()


def test_environment_switches_to_postgresql_and_redis(tmp_path, db):
    require_postgres()
    redis_url = require_redis()
    from django.db import connection

    s = connection.settings_dict
    database_url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    found = probe(keyed_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path), DATABASE_URL=database_url, CELERY_BROKER_URL=redis_url))
    assert found["vendor"] == "postgresql"
    assert found["broker"] == redis_url
    assert "redis" in found["transport"].lower()
    assert not (tmp_path / "db.sqlite3").exists()


def test_migrations_match_models(tmp_path):
    result = run_manage("makemigrations", "--check", "--dry-run", env=keyed_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    env = clean_env(
        BACKUP_CONSOLE_VAR_DIR=str(tmp_path),
        HTTPS="1",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="console.example.com",
    )
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_a_missing_secret_key(tmp_path):
    result = run_manage("check", env=clean_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path), HTTPS="1"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_no_secret_key_outside_development_is_refused(tmp_path):
    """Only DEBUG=1 (development, `make run`) may fall back to the public
    development key; DEBUG=0, or DEBUG left unset, is a deployment."""
    for debug in ({"DEBUG": "0"}, {}):
        result = run_manage("check", env=clean_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path), **debug))
        assert result.returncode != 0, debug
        assert "SECRET_KEY must be set" in result.stderr, debug
        assert "DEBUG=1" in result.stderr  # the message says how to run without one on a laptop
    result = run_manage("check", env=clean_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path), DEBUG="1"))
    assert result.returncode == 0, result.stderr


def test_bad_boolean_setting_is_a_clear_error(tmp_path):
    result = run_manage("check", env=clean_env(BACKUP_CONSOLE_VAR_DIR=str(tmp_path), DEBUG="maybe"))
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def settings_variables():
    """Every environment variable backup_console/settings.py reads."""
    import re

    source = (ROOT / "backup_console" / "settings.py").read_text()
    return set(re.findall(r'(?:environ(?:\.get)?[\[(]|env_\w+\()"([A-Z][A-Z0-9_]+)"', source))


def test_the_readme_names_every_setting_the_settings_read():
    readme = (ROOT / "README.md").read_text()
    table = {line.split("|")[1].strip().strip("`") for line in readme.splitlines() if line.startswith("| `")}
    found = settings_variables()
    assert len(found) >= 20  # the pattern still finds the settings' reads
    assert found - table == set(), "settings read these, the README's configuration table lacks them"


def test_every_runtime_dependency_is_imported_somewhere():
    """A pinned package nothing imports is dead weight.  honcho and gunicorn
    are commands (make run, the deployment); kombu's Redis transport imports
    redis when CELERY_BROKER_URL is redis://, and Django's PostgreSQL backend
    psycopg2 when DATABASE_URL is postgres://."""
    import re

    commands = {"honcho", "gunicorn", "redis", "psycopg2-binary"}
    # Pinned because a library loads it by name: tablib's XLSX format is openpyxl.
    engines = {"openpyxl": "tablib"}
    imports = {  # distribution name -> the module it is imported as
        "django": "django", "django-filter": "django_filters", "django-tables2": "django_tables2",
        "jinja2": "jinja2", "django-celery-beat": "django_celery_beat", "celery": "celery", "kombu": "kombu",
        "dj-database-url": "dj_database_url", "prometheus-client": "prometheus_client",
        "whitenoise": "whitenoise", "polib": "polib", "django-axes": "axes", "django-csp": "csp",
        "django-htmx": "django_htmx", "django-template-partials": "template_partials",
        "tablib[xlsx]": "tablib",
    }
    pinned = [line.split("==")[0].strip().lower() for line in (ROOT / "requirements.txt").read_text().splitlines()
              if "==" in line]
    sources = "\n".join(path.read_text() for folder in ("backup_console", "backups", "clusters")
                        for path in (ROOT / folder).rglob("*.py"))
    for name in pinned:
        if name in commands:
            continue
        if name in engines:
            name = next(pin for pin in pinned if pin.split("[")[0] == engines[name])
        assert name in imports, f"{name} is pinned but this test does not know its module: add it"
        module = imports[name]
        used = re.search(rf"^\s*(from|import) {module}\b", sources, re.M) or f'"{module}' in sources
        assert used, f"{name} is pinned in requirements.txt but nothing imports {module}"
