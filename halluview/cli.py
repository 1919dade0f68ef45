"""halluview-cli: run attacks headless (attack, rerun), studies and analyses, list and train models.

Wrong arguments end in one clear line on stderr and exit code 2, before anything is written.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

from .cli_analyse import add_analyse_parser
from .cli_arguments import CliError, Parser, add_attack_arguments, choices_from_args, experiment_from_args  # noqa: F401
from .cli_common import checked as _checked
from .cli_common import load_scan as _load
from .cli_common import use_threads as _use_threads
from .cli_common import user_errors as _user_errors
from .cli_common import user_message as _user_message
from .cli_study import add_study_parser
from .cli_summary import attack_summary, volume_summary

EXIT_USAGE = 2


def _default_out() -> Path:
    return Path("runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _build(experiment, scan):
    """The attack problem (clean reconstruction and one gradient checked); bad input is a CliError."""
    from .core.problem import build_problem

    try:
        return build_problem(experiment, scan)
    except _user_errors() as err:
        raise CliError(_user_message(err)) from None


def _run(problem, quiet: bool):
    from .core.attacks.run import run_to_end

    show = not quiet and sys.stderr.isatty()
    if not show:
        return run_to_end(problem)
    from tqdm import tqdm

    total = problem.optimizer.steps * problem.optimizer.restarts
    with tqdm(total=total, unit="step", file=sys.stderr) as bar:
        def on_step(step):
            if step.metrics:  # steps read between paints carry no metrics
                bar.set_postfix(ssim=f"{step.metrics['vs_clean']['ssim']:.3f}", eps=f"{step.realised_eps:.4g}")
            bar.update(1)
        return run_to_end(problem, on_step)


def cmd_attack(args) -> int:
    """Check the arguments and the output folder, read the scan, check the experiment against it, attack,
    write. Everything that can be wrong is found before the attack starts; nothing is written before it ends."""
    from .core.choices import experiment_for
    from .core.experiment import ScanFacts
    from .core.validation import check_output_folder, validate_experiment

    choices = choices_from_args(args)
    _use_threads(args.threads)
    out = Path(args.out) if args.out else _default_out()
    before_reading = _checked(experiment_for, None, choices)
    _checked(validate_experiment, before_reading, None, False)
    _checked(check_output_folder, out, choices.source.get("path"))
    scan = _load(before_reading)
    experiment = _checked(experiment_for, ScanFacts.of(scan), choices)
    _checked(experiment.validate)
    if args.slices is not None:
        return _attack_volume(args, experiment, scan, out)
    result = _run(_build(experiment, scan), args.quiet)
    report = _write(result, out)
    print(attack_summary(result))
    print(f"report: {report}")
    return 0


def _attack_volume(args, experiment, scan, out: Path) -> int:
    """--slices: every chosen slice attacked, the stacks judged with fastMRI's volume metrics."""
    from dataclasses import replace

    from .core.report import write_volume_outputs
    from .core.volume_attack import attack_volume, parse_slices

    if args.slice is not None:
        raise CliError("give --slice or --slices, not both")
    experiment = replace(experiment, source=replace(experiment.source, slice=None))
    try:
        slices = parse_slices(args.slices, scan.n_slices)
    except ValueError as err:
        raise CliError(str(err)) from None
    total = experiment.optimizer.steps * experiment.optimizer.restarts * len(slices)
    attack = attack_volume(experiment, scan, slices, build=_build)
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=total, unit="step", file=sys.stderr)
    try:
        while True:
            try:
                index, _ = next(attack)
            except StopIteration as stop:
                volume = stop.value
                break
            if bar is not None:
                bar.set_postfix(slice=index)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    try:
        report = write_volume_outputs(volume, experiment.to_dict(), out)
    except OSError as err:
        raise CliError(f"{out}: could not write the outputs ({err.strerror or err})") from None
    print(volume_summary(volume, experiment))
    print(f"report: {report}")
    return 0


def _write(result, out: Path) -> Path:
    from .core.report import write_outputs

    try:
        return write_outputs(result, out)
    except OSError as err:
        raise CliError(f"{out}: could not write the outputs ({err.strerror or err})") from None


def _numbers(report: dict) -> dict:
    return {"norms": report["norms"], "final": report["final"]}


def _read_report(path: Path):
    """The report's numbers and its experiment (never its permission to unpickle: see Experiment.from_dict)."""
    from .core.experiment import Experiment

    try:
        saved = json.loads(path.read_text())
        return saved, Experiment.from_dict(saved["config"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise CliError(f"{path}: not a HalluView report ({type(err).__name__}: {err})") from None


def cmd_rerun(args) -> int:
    """Repeat a report's attack with its recorded thread count and compare the numbers; say what differs."""
    from .core.environment import apply_threads, largest_difference, reproduction_gaps, run_environment
    from .core.experiment import ScanFacts
    from .core.report import report_dict
    from .core.validation import check_output_folder

    path = Path(args.report)
    saved, experiment = _read_report(path)
    if saved.get("mode") == "volume":
        raise CliError(f"{path}: a volume report; rerun its slices' own reports (slice-NNN/report.json)")
    experiment.device = args.device
    experiment.recon.allow_pickle = args.allow_pickle  # the user's own flag, never the file's
    out = Path(args.out) if args.out else path.parent / "rerun"
    _checked(experiment.validate)
    _checked(check_output_folder, out, experiment.source.path)
    scan = _load(experiment)
    facts = ScanFacts.of(scan)
    if experiment.scan_facts is not None and experiment.scan_facts != facts:
        raise CliError(f"{experiment.source.path or experiment.source.demo}: not the scan the report was made on "
                       f"(recorded {experiment.scan_facts}, found {facts})")
    _checked(experiment.validate, facts)
    recorded = saved.get("environment") or {}
    apply_threads(recorded)
    result = _run(_build(experiment, scan), args.quiet)
    fresh = report_dict(result)
    _write(result, out)
    print(attack_summary(result))
    difference, where = largest_difference(_numbers(saved), _numbers(fresh))
    gaps = reproduction_gaps(recorded, run_environment(result.environment.get("device", args.device)))
    if difference == 0:
        print(f"identical numbers (rerun written to {out})")
        return 0
    print(f"numbers differ from the report: largest relative difference {difference:.3g} (in {where}); "
          f"rerun written to {out}")
    print("an exact rerun needs the recorded " + "; ".join(gaps) if gaps else
          "the recorded device, thread count, instruction set and versions all match: please report this")
    return 0 if difference <= args.tolerance else 1


def cmd_models(args) -> int:
    from .core.recon.card_words import card_lines
    from .core.recon.factory import RECONSTRUCTORS
    from .core.recon.zoo import MODELS, PLUGIN_ERRORS

    for name, entry in sorted(MODELS.items()):
        card = entry.card()
        if entry.loader is not None:
            state = "plug-in"
        elif entry.trainable:
            state = "weights shipped" if entry.weights_path.is_file() else "not trained"
        else:
            state = "parameter tuned" if "tuned" in card else "not tuned"
        print(f"{name}  [{entry.modality}]  {entry.title}  ({state})")
        for label, words in card_lines(card):
            print(f"    {label}: {words}")
        if args.verbose and card:
            print("    " + json.dumps(card, indent=2).replace("\n", "\n    "))
    print("classical and your own files: " + ", ".join(RECONSTRUCTORS))
    for name, error in PLUGIN_ERRORS.items():
        print(f"plug-in {name!r} was not loaded: {error}")
    return 0


def _train_folder(name: str, out: str | None, overwrite_shipped: bool) -> Path:
    """Where ``train`` writes: --out, or the shipped model's own folder only with --overwrite-shipped."""
    from .core.recon.zoo import MODELS
    from .core.validation import check_writable_folder

    shipped = MODELS[name].folder.resolve()
    folder = Path(out).resolve() if out else shipped
    if folder == shipped and not overwrite_shipped:
        raise CliError(f"train {name} would replace the shipped weights and card in {shipped}; pass --out FOLDER "
                       "to train a copy elsewhere, or --overwrite-shipped to replace them")
    _checked(check_writable_folder, folder)
    return folder


def cmd_train(args) -> int:
    from .core.recon.train import train_model
    from .core.recon.zoo import MODELS

    if args.name not in MODELS:
        raise CliError(f"no built-in model {args.name!r}; available: {', '.join(sorted(MODELS))}")
    if args.steps is not None and args.steps < 1:
        raise CliError(f"--steps must be at least 1, not {args.steps}")
    if args.seed < 0:
        raise CliError(f"--seed must be ≥ 0, not {args.seed}")
    folder = _train_folder(args.name, args.out, args.overwrite_shipped)
    if not MODELS[args.name].trainable:
        from .core.recon.tune import tune_classical

        print(f"card: {tune_classical(args.name, folder)}")
        return 0
    weights = train_model(args.name, folder, steps=args.steps, seed=args.seed)
    if args.evaluate:
        from .core.recon.evaluate import write_card_metrics
        write_card_metrics(args.name, weights.parent)
    print(f"weights: {weights}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="halluview-cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    attack = sub.add_parser("attack", help="run one attack and write a report")
    add_attack_arguments(attack)
    attack.set_defaults(func=cmd_attack)
    rerun = sub.add_parser("rerun", help="repeat the attack recorded in a report.json and compare the numbers")
    rerun.add_argument("report")
    rerun.add_argument("--device", default="cpu", help="default cpu")
    rerun.add_argument("--tolerance", type=float, default=0.0,
                       help="largest relative difference accepted (default 0: bit-identical numbers)")
    rerun.add_argument("--out", help="output folder, new or empty (default: rerun/ beside the report)")
    rerun.add_argument("--allow-pickle", action="store_true",
                       help="allow a checkpoint with pickled code (trusted files only; a report never allows it)")
    rerun.add_argument("--quiet", action="store_true")
    rerun.set_defaults(func=cmd_rerun)
    models = sub.add_parser("models", help="list the reconstructions with their model cards")
    models.add_argument("--verbose", "-v", action="store_true")
    models.set_defaults(func=cmd_models)
    train = sub.add_parser("train", help="retrain a built-in model from generated data")
    train.add_argument("name")
    train.add_argument("--steps", type=int, help="training steps (default: the model's own, see its card)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="folder for weights.pt and card.json (required unless --overwrite-shipped)")
    train.add_argument("--overwrite-shipped", action="store_true",
                       help="replace the weights and card shipped with HalluView (resources/models/NAME/)")
    train.add_argument("--no-evaluate", dest="evaluate", action="store_false")
    train.set_defaults(func=cmd_train)
    add_study_parser(sub)
    add_analyse_parser(sub)
    return parser


ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")


def one_line(text: str) -> str:
    """A message as one plain line: no terminal colour codes or control characters, no line breaks."""
    text = ANSI_ESCAPE.sub("", str(text))
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """The console script (``argv`` None: also makes Ctrl-C work inside long torch calls) or a call from code."""
    if argv is None:
        from .interrupt import install
        install()
    from .core.validation import ExperimentError

    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (CliError, ExperimentError) as err:
        message = one_line(_user_message(err))
        print(message if message.startswith("halluview-cli") else f"halluview-cli: error: {message}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("halluview-cli: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - last resort: one line for the user, the trace on request
        if os.environ.get("HALLUVIEW_DEBUG"):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(one_line(f"halluview-cli: internal error ({type(err).__name__}: {first}); rerun with "
                       "HALLUVIEW_DEBUG=1 for the full trace and please report it"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
