import getpass
import os
import sys

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create, user_roles_set

PASSWORD_VARIABLE = "ERASURE_NEW_USER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a staff user or set an existing one's roles (audited). "
        f"A new user's password is asked for, or read from ${PASSWORD_VARIABLE} when there is no terminal."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=[role.value for role in Role],
            help="a role to give (repeat for several); the user ends with exactly these roles",
        )
        parser.add_argument("--email", default="")

    def handle(self, *args, **options):
        roles = [Role(value) for value in options["role"]]
        username = options["username"].strip()
        if not username:
            raise CommandError("the username must not be empty")
        actor = "system:staff_user"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = self._new_password()
            user_create(username=username, password=password, roles=roles, email=options["email"], actor=actor)
            self.stdout.write(f"created {username} with roles: {', '.join(r.value for r in roles) or 'none'}")
        else:
            user_roles_set(user=user, roles=roles, actor=actor)
            self.stdout.write(f"{username} now has roles: {', '.join(r.value for r in roles) or 'none'}")

    def _new_password(self) -> str:
        password = os.environ.get(PASSWORD_VARIABLE) or (getpass.getpass("Password: ") if sys.stdin.isatty() else "")
        if len(password) < 12:
            raise CommandError(
                f"a new user needs a password of at least 12 characters (prompt or ${PASSWORD_VARIABLE})"
            )
        return password
