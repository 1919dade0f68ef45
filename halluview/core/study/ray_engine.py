"""The Ray engine: a study's tasks as Ray remote calls, on a running cluster or on a local Ray started for the study.

Each task is :func:`.tasks.run_task` on a worker, with ``threads`` CPUs (and one GPU for cells that ask for CUDA,
where the cluster has GPUs); the driver collects the rows as tasks finish and hands them to ``on_done``, which
writes the table. A task that fails on a worker (its error, a crashed worker, a lost node) records its cells as
failed and the study goes on. The workers must import the same halluview as the driver: a local Ray started from
this environment does; on a cluster, install ``halluview[cluster]`` on every node (see docs/cluster.md).
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Callable

from ..errors import ExperimentError
from .grid import failed_rows
from .tasks import StudyCancelled, Task, run_task

INSTALL = 'the Ray engine needs Ray: pip install "halluview[cluster]"'
POLL_S = 0.5  # how often the driver asks should_stop() while it waits for results


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ExperimentError(INSTALL) from err
    return ray


def _connect(ray, address: str | None, threads: int) -> None:
    """Connect to the cluster at ``address``, or start a local Ray with the machine's cores."""
    if address:  # the cluster's warnings (an unschedulable task, a missing token) are worth seeing
        _check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as err:
            raise ExperimentError(f"could not connect to the Ray cluster at {address}: {_first_line(err)}") from err
        return
    cores = os.cpu_count() or 1
    if threads > cores:
        raise ExperimentError(f"each task asks for {threads} threads but this machine has {cores} cores")
    # "local": always a new instance, never a cluster `ray start` left running on this machine; quiet, so that the
    # progress bar stays readable (Ray 2.5x announces the token it made for the instance)
    ray.init(address="local", num_cpus=cores, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds on a HOST:PORT nobody listens on (Ray itself retries for many minutes); "auto" is Ray's."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ExperimentError(f"could not connect to the Ray cluster at {address}: {err}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _error_text(err: BaseException) -> str:
    """One line, as the local engine writes it ("ValueError: …"): the worker's own exception where there is one."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        err = cause
    return f"{type(err).__name__}: {_first_line(err)}"


def wants_gpu(task: Task) -> bool:
    """Whether any of the task's cells asks for a CUDA device ("cuda", "cuda:0", or "auto")."""
    return any(cell.experiment.device == "auto" or cell.experiment.device.startswith("cuda") for cell in task.cells)


def _submit(ray, tasks: list[Task], threads: int) -> dict:
    remote = ray.remote(run_task)
    has_gpus = ray.cluster_resources().get("GPU", 0) > 0
    pending = {}
    for task in tasks:
        gpus = 1 if has_gpus and wants_gpu(task) else 0
        ref = remote.options(num_cpus=threads, num_gpus=gpus).remote(task, None, threads)
        pending[ref] = task
    return pending


def _collect(ray, pending: dict, on_done, should_stop) -> None:
    """Hand each task's rows to ``on_done`` as it finishes; on ``should_stop()`` raise :class:`StudyCancelled`."""
    while pending:
        if should_stop is not None and should_stop():
            raise StudyCancelled()
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
        for ref in ready:
            task = pending.pop(ref)
            try:
                rows = ray.get(ref)
            except ray.exceptions.RayError as err:
                message = _error_text(err)
                rows = [row for cell in task.cells for row in failed_rows(cell, message)]
            on_done(task, rows)


def run_tasks_ray(tasks: list[Task], on_done: Callable[[Task, list[dict]], None],
                  should_stop: Callable[[], bool] | None, address: str | None = None, threads: int = 1) -> None:
    """Run ``tasks`` on Ray, calling ``on_done(task, rows)`` in this process as each finishes.

    Parameters
    ----------
    tasks : list of Task
        The study's unfinished tasks.
    on_done : callable
        Called with each task and its rows (failed rows where the task failed on its worker).
    should_stop : callable or None
        Polled every ``POLL_S`` seconds; when it returns True the remaining tasks are cancelled and
        :class:`StudyCancelled` is raised.
    address : str, optional
        A running cluster ("auto", "HOST:6379", "ray://HOST:10001"); None starts a local Ray with this machine's
        cores, shut down afterwards.
    threads : int
        CPUs reserved and torch threads used per task (the numbers depend on it).
    """
    ray = _import_ray()
    if not tasks:
        return
    started = not ray.is_initialized()  # a Ray the caller initialised is the caller's to shut down
    pending: dict = {}
    try:
        if started:
            _connect(ray, address, threads)  # inside the try: a Ctrl-C while Ray starts still shuts it down
        pending = _submit(ray, tasks, threads)
        _collect(ray, pending, on_done, should_stop)
    finally:  # stopped, interrupted, or the driver failed: nothing is left running for us
        if started:
            ray.shutdown()  # ends our tasks with the job, at once (Ctrl-C gives the CLI a few seconds to exit)
        else:
            for ref in pending:
                with contextlib.suppress(Exception):  # a lost cluster must not hide the error that got us here
                    ray.cancel(ref, force=True)
