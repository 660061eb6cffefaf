"""The package's import graph: layers, no cycles, no submodule importing the package top.

Every import counts: at module level, inside functions, and under
``TYPE_CHECKING``. A submodule that imports the package top (``import
boostobj``, ``from boostobj import quantile``) would run ``__init__`` from
inside itself; a cycle makes the import order matter.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "boostobj"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """boostobj module -> the boostobj modules it imports anywhere in its source ("boostobj": the top)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name == "boostobj" or a.name.startswith("boostobj.")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and (node.module == "boostobj" or node.module.startswith("boostobj.")):
                if node.module == "boostobj":  # a submodule by name, or a name of the top
                    deps |= {f"boostobj.{a.name}" if _exists(f"boostobj.{a.name}") else "boostobj" for a in node.names}
                else:
                    deps.add(node.module)
        graph[module] = deps - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                found.append(path[path.index(dep):] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_submodule_imports_the_package_top():
    offenders = sorted(m for m, deps in import_graph().items() if m != "boostobj" and "boostobj" in deps)
    assert offenders == [], offenders


def test_no_import_cycles():
    graph = {m: deps - {"boostobj"} for m, deps in import_graph().items() if m != "boostobj"}
    assert _cycles(graph) == []


def test_the_bottom_layers_import_nothing_above_them():
    graph = import_graph()
    assert graph["boostobj.registry"] == set()  # model records read it without importing upwards
    assert graph["boostobj.exceptions"] == set()
    assert graph["boostobj.weighted"] == set()  # the statistics the losses' starts are made of
    for module in (m for m in graph if m == "boostobj.losses" or m.startswith("boostobj.losses.")):
        outside = {d for d in graph[module] if not d.startswith("boostobj.losses")}
        assert outside <= {"boostobj._compiled", "boostobj._math", "boostobj.link", "boostobj.weighted"}, module
    assert "boostobj.objective" not in graph["boostobj.model_io"]  # records sit below the adapter


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_importing_boostobj_loads_no_optional_machinery():
    """numba (loaded at the first compiled pass), dask, matplotlib and jax stay out of ``import boostobj``."""
    import subprocess
    import sys

    code = ("import sys, xgboost, lightgbm; before = set(sys.modules); import boostobj, boostobj.sklearn; "
            "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert not loaded & {"numba", "llvmlite", "dask", "distributed", "matplotlib", "jax", "mapie", "tqdm"}, loaded
