"""``halluview-cli study CONFIG``: run a robustness study (a grid of keyed attack cells) into a resumable table.

The config is YAML (``--example`` prints a commented one). Finished cells are skipped on a rerun (``--no-resume``
runs them again); the table ``study.csv`` is rewritten after every cell; a failed cell is recorded with its error.
"""
from __future__ import annotations

from pathlib import Path

from .cli_arguments import CliError
from .cli_common import use_threads

EXAMPLE = """\
# A HalluView robustness study: every combination below is one attack (a "cell"), seeded and keyed.
# Run it with: halluview-cli study study.yaml   (the table goes to study/ beside this file; --out elsewhere)
sources:                 # scans: a built-in example (demo) or a file (path; choices as in the app)
  - demo: brain
  # - path: /data/head_ct.dcm
slices: null             # slice numbers; null: each scan's middle slice
recons: [unet-mri-4x, tv-mri-4x]   # built-in models or classical methods (halluview-cli models)
eps: [0.005, 0.01, 0.02] # budgets, fractions of ||y|| (0 < eps <= 1)
seeds: [0]               # one cell per seed
# analyses: [rotation, nullspace]   # also run these probes once per scan slice, reconstruction and seed
#                                   # (rotation, features, invariance, nullspace; {name: …, settings: {…}});
#                                   # with eps: [] a study runs the analyses only
choices:                 # what every cell shares, as the experiment's sections
  threat: {norm: l2, domain: measurement}
  objective: {kind: untargeted}
  optimizer: {steps: 50}
  device: cpu
"""


def _read_config(path: Path):
    import yaml

    from .core.study.grid import study_config

    try:
        text = path.read_text()
    except OSError as err:
        raise CliError(f"halluview-cli: error: {path}: cannot read the study config ({err.strerror or err})") \
            from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CliError(f"halluview-cli: error: {path}: not valid YAML{where}") from None
    return study_config(data, str(path))


def cmd_study(args) -> int:
    from tqdm import tqdm

    from .core.study.local import TABLE, run_study

    if args.example:
        print(EXAMPLE, end="")
        return 0
    if not args.config:
        raise CliError("halluview-cli: error: give a study config (halluview-cli study --example prints one)")
    if args.jobs < 1 or (args.threads is not None and args.threads < 1):
        raise CliError("halluview-cli: error: --jobs and --threads must be at least 1")
    if args.engine == "ray":
        _check_ray()
    elif args.jobs == 1 and args.threads is None:  # one task at a time, in this process: the chosen count
        use_threads(None)
    path = Path(args.config)
    config = _read_config(path)
    out = Path(args.out) if args.out else path.with_suffix("")
    if out.exists() and not out.is_dir():
        raise CliError(f"halluview-cli: error: {out} exists and is not a folder")
    counts = {"done": 0, "skipped": 0, "failed": 0}
    with tqdm(desc="cells", unit="cell", disable=args.quiet) as bar:
        def on_cell(index, total, cell, status, rows):
            counts[status] += 1
            bar.total = total - counts["skipped"]  # the ETA counts the cells still to run
            if status != "skipped":
                what = cell.labels.get("analysis") or f"ε {cell.labels['eps']:g}"
                bar.set_postfix_str(f"{cell.labels['recon']} {what}: {status}")
                bar.update(1)
            bar.refresh()

        rows = run_study(config, out, resume=args.resume, on_cell=on_cell, engine=args.engine, jobs=args.jobs,
                         threads=args.threads, address=args.address)
    summary = _write_summary(out, rows, config)
    print(f"{counts['done']} cells run, {counts['skipped']} already done, {counts['failed']} failed; "
          f"table: {out / TABLE}" + (f"; summary: {summary}" if summary else ""))
    return 0 if not counts["failed"] else 1


def _check_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise CliError('halluview-cli: error: --engine ray needs Ray: pip install "halluview[cluster]"') from None


def _write_summary(out: Path, rows: list[dict], config) -> Path | None:
    """The study's HTML summary and figures beside its table (when any cell finished)."""
    from dataclasses import asdict

    from .core.report import versions
    from .core.study.report import write_summary

    if not any(r.get("status") == "done" for r in rows):
        return None
    paths = write_summary(out, rows, asdict(config), versions())
    return next((p for p in paths if p.suffix == ".html"), None)


def add_study_parser(sub) -> None:
    study = sub.add_parser("study", help="run a robustness study: a grid of attacks into one table")
    study.add_argument("config", nargs="?", help="the study's YAML config")
    study.add_argument("--example", action="store_true", help="print a commented example config and exit")
    study.add_argument("--out", help="the study's folder (default: beside the config, named after it)")
    study.add_argument("--resume", dest="resume", action="store_true", default=True,
                       help="skip the cells already in the study's table (the default)")
    study.add_argument("--no-resume", dest="resume", action="store_false", help="run every cell again")
    study.add_argument("--jobs", type=int, default=1, help="tasks run at once on this machine (default 1)")
    study.add_argument("--threads", type=int, help="torch threads per task (default: the free physical cores "
                                                   "shared by the jobs; the numbers depend on it)")
    study.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="where the cells run: here, or as Ray tasks (--address; needs halluview[cluster])")
    study.add_argument("--address", help="a running Ray cluster's address (default: start a local Ray)")
    study.add_argument("--quiet", action="store_true")
    study.set_defaults(func=cmd_study)
