"""The layers of docs/architecture.md, read from its table and checked against every import of every module
(also those inside functions, and importlib.import_module of a literal name): which of our layers each may
import, which third-party packages it may not (or, for the sampler, the only one it may), and no module importing
one that imports it back."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

import dreamsampler3d

ROOT = Path(dreamsampler3d.__file__).parent
PKG = "dreamsampler3d"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in ROOT.rglob("*.py")}


def _resolve(module: str, level: int, name: str | None) -> str:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    base = package.split(".")[: len(package.split(".")) - (level - 1)] if level else []
    return ".".join(base + ([name] if name else []))


def imports(module: str) -> set[str]:
    """Absolute names of everything ``module`` imports anywhere in its body: top level, inside functions and
    classes, under TYPE_CHECKING, and importlib.import_module / __import__ of a literal name."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            name = _resolve(module, node.level, node.module)
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in MODULES)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__"):
                text = node.args[0].value
                level = len(text) - len(text.lstrip("."))
                out.add(_resolve(module, level, text.lstrip(".") or None) if level else text)
    return out


# ---------------------------------------------------------------------------- the table
def _names(cell: str) -> list[str]:
    """The `backticked` names of a cell, leaving out commentary in parentheses."""
    return re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cell))


def _layer_name(entry: str) -> str:
    return entry.removesuffix("/").removesuffix(".py")


def read_table() -> list[dict]:
    """Rows of the table in docs/architecture.md: {'layers', 'may', 'only', 'never'}."""
    lines = DOC.read_text().splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("| folder |") and "may import" in ln)
    rows = []
    for ln in lines[head + 2:]:
        if not ln.startswith("|"):
            break
        folder, _holds, may, third = [c.strip() for c in ln.strip().strip("|").split("|")]
        rule = re.sub(r"\([^)]*\)", "", third).strip()
        rows.append({"layers": [_layer_name(n) for n in _names(folder)],
                     "may": [_layer_name(n) for n in _names(may)],
                     "only": _names(third) if rule.startswith("only") else None,
                     "never": _names(third) if rule.startswith("never") else []})
    return rows


TABLE = read_table()
ROW = {layer: row for row in TABLE for layer in row["layers"]}


def layer_of(name: str) -> str:
    """The row name of one of our modules: its first component under the package ('__init__' for the package)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def allowed(layer: str) -> set[str]:
    """The layers a layer may import: its row's, those its row names, and whatever those may import."""
    seen, todo = set(ROW[layer]["layers"]), list(ROW[layer]["may"])
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        assert name in ROW, f"docs/architecture.md names `{name}`, which is no row of its table"
        seen.update(ROW[name]["layers"])
        todo += ROW[name]["may"]
    return seen


def test_the_table_covers_every_module_once():
    layers = [layer for row in TABLE for layer in row["layers"]]
    assert len(layers) == len(set(layers)), layers
    missing = sorted({layer_of(m) for m in MODULES} - set(layers))
    assert not missing, f"modules in no row of docs/architecture.md: {missing}"
    for row in TABLE:  # every named layer is a row, and every third-party rule is one of the two forms
        for name in row["may"]:
            assert name in ROW, name
    assert ROW["sampler"]["only"] == ["torch"]  # the sampler is pure tensor maths


def _offences() -> list[str]:
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for m in sorted(MODULES):
        layer = layer_of(m)
        row, ok = ROW[layer], allowed(layer)
        for name in sorted(imports(m)):
            top = name.split(".")[0]
            if top == PKG:
                if layer_of(name) not in ok:
                    bad.append(f"{m} imports {name} (`{layer}` may import {sorted(ok - set(row['layers']))})")
            elif row["only"] is not None and top not in stdlib and top not in row["only"]:
                bad.append(f"{m} imports {name} (`{layer}` uses only {row['only']})")
            elif top in row["never"]:
                bad.append(f"{m} imports {name} (`{layer}` never imports {row['never']})")
    return bad


def test_every_import_follows_the_table():
    bad = _offences()
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module, name", [
    ("dreamsampler3d.ui.worker", "dreamsampler3d.cli.command"),  # the web UI reaching up into the command
    ("dreamsampler3d.tasks.runner", "dreamsampler3d.config"),  # a task reaching up into the configs
    ("dreamsampler3d.sampler.ddim", "numpy"),  # the sampler is torch only
    ("dreamsampler3d.renderers.svg.raster", "diffusers"),
])
def test_the_check_sees_an_offending_import_inside_a_function(monkeypatch, tmp_path, module, name):
    """The check itself: a lazy import, inside a function, of what the table forbids is reported."""
    path = tmp_path / "mod.py"
    path.write_text(MODULES[module].read_text() + f"\n\ndef _lazy():\n    import {name}\n")
    monkeypatch.setitem(MODULES, module, path)
    assert any(f"{module} imports {name}" in line for line in _offences())


def test_no_import_cycles():
    graph = {m: {n for n in imports(m) if n in MODULES and n != m} for m in MODULES}
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(" -> ".join(stack[stack.index(n):] + [n]))
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_no_two_layers_import_each_other():
    """Between folders too: ``cli`` and ``ui`` (or ``config`` and ``tasks``) importing each other through
    different modules is no module cycle, but it is no layering either."""
    edges = {(layer_of(m), layer_of(n)) for m in MODULES for n in imports(m)
             if n.split(".")[0] == PKG and layer_of(n) != layer_of(m)}
    both = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not both, both
