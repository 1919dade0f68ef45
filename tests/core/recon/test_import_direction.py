"""Imports between the reconstruction modules point one way: no network or checkpoint module can reach itself
through its own imports (read from the source, function-level imports included)."""
import ast
from pathlib import Path

import pytest

import halluview.core.recon

RECON = Path(halluview.core.recon.__file__).parent


def _recon_imports(name: str) -> set[str]:
    """The sibling modules ``halluview.core.recon.<name>`` imports, at any level of the file."""
    tree = ast.parse((RECON / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif (node.module or "").startswith("halluview.core.recon."):
                found.add(node.module.split(".")[3])
    return {m for m in found if (RECON / f"{m}.py").is_file()}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), list(_recon_imports(start))
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_recon_imports(module))
    return seen


@pytest.mark.parametrize("module", ["fastmri_nets", "varnet", "unet", "learned", "checkpoints", "architectures"])
def test_network_modules_never_import_themselves_back(module):
    if not (RECON / f"{module}.py").is_file():
        pytest.fail(f"halluview/core/recon/{module}.py is missing")
    assert module not in _reachable(module)


def test_fastmri_nets_still_gathers_both_networks():
    from halluview.core.recon import fastmri_nets, unet, varnet

    assert fastmri_nets.Unet is unet.Unet and fastmri_nets.VarNet is varnet.VarNet
