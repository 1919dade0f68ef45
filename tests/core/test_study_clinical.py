"""A study carries the clinical metrics: every VIF / segment RMSE / RFS column of its cells, the changes'
high-frequency share (``hf_share``) and the segments used reach the table; the summary and the HTML page give the
attack's and the noise's means per reconstruction; ``choices: {segments: FILE}`` runs them over a label file."""
import math

import numpy as np
import pytest

from halluview.core.errors import ExperimentError
from halluview.core.io.writers import write_nifti
from halluview.core.study.grid import study_config
from halluview.core.study.local import run_study
from halluview.core.study.report import study_page
from halluview.core.study.summary import clinical_table

FAST = {"optimizer": {"steps": 2}, "device": "cpu"}
SOURCE = {"demo": "brain", "image_size": 48}


def _study(tmp_path, **choices):
    config = study_config({"sources": [SOURCE], "recons": ["zero-filled"], "eps": [0.02],
                           "choices": {**FAST, **choices}})
    return config, run_study(config, tmp_path / "study")


def test_the_clinical_columns_reach_the_table_the_summary_and_the_page(tmp_path):
    config, rows = _study(tmp_path)
    attack, noise = (next(r for r in rows if r["kind"] == kind) for kind in ("attack", "noise"))
    for row in (attack, noise):
        for anchor in ("vs_clean", "vs_reference"):
            for name in ("vif", "srmse_mean", "srmse_max", "rfs"):
                assert math.isfinite(row[f"{anchor}_{name}"])
        assert 0 <= row["hf_share"] <= 1 and row["segments_method"] == "slic" and row["segments"] > 5
    assert attack["hf_share"] != noise["hf_share"]  # each row its own change's share
    (entry,) = clinical_table(rows, 0.02)
    assert entry["recon"] == "zero-filled" and entry["anchor"] == "vs_reference" and entry["n"] == 1
    assert entry["values"]["srmse_max"] == {"attack": attack["vs_reference_srmse_max"],
                                            "noise": noise["vs_reference_srmse_max"]}
    assert entry["values"]["hf_share"] == {"attack": attack["hf_share"], "noise": noise["hf_share"]}
    as_text = [{k: str(v) for k, v in r.items()} for r in rows]  # as read back from study.csv
    assert clinical_table(as_text, 0.02)[0]["values"]["vif"]["attack"] == pytest.approx(attack["vs_reference_vif"])
    page = study_page(as_text, {}, {})
    section = page.split("<h2>Clinical metrics</h2>")[1].split("<h2>")[0]
    assert "<h3>zero-filled</h3>" in section and "against the reference" in section
    assert f"<td>{attack['vs_reference_vif']:.4f}</td><td>{noise['vs_reference_vif']:.4f}</td>" in section
    assert f"<td>{attack['hf_share']:.2f}</td>" in section


def test_a_label_file_in_the_choices_gives_the_segments(tmp_path):
    labels = np.zeros((1, 48, 48), np.int16)
    labels[0, 8:24, 8:40], labels[0, 24:40, 8:40] = 1, 2
    path = write_nifti(tmp_path / "labels.nii.gz", labels)
    _, rows = _study(tmp_path, segments=str(path))
    assert {(r["segments_method"], r["segments"]) for r in rows} == {("file", 2)}


def test_a_label_file_that_is_not_there_stops_the_study_before_it_runs(tmp_path):
    with pytest.raises(ExperimentError, match=r"missing\.nii\.gz: no such label file \(choices: segments\)"):
        study_config({"choices": {"segments": str(tmp_path / "missing.nii.gz")}}, "study.yaml")
