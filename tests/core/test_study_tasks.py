"""A study's tasks: the ε values of one slice and reconstruction run together (warm, batched or cold), resumable,
cancellable, in local processes, into a CSV and a typed Parquet table."""
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from halluview.core.attacks.batched import run_batched, same_but_budget
from halluview.core.attacks.run import run_to_end
from halluview.core.choices import Choices, experiment_for
from halluview.core.experiment import ScanFacts
from halluview.core.problem import bind, measure, reconstruct
from halluview.core.samples import load_sample
from halluview.core.study.grid import StudyConfig
from halluview.core.study.local import read_table, run_study, study_cells
from halluview.core.study.tasks import Task, run_task, tasks_of

BRAIN = load_sample("brain")
FAST = {"optimizer": {"steps": 3}, "device": "cpu"}
EPS = (0.005, 0.01, 0.02)


@pytest.fixture
def one_thread():
    """One torch thread for the test (batched and single runs compared on equal terms), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _problems(recon: str, steps: int = 3):
    experiments = [experiment_for(ScanFacts.of(BRAIN), Choices(source={"demo": "brain", "slice": 0},
                                                               recon={"name": recon}, threat={"eps": eps}, seed=0,
                                                               optimizer={"steps": steps}, device="cpu"))
                   for eps in EPS]
    shared = reconstruct(experiments[0], measure(experiments[0], BRAIN))
    return [bind(e, shared) for e in experiments]


@pytest.mark.parametrize("recon", ["unet-mri-4x", "zero-filled"])
def test_batched_attacks_are_the_single_attacks_up_to_rounding(recon, one_thread):
    problems = _problems(recon)
    assert same_but_budget(problems)
    batched = run_batched(problems)
    for problem, result in zip(_problems(recon), batched):
        single = run_to_end(problem)
        assert result.norms["realised_eps"] == pytest.approx(single.norms["realised_eps"], rel=1e-4)
        assert result.norms["recon_change_l2"] == pytest.approx(single.norms["recon_change_l2"], rel=1e-2)
        assert [h["step"] for h in result.history] == [h["step"] for h in single.history]
    sizes = [r.norms["realised_eps"] for r in batched]
    assert sizes == pytest.approx(list(EPS), rel=1e-3)  # each attack kept its own budget


def test_batches_are_as_large_as_memory_allows_and_give_the_same_attacks(monkeypatch, one_thread):
    import halluview.core.attacks.batched as batched

    whole = run_batched(_problems("zero-filled"))
    sizes = []

    def two_fit(problem, delta, wanted):
        sizes.append(wanted)
        return 2

    batch_sizes, evaluate = set(), batched.evaluate_batch

    def counted(problem, deltas, with_grad):
        batch_sizes.add(len(deltas))
        return evaluate(problem, deltas, with_grad)

    monkeypatch.setattr(batched, "items_that_fit", two_fit)
    monkeypatch.setattr(batched, "evaluate_batch", counted)
    split = run_batched(_problems("zero-filled"))
    assert sizes == [3] and batch_sizes == {2, 1}
    for a, b in zip(whole, split):
        assert a.norms["recon_change_l2"] == pytest.approx(b.norms["recon_change_l2"], rel=1e-5)
        assert [h["step"] for h in a.history] == [h["step"] for h in b.history]


def test_a_warm_start_begins_at_the_smaller_budgets_worst_case_scaled_and_finds_at_least_as_much(monkeypatch,
                                                                                                     one_thread):
    from halluview.core.attacks import run

    config = StudyConfig(recons=("unet-mri-4x",), eps=EPS, choices=FAST, schedule="warm")
    (task,) = tasks_of(study_cells(config), set(), "warm")
    starts, real = [], run.run_to_end

    def recording(problem, on_step=None):
        start = problem.warm_start
        starts.append(None if start is None else problem.threat.realised_eps(problem.threat.project(start)))
        result = real(problem, on_step)
        starts[-1] = (starts[-1], result.norms["realised_eps"])
        return result

    monkeypatch.setattr(run, "run_to_end", recording)
    warm = run_task(task, threads=1)
    monkeypatch.undo()
    assert starts[0] == (None, pytest.approx(EPS[0], rel=1e-3))
    for (start, _), (_, before), eps, eps_before in zip(starts[1:], starts, EPS[1:], EPS):
        assert start == pytest.approx(before * eps / eps_before, rel=1e-4)  # the worst case so far, scaled
    cold = run_task(Task(task.cells, task.source, "cold"), threads=1)
    attacks = [(w, c) for w, c in zip(warm, cold) if w["kind"] == "attack"]
    assert [w["schedule"] for w, _ in attacks] == ["cold", "warm from ε=0.005", "warm from ε=0.01"]
    assert attacks[0][0]["change_l2"] == attacks[0][1]["change_l2"]  # the smallest ε is its single attack
    assert all(w["change_l2"] > c["change_l2"] for w, c in attacks[1:])


def test_rows_carry_clean_accuracy_ratio_to_noise_versions_and_time(tmp_path):
    rows = run_study(StudyConfig(recons=("zero-filled",), eps=(0.02,), choices=FAST), tmp_path)
    attack, noise = rows
    assert 0 < attack["clean_ssim"] < 1 and attack["clean_psnr"] > 0 and attack["clean_ssim"] == noise["clean_ssim"]
    assert attack["noise_ratio"] == pytest.approx(attack["change_l2"] / noise["change_l2"])
    assert noise["noise_ratio"] == 1.0 and attack["realised_eps"] == pytest.approx(0.02, rel=1e-3)
    assert attack["torch"] == torch.__version__ and attack["threads"] >= 1 and attack["seconds"] > 0
    assert attack["steps"] == 3 and attack["delta_l2"] > 0


def test_the_parquet_table_is_the_csv_with_typed_columns(tmp_path):
    run_study(StudyConfig(recons=("zero-filled",), eps=EPS[:2], choices=FAST), tmp_path)
    csv_rows = read_table(tmp_path)
    table = pq.read_table(tmp_path / "study.parquet").to_pylist()
    assert len(table) == len(csv_rows) == 4
    for row, text in zip(table, csv_rows):
        assert isinstance(row["eps"], float) and row["eps"] == float(text["eps"])
        assert row["vs_clean_ssim"] == pytest.approx(float(text["vs_clean_ssim"]), rel=1e-12)
        assert row["recon"] == "zero-filled" and isinstance(row["key"], str)


def test_a_stopped_study_keeps_finished_tasks_and_a_rerun_runs_only_the_rest(tmp_path):
    config = StudyConfig(recons=("zero-filled", "unet-mri-4x"), eps=EPS[:2], choices=FAST)
    statuses = []

    def stop_in_the_second_task():
        return any(s == "done" for s in statuses) and len(statuses) >= 2

    rows = run_study(config, tmp_path, on_cell=lambda i, n, c, s, r: statuses.append(s),
                     should_stop=stop_in_the_second_task)
    assert statuses == ["done", "done"] and len(rows) == 4  # the first task; the second was dropped mid-run
    assert {r["recon"] for r in read_table(tmp_path)} == {"zero-filled"}
    again = []
    run_study(config, tmp_path, on_cell=lambda i, n, c, s, r: again.append(s))
    assert again == ["skipped", "skipped", "done", "done"]
    assert len(read_table(tmp_path)) == 8


def test_jobs_in_local_processes_give_the_serial_numbers(tmp_path):
    config = StudyConfig(recons=("zero-filled", "unet-mri-4x"), eps=(0.01,), choices={**FAST, "optimizer":
                                                                                      {"steps": 2}})
    serial = run_study(config, tmp_path / "serial", threads=1)
    pooled = run_study(config, tmp_path / "pooled", jobs=2, threads=1)
    key = ("key", "kind")
    by_key = {tuple(r[k] for k in key): r for r in pooled}
    for row in serial:
        other = by_key[tuple(row[k] for k in key)]
        assert other["vs_clean_ssim"] == row["vs_clean_ssim"] and other["change_l2"] == row["change_l2"]
        assert other["threads"] == 1


def test_a_one_cell_study_is_the_single_attack_exactly(tmp_path):
    rows = run_study(StudyConfig(recons=("unet-mri-4x",), eps=(0.01,), choices=FAST), tmp_path)
    single = run_to_end(_problems("unet-mri-4x")[1])
    assert rows[0]["change_l2"] == single.norms["recon_change_l2"]
    assert rows[0]["vs_clean_ssim"] == single.metrics["vs_clean"]["ssim"]
    assert np.isfinite(rows[1]["change_l2"])


def test_your_checkpoint_is_a_reconstruction_of_the_study_and_a_file_cannot_allow_unpickling(tmp_path):
    import fastmri_reference  # noqa: F401  - stand-ins for fastMRI's data loaders before fastmri.models is imported
    from fastmri.models import Unet as ReferenceUnet

    from halluview.core.errors import ExperimentError
    from halluview.core.study.grid import study_config

    torch.manual_seed(0)
    weights = tmp_path / "mine.pt"
    torch.save(ReferenceUnet(1, 1, chans=8, num_pool_layers=2).state_dict(), weights)
    config = study_config({"recons": ["zero-filled", {"name": "checkpoint", "weights": str(weights)}],
                           "eps": [0.01], "choices": FAST})
    rows = run_study(config, tmp_path / "study")
    assert {r["recon"] for r in rows} == {"zero-filled", "checkpoint (mine.pt)"}
    assert all(r["status"] == "done" for r in rows)
    with pytest.raises(ExperimentError, match="cannot allow unpickling"):
        study_config({"recons": [{"name": "checkpoint", "weights": str(weights), "allow_pickle": True}]}, "s.yaml")


@pytest.mark.parametrize("objective,threat", [
    ({"kind": "region"}, {"norm": "l2", "domain": "measurement"}),
    ({"kind": "insert"}, {"norm": "linf", "domain": "image"}),
])
def test_a_targeted_study_scores_the_region_and_warm_starts_stay_in_budget(tmp_path, objective, threat):
    region = {"kind": "rect", "xywh": [50, 50, 20, 20]}
    config = StudyConfig(recons=("zero-filled",), eps=(0.01, 0.02),
                         choices={**FAST, "objective": objective, "threat": threat, "region": region})
    rows = run_study(config, tmp_path)
    assert len(rows) == 4 and all(r["status"] == "done" for r in rows)
    for row in rows:
        assert row["change_l2_in"] > 0 and 0 < row["vs_clean_ssim_in"] <= 1
        assert row["realised_eps"] <= row["eps"] * (1 + 1e-4)  # the warm start was projected onto its budget
    attack = [r for r in rows if r["kind"] == "attack"]
    assert attack[1]["schedule"] == "warm from ε=0.01"
    assert attack[0]["noise_ratio"] == pytest.approx(attack[0]["change_l2_in"] / rows[1]["change_l2_in"], rel=1e-6)
