"""Demo logins for the two lesser roles: viewer/viewer and operator/operator.

Idempotent: users that exist keep their password and only get their group.
Refused on a production configuration (HTTPS=1): a password equal to the
user name is for a laptop demo only.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from backup_console.roles import OPERATOR, VIEWER, sync_roles

DEMO_USERS = {VIEWER: VIEWER, OPERATOR: OPERATOR}  # username: group (password = username)


class Command(BaseCommand):
    help = "Create the demo users viewer/viewer and operator/operator in their role groups."

    def handle(self, *args, **options):
        if getattr(settings, "HTTPS", False):
            raise CommandError("Refusing to create demo logins on a production configuration (HTTPS=1).")
        User = get_user_model()
        with transaction.atomic():
            if not Group.objects.filter(name__in=DEMO_USERS.values()).count() == len(DEMO_USERS):
                sync_roles()
            for username, group in DEMO_USERS.items():
                user, created = User.objects.get_or_create(username=username)
                if created:
                    user.set_password(username)
                    user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=group))
                self.stdout.write(f"{'created' if created else 'kept'} {username} in group {group}")
