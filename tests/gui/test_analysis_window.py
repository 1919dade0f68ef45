"""Attack › Analyses: each probe runs in the background on the open scan, paints the core's view live, can be
cancelled, saves what the CLI writes, and agrees with the CLI on the same input."""
import json

import numpy as np
import pytest
from window_helpers import TIMEOUT_MS, open_and_wait

from halluview.cli import main
from halluview.core.analyses.registry import MODULES, config_from
from halluview.gui import analysis_window


@pytest.fixture
def errors(monkeypatch):
    shown = []
    monkeypatch.setattr(analysis_window, "show_error", lambda parent, message, details="": shown.append(message))
    return shown


@pytest.fixture
def analyses(qtbot, window, errors):
    """The analysis window opened from the menu on the brain example at 64² (zero-filled)."""
    window.session.update(source={"image_size": 64})
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(source={"image_size": 64})
    window.actions_by_name["analysis_nullspace"].trigger()
    dialog = window.analysis_window
    qtbot.waitExposed(dialog)
    yield dialog
    dialog.stop_and_wait()


def run_to_end(qtbot, dialog) -> str:
    with qtbot.waitSignal(dialog.analysisEnded, timeout=TIMEOUT_MS) as ended:
        dialog.run_button.click()
    return ended.args[0]


def test_the_menu_offers_every_analysis_with_its_settings_from_core(qtbot, window, analyses):
    assert analyses.analysis == "nullspace"
    for name in MODULES:
        window.actions_by_name[f"analysis_{name}"].trigger()
        assert window.analysis_window is analyses and analyses.analysis == name
        assert set(analyses.form.widgets) == {f.name for f in
                                             __import__("dataclasses").fields(analyses.form.config_type)}
        assert all(w.toolTip() for w in analyses.form.widgets.values())  # every setting explained
        # the form shows every default as it is (a tolerance of 1e-6 must not read as 0 and be refused)
        assert config_from(name, analyses.form.values()) == analyses.form.config_type()


def test_an_analysis_paints_the_core_view_and_saves_what_the_cli_writes(qtbot, window, analyses, errors, tmp_path):
    analyses.select("rotation")
    analyses.form.widgets["max_angle_deg"].setValue(1.0)
    analyses.form.widgets["grid_step_deg"].setValue(0.5)
    analyses.form.widgets["refine_steps"].setValue(2)
    assert run_to_end(qtbot, analyses) == "done" and not errors
    result, config, inputs, _ = analyses.finished_run
    view = result.view()
    assert len(analyses.view.panels.images) == len(view.panels)
    shown = analyses.view.panels.images[0].image.T
    assert np.array_equal(shown, np.asarray(view.panels[0].image, dtype=np.float32))
    assert analyses.view.facts.text() == "\n".join(view.facts)
    assert result.headline() in analyses.status.text()
    report = analyses.save(tmp_path / "app")
    app = json.loads(report.read_text())
    cli_out = tmp_path / "cli"
    experiment = inputs.experiment
    assert experiment.source.image_size == 64 and experiment.recon.name == "zero-filled"
    assert main(["analyse", "rotation", "--demo", "--recon", "zero-filled", "--size", "64", "--device", "cpu",
                 "--max-angle-deg", "1", "--grid-step-deg", "0.5", "--refine-steps", "2", "--quiet",
                 "--out", str(cli_out)]) == 0
    cli = json.loads((cli_out / "analysis.json").read_text())
    assert cli["settings"] == app["settings"] and cli["result"] == app["result"]  # the same numbers


def test_cancel_stops_at_the_next_step_and_keeps_nothing(qtbot, window, analyses, errors):
    analyses.select("invariance")
    analyses.form.widgets["steps"].setValue(100_000)
    with qtbot.waitSignal(analyses.analysisEnded, timeout=TIMEOUT_MS) as ended:
        analyses.run_button.click()
        qtbot.waitUntil(lambda: analyses.progress.maximum() > 1, timeout=TIMEOUT_MS)
        assert not window.actions_by_name["run"].isEnabled()  # one job owns the device
        analyses.cancel()
    assert ended.args[0] == "cancelled" and analyses.finished_run is None and not errors
    assert not analyses.save_button.isEnabled() and window.actions_by_name["run"].isEnabled()


def test_a_setting_out_of_range_is_a_dialog_not_a_run(qtbot, analyses, errors):
    analyses.select("features")
    analyses.form.widgets["shapes"].setText("disc, triangle")
    analyses.run_button.click()
    assert errors and "triangle" in errors[0] and not analyses.running
