import pytest
from django.contrib.auth import get_user_model

from tests.services import IN_CI


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"backup-console: database={db['ENGINE'].rsplit('.', 1)[-1]}:{db.get('NAME')} CI={IN_CI}"


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123456")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def _celery_sends_nowhere():
    """Tasks queued by the code under test go to an in-memory broker, never to
    the developer's var/celery-broker; tests/worker.py points them at Redis."""
    from tests.worker import use_broker

    use_broker("memory://")
    yield
    use_broker("memory://")


@pytest.fixture
def client_as(client, db):
    """``client_as("viewer")``: the test client signed in as a new user of that
    role ("viewer", "operator", "admin", or None for a user in no group).
    Query counts use pytest-django's ``django_assert_num_queries``."""
    from tests.roles import user_in

    def sign_in(role, username=None):
        client.force_login(user_in(role, username))
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in Chinese activates Chinese for the thread; the next test in
    the same thread must not inherit it (it would read Chinese messages)."""
    from django.utils import translation

    yield
    translation.activate("en")
