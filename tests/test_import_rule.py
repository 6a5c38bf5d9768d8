"""The import rule of docs/architecture.md, checked on the source (every import, in function bodies too).

Imports run one way, from the top of LAYERS to the bottom; no module imports itself back through others
(no cycles); no module uses another module's private names (``_x``) or a private module (``_x.py``) of
another package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tokctl"

# Top first. A module may import any unit of a lower layer; inside a layer, see SAME_LAYER and FEATURE_USES.
# A unit is the first name under tokctl (a package or a single module).
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("public API", frozenset({"__init__", "__main__"})),
    ("cli", frozenset({"cli", "render"})),
    (
        "features",
        frozenset({"usage", "counting", "bills", "reconciliation", "service_quality", "count_audit", "engines"}),
    ),
    ("ingest / pricing / tokenize", frozenset({"ingest", "pricing", "tokenize"})),
    ("registry", frozenset({"registry"})),
    ("core", frozenset({"errors", "schema", "atomic", "paths", "settings"})),
]
# Layers whose units may import each other (the cycle check still applies): the commands use the printer, and
# the core modules are single files that build on each other.
SAME_LAYER = {"cli", "core"}
# The features a feature builds on: its purpose needs the other's result. Anything else two features share
# belongs one layer down.
FEATURE_USES = {
    "reconciliation": {"bills", "usage"},  # bills against priced usage
    "count_audit": {"counting"},  # billed tokens against recounted ones
    "engines": {"usage"},  # the same reads and pricing on Spark
}
# Importable from anywhere: data, no logic.
DATA = {"tokenizers_registry"}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name (a submodule when ``from package import submodule``)
    names: tuple[str, ...]
    line: int

    def where(self) -> str:
        return f"{_path(self.importer)}:{self.line}"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ["tokctl", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _path(module: str) -> str:
    return str(MODULES[module].relative_to(ROOT.parent))


def _imports(module: str, path: Path) -> Iterator[Import]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("tokctl", *DATA):
                    yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if base.split(".")[0] not in ("tokctl", *DATA):
                continue
            names = tuple(alias.name for alias in node.names)
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            rest = tuple(n for n in names if f"{base}.{n}" not in MODULES)
            for sub in submodules:
                yield Import(module, sub, (), node.lineno)
            if rest or not submodules:
                yield Import(module, base, rest, node.lineno)


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(unit: str) -> int | None:
    for index, (_, units) in enumerate(LAYERS):
        if unit in units:
            return index
    return None


def test_every_unit_has_a_layer() -> None:
    missing = sorted({_unit(m) for m in MODULES if _layer(_unit(m)) is None})
    assert not missing, (
        f"tokctl.{', tokctl.'.join(missing)} has no layer: add it to LAYERS in tests/test_import_rule.py (the "
        "lowest layer whose units it needs) and give it a line in docs/architecture.md"
    )


def _upward(imp: Import) -> str | None:
    if imp.target.split(".")[0] in DATA:
        return None
    src, dst = _unit(imp.importer), _unit(imp.target)
    src_layer, dst_layer = _layer(src), _layer(dst)
    if src == dst or src_layer is None or dst_layer is None or dst_layer > src_layer:
        return None
    name = LAYERS[src_layer][0]
    if dst_layer == src_layer:
        if name in SAME_LAYER or dst in FEATURE_USES.get(src, ()):
            return None
        if name == "features":
            return (
                f"{imp.where()}: feature {src} imports feature {dst} ({imp.target}); move what both need one "
                f"layer down (ingest, pricing, tokenize, registry or core), or, if {src} is built on {dst}'s "
                "result, add the edge to FEATURE_USES in tests/test_import_rule.py and to docs/architecture.md"
            )
        return (
            f"{imp.where()}: {src} imports {dst} ({imp.target}), but the units of the layer '{name}' are "
            f"independent; move what both need down to registry or core, or do the combining in a feature "
            f"above both (e.g. pricing a read happens in tokctl.usage, not in tokctl.ingest)"
        )
    return (
        f"{imp.where()}: {src} (layer '{name}') imports {imp.target} from the higher layer "
        f"'{LAYERS[dst_layer][0]}'; move the code it needs down into {src} or a lower layer, or let the caller "
        f"in '{LAYERS[dst_layer][0]}' pass it in (a function or a value)"
    )


def test_imports_run_one_way() -> None:
    problems = [p for p in map(_upward, IMPORTS) if p]
    assert not problems, "imports against the layers (cli -> features -> ingest/pricing/tokenize -> registry ->" \
        " core):\n" + "\n".join(problems)  # fmt: skip


def _cycles() -> list[list[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.target in MODULES and imp.target != imp.importer:
            edges[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles() -> None:
    lines = []
    for component in _cycles():
        members = set(component)
        links = [f"  {i.where()} imports {i.target}" for i in IMPORTS if i.importer in members and i.target in members]
        lines.append(f"{' <-> '.join(component)}:\n" + "\n".join(links))
    assert not lines, (
        "import cycles (imports inside functions count: they only hide the cycle); move what the modules share "
        "into a module both import (e.g. the data classes into a model module), so that one of them no longer "
        "imports the other:\n" + "\n".join(lines)
    )


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _private_uses() -> Iterator[str]:
    for imp in IMPORTS:
        if imp.target.split(".")[0] in DATA or imp.target == imp.importer:
            continue
        for name in imp.names:
            if _private(name):
                yield (
                    f"{imp.where()}: imports the private name {name} of {imp.target}; make it public in "
                    f"{imp.target} (drop the underscore, give it a docstring) or move it where both can use it"
                )
        owner = imp.target.rpartition(".")[0]  # the package a private module belongs to
        inside = f"{_package_of(imp.importer)}.".startswith(f"{owner}.")
        if any(_private(p) for p in imp.target.split(".")) and not inside:
            yield (
                f"{imp.where()}: imports {imp.target}, a private module of another package; import the "
                f"public name from {imp.target.rpartition('.')[0]}, or make the module public (rename it)"
            )
    for module, path in MODULES.items():
        aliases = _module_aliases(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
                and aliases[node.value.id] != module
            ):
                yield (
                    f"{_path(module)}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}, a private name; "
                    f"make it public there or move it where both can use it"
                )


def _module_aliases(path: Path) -> dict[str, str]:
    """Local names bound to tokctl modules by the file's imports."""
    aliases = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tokctl") and alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tokctl"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def test_no_private_names_across_modules() -> None:
    problems = sorted(set(_private_uses()))
    assert not problems, "private names used across modules:\n" + "\n".join(problems)


def test_the_checks_see_imports_in_function_bodies() -> None:
    """The rule would pass vacuously if the walk missed lazy imports; tokctl imports pyarrow-heavy code lazily."""
    lazy = [i for i in IMPORTS if i.importer == "tokctl.cli.usage"]
    assert lazy, "tokctl.cli.usage imports nothing from tokctl: the import walk is broken"
    assert any(i.importer.startswith("tokctl.usage") and i.target.startswith("tokctl.ingest") for i in IMPORTS)


def test_the_rule_catches_each_kind_of_import() -> None:
    def check(importer: str, target: str) -> str | None:
        return _upward(Import(importer, target, (), 1))

    assert "from the higher layer 'features'" in (check("tokctl.registry.fx", "tokctl.usage.report") or "")
    assert "independent" in (check("tokctl.ingest.read", "tokctl.pricing") or "")
    assert "FEATURE_USES" in (check("tokctl.service_quality.metrics", "tokctl.bills") or "")
    assert "higher layer 'cli'" in (check("tokctl.usage.report", "tokctl.render") or "")
    assert check("tokctl.reconciliation.engine", "tokctl.bills") is None  # a declared feature edge
    assert check("tokctl.cli.usage", "tokctl.render") is None
    assert check("tokctl.ingest.read", "tokctl.settings") is None
