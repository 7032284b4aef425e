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


# Lower layers never reach up: the run store is read by training, metrics, sweeps, commands and views alike.
ABOVE_THE_STORE = ("emogan.views", "emogan.training", "emogan.metrics", "emogan.sweeps", "emogan.commands")


def _imported_names(path: Path, top: Path = PACKAGE.parent) -> set[str]:
    """Every module name an import statement in `path` (a file under `top`) names, absolute or relative, wherever it
    sits (in a function, under TYPE_CHECKING): a lazy import is still an arrow between layers."""
    package = ".".join(path.relative_to(top).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return found


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_run_store_imports_nothing_above_it() -> None:
    arrows = [f"{p.relative_to(PACKAGE.parent)} imports {n}" for p in sorted((PACKAGE / "runs").rglob("*.py"))
              for n in sorted(_imported_names(p)) if _within(n, ABOVE_THE_STORE)]
    assert not arrows, arrows


def test_emogan_never_imports_the_app() -> None:
    arrows = [f"{p.relative_to(PACKAGE.parent)} imports {n}" for p in sorted(PACKAGE.rglob("*.py"))
              for n in sorted(_imported_names(p)) if _within(n, ("streamlit", "explorer", "explorer_app"))]
    assert not arrows, arrows


def test_the_layer_check_sees_relative_and_lazy_imports(tmp_path: Path) -> None:
    probe = PACKAGE / "runs" / "store.py"
    names = _imported_names(probe)
    assert "emogan.runs.atomic" in names and "emogan.errors" in names       # absolute, and a sibling's
    source = "def f():\n    from ..views import curves\n    import streamlit as st\n"
    fake = tmp_path / "emogan" / "runs" / "probe.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    found = _imported_names(fake, tmp_path)
    assert "emogan.views" in found and "emogan.views.curves" in found and "streamlit" in found
    assert _within("emogan.views.curves", ABOVE_THE_STORE) and not _within("emogan.viewsx", ABOVE_THE_STORE)
