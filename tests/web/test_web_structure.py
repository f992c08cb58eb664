"""The web package has no import circle: routers share helpers through ``simap.web.common`` and
only ``simap.web.app`` (and the ``simap serve`` command) assemble them (issue 12, item 14)."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

ROUTERS = {"advice", "api", "discovery", "mapview", "pages", "pages_admin"}


def _web_imports() -> dict[str, set[str]]:
    """Module -> the simap.web modules it imports (top level and inside functions)."""
    root = Path(str(resources.files("simap.web")))
    graph: dict[str, set[str]] = {}
    for path in sorted(root.glob("*.py")):
        name = path.stem
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "simap.web":
                    found |= {a.name for a in node.names}
                elif node.module.startswith("simap.web."):
                    found.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("simap.web.")}
        graph[name] = found - {name}
    return graph


def test_no_import_cycle_in_the_web_package() -> None:
    graph = _web_imports()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, "import circle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [])


def test_only_the_assembly_imports_app_and_routers_do_not_import_each_other() -> None:
    graph = _web_imports()
    assert {m for m, deps in graph.items() if "app" in deps} <= {"commands"}
    for mod in ROUTERS:
        assert not graph[mod] & ROUTERS, f"{mod} imports another router: {graph[mod] & ROUTERS}"


def test_no_stale_planned_stage_docstrings() -> None:
    import simap.discover
    import simap.web

    for module in (simap.web, simap.discover):
        assert "planned stage" not in (module.__doc__ or "")
