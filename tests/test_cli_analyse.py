"""`halluview-cli analyse NAME`: every analysis runs headless into a folder (JSON, figure, panels) with its settings
as flags, and wrong input is one line, exit 2, nothing written."""
import json

import numpy as np
import pytest

from halluview.cli import main
from halluview.core.analyses.registry import MODULES

QUICK = {  # small settings: the CLI's plumbing is under test here, the analyses in tests/core/analyses
    "rotation": ["--max-angle-deg", "1", "--grid-step-deg", "0.5", "--refine-steps", "2"],
    "features": ["--shapes", "disc", "--sizes-px", "2,4", "--contrasts", "0.1,0.4"],
    "invariance": ["--invariance-steps", "5"],
    "nullspace": [],
}
COMMON = ["--demo", "--recon", "zero-filled", "--device", "cpu", "--quiet", "--size", "64"]


@pytest.mark.parametrize("name", list(MODULES))
def test_each_analysis_writes_its_report_figure_and_panels(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["analyse", name, *COMMON, *QUICK[name], "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("zero-filled: ") and f"report: {out / 'analysis.json'}" in printed
    report = json.loads((out / "analysis.json").read_text())
    assert report["analysis"] == name and report["recon"] == "zero-filled"
    assert report["experiment"]["source"]["image_size"] == 64 and report["environment"]["threads"] >= 1
    assert report["headline"] and report["result"]
    assert (out / f"{name}.png").stat().st_size > 1000
    panels = sorted(out.glob("panel-*.npy"))
    assert panels and np.load(panels[0]).shape == (64, 64)  # the first is an image; a map may be smaller


def test_settings_flags_reach_the_analysis(tmp_path):
    out = tmp_path / "rotation"
    assert main(["analyse", "rotation", *COMMON, *QUICK["rotation"], "--out", str(out)]) == 0
    settings = json.loads((out / "analysis.json").read_text())["settings"]
    assert settings["max_angle_deg"] == 1.0 and settings["grid_step_deg"] == 0.5 and settings["refine_steps"] == 2


@pytest.mark.parametrize("arguments, words", [
    (["rotation", "--max-angle-deg", "400"], "max_angle"),
    (["features", "--shapes", "triangle"], "triangle"),
    (["nullspace", "--slices", "all"], "--slice"),
    (["rotation", "--grid-step-deg", "abc"], "grid-step-deg"),
])
def test_wrong_settings_are_one_line_exit_2_and_write_nothing(arguments, words, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyse", *arguments, "--demo", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and words in error and "Traceback" not in error
    assert not out.exists()


def test_an_unknown_analysis_and_a_lying_file_are_one_line_exit_2(tmp_path, capsys):
    assert main(["analyse", "wobble", "--demo"]) == 2
    assert "wobble" in capsys.readouterr().err
    lying = tmp_path / "scan.dcm"
    lying.write_bytes(b"not a dicom file at all")
    out = tmp_path / "out"
    assert main(["analyse", "nullspace", str(lying), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "scan.dcm" in error and not out.exists()
