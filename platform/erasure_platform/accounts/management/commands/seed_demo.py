from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import roles_ensure, user_create

DEMO_USERS = {
    "officer": [Role.OFFICER],
    "engineer": [Role.ML_ENGINEER],
    "approver": [Role.RELEASE_APPROVER],
    "auditor": [Role.AUDITOR],
}


class Command(BaseCommand):
    help = "Create one demo user per role (embedded mode only). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-pass-2026", help="password for every demo user")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo users are for the embedded mode only")
        roles_ensure()
        for username, roles in DEMO_USERS.items():
            if not User.objects.filter(username=username).exists():
                user_create(username=username, password=options["password"], roles=roles, actor="system:seed_demo")
            self.stdout.write(f"  {username:<9} {', '.join(r.value for r in roles)}")
        self.stdout.write(f"demo users ready (password: {options['password']})")
