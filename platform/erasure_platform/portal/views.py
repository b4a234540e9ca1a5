from django.shortcuts import render

from erasure_platform.accounts.roles import ROLE_LABELS
from erasure_platform.accounts.selectors import user_roles


def home(request):
    roles = [ROLE_LABELS[role] for role in sorted(user_roles(request.user))]
    return render(request, "portal/home.html", {"roles": roles})
