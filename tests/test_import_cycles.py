"""tfcourse's modules import one another one way: no import cycle anywhere (issue: fit <-> xla_choice).

Every `import` statement counts, also those inside functions (a deferred import hides a
cycle but does not remove it). `from package import name` is an edge to `package.name`
when that is a module, else to the package itself.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root, package):
    """{module: set of package modules it imports}, read from the source with `ast`."""
    files = {_module_name(p, root): p for p in (root / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in files and t != name)
        graph[name] = edges
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_tfcourse_has_no_import_cycle():
    graph = import_graph(ROOT, "tfcourse")
    assert "tfcourse.training.setup" in graph["tfcourse.training.xla_choice"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_check_finds_a_deferred_import_cycle(tmp_path):
    """Negative control: the old fit <-> xla_choice shape (a deferred import) is caught."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "fit.py").write_text("from pkg.xla_choice import choose\n")
    (package / "xla_choice.py").write_text("def choose():\n    from pkg.fit import helper\n")
    (package / "other.py").write_text("from . import fit\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.other"] == {"pkg.fit"}
    assert find_cycle(graph) == ["pkg.fit", "pkg.xla_choice", "pkg.fit"]
