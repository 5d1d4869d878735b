"""Demo logins for the two lesser roles: viewer/viewer and operator/operator.

Idempotent: a user that exists is left exactly as it is (an admin may have
changed its password, groups or active flag); only a missing one is made.
Refused on a production configuration (HTTPS=1): a password equal to the
user name is for a laptop demo only.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from backup_console.roles import OPERATOR, VIEWER, sync_roles
from backups.devtools.estate import PRODUCTION_REFUSAL, demo_logins_allowed

DEMO_USERS = {VIEWER: VIEWER, OPERATOR: OPERATOR}  # username: group (password = username)


class Command(BaseCommand):
    help = "Create the demo users viewer/viewer and operator/operator in their role groups."

    def handle(self, *args, **options):
        if not demo_logins_allowed():
            raise CommandError(PRODUCTION_REFUSAL)
        User = get_user_model()
        with transaction.atomic():
            if not Group.objects.filter(name__in=DEMO_USERS.values()).count() == len(DEMO_USERS):
                sync_roles()
            for username, group in DEMO_USERS.items():
                if User.objects.filter(username=username).exists():
                    self.stdout.write(f"kept {username} as it is")
                    continue
                user = User.objects.create_user(username, password=username)
                user.groups.add(Group.objects.get(name=group))
                self.stdout.write(f"created {username} in group {group}")
