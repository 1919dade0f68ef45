"""The arguments of ``halluview-cli attack`` and the :class:`~halluview.core.choices.Choices` they state.

Every default is the core's (shown by ``--help``); an argument left out is a choice left to the scan and the
model, exactly as in the app. Wrong arguments raise :class:`CliError`: one line on stderr and exit code 2, before
anything is read or written.
"""
from __future__ import annotations

import argparse
import textwrap
from dataclasses import fields
from pathlib import Path

KIND_WORDS = {"mri": "MRI", "ct": "CT", "denoise": "denoising"}
CHOICE_KEYS = ("series", "volume", "dataset")  # read_scan's choices (halluview-cli attack FILE --choice KEY=VALUE)


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


class HelpFormatter(argparse.HelpFormatter):
    """Help text wrapped between words only: model names such as unet-mri-4x stay whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, not a usage dump
        raise CliError(f"{self.prog}: error: {message}")


def _numbers(text: str, count: int, what: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"expected {what} ({count} numbers), got {text!r}")
    return values


def _xywh(text: str) -> list[float]:
    return _numbers(text, 4, "x,y,w,h")


def _line(text: str) -> list[float]:
    return _numbers(text, 4, "x0,y0,x1,y1")


def _noise(text: str) -> dict:
    """--noise: "none" (an explicit choice, e.g. against a model's own noise) → {"kind": "none"}."""
    if text == "none":
        return {"kind": "none"}
    kind, _, value = text.partition(":")
    makers = {"gaussian": lambda v: {"kind": "gaussian", "sigma": v[0], "relative": True},
              "poisson": lambda v: {"kind": "poisson_transmission", "incident_flux": v[0],
                                    **({"mu_scale": v[1]} if len(v) > 1 else {})},
              "poisson-image": lambda v: {"kind": "poisson_image", "peak": v[0]}}
    try:
        values = [float(v) for v in value.split(":")] if value else []
    except ValueError:
        values = []
    if kind not in makers or not values or len(values) > (2 if kind == "poisson" else 1):
        raise argparse.ArgumentTypeError(f"noise is none, gaussian:REL_SIGMA, poisson:INCIDENT_FLUX[:MU_SCALE] or "
                                         f"poisson-image:PEAK, not {text!r}")
    return makers[kind](values)


def _default(cls, name: str):
    """The core's default for field ``name`` of settings dataclass ``cls`` (written once, there)."""
    return {f.name: f.default for f in fields(cls)}[name]


def add_attack_arguments(p: argparse.ArgumentParser) -> None:
    from .core.samples import SAMPLES

    src = p.add_argument_group("source")
    src.add_argument("input", nargs="?", help="scan file or folder (DICOM, NIfTI, HDF5, NPY/NPZ)")
    src.add_argument("--demo", nargs="?", const="brain", metavar="NAME",
                     help=f"built-in example instead of a file: {', '.join(SAMPLES)} (default brain)")
    src.add_argument("--slice", type=int, help="slice index (default: the middle one)")
    src.add_argument("--slices", metavar="all|START:STOP|I,J,K",
                     help="attack each of these slices and judge the volume as fastMRI does (SSIM per slice with "
                          "the volume's maximum, PSNR and NMSE over the volume)")
    src.add_argument("--size", type=int, help="a working size for speed: resize the slice (aspect ratio kept) so "
                                              "that its longer side is SIZE pixels, at least 16 (default: the "
                                              "slice's own size; the report records both)")
    src.add_argument("--choice", action="append", default=[], metavar="KEY=VALUE",
                     help=f"pick a {' / '.join(CHOICE_KEYS)} in a file that holds several")
    _add_operator_arguments(p)
    _add_recon_arguments(p)
    _add_ttt_arguments(p)
    _add_threat_arguments(p)
    _add_objective_arguments(p)
    _add_optimizer_arguments(p)
    _add_compute_arguments(p)
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--device", help="auto (CUDA when present), cpu, cuda, cuda:1, … (default auto)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's; recorded in the report: "
                                               "rerun uses the recorded number to repeat the numbers exactly)")
    p.add_argument("--out", help="output folder, new or empty (default runs/<date-time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_operator_arguments(p: argparse.ArgumentParser) -> None:
    from .core.experiment import OperatorConfig as Op
    from .core.physics.masks import MASK_CHOICES

    model = "or what the chosen built-in model was trained for"
    op = p.add_argument_group("operator (the acquisition)")
    op.add_argument("--operator", choices=["mri", "ct", "denoise"],
                    help="default: the one the reconstruction reads, else CT for CT / HU scans, MRI otherwise")
    op.add_argument("--acceleration", type=float,
                    help=f"MRI undersampling, ≥ 1 (default {_default(Op, 'acceleration'):g}, {model})")
    op.add_argument("--center-fraction", type=float, help=f"MRI fully sampled centre, in (0, 1] (default "
                                                          f"{_default(Op, 'center_fraction'):g}, {model})")
    op.add_argument("--mask", choices=MASK_CHOICES, help=f"MRI column mask: fastMRI's mask types, drawn as fastMRI "
                                                         "draws them for --mask-seed; full: no undersampling (default "
                                                         f"{_default(Op, 'mask_type')})")
    op.add_argument("--mask-seed", type=int, help=f"MRI random mask seed (default {_default(Op, 'mask_seed')})")
    op.add_argument("--coils", type=int, help=f"receive coils, ≥ 1 (default {_default(Op, 'n_coils')}, {model}; "
                                              "a file's own k-space: its coils)")
    op.add_argument("--angles", choices=["full", "sparse", "limited"], help=f"CT angle set (default "
                                                                            f"{_default(Op, 'angles')}, {model})")
    op.add_argument("--n-angles", type=int, help=f"CT projections (default {_default(Op, 'n_angles')}, {model})")
    op.add_argument("--max-angle", type=float, help=f"limited-angle CT range in degrees (default "
                                                    f"{_default(Op, 'max_angle_deg'):g})")
    op.add_argument("--noise", type=_noise, help="none | gaussian:REL_SIGMA | poisson:INCIDENT_FLUX[:MU_SCALE] | "
                                                 f"poisson-image:PEAK (default none, {model})")
    op.add_argument("--noise-seed", type=int, help=f"noise draw seed (default {_default(Op, 'noise_seed')})")


def _add_recon_arguments(p: argparse.ArgumentParser) -> None:
    from .core.experiment import DEFAULT_RECON
    from .core.recon.factory import PARAM_DEFAULTS as P

    rec = p.add_argument_group("reconstruction")
    rec.add_argument("--recon", help="zero-filled, fbp, identity, tv, wavelet, checkpoint (a state_dict, see "
                                     "--arch), torchscript (a TorchScript file applied to the baseline image) or a "
                                     "built-in / plug-in model (halluview-cli models); default: "
                                     + ", ".join(f"{m} for {KIND_WORDS[k]}" for k, m in DEFAULT_RECON.items()))
    rec.add_argument("--weights", help="the file for --recon checkpoint or torchscript")
    rec.add_argument("--surrogate", help="transfer attack: optimise through this reconstruction (e.g. "
                                         "dncnn-mri-4x), then report how --recon responds to the perturbation "
                                         "found; none: attack directly (default, except for the Deep Decoder)")
    rec.add_argument("--arch", choices=["fastmri-unet", "fastmri-varnet"],
                     help="what --recon checkpoint's --weights must hold; read from the file's parameter names "
                          "(fastMRI's; Lightning checkpoints too) when left out")
    read = "read from --weights when left out; given, the weights must agree"
    rec.add_argument("--chans", type=int, help=f"channels of the U-Net, or of the VarNet's cascades ({read})")
    rec.add_argument("--pools", type=int, help=f"pooling layers of the U-Net, or of the VarNet's cascades ({read})")
    rec.add_argument("--cascades", type=int, help=f"VarNet cascades ({read})")
    rec.add_argument("--sens-chans", type=int, help=f"VarNet sensitivity U-Net channels ({read})")
    rec.add_argument("--sens-pools", type=int, help=f"VarNet sensitivity U-Net pooling layers ({read})")
    rec.add_argument("--lam", type=float, help=f"TV weight λ (default {P['tv']['lam']:g})")
    rec.add_argument("--iters", type=int, help=f"TV / wavelet iterations (default TV {P['tv']['n_iter']}, wavelet "
                                               f"{P['wavelet']['n_iter']})")
    rec.add_argument("--threshold", type=float, help=f"wavelet soft threshold (default "
                                                     f"{P['wavelet']['threshold']:g})")
    d = P["diffusion-mri-4x"]
    rec.add_argument("--sampling-steps", type=int, help=f"diffusion sampler: network evaluations per "
                                                        f"reconstruction (default {d['sampling_steps']})")
    rec.add_argument("--eta", type=float, help=f"diffusion sampler: DDIM η, 0 deterministic given the start, 1 "
                                               f"DDPM-like (default {d['eta']:g})")
    rec.add_argument("--sampler-seed", type=int, help=f"diffusion sampler's seed (default {d['sampler_seed']})")
    rec.add_argument("--allow-pickle", action="store_true", help="allow a checkpoint with pickled code (trusted "
                                                                 "files only)")


def _add_ttt_arguments(p: argparse.ArgumentParser) -> None:
    from .core.recon.config import TTT_MAX_SPLIT, TTTSettings

    d = TTTSettings()
    ttt = p.add_argument_group("test-time training (adapt the network to this scan first; Darestani et al. 2022)")
    ttt.add_argument("--ttt-steps", type=int, help="turns it on: Adam steps on the self-supervised loss "
                                                   "‖A f(y) − y‖² before reconstructing (default: off)")
    ttt.add_argument("--ttt-lr", type=float, help=f"its learning rate (default {d.lr:g})")
    ttt.add_argument("--ttt-split", type=float, help=f"fraction of the acquired k-space columns held out of the "
                                                     f"network's input for the loss, 0..{TTT_MAX_SPLIT:g} (default "
                                                     f"{d.split:g}: all for both)")
    ttt.add_argument("--ttt-seed", type=int, help=f"seed of the split (default {d.seed})")


def _add_threat_arguments(p: argparse.ArgumentParser) -> None:
    from .core.attacks.threat import ThreatConfig as T

    th = p.add_argument_group("threat (the budget)")
    th.add_argument("--norm", choices=["l2", "linf"], help=f"default {_default(T, 'norm')}")
    th.add_argument("--eps", type=float, help=f"budget ε: relative, a fraction of ‖y‖ in (0, 1] (default "
                                              f"{_default(T, 'eps'):g} = {_default(T, 'eps') * 100:g} %%); absolute: "
                                              "in measurement units")
    th.add_argument("--eps-mode", choices=["relative", "absolute"], help=f"default {_default(T, 'eps_mode')}")
    th.add_argument("--per-coil", action="store_true", default=None, help="relative budget per coil")
    th.add_argument("--domain", choices=["measurement", "image", "patch"], help=f"default {_default(T, 'domain')}; "
                                                                          "patch: the image inside the region")
    th.add_argument("--patch-area", type=int, help="patch threat: largest region area in pixels")
    reg = th.add_mutually_exclusive_group()
    reg.add_argument("--region", type=_xywh, metavar="X,Y,W,H", help="rectangular region (pixels)")
    reg.add_argument("--region-ellipse", type=_xywh, metavar="X,Y,W,H", help="elliptic region in that box")
    reg.add_argument("--region-mask", metavar="MASK.npy", help="boolean mask of the image's size")
    reg.add_argument("--segments", metavar="FILE", help="a NIfTI label map (aligned with the scan) whose labels "
                     "are the segments of segment RMSE and radiomic feature similarity; default: SLIC "
                     "over-segmentation of the reference")


def _add_objective_arguments(p: argparse.ArgumentParser) -> None:
    from .core.attacks.objectives import ObjectiveConfig as O

    ob = p.add_argument_group("objective")
    ob.add_argument("--objective", choices=["untargeted", "region", "insert", "remove"],
                    help=f"default {_default(O, 'kind')}")
    ob.add_argument("--against", choices=["clean", "reference"], help=f"default {_default(O, 'against')}")
    ob.add_argument("--outside-weight", type=float, help=f"default {_default(O, 'outside_weight'):g}")
    ob.add_argument("--lesion", choices=["disc", "line"], help="inserted lesion: a disc centred on the region "
                                                               "(default) or a line (give --lesion-line)")
    ob.add_argument("--lesion-line", type=_line, metavar="X0,Y0,X1,Y1", help="the line lesion's end points "
                                                                             "(pixels); implies --lesion line")
    ob.add_argument("--lesion-width", type=float, help="line lesion width in pixels (default 1.5)")
    ob.add_argument("--lesion-intensity", type=float, help="default: the clean image's 99th percentile")


def _add_optimizer_arguments(p: argparse.ArgumentParser) -> None:
    from .core.attacks.optimizers import OptimizerConfig as Opt

    opt = p.add_argument_group("optimiser")
    opt.add_argument("--optimizer", choices=["pgd", "adam"], help=f"default {_default(Opt, 'method')}")
    opt.add_argument("--steps", type=int, help=f"default {_default(Opt, 'steps')}")
    opt.add_argument("--step-size", type=float, help="fraction of the budget radius per step, > 0 (default: 2 for "
                                                     "the auto schedule, its first step; 2.5 / steps otherwise)")
    opt.add_argument("--schedule", choices=["auto", "constant", "cosine"],
                     help=f"auto: Auto-PGD's halving at checkpoints (default {_default(Opt, 'schedule')})")
    opt.add_argument("--random-start", action="store_true", default=None)
    opt.add_argument("--restarts", type=int, help=f"default {_default(Opt, 'restarts')}")


def _add_compute_arguments(p: argparse.ArgumentParser) -> None:
    from .core.recon.acceleration import PRECISIONS

    co = p.add_argument_group("compute (the attacked network only; FFTs and final numbers stay fp32)")
    co.add_argument("--precision", choices=PRECISIONS, help="bf16: autocast around the network's CNN; the report "
                                                            "records its effect on SSIM / PSNR (default fp32)")
    co.add_argument("--compile", action="store_true", default=None, help="torch.compile the CNN (inductor: needs "
                                                                         "a C++ compiler on the CPU)")
    co.add_argument("--channels-last", action="store_true", default=None, help="the CNN in channels-last memory")


COMPUTE_ARGUMENTS = {"precision": "precision", "compile": "compile", "channels_last": "channels_last"}
OPERATOR_ARGUMENTS = {"kind": "operator", "acceleration": "acceleration", "center_fraction": "center_fraction",
                      "mask_type": "mask", "n_coils": "coils", "angles": "angles", "n_angles": "n_angles",
                      "max_angle_deg": "max_angle", "noise": "noise", "mask_seed": "mask_seed",
                      "noise_seed": "noise_seed"}
THREAT_ARGUMENTS = {"norm": "norm", "eps": "eps", "eps_mode": "eps_mode", "per_coil": "per_coil",
                    "domain": "domain", "patch_area_px": "patch_area"}
OBJECTIVE_ARGUMENTS = {"kind": "objective", "against": "against", "outside_weight": "outside_weight"}
OPTIMIZER_ARGUMENTS = {"method": "optimizer", "steps": "steps", "step_size": "step_size", "schedule": "schedule",
                       "random_start": "random_start", "restarts": "restarts"}
RECON_PARAMETERS = {"lam": ("lam", ("tv",)), "iters": ("n_iter", ("tv", "wavelet")),
                    "threshold": ("threshold", ("wavelet",)), "arch": ("arch", ("checkpoint",)),
                    "chans": ("chans", ("checkpoint",)), "pools": ("num_pool_layers", ("checkpoint",)),
                    "cascades": ("num_cascades", ("checkpoint",)), "sens_chans": ("sens_chans", ("checkpoint",)),
                    "sens_pools": ("sens_pools", ("checkpoint",)),
                    "sampling_steps": ("sampling_steps", ("diffusion-mri-4x",)),
                    "eta": ("eta", ("diffusion-mri-4x",)), "sampler_seed": ("sampler_seed", ("diffusion-mri-4x",))}
"""--argument: (parameter name, the reconstructions it applies to)."""
TTT_ARGUMENTS = {"steps": "ttt_steps", "lr": "ttt_lr", "split": "ttt_split", "seed": "ttt_seed"}


def _given(args: argparse.Namespace, names: dict) -> dict:
    """The settings of a section the command line states (arguments left out are left to the core)."""
    return {field: getattr(args, arg) for field, arg in names.items() if getattr(args, arg) is not None}


def choices_from_args(args: argparse.Namespace):
    """The user's choices the arguments state (no file is read here)."""
    from .core.choices import DIRECT, Choices

    if args.input and args.demo:
        raise CliError("give either an input file or --demo, not both")
    if args.input and not Path(args.input).exists():
        raise CliError(f"{args.input}: no such file or folder")
    source = {"path": args.input} if args.input else {"demo": args.demo or "brain"}
    source["choices"] = _contents(args.choice)
    source.update(_given(args, {"slice": "slice", "image_size": "size"}))
    operator = _given(args, OPERATOR_ARGUMENTS)
    if operator.get("noise") == {"kind": "none"}:
        operator["noise"] = None
    return Choices(source=source, operator=operator, recon=_recon(args), threat=_given(args, THREAT_ARGUMENTS),
                   objective=_objective(args), optimizer=_given(args, OPTIMIZER_ARGUMENTS),
                   surrogate=DIRECT if args.surrogate == "none" else args.surrogate, region=_region(args),
                   seed=args.seed, device=args.device, segments=_segments(args),
                   compute=_given(args, COMPUTE_ARGUMENTS))


def _segments(args: argparse.Namespace) -> str | None:
    """--segments: the label file, absolute (it must exist; its contents are checked when it is used)."""
    path = getattr(args, "segments", None)
    if path and not Path(path).is_file():
        raise CliError(f"{path}: {'a folder, not a label file' if Path(path).is_dir() else 'no such label file'} "
                       "(--segments)")
    return str(Path(path).resolve()) if path else None


def _contents(pairs: list[str]) -> dict:
    """--choice KEY=VALUE (repeatable): which series / volume / dataset to open."""
    contents = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in CHOICE_KEYS:
            raise CliError(f"--choice takes KEY=VALUE with KEY one of {', '.join(CHOICE_KEYS)}, not {pair!r}")
        contents[key] = value
    return contents


def _recon(args: argparse.Namespace) -> dict:
    """The reconstruction and the parameters given for it; a parameter of another reconstruction is an error."""
    recon = _given(args, {"name": "recon", "weights": "weights"})
    if args.allow_pickle:
        recon["allow_pickle"] = True
    name = recon.get("name")
    params = {}
    for argument, (parameter, applies_to) in RECON_PARAMETERS.items():
        value = getattr(args, argument)
        if value is None:
            continue
        if name not in applies_to:
            raise CliError(f"--{argument.replace('_', '-')} applies to --recon {' / '.join(applies_to)}, not to "
                           f"{name or 'the default reconstruction'}")
        params[parameter] = value
    if params:
        recon["params"] = params
    ttt = _ttt(args)
    if ttt is not None:
        recon["ttt"] = ttt
    return recon


def _ttt(args: argparse.Namespace) -> dict | None:
    """Test-time training's settings, every default written out (the report records what ran); None: off."""
    from .core.recon.config import TTTSettings

    given = _given(args, TTT_ARGUMENTS)
    if not given:
        return None
    if "steps" not in given:
        raise CliError(f"--{'/--'.join(TTT_ARGUMENTS[k].replace('_', '-') for k in given)} set up test-time "
                       "training: turn it on with --ttt-steps N")
    return {**TTTSettings().to_dict(), **given}


def _objective(args: argparse.Namespace) -> dict:
    objective = _given(args, OBJECTIVE_ARGUMENTS)
    lesion = {}
    if args.lesion_line is not None:
        if args.lesion == "disc":
            raise CliError("--lesion-line draws a line lesion, not a disc: drop --lesion disc")
        x0, y0, x1, y1 = args.lesion_line
        lesion = {"shape": "line", "start_xy": [x0, y0], "end_xy": [x1, y1]}
    elif args.lesion == "line":
        raise CliError("--lesion line needs its end points: --lesion-line X0,Y0,X1,Y1 (pixels)")
    elif args.lesion is not None:
        lesion["shape"] = args.lesion
    if args.lesion_width is not None:
        if lesion.get("shape") != "line":
            raise CliError("--lesion-width is the width of a line lesion (--lesion-line X0,Y0,X1,Y1)")
        lesion["width_px"] = args.lesion_width
    if args.lesion_intensity is not None:
        lesion["intensity"] = args.lesion_intensity
    if lesion:
        objective["lesion"] = lesion
    return objective


def _region(args: argparse.Namespace) -> dict | None:
    if args.region:
        return {"kind": "rect", "xywh": args.region}
    if args.region_ellipse:
        return {"kind": "ellipse", "xywh": args.region_ellipse}
    if args.region_mask:
        return {"kind": "file", "path": str(Path(args.region_mask).resolve())}
    return None


def experiment_from_args(args: argparse.Namespace, facts=None):
    """The Experiment the arguments describe for a scan with ``facts`` (None: before the scan is read)."""
    from .core.choices import experiment_for

    return experiment_for(facts, choices_from_args(args))
