from django.apps import AppConfig


class BackupsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'backups'

    def ready(self):
        # A restore drill checks its restore when that ends, and the alert
        # rules of a cluster are evaluated when one of its tasks ends: the
        # engine's hooks (transitions.on_ended) are registered by importing
        # them, in every process.
        from .engine import alerting, drills  # noqa: F401
