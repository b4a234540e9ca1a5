#!/usr/bin/env python
"""Django's command-line utility for the erasure platform."""

import os
import sys
from pathlib import Path

# platform/ is a source root, not a package: putting it on the path (after the standard
# library's entries would be too late for nothing, since `platform` the stdlib module is
# already imported by then) exposes erasure_platform without shadowing `platform`.
sys.path.insert(1, str(Path(__file__).resolve().parent / "platform"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erasure_platform.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
