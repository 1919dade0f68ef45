"""``halluview-cli analyse NAME``: one of the papers' other probes (rotation, features, invariance, nullspace) on one
slice, with the same source / acquisition / reconstruction arguments as ``attack``; writes analysis.json, a figure
and the panels. Each analysis's own settings become flags, generated from its Config (written once, in core)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from .cli_arguments import CliError, add_attack_arguments, choices_from_args
from .cli_common import checked, load_scan, use_threads, user_errors, user_message
from .core.analyses.registry import parse_list, parse_scalar

SETTINGS_DEST = "analysis_settings"  # the flags of the analysis's own Config, by field name


def _flag_type(default):
    if isinstance(default, bool):
        return None
    if isinstance(default, (tuple, list)):
        return parse_list
    if isinstance(default, (int, float, str)):
        return type(default)
    return parse_scalar


def _add_settings(parser: argparse.ArgumentParser, name: str, config_type: type) -> None:
    group = parser.add_argument_group(f"{name} settings")
    for item in fields(config_type):
        default = item.default if item.default is not MISSING else item.default_factory()  # type: ignore[misc]
        flag = "--" + item.name.replace("_", "-")
        if flag in parser._option_string_actions:  # e.g. --steps: the attack's own
            flag = f"--{name}-{item.name.replace('_', '-')}"
        meta = item.metadata
        unit = f" ({meta['unit']})" if meta.get("unit") else ""
        shown = ",".join(map(str, default)) if isinstance(default, (tuple, list)) else default
        words = f"{meta.get('help', item.name)}{unit}; default {shown}"
        kwargs = {"dest": f"{SETTINGS_DEST}.{item.name}", "default": None, "help": words}
        if isinstance(default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            choices = None if isinstance(default, (tuple, list)) else meta.get("choices")  # lists: Config checks
            group.add_argument(flag, type=_flag_type(default), choices=choices, **kwargs)


def add_analyse_parser(sub) -> None:
    from .core.analyses.registry import MODULES, spec

    analyse = sub.add_parser("analyse", help="rotation, small features, invariance or null-space map of one slice")
    kinds = analyse.add_subparsers(dest="analysis", required=True, parser_class=type(analyse))
    for name in MODULES:
        one = spec(name)
        parser = kinds.add_parser(name, help=one.title)
        add_attack_arguments(parser)
        _add_settings(parser, name, one.config_type)
        parser.set_defaults(func=cmd_analyse)


def _settings(args: argparse.Namespace) -> dict:
    prefix = SETTINGS_DEST + "."
    return {key[len(prefix):]: value for key, value in vars(args).items()
            if key.startswith(prefix) and value is not None}


def _inputs(experiment, scan):
    from .core.analyses.common import analysis_input

    try:
        return analysis_input(experiment, scan)
    except user_errors() as err:
        raise CliError(user_message(err)) from None


def _run(name: str, inputs, config, quiet: bool):
    from .core.analyses.outputs import run_analysis

    if quiet or not sys.stderr.isatty():
        return run_analysis(name, inputs, config)
    from tqdm import tqdm

    with tqdm(unit="step", file=sys.stderr) as bar:
        def on_step(step):
            bar.total = step.total
            bar.n = step.step
            bar.set_postfix_str(step.message[:60])
            bar.refresh()
        return run_analysis(name, inputs, config, on_step)


def cmd_analyse(args) -> int:
    """Check everything (arguments, settings, output folder, scan), then analyse, then write; nothing is written
    before the analysis ends."""
    from .core.analyses.outputs import write_analysis
    from .core.analyses.registry import config_from
    from .core.choices import experiment_for
    from .core.experiment import ScanFacts
    from .core.validation import check_output_folder

    name = args.analysis
    if args.slices is not None:
        raise CliError("analyses run on one slice: use --slice, not --slices")
    config = checked(config_from, name, _settings(args))
    choices = choices_from_args(args)
    use_threads(args.threads)
    out = Path(args.out) if args.out else Path("runs") / f"{name}-{_stamp()}"
    checked(experiment_for, None, choices)
    checked(check_output_folder, out, choices.source.get("path"))
    scan = load_scan(checked(experiment_for, None, choices))
    experiment = checked(experiment_for, ScanFacts.of(scan), choices)
    inputs = _inputs(experiment, scan)
    try:
        result, seconds = _run(name, inputs, config, args.quiet)
    except user_errors() as err:
        raise CliError(user_message(err)) from None
    try:
        report = write_analysis(name, result, config, inputs, seconds, out)
    except OSError as err:
        raise CliError(f"{out}: could not write the outputs ({err.strerror or err})") from None
    print(f"{inputs.label}: {result.headline()}")
    for fact in result.view().facts:
        print(f"  {fact}")
    print(f"report: {report}")
    return 0


def _stamp() -> str:
    import datetime as dt

    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")
