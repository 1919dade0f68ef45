"""The session model's rules, without Qt: what opening a scan, changing the slice or picking a model resets, which run
is on screen, the demo's one-shot region, leaving and coming back to a session, and the preview's reuse by a run."""
import numpy as np
import pytest
import torch

from halluview.core.problem import Reconstruction, clean_preview
from halluview.core.samples import load_sample
from halluview.core.scan import Scan
from halluview.core.session import SessionModel
from halluview.core.session_records import CANCELLED, DONE
from halluview.core.settings import LesionSettings, WindowSettings

DEMO_REGION = {"kind": "ellipse", "xywh": [74, 44, 14, 14]}


@pytest.fixture(scope="module")
def brain():
    return load_sample("brain")


@pytest.fixture(scope="module")
def ct():
    return load_sample("ct-small")


def volume(n_slices=3, size=32):
    image = np.random.default_rng(0).random((n_slices, size, size)).astype(np.float32)
    return Scan(volume=image, modality="MR", units="a.u.", source="/data/volume.npy")


class Recorder:
    """Every event of a model, in order: (name, args)."""

    def __init__(self, model):
        self.seen = []
        for event in model.events:
            event.connect(lambda *args, name=event.name: self.seen.append((name, args)))

    def args(self, name):
        return [args for seen, args in self.seen if seen == name]


def opened(model, scan, source=None, **request):
    source = source or ({"demo": scan.source.split(":", 1)[1]} if scan.source.startswith("demo:") else
                        {"path": scan.source})
    assert model.scan_loaded(scan, model.open_request(source, **request))
    return model


def fake_preview(model, shape=(128, 128)):
    """A preview for the current settings without computing one: the rules only look at its key and shape."""
    clean = torch.zeros(1, *shape)
    preview = Reconstruction(model.preview_key(), None, None, torch.ones(1, 8), clean, clean, clean, None, None, {})
    assert model.preview_ready(preview)
    return preview


def real_preview(model):
    key, experiment = model.preview_request()
    assert model.preview_ready(clean_preview(experiment, model.scan))
    return model.preview


# --- opening a scan ------------------------------------------------------------------------------------------------
def test_opening_a_scan_resets_the_regions_and_their_history(brain, ct):
    model = opened(SessionModel(), brain)
    model.regions.add({"kind": "rect", "xywh": [10, 10, 8, 8]})
    model.regions.add({"kind": "rect", "xywh": [20, 10, 8, 8]})
    opened(model, ct)
    assert model.regions.shapes == [] and not model.regions.can_undo and not model.regions.can_redo


def test_the_demos_lesion_intensity_does_not_carry_over_to_a_ct(brain, ct):
    model = SessionModel()
    model.update(objective={"kind": "insert", "lesion": {"shape": "disc", "intensity": 1.0}})  # the demo's settings
    opened(model, brain)
    assert model.experiment.objective.lesion["intensity"] == 1.0  # chosen for the first scan: it stands
    opened(model, ct)
    assert "intensity" not in model.experiment.objective.lesion  # 1.0 would be water: back to automatic
    assert model.lesion() == LesionSettings() and model.experiment.objective.kind == "insert"


def test_a_lesion_intensity_in_hu_stays_from_one_ct_to_another(ct):
    model = opened(SessionModel(), ct)
    assert model.unit_map().label == "HU"
    assert model.set_lesion_intensity(60.0)  # HU
    assert model.experiment.objective.lesion["intensity"] == pytest.approx(1.06)  # (60 + 1000) / 1000
    opened(model, ct)
    assert model.lesion_intensity_in_scan_units() == pytest.approx(60.0)


def test_a_drawn_lesion_position_does_not_carry_over(brain, ct):
    model = opened(SessionModel(), brain)
    model.set_lesion(LesionSettings(shape="line", start_xy=(1, 2), end_xy=(30, 40), intensity=0.9))
    model.update(objective={"kind": "insert"})
    opened(model, ct)
    assert model.lesion() == LesionSettings()  # a line without its end points would refuse to run


def test_the_window_is_the_new_scans_own(brain, ct):
    model = opened(SessionModel(), brain)
    model.set_window(WindowSettings(centre=400.0, width=1800.0))  # a bone window the user picked
    events = Recorder(model)
    opened(model, ct)
    centre, width = ct.window
    assert model.window == WindowSettings(centre, width) and events.args("window") == [(model.window,)]
    low, high = model.display_levels()
    assert low == pytest.approx((centre - width / 2 + 1000) / 1000)
    assert high == pytest.approx((centre + width / 2 + 1000) / 1000)


# --- every number on screen belongs to the images on screen -------------------------------------------------------
def finished_run(model):
    start = model.start_run()
    model.run_finished(None)
    model.job_ended()
    return start.record


def test_the_run_on_screen_follows_what_the_images_show(brain, ct):
    model = opened(SessionModel(), volume(), source={"path": "/data/volume.npy"})
    fake_preview(model, (32, 32))
    events = Recorder(model)
    first = model.start_run().record
    assert model.selected is first and events.args("selected_run") == [(first,)]  # starting puts it on screen
    model.run_finished(None)
    model.job_ended()
    second = finished_run(model)
    model.select_run(first)
    assert model.selected is first
    model.update(threat={"eps": 0.02})  # the images on screen stay those of the run
    assert model.selected is first
    for change in (lambda: model.update(operator={"acceleration": 8.0}),
                   lambda: model.update(recon={"name": "zero-filled"}),
                   lambda: model.set_slice(0),
                   lambda: opened(model, ct)):
        model.select_run(second)
        change()
        assert model.selected is None and events.args("selected_run")[-1] == (None,)


def test_changing_the_slice_mid_run_cancels_it_and_previews_the_new_slice():
    model = opened(SessionModel(), volume(), source={"path": "/data/volume.npy"})
    fake_preview(model, (32, 32))
    events = Recorder(model)
    record = model.start_run().record
    model.set_slice(0)
    assert events.args("cancel_requested") == [(record,)]
    assert model.preview_request() is None  # the run's job still owns the device
    model.run_step(object())  # a late step of the old slice is dropped: no panel paints it
    assert record.steps == [] and events.args("step") == [] and events.args("progress") == []
    model.run_finished(None)
    assert record.status == CANCELLED and "slice changed to 0" in record.note
    assert events.args("run_ended") == [(record,)]
    model.job_ended()
    key, experiment = model.preview_request()
    assert experiment.source.slice == 0 and key == model.preview_key()


def test_a_run_that_returns_after_it_was_cancelled_stays_cancelled():
    model = opened(SessionModel(), volume(), source={"path": "/data/volume.npy"})
    fake_preview(model, (32, 32))
    record = model.start_run().record
    model.set_slice(2)
    model.run_finished(object())  # its job finished before it saw the request
    assert record.status == CANCELLED and record.result is None


def test_a_run_that_finishes_is_done_and_stays_on_screen(brain):
    model = opened(SessionModel(), brain)
    fake_preview(model)
    record = model.start_run().record
    result = object()
    model.run_finished(result)
    assert (record.status, record.result, record.note, model.selected) == (DONE, result, "", record)


# --- the demo's region: once -------------------------------------------------------------------------------------
def test_the_initial_region_is_placed_once_and_clear_stays_clear(brain):
    model = opened(SessionModel(), brain, initial_region=DEMO_REGION)
    assert model.regions.shapes == []  # placed when the first picture is there
    fake_preview(model)
    assert model.regions.shapes == [DEMO_REGION] and not model.regions.can_undo
    model.regions.clear()
    model.update(operator={"acceleration": 8.0})
    fake_preview(model)
    assert model.regions.shapes == []
    opened(model, brain)
    fake_preview(model)
    assert model.regions.shapes == []  # another scan: not the demo's any more


def test_the_initial_region_never_covers_a_users_drawing(brain):
    model = opened(SessionModel(), brain, initial_region=DEMO_REGION)
    drawn = {"kind": "rect", "xywh": [5, 5, 9, 9]}
    model.regions.add(drawn)
    fake_preview(model)
    assert model.regions.shapes == [drawn]


# --- leaving the session (presentation mode) and coming back --------------------------------------------------
def test_a_snapshot_restores_the_users_session(brain, ct):
    model = opened(SessionModel(), ct)
    fake_preview(model)
    model.update(threat={"eps": 0.05}, optimizer={"steps": 7})
    model.regions.add({"kind": "rect", "xywh": [40, 40, 10, 10]})
    mine = finished_run(model)
    model.set_window(WindowSettings(40.0, 80.0))
    before = model.experiment
    snapshot = model.snapshot()

    opened(model, brain, initial_region=DEMO_REGION)  # the tour: the demo, its settings, a transfer attack
    model.update(objective={"kind": "insert", "lesion": {"intensity": 1.0}}, threat={"eps": 0.02},
                 surrogate="dncnn-mri-4x")
    fake_preview(model)
    record = model.start_run().record
    events = Recorder(model)
    model.restore_snapshot(snapshot)

    assert events.args("cancel_requested") == [(record,)]  # the tour's run stops
    assert model.scan is ct and model.experiment == before and model.window == WindowSettings(40.0, 80.0)
    assert model.regions.shapes == [{"kind": "rect", "xywh": [40, 40, 10, 10]}] and model.regions.can_undo
    assert [run is mine for run in model.runs] == [True] and model.selected is mine
    assert model.preview is None and events.args("preview_needed")


# --- a run reuses the preview -------------------------------------------------------------------------------------
def test_a_run_reuses_the_preview_only_when_it_fits(brain):
    model = opened(SessionModel(), brain)
    preview = fake_preview(model)
    assert model.start_run().reuse is preview
    model.run_finished(None)
    model.job_ended()
    model.update(threat={"eps": 0.03}, seed=4)  # the attack changes, the reconstruction does not
    assert model.preview_request() is None
    assert finished_run(model) and model.runs[-1].experiment["threat"]["eps"] == 0.03
    model.update(operator={"acceleration": 8.0})
    start = model.start_run()
    assert start.reuse is None  # made for another acquisition: the job builds it


def test_an_edit_the_core_refuses_changes_nothing(brain):
    model = opened(SessionModel(), brain)
    events = Recorder(model)
    before = model.experiment
    assert not model.update(operator={"n_coils": 0})
    assert model.experiment == before and events.args("error") == [("coils must be 1..64, not 0", "")]


def test_typed_settings_stand_for_their_dicts(brain):
    from halluview.core.recon.config import TVParams
    from halluview.core.settings import NoiseSettings

    model = opened(SessionModel(), brain)
    assert model.set_noise(NoiseSettings(kind="gaussian", sigma=0.02, relative=True))
    assert model.experiment.operator.noise == {"kind": "gaussian", "sigma": 0.02, "relative": True}
    assert model.update(recon={"name": "tv", "params": TVParams(lam=0.05)})
    assert model.experiment.recon.params == {"lam": 0.05, "n_iter": 100}
    assert model.set_noise(None) and model.experiment.operator.noise is None


def test_the_preview_binds_no_threat_and_no_objective(brain):
    model = opened(SessionModel(), brain)
    model.update(objective={"kind": "insert"}, threat={"domain": "patch"})  # no region drawn yet
    preview = real_preview(model)
    assert isinstance(preview, Reconstruction) and preview.clean.shape[-2:] == (128, 128)
    assert not hasattr(preview, "threat") and not hasattr(preview, "objective")


def test_the_region_stack_checks_shapes_and_undoes_whole_states():
    from halluview.core.errors import ExperimentError
    from halluview.core.region_stack import RegionStack

    stack = RegionStack()
    first, second = {"kind": "rect", "xywh": [1, 2, 3, 4]}, {"kind": "polygon", "points": [[0, 0], [5, 0], [0, 5]]}
    stack.add(first)
    stack.add(second)
    stack.remove(0)
    assert stack.shapes == [second]
    stack.undo()
    assert stack.shapes == [first, second]
    stack.undo()
    stack.redo()
    assert stack.shapes == [first, second] and stack.can_redo
    for bad, words in (({"kind": "star"}, "unknown region kind 'star'"), ({"kind": "rect"}, "needs xywh"),
                       ({"kind": "rect", "xywh": [1, 2, "3", 4]}, "four numbers"),
                       ({"kind": "polygon", "points": [[0, 0], [1, 1]]}, "at least three points")):
        with pytest.raises(ExperimentError, match=words):
            stack.add(bad)
    assert stack.shapes == [first, second]  # a refused shape changes nothing
    two_rects = RegionStack([first, {"kind": "rect", "xywh": [2, 3, 3, 3]}])  # 12 and 9 pixels, 6 shared
    assert two_rects.combined((8, 8))["kind"] == "rle" and two_rects.mask((8, 8)).sum() == 12 + 9 - 6


def test_switching_eps_units_keeps_the_budget(brain):
    model = opened(SessionModel(), brain)
    assert model.set_eps_mode("absolute") and model.experiment.threat.eps == 0.01  # no preview: size unknown
    model.update(threat={"eps_mode": "relative", "eps": 0.01})
    fake_preview(model)  # y = eight ones: ‖y‖ = √8
    assert model.set_eps_mode("absolute")
    assert model.experiment.threat.eps == pytest.approx(0.01 * 8 ** 0.5)
    assert model.set_eps_mode("relative") and model.experiment.threat.eps == pytest.approx(0.01)
