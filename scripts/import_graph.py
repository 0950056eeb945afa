"""Print bboxcore's internal import graph problems: private names crossing packages, and cycles.

Reads every ``bboxcore/**/*.py`` with :mod:`ast` (imports at any depth, function-level
ones included; nothing is imported or run) and reports

* each **cross-package private import**: a name starting with ``_`` (or a private
  module) taken from another package, except from ``bboxcore._checks``, the one
  shared checks module. A "package" is a sub-package of bboxcore (``bboxcore.nn``,
  ``bboxcore.losses``...) or a top-level module (``bboxcore.nms``); a private
  top-level module belongs to the module that owns it (``bboxcore._nms_fast`` to
  ``bboxcore.nms``). ``from m import _x``, ``m._x`` on an imported module ``m``
  and ``import bboxcore._x`` all count;
* each **import cycle** among bboxcore's modules (strongly connected components
  of the module graph, where ``from bboxcore.p import name`` is an edge to the
  module that defines ``name`` when it is a submodule, else to ``bboxcore.p``).

Usage: ``python scripts/import_graph.py [--root bboxcore] [--unit package|module] [--quiet]``;
the exit status is 0.
The counts are also available to tests as :func:`analyse`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: The one module that other packages may import private names from.
SHARED_CHECKS = "bboxcore._checks"
#: Top-level modules that belong to another top-level module's unit: the private
#: block-wise NMS engine and its old public path belong to ``bboxcore.nms``.
PRIVATE_MODULE_OWNERS = {"bboxcore._nms_fast": "bboxcore.nms", "bboxcore.nms_fast": "bboxcore.nms"}


@dataclass
class Report:
    private_imports: list[tuple[str, str, str]] = field(default_factory=list)
    """(importer module, imported module, private name) crossing packages."""
    cycles: list[list[str]] = field(default_factory=list)
    edges: dict[str, set[str]] = field(default_factory=dict)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_of(module: str, packages: set[str], unit: str = "package") -> str:
    """The unit private names must not leave: a sub-package, or a top-level module.

    With ``unit="module"`` every module is its own unit (the stricter count).
    """
    if unit == "module":
        return module
    parts = module.split(".")
    if len(parts) == 1:
        return module
    top = ".".join(parts[:2])
    return PRIVATE_MODULE_OWNERS.get(top, top)


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def analyse(root: Path, unit: str = "package") -> Report:
    root = Path(root)
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    packages = {m for m, p in files.items() if p.name == "__init__.py"}
    report = Report(edges={m: set() for m in modules})

    def private_hit(importer: str, target: str, name: str) -> None:
        if package_of(importer, packages, unit) == package_of(target, packages, unit):
            return
        if target == SHARED_CHECKS or f"{target}.{name}" == SHARED_CHECKS:
            return
        report.private_imports.append((importer, target, name))

    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        aliases: dict[str, str] = {}  # local name -> bboxcore module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if not a.name.startswith("bboxcore"):
                        continue
                    if a.name in modules:
                        report.edges[mod].add(a.name)
                    if a.asname:
                        aliases[a.asname] = a.name
                    last = a.name.rsplit(".", 1)[-1]
                    if last.startswith("_") and not last.startswith("__"):
                        private_hit(mod, a.name.rsplit(".", 1)[0], last)
            elif isinstance(node, ast.ImportFrom):
                src = _resolve_from(node, mod, mod in packages)
                if not src or not src.startswith("bboxcore"):
                    continue
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    if sub in modules:  # a submodule
                        report.edges[mod].add(sub)
                        aliases[a.asname or a.name] = sub
                        target, name = src, a.name
                    else:
                        if src in modules:
                            report.edges[mod].add(src)
                        target, name = src, a.name
                    if name.startswith("_") and not name.startswith("__"):
                        private_hit(mod, target, name)
                    elif target.rsplit(".", 1)[-1].startswith("_") and sub not in modules:
                        private_hit(mod, target, name)  # a public name of a private module
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                private_hit(mod, aliases[node.value.id], node.attr)
    report.private_imports = sorted(set(report.private_imports))
    report.cycles = _cycles(report.edges)
    return report


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in edges or w == v:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "bboxcore"))
    parser.add_argument("--quiet", action="store_true", help="print the two counts only")
    parser.add_argument(
        "--unit",
        choices=("package", "module"),
        default="package",
        help="what a private name must not leave (default: package)",
    )
    args = parser.parse_args(argv)
    report = analyse(Path(args.root), args.unit)
    names = {(t, n) for _, t, n in report.private_imports}
    print(
        f"cross-{args.unit} private imports: {len(report.private_imports)} "
        f"({len(names)} distinct private names)"
    )
    if not args.quiet:
        for importer, target, name in report.private_imports:
            print(f"  {importer:40s} <- {target}.{name}")
    print(f"import cycles: {len(report.cycles)}")
    if not args.quiet:
        for comp in report.cycles:
            print("  " + " <-> ".join(comp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
