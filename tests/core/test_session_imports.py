"""Imports point one way around the session's core modules, and installed plug-ins are looked for only when a model
name needs them, once."""
import ast
import subprocess
import sys
from pathlib import Path

import halluview

PACKAGE = Path(halluview.__file__).parent
SESSION_MODULES = ("halluview.core.experiment", "halluview.core.recon.factory", "halluview.core.recon.zoo",
                   "halluview.core.validation", "halluview.core.choices", "halluview.core.problem",
                   "halluview.core.session", "halluview.core.settings", "halluview.core.recon.config")


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports anywhere (inside functions too), read from the source."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(("halluview",) + path.relative_to(PACKAGE).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            for candidate in candidates:
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name and not name.startswith(candidate + "."):
                    targets.add(candidate)
        graph[name] = targets
    return graph


def reaches(graph, start: str, goal: str) -> bool:
    seen, todo = set(), list(graph[start])
    while todo:
        module = todo.pop()
        if module == goal:
            return True
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return False


def test_no_session_core_module_imports_itself_back():
    graph = import_graph()
    assert [m for m in SESSION_MODULES if reaches(graph, m, m)] == []


def test_the_settings_are_leaves():
    graph = import_graph()
    assert graph["halluview.core.recon.config"] == set() and graph["halluview.core.errors"] == set()
    assert graph["halluview.core.settings"] <= {"halluview.core.errors", "halluview.core.physics.noise"}


def test_plugins_are_looked_for_on_the_first_unknown_name_only_once():
    code = """
import importlib.metadata as metadata
looked = []
real = metadata.entry_points
metadata.entry_points = lambda **kw: (kw.get("group") == "halluview.models" and looked.append(kw)) or real(**kw)
import halluview.core.choices, halluview.core.problem, halluview.core.recon.factory
from halluview.core.recon.zoo import MODELS
assert "unet-mri-4x" in MODELS and MODELS["fbpconvnet-ct-sparse"].modality == "ct"
print(len(looked))
assert "no-such-model" not in MODELS and MODELS.get("another") is None
print(len(looked))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]
