"""Celery workers. Tasks are thin: they call platform services.

Importing this package puts the platform's source root on sys.path (it is a source root without
__init__.py: a package named `platform` would shadow the standard library), so that
`celery -A workers.celery_app` works from the repository root without PYTHONPATH."""

import sys
from pathlib import Path

_platform_root = Path(__file__).resolve().parents[1] / "platform"
if _platform_root.is_dir() and str(_platform_root) not in sys.path:
    sys.path.insert(1, str(_platform_root))
