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
