"""Who imports whom: bench → flows → stages and never back, no module cycle, and the orchestrator's
light modules light. Read from the files (every import, those inside functions too), nothing imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "flows", "stages")
LAYER = {"bench": 2, "flows": 1, "stages": 0}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of ours it imports (`from a.b import c` is a.b.c where c is a module, else a.b)."""

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            graph[name].update(t for t in map(ours, targets) if t and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_cycle():
    """A package's __init__ that imports its modules, and modules that import a name back from that
    __init__, is a cycle too: a registry lives in a module of its own (stages/tfops/table.py)."""
    assert _cycles(_graph(_modules())) == []


def test_imports_go_down_the_layers_only():
    """stages/ runs inside the runtimes, without the orchestrator; flows/ never needs bench/."""
    graph = _graph(_modules())
    upward = sorted(
        f"{a} imports {b}"
        for a, targets in graph.items()
        for b in targets
        if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
    )
    assert upward == []


def test_the_request_and_the_catalog_import_no_framework_and_no_numpy():
    """What every CLI call imports (the request's model, the catalog of stages) costs no numpy import."""
    probe = (
        "import sys, flows.config, flows.convert_options, stages.catalog; "
        "print(sorted(m for m in ('numpy', 'onnx', 'tensorflow', 'torch', 'prefect') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _caffe_image_files() -> list[Path]:
    from flows.images import image_code

    return sorted(p for p in image_code("caffe") if p.suffix == ".py")


def test_ruff_reads_what_the_caffe_image_runs_as_python_3_9():
    """The caffe image's Python is Debian bullseye's 3.9: every file it runs is linted as 3.9 (pyproject's
    per-file target versions), and the rest of stages/ as 3.11, so that zip's strict= is asked there."""
    import fnmatch
    import tomllib

    versions = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["ruff"]["per-file-target-version"]
    as_39 = [pattern for pattern, version in versions.items() if version == "py39"]

    def read_as_39(file: str) -> bool:  # `**/` is any number of folders, none too
        return any(fnmatch.fnmatch(file, p) or fnmatch.fnmatch(file, p.replace("**/", "")) for p in as_39)

    files = [p.relative_to(REPO).as_posix() for p in _caffe_image_files()]
    assert files and [f for f in files if not read_as_39(f)] == []
    assert not read_as_39("stages/tfops/ops/nn.py") and not read_as_39("stages/match.py")


def test_the_caffe_images_code_uses_nothing_python_3_9_lacks():
    """What ruff's 3.9 reading does not see: zip's strict= (3.10), and `X | Y` types evaluated at run time
    (a module without `from __future__ import annotations`)."""
    wrong = []
    for path in _caffe_image_files():
        tree = ast.parse(path.read_text(), feature_version=(3, 9))
        lazy = any(
            isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
            for n in tree.body
        )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "zip"
                and any(k.arg == "strict" for k in node.keywords)
            ):
                wrong.append(f"{path.name}:{node.lineno}: zip(strict=)")
            if not lazy and isinstance(node, (ast.arg, ast.AnnAssign, ast.FunctionDef)):
                annotation = node.returns if isinstance(node, ast.FunctionDef) else node.annotation
                if annotation is not None and any(
                    isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(annotation)
                ):
                    wrong.append(f"{path.name}:{node.lineno}: an `X | Y` type evaluated at run time")
    assert wrong == []
