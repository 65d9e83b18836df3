"""The layers of docs/architecture.md, read from the source (every import, also those inside functions):
the sampler is pure tensor maths, renderers know nothing of diffusion models, and no module imports one that
imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import dreamsampler3d

ROOT = Path(dreamsampler3d.__file__).parent
PKG = "dreamsampler3d"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in ROOT.rglob("*.py")}


def imports(module: str) -> set[str]:
    """Absolute names of everything ``module`` imports anywhere in its body."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in MODULES)
    return out


def _layer_imports(layer: str) -> dict[str, set[str]]:
    return {m: imports(m) for m in MODULES if m.startswith(f"{PKG}.{layer}.") or m == f"{PKG}.{layer}"}


def _offenders(layer: str, forbidden: tuple[str, ...], allow: dict[str, tuple[str, ...]] = {}) -> list[str]:
    bad = []
    for m, names in _layer_imports(layer).items():
        for name in names:
            if any(name == f or name.startswith(f + ".") for f in forbidden) and name not in allow.get(m, ()):
                bad.append(f"{m} imports {name}")
    return bad


def test_sampler_is_pure_tensor_maths():
    assert not _offenders("sampler", ("diffusers", "transformers", "lightning", f"{PKG}.priors", f"{PKG}.renderers",
                                      f"{PKG}.generators", f"{PKG}.tasks", "svgelements", "nerfacc"))


def test_renderers_know_nothing_of_diffusion_models():
    assert not _offenders("renderers", ("diffusers", "transformers", "lightning", f"{PKG}.priors", f"{PKG}.sampler",
                                        f"{PKG}.generators", f"{PKG}.tasks"))


def test_generators_and_priors_stay_below_the_tasks():
    assert not _offenders("generators", ("diffusers", "transformers", "lightning", f"{PKG}.priors", f"{PKG}.tasks"))
    assert not _offenders("priors", (f"{PKG}.tasks", f"{PKG}.generators", f"{PKG}.renderers"))


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
