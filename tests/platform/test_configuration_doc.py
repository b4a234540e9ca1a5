"""docs/configuration.md is complete: every ERASURE_* variable settings.py reads is named there
(the named-source pattern ERASURE_SOURCE_<NAME>_… as its pattern), and the README sends readers to it."""

from __future__ import annotations

import ast

from tests.platform.conftest import REPO_ROOT

SETTINGS = REPO_ROOT / "platform" / "erasure_platform" / "settings.py"
CONFIGURATION = REPO_ROOT / "docs" / "configuration.md"
READERS = {"env_str", "env_int", "env_bool", "env_list"}


def variables_read(source: str) -> set[str]:
    """ERASURE_* names passed to the env helpers (or os.environ), f-strings written as their pattern."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if called not in READERS | {"get", "getenv"}:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            name = first.value
        elif isinstance(first, ast.JoinedStr):
            name = "".join(part.value if isinstance(part, ast.Constant) else "<NAME>" for part in first.values)
        else:
            continue
        if name.startswith("ERASURE_"):
            names.add(name)
    return names


def test_every_erasure_variable_settings_reads_is_documented():
    names = variables_read(SETTINGS.read_text())
    assert {"ERASURE_MODE", "ERASURE_SUBJECT_KEY_SECRET", "ERASURE_SOURCE_<NAME>_URL"} <= names  # the scan works
    page = CONFIGURATION.read_text()
    missing = sorted(name for name in names if f"`{name}`" not in page and name not in page)
    assert not missing, f"document these in docs/configuration.md: {missing}"


def test_the_scan_finds_a_new_variable():
    assert variables_read('X = env_int("ERASURE_NEW_KNOB", 3)\nY = env_str(f"ERASURE_SOURCE_{n}_URL")\n') == {
        "ERASURE_NEW_KNOB",
        "ERASURE_SOURCE_<NAME>_URL",
    }


def test_the_readme_fits_on_two_screens_and_points_at_the_configuration():
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 100 and "docs/configuration.md" in readme
