"""The package's layout rules (issue #25), read statically from the source with `ast`:

- no module imports another module's private (underscore) names;
- no import cycles among `docuocr` modules (imports inside functions count too);
- nothing inside the package writes environment variables: settings travel as arguments;
- an `Engine` is built only by the runtime and by the bench that compares systems.

`python tests/test_architecture.py` prints what it finds.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "docuocr"
ENGINE_BUILDERS = ("docuocr.runtime", "docuocr.bench.systems")
# Environment writes that are no docuocr setting: Ray reads its usage-stats switch only from the
# environment (or a file in the user's home), before it starts, and has no argument for it.
ENV_WRITES_ALLOWED = {("docuocr.batch.ray_engine", "RAY_USAGE_STATS_ENABLED")}


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _is_package(name: str) -> bool:
    return (SRC / Path(*name.split(".")) / "__init__.py").is_file()


def _imports(name: str, tree: ast.Module, known: set[str]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import of a docuocr module, skipping
    `if TYPE_CHECKING:` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if _is_package(name) else name.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join(here + ([base] if base else []))
            if base.split(".")[0] != PACKAGE:
                continue
            taken = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:  # `from docuocr import pool`: the module itself
                    out.append((sub, []))
                else:
                    taken.append(alias.name)
            if taken:
                out.append((base, taken))
    return out


def private_imports(found: dict[str, ast.Module]) -> list[str]:
    bad = []
    for name, tree in found.items():
        for module, taken in _imports(name, tree, set(found)):
            parts = module.split(".")
            hidden = [p for p in parts[1:] if p.startswith("_") and not p.startswith("__")]
            names = [t for t in taken if t.startswith("_") and not t.startswith("__")]
            if module != name and (hidden or names):
                bad.append(f"{name}: from {module} import {', '.join(names or hidden)}")
    return bad


def cycles(found: dict[str, ast.Module]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph = {
        name: {m for m, _ in _imports(name, tree, set(found)) if m in found and m != name}
        for name, tree in found.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def _is_environ(node: ast.AST) -> bool:
    return ast.unparse(node) in ("os.environ", "environ")


def env_writes(found: dict[str, ast.Module]) -> list[str]:
    bad = []
    for name, tree in found.items():
        for node in ast.walk(tree):
            key = None
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = (
                    node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                )
                for t in targets:
                    if isinstance(t, ast.Subscript) and _is_environ(t.value):
                        key = ast.unparse(t.slice)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                if _is_environ(f.value) and f.attr in ("setdefault", "update", "pop", "clear"):
                    key = ast.unparse(node.args[0]) if node.args else f.attr
                elif ast.unparse(f) in ("os.putenv", "os.unsetenv"):
                    key = ast.unparse(node.args[0]) if node.args else "?"
            if key is not None and (name, key.strip("'\"")) not in ENV_WRITES_ALLOWED:
                bad.append(f"{name}:{node.lineno}: writes os.environ[{key}]")
    return bad


def engine_builds(found: dict[str, ast.Module]) -> list[str]:
    """Every `Engine(...)` call, as module:line."""
    out = []
    for name, tree in found.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                if called == "Engine":
                    out.append(f"{name}:{node.lineno}")
    return out


def test_no_private_names_are_imported_across_modules():
    assert private_imports(modules()) == []


def test_no_import_cycles():
    assert cycles(modules()) == []


def test_no_environment_writes_inside_the_package():
    assert env_writes(modules()) == []


def test_engines_are_built_by_the_runtime_and_the_bench_only():
    builds = engine_builds(modules())
    builders = {b.split(":")[0] for b in builds}
    assert builders, "no Engine(...) found: the checker has lost track of the engine"
    outside = [b for b in builds if not b.split(":")[0].startswith(ENGINE_BUILDERS)]
    assert outside == []
    assert len(builders) <= 2, builders


def test_the_checker_sees_what_it_looks_for():
    """Each rule finds a planted case, so the tests above cannot pass by finding nothing."""
    planted = {
        "docuocr.a": ast.parse(
            "import os\nfrom docuocr.b import _hidden\nos.environ['X'] = '1'\n"
            "os.environ.setdefault('Y', '2')\nEngine()\n"
        ),
        "docuocr.b": ast.parse("def f():\n    from docuocr import a\n"),
    }
    assert private_imports(planted) == ["docuocr.a: from docuocr.b import _hidden"]
    assert cycles(planted) == [["docuocr.a", "docuocr.b"]]
    assert len(env_writes(planted)) == 2
    assert engine_builds(planted) == ["docuocr.a:5"]


if __name__ == "__main__":
    found = modules()
    for title, items in (
        ("private imports across modules", private_imports(found)),
        ("import cycles", [" <-> ".join(c) for c in cycles(found)]),
        ("environment writes", env_writes(found)),
        ("Engine(...) built at", engine_builds(found)),
    ):
        print(f"{title}: {len(items)}")
        for item in items:
            print(f"  {item}")
