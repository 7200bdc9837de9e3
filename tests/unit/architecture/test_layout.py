"""The layout the architecture promises (docs/architecture.md), checked on the code itself, so that the shape
holds after the next feature too: layers import downwards only, no import circles, features whose HTTP layer
only `app.py` sees, fakes outside production code, and modules a reader can take in."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = ("common", "gateway", "services")
SERVICES = ("billing", "ledger", "messaging", "reporting", "webhooks")
MAX_MODULE_LINES = 400
MAX_TOP_FOLDER_MODULES = 12


def _modules(*tops: str) -> Iterator[tuple[str, Path]]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(module: str, path: Path, top_level_only: bool = False) -> set[str]:
    """The project modules `module` imports (`from x import y` counts y where y is itself a module)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _graph(*tops: str) -> dict[str, set[str]]:
    modules = dict(_modules(*tops))
    return {name: {m for m in _imports(name, path) if m in modules and m != name} for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_import_circles_in_production_code() -> None:
    assert _circles(_graph(*PRODUCTION, "fakes")) == []


def test_layers_import_downwards_only() -> None:
    graph = _graph(*PRODUCTION, "fakes")
    for module, imported in graph.items():
        top = module.split(".")[0]
        for other in imported:
            if top == "common":
                assert other.startswith("common"), f"{module} (the shared layer) imports {other}"
            if module.startswith("services."):
                own = ".".join(module.split(".")[:2])
                assert not other.startswith("gateway"), f"{module} imports the gateway ({other})"
                if other.startswith("services."):
                    assert other.startswith(own), f"{module} imports another service ({other})"
            if top == "gateway":
                assert not other.startswith("services"), f"the gateway imports a service ({other})"


def test_only_app_modules_import_routes() -> None:
    graph = _graph(*PRODUCTION, "fakes")
    for module, imported in graph.items():
        if module.endswith(".app") or module.endswith(".routes") or ".routes." in f"{module}.":
            continue
        handlers = sorted(m for m in imported if m.endswith(".routes") or ".routes." in m)
        assert handlers == [], f"{module} imports the HTTP layer {handlers}"


def test_production_code_loads_fakes_only_when_selected() -> None:
    for module, path in _modules(*PRODUCTION):
        at_import = {m for m in _imports(module, path, top_level_only=True) if m.split(".")[0] == "fakes"}
        assert at_import == set(), f"{module} imports {sorted(at_import)} when it is loaded"


def test_production_migrations_create_no_test_provider_tables() -> None:
    for migration in sorted((ROOT / "services").rglob("migrations/*.sql")):
        creates = re.findall(r"CREATE TABLE(?: IF NOT EXISTS)?\s+(test_provider_\w+)", migration.read_text(), re.I)
        assert creates == [], f"{migration.relative_to(ROOT)} creates {creates}"


def test_modules_stay_small() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for _, path in _modules(*PRODUCTION, "fakes")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_each_service_top_folder_is_composed_of_features() -> None:
    for folder in [ROOT / "gateway", *(ROOT / "services" / name for name in SERVICES)]:
        modules = sorted(p.name for p in folder.glob("*.py"))
        assert len(modules) <= MAX_TOP_FOLDER_MODULES, f"{folder.name}: {modules}"
        assert "app.py" in modules and "resources.py" in modules, f"{folder.name} lacks app.py or resources.py"


def test_feature_packages_hold_only_the_standard_files() -> None:
    standard = {"__init__.py", "routes.py", "consumers.py", "usecases.py", "domain.py", "store.py", "schemas.py"}
    for service in SERVICES:
        features = [p for p in (ROOT / "services" / service).iterdir() if (p / "__init__.py").exists()]
        assert features, f"services/{service} has no feature packages"
        for feature in features:
            extra = {p.name for p in feature.glob("*.py")} - standard
            # A feature may hold a few modules named for what they are (a renderer, a provider), never a
            # second copy of a standard layer under another name.
            assert not any(name.endswith(("_routes.py", "_store.py", "_usecases.py")) for name in extra), (
                f"services/{service}/{feature.name}: {sorted(extra)}"
            )
