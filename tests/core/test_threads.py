"""The engine's thread count: physical cores, one left to the interface, cores busy elsewhere taken off, never
below one; the choice and its reason recorded in every report. Expected counts are worked out by hand from fake
topologies and fake /proc/stat readings."""
import json

import pytest
import torch

from halluview.cli import main
from halluview.core import threads as threads_module
from halluview.core.environment import apply_threads, run_environment
from halluview.core.threads import Readers, ThreadChoice, choose_threads, cpu_ticks, physical_cores, set_threads

SMT_8 = {cpu: ("0", str(cpu % 4)) for cpu in range(8)}  # 8 logical CPUs, siblings cpu and cpu + 4


def stat_text(busy_ticks: dict[int, int], total_ticks: int = 0) -> str:
    """/proc/stat with ``busy_ticks`` of user time per CPU and the rest idle, ``total_ticks`` per CPU in all."""
    lines = ["cpu  1 2 3 4 5 6 7 8 9 10"]  # the summary line, ignored
    for cpu, busy in busy_ticks.items():
        lines.append(f"cpu{cpu} {busy} 0 0 {total_ticks - busy} 0 0 0 0 0 0")
    lines.append("intr 12345")
    return "\n".join(lines) + "\n"


def fake(cpus=range(4), topology=None, busy=None, own_s=0.0, environ=None, window_ticks=100) -> Readers:
    """Readers of a machine whose CPUs ``cpus`` were kept busy ``busy[cpu]`` (a fraction) over a window of
    ``window_ticks`` ticks of 10 ms, during which this process used ``own_s`` seconds of CPU."""
    busy = busy or {}
    cpus = set(cpus)
    readings = iter([stat_text({c: 1000 for c in cpus}, 5000),
                     stat_text({c: 1000 + round(busy.get(c, 0) * window_ticks) for c in cpus},
                               5000 + window_ticks)])
    own = iter([2.0, 2.0 + own_s])
    places = topology or {cpu: ("0", str(cpu)) for cpu in cpus}
    return Readers(cpus=lambda: cpus, topology=places.get, proc_stat=lambda: next(readings),
                   own_cpu_s=lambda: next(own), sleep=lambda s: None, tick_s=0.01, environ=environ or {})


def test_smt_siblings_count_as_one_physical_core():
    assert physical_cores(set(range(8)), SMT_8.get) == 4
    assert physical_cores({0, 4, 1}, SMT_8.get) == 2  # the affinity holds both siblings of core 0
    assert physical_cores({0, 1}, {0: ("0", "0"), 1: ("1", "0")}.get) == 2  # same core id, two packages
    assert physical_cores({0, 1, 2}, lambda cpu: None) == 3  # no topology: each CPU a core


def test_an_idle_machine_gets_one_thread_per_physical_core():
    choice = choose_threads(readers=fake(range(8), SMT_8))
    assert choice == ThreadChoice(4, 4, 0, choice.reason)
    assert "4 physical cores" in choice.reason and "busy" not in choice.reason


def test_the_app_leaves_one_core_to_the_interface_but_keeps_one_thread():
    choice = choose_threads(leave_for_interface=True, readers=fake(range(4)))
    assert choice.threads == 3 and "one left to the interface" in choice.reason
    assert choose_threads(leave_for_interface=True, readers=fake([0])).threads == 1


def test_without_measuring_the_load_the_choice_is_immediate():
    readers = fake(range(4), busy={0: 1.0, 2: 1.0})
    readers.sleep = lambda s: pytest.fail("waited to measure the load")
    choice = choose_threads(leave_for_interface=True, readers=readers, measure_load=False)
    assert choice.threads == 3 and "others' load not measured" in choice.reason


def test_the_app_chooses_at_once_and_applies_the_measured_load_when_an_attack_starts(monkeypatch):
    import threading

    from halluview.gui import worker

    calls = []

    def chosen(leave_for_interface=False, readers=None, measure_load=True):
        calls.append((leave_for_interface, measure_load))
        return ThreadChoice(1, 2, 1 if measure_load else 0, "measured" if measure_load else "at once")

    monkeypatch.setattr(threads_module, "choose_threads", chosen)
    assert worker.reserve_a_core_for_the_interface() == 1
    for thread in [t for t in threading.enumerate() if t.name == "halluview-threads"]:
        thread.join(5)
    assert calls == [(True, False), (True, True)]
    assert threads_module.threads_reason(torch.get_num_threads()) == "at once"  # not applied from that thread
    assert threads_module.apply_measured().reason == "measured"
    assert threads_module.threads_reason(torch.get_num_threads()) == "measured"
    assert threads_module.apply_measured() is None  # once


def test_cores_kept_busy_by_other_processes_are_taken_off():
    choice = choose_threads(readers=fake(range(4), busy={0: 1.0, 2: 1.0}))
    assert (choice.threads, choice.busy_cores) == (2, 2)
    assert "2 kept busy by other processes" in choice.reason
    assert choose_threads(True, fake(range(4), busy={1: 1.0})).threads == 2  # interface and neighbour


def test_a_core_counts_as_busy_from_half_the_window():
    assert choose_threads(readers=fake(range(4), busy={0: 0.4})).busy_cores == 0
    assert choose_threads(readers=fake(range(4), busy={0: 0.6})).busy_cores == 1
    assert choose_threads(readers=fake(range(4), busy={0: 0.3, 1: 0.3})).busy_cores == 1  # 0.6 of a core


def test_this_process_own_cpu_time_is_not_a_neighbour():
    """Two CPUs busy over 1 s, 1.9 s of it this process's own threads: 0.1 core busy elsewhere, none counted."""
    assert choose_threads(readers=fake(range(4), busy={0: 1.0, 1: 1.0}, own_s=1.9)).busy_cores == 0


def test_only_the_cpus_this_process_may_use_are_measured():
    readers = fake([0, 1], busy={0: 1.0})
    readings = [stat_text({0: 0, 1: 0, 2: 0}, 500), stat_text({0: 100, 1: 0, 2: 100}, 600)]  # CPU 2: not ours
    readers.proc_stat = iter(readings).__next__
    assert choose_threads(readers=readers).busy_cores == 1


def test_never_below_one_thread_when_every_core_is_busy():
    choice = choose_threads(True, fake(range(4), busy={c: 1.0 for c in range(4)}))
    assert choice.threads == 1 and choice.busy_cores == 4 and choice.reason.startswith("1 thread:")


def test_without_proc_stat_the_load_is_not_measured():
    readers = fake(range(4))
    readers.proc_stat = lambda: None
    choice = choose_threads(readers=readers)
    assert choice.threads == 4 and "not measured" in choice.reason


def test_omp_num_threads_in_the_environment_is_kept():
    choice = choose_threads(True, fake(range(4), busy={0: 1.0}, environ={"OMP_NUM_THREADS": "3"}))
    assert choice.threads == 3 and "OMP_NUM_THREADS=3" in choice.reason


def test_proc_stat_ticks_leave_out_guest_time_and_other_cpus():
    text = "cpu  9 9 9 9 9 9 9 9 9 9\ncpu0 10 1 2 30 4 5 6 7 8 9\ncpu1 1 1 1 1 1 1 1 1 1 1\n"
    assert cpu_ticks(text, {0}) == {0: (10 + 1 + 2 + 5 + 6 + 7, 10 + 1 + 2 + 30 + 4 + 5 + 6 + 7)}


def test_the_environment_records_the_count_and_why():
    set_threads(1, "1 thread: a test's words")
    environment = run_environment("cpu")
    assert environment["threads"] == 1 and environment["threads_reason"] == "1 thread: a test's words"
    torch.set_num_threads(2)
    assert run_environment("cpu")["threads_reason"] == "set directly in torch"


def test_a_rerun_adopts_the_recorded_count_and_says_so():
    assert apply_threads({"threads": 2, "threads_reason": "whatever the run said"}) == 2
    environment = run_environment("cpu")
    assert environment["threads"] == 2 and "recorded" in environment["threads_reason"]


@pytest.mark.parametrize("chosen", [1, 2])
def test_the_cli_without_threads_uses_the_chosen_count(tmp_path, monkeypatch, chosen):
    def choose(leave_for_interface=False, readers=None, measure_load=True):
        assert not leave_for_interface  # the CLI has no interface to leave a core to
        return ThreadChoice(chosen, 2, 0, f"{chosen} thread(s): a test's choice")

    monkeypatch.setattr(threads_module, "choose_threads", choose)
    out = tmp_path / "run"
    assert main(["attack", "--demo", "--recon", "zero-filled", "--size", "48", "--steps", "2", "--quiet",
                 "--out", str(out)]) == 0
    environment = json.loads((out / "report.json").read_text())["environment"]
    assert environment["threads"] == chosen and environment["threads_reason"] == f"{chosen} thread(s): a test's choice"


def test_the_cli_keeps_an_explicit_thread_count(tmp_path, monkeypatch):
    monkeypatch.setattr(threads_module, "choose_threads", lambda *a, **k: pytest.fail("--threads was given"))
    out = tmp_path / "run"
    assert main(["attack", "--demo", "--recon", "zero-filled", "--size", "48", "--steps", "2", "--quiet",
                 "--threads", "2", "--out", str(out)]) == 0
    environment = json.loads((out / "report.json").read_text())["environment"]
    assert environment["threads"] == 2 and "--threads" in environment["threads_reason"]
