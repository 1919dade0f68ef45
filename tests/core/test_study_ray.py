"""The Ray engine: the local engine's numbers from a local Ray, a task failing on a worker recorded, a stop that
cancels, and one clear error without Ray."""
import sys

import pytest
import torch

from halluview.core.errors import ExperimentError
from halluview.core.study.grid import StudyConfig
from halluview.core.study.local import read_table, run_study, study_cells
from halluview.core.study.tasks import StudyCancelled, Task, tasks_of

FAST = {"optimizer": {"steps": 2}, "device": "cpu"}
CONFIG = StudyConfig(recons=("unet-mri-4x", "zero-filled"), eps=(0.01, 0.02), choices=FAST)


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _by_key(rows: list[dict]) -> dict:
    return {(row["key"], row["kind"]): {k: v for k, v in row.items() if k != "seconds"} for row in rows}


def test_ray_gives_the_local_engines_numbers_and_leaves_no_ray_running(tmp_path, torch_threads):
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    run_study(CONFIG, tmp_path / "ray", engine="ray", threads=1)  # starts a local Ray and shuts it down
    assert not ray.is_initialized()
    run_study(CONFIG, tmp_path / "local", engine="local", threads=1)
    on_ray, here = read_table(tmp_path / "ray"), read_table(tmp_path / "local")
    assert len(on_ray) == 8 and {row["status"] for row in on_ray} == {"done"}
    assert _by_key(on_ray) == _by_key(here)  # every number, to the last digit the table writes


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_a_task_failing_on_its_worker_is_recorded_and_a_stop_cancels_the_rest(local_ray):
    from halluview.core.study.ray_engine import run_tasks_ray

    grid = study_cells(StudyConfig(eps=(0.01,), seeds=(0, 1, 2, 3), choices=FAST))
    broken = Task((grid[0],), {"demo": "brain", "bogus": 1})  # SourceConfig(bogus=1): a TypeError on the worker
    seen = []
    run_tasks_ray([broken], lambda task, rows: seen.extend(rows), None, threads=1)
    assert [row["status"] for row in seen] == ["failed", "failed"]
    assert seen[0]["error"].startswith("TypeError: ") and "bogus" in seen[0]["error"]

    finished = []
    with pytest.raises(StudyCancelled):
        run_tasks_ray(tasks_of(grid, set()), lambda task, rows: finished.append(task), lambda: len(finished) >= 1,
                      threads=1)
    assert len(finished) == 1  # the other three were cancelled, not waited for
    assert local_ray.is_initialized()  # a Ray the caller started is the caller's to shut down


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(ExperimentError, match=r'pip install "halluview\[cluster\]"'):
        run_study(StudyConfig(choices=FAST), tmp_path, engine="ray")
    assert read_table(tmp_path) == []


class _FakeRay:
    """Records what each task asks Ray for (no Ray needed)."""

    def __init__(self, gpus: float):
        self.gpus, self.asked, self.threads = gpus, [], []

    def cluster_resources(self) -> dict:
        return {"CPU": 16.0, **({"GPU": self.gpus} if self.gpus else {})}

    def remote(self, function):
        fake = self

        class Remote:
            def options(self, **resources):
                fake.asked.append(resources)
                return self

            def remote(self, task, should_stop, threads):
                fake.threads.append(threads)
                return object()  # a reference

        return Remote()


@pytest.mark.parametrize("device, gpus, wanted", [("cuda", 2, 1), ("auto", 1, 1), ("cuda:0", 1, 1), ("cpu", 2, 0),
                                                  ("cuda", 0, 0), ("auto", 0, 0)])
def test_cells_asking_for_cuda_get_one_gpu_where_the_cluster_has_gpus(device, gpus, wanted):
    from halluview.core.study.ray_engine import _submit

    grid = study_cells(StudyConfig(eps=(0.01, 0.02), choices={**FAST, "device": device}))
    fake = _FakeRay(gpus)
    tasks = tasks_of(grid, set())
    assert list(_submit(fake, tasks, threads=3).values()) == tasks
    assert fake.asked == [{"num_cpus": 3, "num_gpus": wanted}]
    assert fake.threads == [3]  # the task's torch threads are the CPUs it reserved
