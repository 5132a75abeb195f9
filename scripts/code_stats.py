"""Size and import-cycle numbers for ``geocrm/``: the before/after figures of a refactoring note.

Prints three lists, each with its count:

* modules over ``--max-module`` physical lines (default 500; migrations are generated and skipped);
* functions (incl. methods and nested functions) over ``--max-function`` lines (default 80),
  counted from the ``def`` line to the last line of the body, decorators left out;
* imports of the package's own modules made inside a function (lazy imports: each one should
  have a reason other than dodging a cycle, which the contracts would catch anyway);
* import cycles inside the package, on two levels:

  - *package cycles*: siblings (e.g. ``geocrm.crm`` and ``geocrm.accounts``, or two modules of
    one package) that import each other directly or through other siblings, the thing the
    ``acyclic_siblings`` contract in ``make lint`` forbids; one line per strongly connected
    group of siblings;
  - *module cycles*: strongly connected groups of modules in the module-level import graph.

Every import counts, also one inside a function: a lazy import that only dodges a cycle at
import time is still a cycle in the design. ``if TYPE_CHECKING:`` imports are left out (they
never run).

Run it on any checkout: ``python scripts/code_stats.py [--root PATH] [--package geocrm]``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path


def long_modules(package_dir: Path, limit: int) -> list[tuple[str, int]]:
    """(path, lines) of every module over ``limit`` lines, longest first."""
    rows = []
    for path in sorted(package_dir.rglob("*.py")):
        if "migrations" in path.parts and "versions" in path.parts:
            continue
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            rows.append((str(path.relative_to(package_dir.parent)), n))
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def long_functions(package_dir: Path, limit: int) -> list[tuple[str, int]]:
    """(path:qualified.name, lines) of every function over ``limit`` lines, longest first."""
    rows = []
    for path in sorted(package_dir.rglob("*.py")):
        if "migrations" in path.parts and "versions" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(package_dir.parent)
        for qualname, node in _functions(tree, ""):
            n = (node.end_lineno or node.lineno) - node.lineno + 1
            if n > limit:
                rows.append((f"{rel}:{qualname}", n))
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _functions(
    node: ast.AST, prefix: str
) -> Iterable[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            yield name, child
            yield from _functions(child, f"{name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def lazy_imports(package_dir: Path, package: str) -> list[tuple[str, str]]:
    """(path:function, imported module) for every in-function import of ``package``."""
    rows = []
    for path in sorted(package_dir.rglob("*.py")):
        if "migrations" in path.parts and "versions" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(package_dir.parent)
        for qualname, node in _functions(tree, ""):
            for inner in _own_nodes(node):
                if isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                    names = [inner.module]
                elif isinstance(inner, ast.Import):
                    names = [alias.name for alias in inner.names]
                else:
                    continue
                for name in names:
                    if name == package or name.startswith(package + "."):
                        rows.append((f"{rel}:{qualname}", name))
    return sorted(set(rows))


def _own_nodes(function: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a function's body, not those of the functions and classes nested in it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one member (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups, key=lambda g: (-len(g), g))


def import_graph(package: str) -> Mapping[str, set[str]]:
    """Module -> modules it imports, inside ``package`` only."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    return {
        m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith(package)}
        for m in graph.modules
    }


def package_cycles(modules: Mapping[str, set[str]]) -> list[list[str]]:
    """Cycles between siblings at every level (what ``acyclic_siblings`` checks)."""
    children: dict[str, set[str]] = defaultdict(set)
    for module in modules:
        parts = module.split(".")
        for depth in range(1, len(parts)):
            children[".".join(parts[:depth])].add(".".join(parts[: depth + 1]))
    found = []
    for parent in sorted(children):
        siblings = children[parent]
        if len(siblings) < 2:
            continue

        def sibling_of(module: str, parent: str = parent) -> str | None:
            if not module.startswith(parent + "."):
                return None
            return ".".join(module.split(".")[: parent.count(".") + 2])

        edges: dict[str, set[str]] = defaultdict(set)
        for importer, imported in ((a, b) for a, bs in modules.items() for b in bs):
            src, dst = sibling_of(importer), sibling_of(imported)
            if src and dst and src != dst:
                edges[src].add(dst)
        found.extend(strongly_connected(edges))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--package", default="geocrm")
    parser.add_argument("--max-module", type=int, default=500)
    parser.add_argument("--max-function", type=int, default=80)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    package_dir = root / args.package

    modules = long_modules(package_dir, args.max_module)
    print(f"modules over {args.max_module} lines: {len(modules)}")
    for name, n in modules:
        print(f"  {n:5d}  {name}")
    functions = long_functions(package_dir, args.max_function)
    print(f"functions over {args.max_function} lines: {len(functions)}")
    for name, n in functions:
        print(f"  {n:5d}  {name}")
    lazy = lazy_imports(package_dir, args.package)
    print(f"imports of {args.package} inside functions: {len(lazy)}")
    for where, name in lazy:
        print(f"  {where} -> {name}")
    graph = import_graph(args.package)
    packages = package_cycles(graph)
    print(f"package cycles (siblings importing each other): {len(packages)}")
    for group in packages:
        print("  " + " <-> ".join(group))
    cycles = strongly_connected(graph)
    print(f"module cycles (strongly connected groups): {len(cycles)}")
    for group in cycles:
        print(f"  {len(group)} modules: " + ", ".join(group))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
