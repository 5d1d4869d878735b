from django.apps import AppConfig


class BackupsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'backups'

    def ready(self):
        # A restore drill checks its restore when that ends: the engine's hook
        # (transitions.on_ended) is registered by importing it, in every process.
        from .engine import drills  # noqa: F401
