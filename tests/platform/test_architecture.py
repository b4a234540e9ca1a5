"""The house rules of docs/architecture.md, read off the source so that a change breaking one fails.

- Apps depend on each other one way only, in the order of LAYERS (no cycles, by construction).
- The engine is reached through one door, core/engine.py, which uses only the engine's
  package-level exports.
- No platform import is hidden inside a function (the old way of dodging a cycle), except the
  registrations that AppConfig.ready() performs.
- The platform never imports `workers` (the workers import the platform).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.platform.conftest import REPO_ROOT

PLATFORM = REPO_ROOT / "platform" / "erasure_platform"
ENGINE = REPO_ROOT / "erasure_engine"
# Lowest first: an app may import only the apps before it.
LAYERS = ["core", "accounts", "subject_requests", "registry", "orchestration", "evidence", "portal"]
ENGINE_DOOR = PLATFORM / "core" / "engine.py"


def modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def imports_of(path: Path) -> list[tuple[ast.AST, str]]:
    """(node, imported module) for every import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node, node.module))
            if node.module == "erasure_platform":
                found += [(node, f"erasure_platform.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
    return found


def where(root: Path, path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(root)}:{node.lineno}"


def app_layering_breaches(root: Path) -> list[str]:
    wrong = []
    for path in modules(root):
        parts = path.relative_to(root).parts
        app = parts[0] if len(parts) > 1 else None
        if app not in LAYERS:
            continue
        allowed = set(LAYERS[: LAYERS.index(app) + 1])
        for node, module in imports_of(path):
            parts = module.split(".")
            if parts[0] == "erasure_platform" and len(parts) > 1 and parts[1] in LAYERS and parts[1] not in allowed:
                wrong.append(f"{where(root, path, node)} ({app}) imports {module}")
    return wrong


def engine_door_breaches(root: Path) -> list[str]:
    door, exceptions = root / "core" / "engine.py", {root / "settings.py"}
    return [
        f"{where(root, path, node)} imports {module}"
        for path in modules(root)
        if path != door and path not in exceptions
        for node, module in imports_of(path)
        if module.split(".")[0] == "erasure_engine"
    ]


def hidden_import_breaches(root: Path) -> list[str]:
    hidden = []
    for path in modules(root):
        if path == root / "settings.py":
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.name == "apps.py" and function.name == "ready":
                continue  # registering events and jobs is what ready() is for
            for node in ast.walk(function):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                if module and module.startswith(("erasure_platform", "erasure_engine")):
                    hidden.append(f"{where(root, path, node)} in {function.name}() imports {module}")
    return hidden


def worker_import_breaches(root: Path) -> list[str]:
    return [
        f"{where(root, path, node)} imports {module}"
        for path in modules(root)
        for node, module in imports_of(path)
        if module.split(".")[0] == "workers"
    ]


def test_every_app_is_in_the_layering():
    apps = {path.name for path in PLATFORM.iterdir() if (path / "apps.py").exists()}
    assert apps == set(LAYERS), "add a new app to LAYERS (and to docs/architecture.md) where it belongs"


def test_apps_import_only_the_apps_below_them():
    assert not (breaches := app_layering_breaches(PLATFORM)), "\n".join(breaches)


def test_the_engine_is_reached_through_one_door():
    breaches = engine_door_breaches(PLATFORM)
    assert not breaches, "import engine names from erasure_platform.core.engine:\n" + "\n".join(breaches)


def test_the_door_uses_only_the_engines_package_level_exports():
    top_level = {path.stem for path in ENGINE.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()}
    used = [module for _, module in imports_of(ENGINE_DOOR) if module.split(".")[0] == "erasure_engine"]
    assert used, "core/engine.py imports the engine"
    too_deep = [m for m in used if len(m.split(".")) != 2 or m.split(".")[1] not in top_level]
    assert not too_deep, f"export these from their engine package instead: {too_deep}"


def test_no_platform_import_hides_inside_a_function():
    assert not (breaches := hidden_import_breaches(PLATFORM)), "\n".join(breaches)


def test_the_platform_never_imports_the_workers():
    assert not (breaches := worker_import_breaches(PLATFORM)), "\n".join(breaches)


@pytest.mark.parametrize(
    "check, breach",
    [
        (app_layering_breaches, "from erasure_platform.evidence.models import Report\n"),
        (engine_door_breaches, "from erasure_engine.sisa.trainer import train_shard\n"),
        (hidden_import_breaches, "def f():\n    from erasure_platform.registry import selectors\n"),
        (worker_import_breaches, "from workers.publisher import celery_publish\n"),
    ],
)
def test_each_rule_names_a_module_that_breaks_it(tmp_path, check, breach):
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "clean.py").write_text("from erasure_platform.core.errors import NotFound\n")
    assert check(tmp_path) == []
    (tmp_path / "registry" / "breach.py").write_text(breach)
    assert [finding.split(":")[0] for finding in check(tmp_path)] == ["registry/breach.py"]
