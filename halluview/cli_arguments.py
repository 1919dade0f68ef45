"""The arguments of ``halluview-cli attack`` and the :class:`Experiment` they describe (no file is read here).

Wrong arguments raise :class:`CliError`: one line on stderr and exit code 2, before anything is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .core.physics.masks import MASK_CHOICES

CHOICE_KEYS = ("series", "volume", "dataset")  # read_scan's choices (halluview-cli attack FILE --choice KEY=VALUE)


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        raise CliError(f"{self.prog}: {message}")


def _xywh(text: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h (four numbers), got {text!r}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h (four numbers), got {text!r}") from None


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


def add_attack_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("source")
    src.add_argument("input", nargs="?", help="scan file or folder (DICOM, NIfTI, HDF5, NPY/NPZ)")
    src.add_argument("--demo", nargs="?", const="brain", help="built-in example instead of a file (default brain)")
    src.add_argument("--slice", type=int, help="slice index (default: the middle one)")
    src.add_argument("--size", type=int, help="resize the slice to SIZE×SIZE before simulating the acquisition")
    src.add_argument("--choice", action="append", default=[], metavar="KEY=VALUE",
                     help="pick a series / volume / dataset in a file that holds several")
    op = p.add_argument_group("operator")
    op.add_argument("--operator", choices=["mri", "ct", "denoise"], default=None)
    op.add_argument("--acceleration", type=float, help="MRI undersampling (default 4)")
    op.add_argument("--center-fraction", type=float, help="MRI fully sampled centre (default 0.08)")
    op.add_argument("--mask", choices=MASK_CHOICES, help="MRI column mask, fastMRI's mask types drawn as fastMRI draws "
                                                         "them for --mask-seed (default random); full: no undersampling")
    op.add_argument("--mask-seed", type=int, default=0)
    op.add_argument("--coils", type=int, help="receive coils (default 1)")
    op.add_argument("--angles", choices=["full", "sparse", "limited"], help="CT angle set (default full)")
    op.add_argument("--n-angles", type=int, help="CT projections (default 180)")
    op.add_argument("--max-angle", type=float, help="limited-angle CT range in degrees (default 180)")
    op.add_argument("--noise", type=_noise, help="none | gaussian:REL_SIGMA | poisson:INCIDENT_FLUX[:MU_SCALE] | "
                                                 "poisson-image:PEAK")
    rec = p.add_argument_group("reconstruction")
    rec.add_argument("--recon", default=None, help="zero-filled, fbp, identity, tv, wavelet, checkpoint (a "
                                                   "state_dict, see --arch), torchscript (a TorchScript file "
                                                   "applied to the baseline image) or a built-in / plug-in model "
                                                   "(halluview-cli models)")
    rec.add_argument("--weights", help="the file for --recon checkpoint or torchscript")
    rec.add_argument("--surrogate", help="transfer attack: optimise through this reconstruction (e.g. "
                                         "dncnn-mri-4x), then report how --recon responds to the perturbation "
                                         "found; none: attack directly (default, except for the Deep Decoder)")
    rec.add_argument("--arch", choices=["fastmri-unet", "fastmri-varnet"], default="fastmri-unet",
                     help="architecture of --weights (fastMRI's key names; Lightning checkpoints work too)")
    rec.add_argument("--chans", type=int, help="U-Net channels (default 32; VarNet cascades: 18)")
    rec.add_argument("--pools", type=int, help="U-Net pooling layers (default 4)")
    rec.add_argument("--cascades", type=int, help="VarNet cascades (default 12)")
    rec.add_argument("--sens-chans", type=int, help="VarNet sensitivity U-Net channels (default 8)")
    rec.add_argument("--sens-pools", type=int, help="VarNet sensitivity U-Net pooling layers (default 4)")
    rec.add_argument("--lam", type=float, default=0.01, help="TV weight λ")
    rec.add_argument("--iters", type=int, default=100, help="TV / wavelet unrolled iterations")
    rec.add_argument("--threshold", type=float, default=0.02, help="wavelet soft threshold")
    rec.add_argument("--allow-pickle", action="store_true", help="allow a checkpoint with pickled code (trusted "
                                                                 "files only)")
    th = p.add_argument_group("threat")
    th.add_argument("--norm", choices=["l2", "linf"], default="l2")
    th.add_argument("--eps", type=float, default=0.01, help="budget: fraction of ‖y‖ (relative) or absolute")
    th.add_argument("--eps-mode", choices=["relative", "absolute"], default="relative")
    th.add_argument("--per-coil", action="store_true")
    th.add_argument("--domain", choices=["measurement", "image", "patch"], default="measurement")
    th.add_argument("--patch-area", type=int, help="patch threat: largest region area in pixels")
    reg = th.add_mutually_exclusive_group()
    reg.add_argument("--region", type=_xywh, metavar="X,Y,W,H", help="rectangular region (pixels)")
    reg.add_argument("--region-ellipse", type=_xywh, metavar="X,Y,W,H")
    reg.add_argument("--region-mask", metavar="MASK.npy")
    ob = p.add_argument_group("objective")
    ob.add_argument("--objective", choices=["untargeted", "region", "insert", "remove"], default="untargeted")
    ob.add_argument("--against", choices=["clean", "reference"], default="clean")
    ob.add_argument("--outside-weight", type=float, default=1.0)
    ob.add_argument("--lesion", choices=["disc", "line"], default="disc")
    ob.add_argument("--lesion-intensity", type=float)
    opt = p.add_argument_group("optimiser")
    opt.add_argument("--optimizer", choices=["pgd", "adam"], default="pgd")
    opt.add_argument("--steps", type=int, default=100)
    opt.add_argument("--step-size", type=float, help="fraction of the budget radius per step")
    opt.add_argument("--schedule", choices=["auto", "constant", "cosine"], default="auto")
    opt.add_argument("--random-start", action="store_true")
    opt.add_argument("--restarts", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, …")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's; recorded in the report, "
                                               "and rerun uses the recorded number to repeat the numbers exactly)")
    p.add_argument("--out", help="output folder (default runs/<date-time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def experiment_from_args(args: argparse.Namespace):
    """The Experiment the arguments describe (no file is read here)."""
    from .core.attacks.objectives import ObjectiveConfig
    from .core.attacks.optimizers import OptimizerConfig
    from .core.attacks.threat import ThreatConfig
    from .core.experiment import DEFAULT_RECON, Experiment, OperatorConfig, SourceConfig, model_choice
    from .core.recon.factory import ReconConfig
    from .core.recon.zoo import MODELS
    from .core.samples import SAMPLES

    if args.input and args.demo:
        raise CliError("give either an input file or --demo, not both")
    demo = None if args.input else (args.demo or "brain")
    if demo and demo not in SAMPLES:
        raise CliError(f"no built-in example {demo!r}; available: {', '.join(SAMPLES)}")
    if args.input and not Path(args.input).exists():
        raise CliError(f"{args.input}: no such file or folder")
    model = MODELS.get(args.recon) if args.recon else None
    if model is not None and args.operator and args.operator != model.modality:
        raise CliError(f"{args.recon} reconstructs {model.modality.upper()}, not {args.operator.upper()} "
                       f"measurements; drop --operator or pick another --recon")
    kind = args.operator or (model.modality if model else SAMPLES[demo].modality if demo else "mri")
    recon = args.recon or ("zero-filled" if kind == "mri" and (args.coils or 1) > 1 else DEFAULT_RECON[kind])
    choice = model_choice(recon)
    operator = _operator_settings(args, kind, choice.get("operator", {}))
    choices = {}
    for choice in args.choice:
        key, sep, value = choice.partition("=")
        if not sep or key not in CHOICE_KEYS:
            raise CliError(f"--choice takes KEY=VALUE with KEY one of {', '.join(CHOICE_KEYS)}, not {choice!r}")
        choices[key] = value
    region = None
    if args.region:
        region = {"kind": "rect", "xywh": args.region}
    elif args.region_ellipse:
        region = {"kind": "ellipse", "xywh": args.region_ellipse}
    elif args.region_mask:
        region = {"kind": "file", "path": str(Path(args.region_mask).resolve())}
    lesion = {"shape": args.lesion}
    if args.lesion_intensity is not None:
        lesion["intensity"] = args.lesion_intensity
    try:
        return Experiment(
            source=SourceConfig(demo=demo, path=str(Path(args.input).resolve()) if args.input else None,
                                slice=args.slice, choices=choices, image_size=args.size),
            operator=OperatorConfig(**operator),
            recon=ReconConfig(name=recon, weights=args.weights, allow_pickle=args.allow_pickle,
                              params={"lam": args.lam, "n_iter": args.iters, "threshold": args.threshold,
                                      "arch": args.arch, "chans": args.chans, "num_pool_layers": args.pools,
                                      "num_cascades": args.cascades, "sens_chans": args.sens_chans,
                                      "sens_pools": args.sens_pools}),
            threat=ThreatConfig(norm=args.norm, eps=args.eps, eps_mode=args.eps_mode, per_coil=args.per_coil,
                                domain=args.domain, patch_area_px=args.patch_area),
            objective=ObjectiveConfig(kind=args.objective, against=args.against,
                                      outside_weight=args.outside_weight, lesion=lesion),
            optimizer=OptimizerConfig(method=args.optimizer, steps=args.steps, step_size=args.step_size,
                                      schedule=args.schedule, random_start=args.random_start,
                                      restarts=args.restarts),
            region=region, surrogate=_surrogate(args.surrogate, choice.get("surrogate")), seed=args.seed,
            device=args.device)
    except ValueError as err:
        raise CliError(str(err)) from None


def _surrogate(given: str | None, default: str | None) -> str | None:
    """--surrogate: a name, "none" (attack directly), or unset (the built-in model's default, usually direct)."""
    if given is None:
        return default
    return None if given == "none" else given


OPERATOR_ARGUMENTS = {"acceleration": "acceleration", "center_fraction": "center_fraction", "mask_type": "mask",
                      "n_coils": "coils", "angles": "angles", "n_angles": "n_angles", "max_angle_deg": "max_angle",
                      "noise": "noise", "mask_seed": "mask_seed"}


def _operator_settings(args: argparse.Namespace, kind: str, acquisition: dict) -> dict:
    """The operator section: defaults, then the acquisition a built-in model was trained for, then what the
    command line says."""
    from dataclasses import asdict

    from .core.experiment import OperatorConfig

    settings = {**asdict(OperatorConfig()), **acquisition, "kind": kind}
    for field, argument in OPERATOR_ARGUMENTS.items():
        value = getattr(args, argument)
        if value is not None:
            settings[field] = value
    if settings["noise"] == {"kind": "none"}:
        settings["noise"] = None
    return settings
