"""The study's analysis cells: one per scan slice, reconstruction and seed, keyed by their settings, in the same
resumable table as the attacks, and checked before anything runs."""
import pytest

from halluview.core.errors import ExperimentError
from halluview.core.study.analysis_summary import analysis_summary
from halluview.core.study.grid import study_config
from halluview.core.study.local import read_table, run_study, study_cells
from halluview.core.study.report import study_page

ROTATION = {"name": "rotation", "settings": {"max_angle_deg": 1.0, "grid_step_deg": 0.5, "refine_steps": 0}}
DATA = {"sources": [{"demo": "brain", "image_size": 64}], "recons": ["zero-filled"], "eps": [],
        "analyses": [ROTATION, "nullspace"], "choices": {"device": "cpu"}}


def test_analysis_cells_are_keyed_by_their_settings_and_need_no_eps():
    config = study_config(DATA)
    cells = study_cells(config)
    assert [c.labels["analysis"] for c in cells] == [
        'rotation {"grid_step_deg":0.5,"max_angle_deg":1.0,"refine_steps":0}', "nullspace"]
    other = study_config({**DATA, "analyses": [{**ROTATION, "settings": {"max_angle_deg": 2.0}}]})
    assert study_cells(other)[0].key != cells[0].key
    with_attacks = study_cells(study_config({**DATA, "eps": [0.01]}))
    assert len(with_attacks) == 3 and with_attacks[0].analysis is None


@pytest.mark.parametrize("analyses, words", [
    (["wobble"], "wobble"), ([{"name": "rotation", "settings": {"max_angle": 1}}], "max_angle"),
    ([{"name": "rotation", "settings": {"max_angle_deg": -1}}], "max_angle_deg"), ([], "non-empty"),
    ([{"name": "nullspace", "extra": 1}], "extra")])
def test_a_bad_analysis_is_one_clear_error_before_anything_runs(analyses, words):
    with pytest.raises(ExperimentError, match=words):
        study_config({**DATA, "analyses": analyses})


def test_eps_may_be_empty_only_with_analyses():
    with pytest.raises(ExperimentError, match="eps"):
        study_config({k: v for k, v in DATA.items() if k != "analyses"})


def test_a_study_of_analyses_writes_rows_and_a_rerun_skips_them(tmp_path):
    config = study_config(DATA)
    rows = run_study(config, tmp_path)
    assert {r["kind"] for r in rows} == {"analysis"} and all(r["status"] == "done" for r in rows)
    rotation = [r for r in rows if r["analysis"].startswith("rotation")]
    nullspace = [r for r in rows if r["analysis"] == "nullspace"]
    assert rotation and nullspace and rotation[0]["recon"] == "zero-filled"
    assert all(r["device"] == "cpu" and r["seconds"] >= 0 for r in rows)
    assert len(read_table(tmp_path)) == len(rows)
    seen = []
    run_study(config, tmp_path, on_cell=lambda i, n, cell, status, table: seen.append(status))
    assert seen == ["skipped", "skipped"]
    page = study_page(rows, DATA, {})
    assert "<h2>Analyses</h2>" in page and "null-space share of the error" in page and "worst angle" in page
    assert "no finished attack cell" in page  # not "no cell has finished yet"
    entry = next(e for e in analysis_summary(rows) if e["analysis"] == "nullspace")
    assert entry["values"]["null-space share of the error"][0] == pytest.approx(float(nullspace[0]["null_space_share"]))
