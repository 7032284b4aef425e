"""The tree shows the architecture: subsystem folders that say what they hold, a short top level, one name per
module, and imports without circles (TYPE_CHECKING imports included: a circle there is still a circle of ideas)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from emogan.cli import COMMANDS

PACKAGE = Path(__file__).resolve().parents[1] / "emogan"
TOP_LEVEL_MAX = 14
SUBSYSTEMS = ("training", "runs", "views", "models", "metrics", "classifier", "commands")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (a `from pkg import mod` counts as mod when mod is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def test_no_import_circles() -> None:
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            pytest.fail("import circle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, stack + [node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])


def test_the_top_level_is_short_and_the_subsystems_say_what_they_hold() -> None:
    top = [p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= TOP_LEVEL_MAX, sorted(p.name for p in top)
    for folder in SUBSYSTEMS:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert doc, f"emogan/{folder}/__init__.py has no docstring saying what it holds"


def test_one_module_per_name() -> None:
    # commands/ is the exception by design: each module there is named for the subcommand it implements.
    names = Counter(p.stem for p in PACKAGE.rglob("*.py")
                    if p.stem not in ("__init__", "__main__") and p.parent.name != "commands")
    assert not [n for n, k in names.items() if k > 1], names.most_common(3)
    assert not (PACKAGE / "io.py").exists()        # it would shadow the standard library's module
    commands = {p.stem for p in (PACKAGE / "commands").glob("*.py")} - {"__init__"}
    assert commands == {c.rpartition(".")[2] for c in COMMANDS}
