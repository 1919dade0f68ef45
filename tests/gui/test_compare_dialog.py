"""Compare two runs: both perturbed images and differences on one scale, the metrics and the differing settings."""
from types import SimpleNamespace

import numpy as np
import pytest
from run_fixture import finished_run

from halluview.core.attacks.regions import region_mask
from halluview.core.display import robust_limit
from halluview.gui.compare_dialog import CompareDialog


def record(number, experiment, result):
    return SimpleNamespace(number=number, label=f"#{number} {experiment.recon.name}", experiment=experiment.to_dict(),
                           result=result, region=region_mask(experiment.region, result.clean.shape))


@pytest.fixture(scope="module")
def runs():
    return record(1, *finished_run(eps=0.05)), record(2, *finished_run(eps=0.01, recon="tv", steps=2))


def table_rows(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_both_runs_share_one_difference_scale_and_grey_window(qtbot, runs):
    dialog = CompareDialog(*runs)
    qtbot.addWidget(dialog)
    limits = [robust_limit(r.result.perturbed - r.result.clean) for r in runs]
    assert dialog.difference_limit == pytest.approx(max(limits)) and limits[0] != pytest.approx(limits[1])
    for column in (0, 1):
        levels = dialog.images[("difference", column)].getLevels()
        assert list(levels) == pytest.approx([-max(limits), max(limits)])
    assert list(dialog.images[("perturbed", 0)].getLevels()) == list(dialog.images[("perturbed", 1)].getLevels())
    np.testing.assert_array_equal(dialog.images[("perturbed", 1)].image, runs[1].result.perturbed)


def test_metrics_and_differing_settings_are_listed(qtbot, runs):
    dialog = CompareDialog(*runs)
    qtbot.addWidget(dialog)
    settings = {row[0]: row[1:] for row in table_rows(dialog.settings_table)}
    assert settings["threat.eps"] == ["0.05", "0.01"] and settings["recon.name"] == ["zero-filled", "tv"]
    assert "seed" not in settings
    metrics = {(row[0], row[1]): row[2:] for row in table_rows(dialog.metrics_table)}
    a, b = (f"{r.result.metrics['vs_clean']['ssim_in']:.4g}" for r in runs)
    assert metrics[("inside the region, vs clean", "SSIM")] == [a, b]


def test_an_unfinished_run_still_shows_what_differs(qtbot, runs):
    running = SimpleNamespace(number=3, label="#3 tv · running", experiment={**runs[0].experiment, "seed": 7},
                              result=None, region=None)
    dialog = CompareDialog(runs[0], running)
    qtbot.addWidget(dialog)
    assert dialog.comparison is None
    assert ["seed", "0", "7"] in table_rows(dialog.settings_table)
    assert dialog.images[("perturbed", 1)].image is None
