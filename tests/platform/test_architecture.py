"""The house rules of docs/architecture.md, read off the source so that a change breaking one fails.

- Apps depend on each other one way only, in the order of LAYERS (no cycles, by construction).
- The engine is reached through one door, core/engine.py, which uses only the engine's
  package-level exports.
- The web role starts without torch, transformers, peft, accelerate, scipy or matplotlib: the
  door resolves its heavy names (HEAVY_EXPORTS) on first use, so no module takes one by name at
  import (`engine.train_shard` inside a function instead), and no platform module imports a heavy
  library at its top (every one of them is on the web's start-up path: ready() imports the jobs).
  Workers still load all of it when they start.
- No platform import is hidden inside a function (the old way of dodging a cycle), except the
  registrations that AppConfig.ready() performs.
- The platform never imports `workers` (the workers import the platform).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.platform.conftest import REPO_ROOT

PLATFORM = REPO_ROOT / "platform" / "erasure_platform"
ENGINE = REPO_ROOT / "erasure_engine"
# Lowest first: an app may import only the apps before it.
LAYERS = ["core", "accounts", "subject_requests", "registry", "orchestration", "evidence", "portal"]
ENGINE_DOOR = PLATFORM / "core" / "engine.py"
# What a web worker must start without (each costs seconds and tens to hundreds of MB).
HEAVY_LIBRARIES = ("torch", "transformers", "peft", "accelerate", "matplotlib", "scipy")


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


def heavy_exports(door: Path) -> dict[str, tuple[str, ...]]:
    """The door's HEAVY_EXPORTS: engine package → names resolved on first use."""
    for node in ast.parse(door.read_text()).body:
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (node.targets[0] if isinstance(node, ast.Assign) else None)
        )
        if isinstance(target, ast.Name) and target.id == "HEAVY_EXPORTS":
            return ast.literal_eval(node.value)
    return {}


def heavy_engine_names(door: Path = ENGINE_DOOR) -> set[str]:
    return {name for names in heavy_exports(door).values() for name in names}


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


def door_depth_breaches(door: Path, engine: Path = ENGINE) -> list[str]:
    """Engine modules the door takes names from (eagerly or on first use) that are not packages' exports."""
    top_level = {path.stem for path in engine.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()}
    eager = [module for _, module in imports_of(door) if module.split(".")[0] == "erasure_engine"]
    return [
        module
        for module in eager + list(heavy_exports(door))
        if module.split(".")[0] != "erasure_engine"
        or len(module.split(".")) != 2
        or module.split(".")[1] not in top_level
    ]


def heavy_name_breaches(root: Path) -> list[str]:
    """Heavy engine names taken by name from the door: resolved at import, they would load torch on the web."""
    heavy = heavy_engine_names()
    return [
        f"{where(root, path, node)} imports {alias.name} from the door"
        for path in modules(root)
        for node, module in imports_of(path)
        if module == "erasure_platform.core.engine" and isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name in heavy or alias.name == "*"
    ]


def _runs_at_import(tree: ast.AST):
    """Nodes executed when the module is imported: not in function bodies nor under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runs_at_import(child)])
            continue
        yield node
        yield from _runs_at_import(node)


def heavy_library_breaches(root: Path) -> list[str]:
    """Heavy libraries imported at a platform module's top (rendering code imports them where it draws)."""
    breaches = []
    for path in modules(root):
        for node in _runs_at_import(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            names = [name for name in names if name.split(".")[0] in HEAVY_LIBRARIES]
            breaches += [f"{where(root, path, node)} imports {name} at import time" for name in names]
    return breaches


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
    used = [module for _, module in imports_of(ENGINE_DOOR) if module.split(".")[0] == "erasure_engine"]
    assert used, "core/engine.py imports the engine"
    assert heavy_exports(ENGINE_DOOR), "core/engine.py lists the heavy engine packages in HEAVY_EXPORTS"
    too_deep = door_depth_breaches(ENGINE_DOOR)
    assert not too_deep, f"export these from their engine package instead: {too_deep}"


def test_the_door_names_each_engine_name_once():
    eager = [
        alias.name
        for node, module in imports_of(ENGINE_DOOR)
        if module.startswith("erasure_engine")
        for alias in node.names
    ]
    heavy = [name for names in heavy_exports(ENGINE_DOOR).values() for name in names]
    assert len(eager + heavy) == len(set(eager + heavy)), "a name is both eager and heavy, or listed twice"


def test_no_module_takes_a_heavy_engine_name_at_import():
    breaches = heavy_name_breaches(PLATFORM)
    assert not breaches, "use `engine.<name>` inside the function instead:\n" + "\n".join(breaches)


def test_no_platform_module_imports_a_heavy_library_at_its_top():
    assert not (breaches := heavy_library_breaches(PLATFORM)), "\n".join(breaches)


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
        (heavy_name_breaches, "from erasure_platform.core.engine import EngineError, train_shard\n"),
        (heavy_library_breaches, "from typing import TYPE_CHECKING\n\nimport matplotlib.pyplot as plt\n"),
        (
            heavy_library_breaches,
            "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    pass\nelse:\n    from torch import nn\n",
        ),
    ],
)
def test_each_rule_names_a_module_that_breaks_it(tmp_path, check, breach):
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "clean.py").write_text("from erasure_platform.core.errors import NotFound\n")
    assert check(tmp_path) == []
    (tmp_path / "registry" / "breach.py").write_text(breach)
    assert [finding.split(":")[0] for finding in check(tmp_path)] == ["registry/breach.py"]


def test_heavy_names_and_libraries_may_wait_for_the_function_that_needs_them(tmp_path):
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "lazy.py").write_text(
        "from typing import TYPE_CHECKING\n\n"
        "from erasure_platform.core import engine\n"
        "from erasure_platform.core.engine import EngineError\n\n"
        "if TYPE_CHECKING:\n    from torch import nn\n\n\n"
        "def draw(model: nn.Module):\n    import matplotlib\n\n    return engine.train_shard, EngineError, matplotlib\n"
    )
    assert heavy_name_breaches(tmp_path) == []
    assert heavy_library_breaches(tmp_path) == []


@pytest.mark.parametrize(
    "door, too_deep",
    [
        (
            'from erasure_engine.sisa import train_shard\nHEAVY_EXPORTS = {"erasure_engine.verification": ("verify",)}\n',
            [],
        ),
        ("from erasure_engine.sisa.trainer import train_shard\n", ["erasure_engine.sisa.trainer"]),
        (
            'HEAVY_EXPORTS: dict = {"erasure_engine.verification.attacks": ("x",)}\n',
            ["erasure_engine.verification.attacks"],
        ),
        ('HEAVY_EXPORTS = {"torch": ("nn",)}\n', ["torch"]),
    ],
)
def test_the_door_rule_names_a_deep_import_eager_or_heavy(tmp_path, door, too_deep):
    (tmp_path / "engine.py").write_text(door)
    assert door_depth_breaches(tmp_path / "engine.py") == too_deep


# A fresh interpreter does what a process does when it starts, then reports which heavy libraries it
# holds (apart from the test process, whose own imports could neither hide nor fake one).
WEB_START = """
import django
django.setup()
from django.conf import settings
from django.urls import resolve, reverse
importlib.import_module(settings.ROOT_URLCONF)
from erasure_platform.wsgi import application
for path in ("/", "/api/health", "/api/schema/", "/requests/new", reverse("subject_requests:verify", args=["x"])):
    resolve(path)
"""

WORKER_START = """
import workers.celery_app
report["after_importing_the_app"] = [m for m in HEAVY if m in sys.modules]
import django
django.setup()  # what Celery's Django fixup does when a worker starts
import workers.tasks
from celery.signals import worker_init
worker_init.send(sender=None)
import erasure_engine.sisa
from erasure_platform.core import engine
from erasure_platform.core.services.jobs import job_kinds
report["same_object"] = engine.train_shard is erasure_engine.sisa.train_shard
report["kinds"] = sorted(job_kinds())
report["unresolved"] = sorted(set(engine._HEAVY_PACKAGE) - set(vars(engine)))
"""


def start_up(tmp_path, script: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "platform"), str(REPO_ROOT)])
    env["DJANGO_SETTINGS_MODULE"] = "erasure_platform.settings"
    env["ERASURE_VAR_DIR"] = str(tmp_path / "var")
    program = (
        f"import importlib, json, sys\nHEAVY = {HEAVY_LIBRARIES!r}\nreport = {{}}\n{script}\n"
        "report['heavy'] = [m for m in HEAVY if m in sys.modules]\nprint(json.dumps(report))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_web_role_starts_without_the_heavy_libraries(tmp_path):
    assert start_up(tmp_path, WEB_START)["heavy"] == []


def test_the_web_start_probe_sees_a_heavy_name_used(tmp_path):
    """The probe above can fail: the first use of a heavy engine name brings torch in."""
    used = WEB_START + "from erasure_platform.core import engine\nengine.train_shard\n"
    assert {"torch", "transformers"} <= set(start_up(tmp_path, used)["heavy"])


def test_a_worker_starts_with_the_whole_engine(tmp_path):
    report = start_up(tmp_path, WORKER_START)
    assert report["after_importing_the_app"] == []  # the Celery app module itself stays light
    assert {"torch", "transformers", "peft"} <= set(report["heavy"])
    assert report["same_object"]
    assert report["unresolved"] == []  # every heavy name exists in its package
    assert {"registry.train", "orchestration.unlearn", "orchestration.retrain_shard", "orchestration.verify"} <= set(
        report["kinds"]
    )
