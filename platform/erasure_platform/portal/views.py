from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from erasure_platform.accounts.roles import ROLE_LABELS
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.portal.navigation import landing_url


def home(request):
    roles = [ROLE_LABELS[role] for role in sorted(user_roles(request.user))]
    return render(request, "portal/home.html", {"roles": roles})


@login_required
def start(request):
    """After sign-in: the signed-in person's own work list (officers their queue, and so on)."""
    return redirect(landing_url(request.user))
