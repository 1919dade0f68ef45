"""Weights files that would hang or exhaust memory are refused before torch sees them (tests/data generators)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

TEST_DATA = Path(__file__).resolve().parents[2] / "data"
sys.path.insert(0, str(TEST_DATA))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from isolated_read import isolated  # noqa: E402
from make_hostile_files import MiB, checkpoint_deflated, checkpoint_overlapping  # noqa: E402

from halluview.core.recon.checkpoints import CheckpointError, read_state_dict  # noqa: E402

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="needs FIFOs and POSIX resource limits")


@POSIX_ONLY
def test_a_fifo_as_weights_is_refused_at_once(tmp_path):
    from halluview.core.recon.factory import ReconConfig, build_reconstructor

    os.mkfifo(tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match=r"named pipe \(FIFO\), not a regular file"):
        read_state_dict(tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="named pipe"):  # TorchScript files are opened by torch.jit.load
        build_reconstructor(ReconConfig(name="torchscript", weights=str(tmp_path / "weights.pt")), None)


def test_a_missing_file_is_named_as_missing(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        read_state_dict(tmp_path / "nowhere.pt")


@POSIX_ONLY
@pytest.mark.slow
def test_deflated_members_beyond_the_memory_limit_are_refused_before_torch_load(tmp_path):
    path = checkpoint_deflated(tmp_path, n_tensors=2, tensor_bytes=128 * MiB)
    assert path.stat().st_size < 1 * MiB
    code = f"""
from halluview.core.recon.checkpoints import CheckpointError, read_state_dict
try:
    result = sorted(read_state_dict({str(path)!r}))
except CheckpointError as error:
    result = error.reason
"""
    refused = isolated(code, env={"HALLUVIEW_MEMORY_LIMIT": "64M"})
    assert refused.returncode == 0, refused.stderr
    assert "would need 256.0 MiB of memory, more than the 64.0 MiB limit" in refused.result
    loaded = isolated(code, env={"HALLUVIEW_MEMORY_LIMIT": "1G"})
    assert loaded.result == ["w0", "w1"]
    # torch allocated the 256 MiB when allowed; refusing stays well below that
    assert refused.peak_rss_mib < loaded.peak_rss_mib - 200, (refused.peak_rss_mib, loaded.peak_rss_mib)


def test_overlapping_zip_members_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="stored bytes in a .*-byte file: they overlap"):
        read_state_dict(checkpoint_overlapping(tmp_path))


def test_an_ordinary_checkpoint_still_loads(tmp_path):
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.pt")
    assert torch.equal(read_state_dict(tmp_path / "w.pt")["w"], torch.arange(6.0))
