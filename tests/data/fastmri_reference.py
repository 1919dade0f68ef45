"""fastMRI's own code (``pip install --no-deps fastmri==0.3.0``) as the independent reference for tests.

fastMRI's package ``__init__`` files import its data-set loaders, which need pandas, requests, yaml and tqdm, and
``fastmri.evaluate`` imports runstats for its running-statistics class; none of that takes part in the functions the
tests compare against (masks, transforms, the VarNet, ssim / psnr / nmse, the ISMRMRD header query). Modules that
are missing are replaced by empty stand-ins, as tests/core/recon/test_fastmri_reference.py does for the loaders,
and the header code is loaded from ``mri_data.py`` itself, so that the real query and padding formulas are used.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

_loaders = types.ModuleType("fastmri.data.mri_data")
_loaders.CombinedSliceDataset = _loaders.SliceDataset = object
sys.modules.setdefault("fastmri.data.mri_data", _loaders)
try:
    import runstats  # noqa: F401
except ImportError:  # only fastmri.evaluate.Metrics uses it
    _runstats = types.ModuleType("runstats")
    _runstats.Statistics = object
    sys.modules["runstats"] = _runstats

import fastmri  # noqa: E402
from fastmri import evaluate  # noqa: E402
from fastmri.data import subsample, transforms  # noqa: E402
from fastmri.models import VarNet  # noqa: E402

__all__ = ["evaluate", "subsample", "transforms", "VarNet", "mri_data", "header_metadata"]


def _load_mri_data() -> types.ModuleType:
    """fastmri/data/mri_data.py under a private name, with stand-ins for the modules it imports but never uses
    in the header code (pandas, requests, yaml, tqdm) when they are not installed; ``sys.modules`` is left as it was."""
    path = Path(fastmri.__file__).parent / "data" / "mri_data.py"
    stand_ins = {name: types.ModuleType(name) for name in ("pandas", "requests", "yaml", "tqdm")
                 if importlib.util.find_spec(name) is None}
    for module in stand_ins.values():  # names that appear in signatures and annotations
        module.tqdm = module.Series = module.DataFrame = object
    sys.modules.update(stand_ins)
    try:
        spec = importlib.util.spec_from_file_location("fastmri_reference_mri_data", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
    return module


mri_data = _load_mri_data()


def header_metadata(path: str | Path) -> dict[str, Any]:
    """fastMRI's ``SliceDataset._retrieve_metadata``: padding, encoding and recon sizes, and the file attributes."""
    metadata, _ = mri_data.SliceDataset._retrieve_metadata(None, path)
    return metadata
