"""From (scan, the user's choices) to the one :class:`Experiment` both front ends run.

``halluview-cli attack`` turns its arguments into :class:`Choices`; the app's session keeps a :class:`Choices` that
its panels edit. Both call :func:`experiment_for` with the facts of the opened scan, so the same file and the same
choices give the same experiment, record for record. A choice left unset takes its default here, once:

* the acquisition suits the scan (CT for CT / HU images, MRI otherwise and for raw k-space), unless the chosen
  reconstruction reads another one (a built-in model its modality, "fbp" CT, ...);
* the reconstruction is the acquisition's learned model (:data:`DEFAULT_RECON`); a built-in model brings the
  acquisition it was trained for (mask or angles, coils, noise), its image size and its transfer surrogate;
* the slice is the middle one; the image keeps its size unless a built-in model was trained for another;
* the file's own k-space is attacked with the file's coil count;
* everything else takes its section's dataclass default.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .errors import FILE_BRINGS_COILS, ExperimentError
from .experiment import (
    DEFAULT_RECON,
    SECTIONS,
    Experiment,
    OperatorConfig,
    ScanFacts,
    SourceConfig,
    model_choice,
    suited_operator_kind,
)
from .geometry import geometry, geometry_words, region_extent
from .recon.config import resolved_params
from .validation import BASELINE_KINDS, uses_file_kspace

DIRECT = "none"
"""The surrogate choice "attack the reconstruction directly" (None leaves it to the reconstruction's default)."""

@dataclass
class Choices:
    """What the user chose explicitly; whatever is left out takes the default for the scan and the model.

    Each section holds the fields of the experiment section of that name that the user set (``operator``:
    {"acceleration": 8.0}); ``surrogate``: None for the reconstruction's default, :data:`DIRECT` for none.
    """

    source: dict = field(default_factory=dict)
    operator: dict = field(default_factory=dict)
    recon: dict = field(default_factory=dict)
    threat: dict = field(default_factory=dict)
    objective: dict = field(default_factory=dict)
    optimizer: dict = field(default_factory=dict)
    surrogate: str | None = None
    region: dict | None = None
    seed: int | None = None
    device: str | None = None
    segments: str | None = None  # a label file for segment RMSE / RFS; None: SLIC
    compute: dict = field(default_factory=dict)  # how the attacked network is computed (bf16, compile, ...)

    @classmethod
    def of(cls, experiment: Experiment) -> Choices:
        """Every setting of ``experiment`` as an explicit choice (a saved session or report opened again).
        The permission to unpickle a checkpoint is not carried over: only the user gives it."""
        data = experiment.to_dict()
        sections = {name: dict(data[name]) for name in SECTIONS}
        sections["recon"]["allow_pickle"] = False
        return cls(**sections, surrogate=experiment.surrogate or DIRECT, region=experiment.region,
                   seed=experiment.seed, device=experiment.device, segments=experiment.segments)


def experiment_for(facts: ScanFacts | None, choices: Choices) -> Experiment:
    """The experiment the user's ``choices`` describe for a scan with these ``facts`` (None: no scan open yet).

    Raises :class:`~halluview.core.validation.ExperimentError` for a choice no section has; every range and fit
    check is :meth:`Experiment.validate`'s.
    """
    recon_name = choices.recon.get("name")
    kind = _operator_kind(facts, choices, recon_name)
    recon_name = recon_name or DEFAULT_RECON[kind]
    brought = model_choice(recon_name)
    operator = _section("operator", {**brought.get("operator", {}), **choices.operator, "kind": kind})
    experiment = Experiment(
        source=_section("source", _source(choices.source)),
        operator=operator,
        recon=_section("recon", {**choices.recon, "name": recon_name,
                                 "params": resolved_params(recon_name, choices.recon.get("params") or {})}),
        threat=_section("threat", choices.threat), objective=_section("objective", choices.objective),
        optimizer=_section("optimizer", choices.optimizer), compute=_section("compute", choices.compute),
        region=choices.region,
        surrogate=brought.get("surrogate") if choices.surrogate is None else _direct(choices.surrogate),
        seed=Experiment.seed if choices.seed is None else choices.seed,
        device=Experiment.device if choices.device is None else choices.device, segments=choices.segments,
        scan_facts=facts)
    return _fitted_to_scan(experiment, facts, choices)


def _direct(surrogate: str) -> str | None:
    return None if surrogate == DIRECT else surrogate


def _operator_kind(facts: ScanFacts | None, choices: Choices, recon_name: str | None) -> str:
    """The chosen acquisition, else the one the chosen reconstruction reads, else the one that suits the scan."""
    from .recon.zoo import MODELS
    from .samples import SAMPLES

    if choices.operator.get("kind"):
        return choices.operator["kind"]
    if recon_name in MODELS:
        return MODELS[recon_name].modality
    if recon_name in BASELINE_KINDS:
        return BASELINE_KINDS[recon_name]
    if facts is not None:
        return suited_operator_kind(facts.modality, facts.units, facts.kspace_coils is not None)
    demo = choices.source.get("demo")
    return SAMPLES[demo].modality if demo in SAMPLES and not choices.source.get("path") else "mri"


def _source(chosen: dict) -> dict:
    """A file (absolute path) or a built-in example (default: the brain phantom)."""
    source = dict(chosen)
    if source.get("path"):
        source["path"], source["demo"] = str(Path(source["path"]).resolve()), None
    elif "demo" not in source:
        source["demo"] = SourceConfig.demo
    return source


def _section(name: str, values: dict):
    cls = SECTIONS[name]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ExperimentError(f"unknown {name} settings: {', '.join(unknown)}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:  # the section's own checks (e.g. a norm it does not know)
        raise ExperimentError(str(err)) from None


def _fitted_to_scan(experiment: Experiment, facts: ScanFacts | None, choices: Choices) -> Experiment:
    """Defaults that need the scan: the middle slice and the file's coil count (the slice keeps its own size)."""
    if facts is None:
        return experiment
    source, operator = experiment.source, experiment.operator
    if source.slice is None:
        source = replace(source, slice=facts.n_slices // 2)
    if uses_file_kspace(experiment, facts):
        chosen = choices.operator.get("n_coils")
        if chosen is not None and chosen != facts.kspace_coils:
            raise ExperimentError(f"{source.path or source.demo}: its own k-space has {facts.kspace_coils} coil"
                                  f"{'s' if facts.kspace_coils != 1 else ''}; the coil count comes from the file",
                                  FILE_BRINGS_COILS)
        if facts.kspace_coils >= 1:  # none: validation names the file
            operator = replace(operator, n_coils=facts.kspace_coils)
    return replace(experiment, source=source, operator=operator)


# --- how the app's choices evolve (the CLI states all of its choices at once) -------------------------------
def edited(choices: Choices, kind_now: str, **sections) -> Choices:
    """The choices after one edit in the app, e.g. ``edited(c, "mri", threat={"eps": 0.02}, seed=3)``.

    Picking a reconstruction brings what a built-in model was made for (its acquisition) and the reconstruction's
    own transfer surrogate, except what the same edit sets; changing the acquisition's kind also returns the
    surrogate to its default. ``kind_now`` is the current experiment's kind.
    """
    new = replace(choices, **{name: dict(getattr(choices, name)) for name in SECTIONS})
    recon = sections.get("recon") or {}
    if "name" in recon:
        acquisition = model_choice(recon["name"]).get("operator", {})
        new.operator = {k: v for k, v in new.operator.items() if k not in acquisition}
        new.recon = {}
        if "surrogate" not in sections:
            new.surrogate = None
    kind = (sections.get("operator") or {}).get("kind")
    if kind and kind != kind_now and "surrogate" not in sections:
        new.surrogate = None
    for name, value in sections.items():
        if name in SECTIONS:
            getattr(new, name).update(value)
        elif name == "surrogate":
            new.surrogate = DIRECT if value is None else value
        elif name in ("region", "seed", "device", "segments"):
            setattr(new, name, value)
        else:
            raise ExperimentError(f"unknown settings: {name}")
    return new


def opened(choices: Choices, source: dict, facts: ScanFacts, kind_now: str, adapt: bool = True) -> Choices:
    """The choices for a newly opened scan: its source, and (``adapt``) an acquisition that suits it.

    When the current acquisition does not suit the scan (a CT opened while simulating MRI), the kind, the
    reconstruction and what a model brought are chosen afresh for it; denoising stands for any scan. A file with
    its own k-space brings its coil count. Another scan drops the label file of the segments.
    """
    new = replace(choices, source=dict(source), operator=dict(choices.operator), recon=dict(choices.recon))
    if _source_file(source) != _source_file(choices.source):
        new.segments = None  # a label file belongs to its scan
    if adapt and facts.kspace_coils is not None:
        new.operator.pop("n_coils", None)  # the file's own k-space brings its coils
    suited = suited_operator_kind(facts.modality, facts.units, facts.kspace_coils is not None)
    if adapt and kind_now not in (suited, "denoise"):
        default_model = model_choice(DEFAULT_RECON[suited]).get("operator", {})
        new.operator = {k: v for k, v in new.operator.items() if k not in default_model and k != "kind"}
        new.recon, new.surrogate = {}, None
    return new


def _source_file(source: dict) -> tuple:
    return source.get("path"), source.get("demo"), source.get("choices")


def operator_summary(operator: OperatorConfig | dict) -> str:
    """The acquisition in words, e.g. "MRI, 1 coil, 4× random mask, centre 8 %"."""
    op = asdict(operator) if not isinstance(operator, dict) else operator
    noise = op.get("noise")
    noise_words = f", {noise['kind']} noise" if noise and noise.get("kind") != "none" else ""
    if op["kind"] == "mri":
        coils = f"{op['n_coils']} coil{'s' if op['n_coils'] != 1 else ''}"
        return (f"MRI, {coils}, {op['acceleration']:g}× {op['mask_type']} mask, centre "
                f"{op['center_fraction'] * 100:g} %{noise_words}")
    if op["kind"] == "ct":
        arc = f" over {op['max_angle_deg']:g}°" if op["angles"] == "limited" else ""
        return f"CT, parallel beam, {op['n_angles']} {op['angles']} views{arc}{noise_words}"
    return f"denoising{noise_words}"


def attacked(config: dict) -> dict:
    """What an attack was run on, from its recorded configuration: report.json's "attacked" entry.

    The file (or built-in example), the series / volume / dataset chosen in it, the slice, the original size of
    the slice and any resizing, whether the file's own k-space or a simulated acquisition was attacked, the
    acquisition in words, the reconstruction (and its weights file) and any transfer surrogate.
    """
    source, facts = config.get("source") or {}, config.get("scan_facts") or {}
    recon, operator = config.get("recon") or {}, config.get("operator") or {}
    own_kspace = (facts.get("kspace_coils") is not None and operator.get("kind") == "mri"
                  and operator.get("use_file_kspace", True))
    shape = facts.get("shape")
    geometry_record = geometry(shape, facts.get("spacing_mm"), None if own_kspace else source.get("image_size"),
                               operator.get("kind")) if shape else {}
    return {"file": source.get("path"), "demo": None if source.get("path") else source.get("demo"),
            "contents": source.get("choices") or {}, "slice": source.get("slice"),
            "n_slices": facts.get("n_slices"), "modality": facts.get("modality"), "units": facts.get("units"),
            "original_size": list(facts["shape"]) if facts.get("shape") else None,
            "resized_to": geometry_record["working_size"] if geometry_record.get("resized") else None,
            "geometry": geometry_record, "region": _region_record(config.get("region"), shape, facts),
            "measurement": "the file's own k-space" if own_kspace else "simulated from the image",
            "acquisition": operator_summary({**asdict(OperatorConfig()), **operator}) if operator else None,
            "model": recon.get("name"), "weights": recon.get("weights"), "surrogate": config.get("surrogate")}


def _region_record(region: dict | None, shape, facts: dict) -> dict | None:
    """The drawn region in the scan's pixels and in mm (None: no region, or one that cannot be read back)."""
    if not region or not shape:
        return None
    from .attacks.regions import region_mask

    try:
        mask = region_mask(region, tuple(shape))
    except (ValueError, OSError):
        return None
    return region_extent(mask, facts.get("spacing_mm"))


def attacked_line(config: dict) -> str:
    """One line naming the model, the acquisition and the image: the CLI summary's first line."""
    what = attacked(config)
    place = Path(what["file"]).name if what["file"] else f"demo:{what['demo']}"
    picked = "".join(f", {k} {v}" for k, v in what["contents"].items())
    where = f"{place}{picked}"
    if what["slice"] is not None:
        where += f", slice {what['slice']}" + (f" of {what['n_slices']}" if what["n_slices"] else "")
    if what["geometry"]:
        where += f", {geometry_words(what['geometry'])}"
    model = what["model"] + (f" ({Path(what['weights']).name})" if what["weights"] else "")
    return f"{model} on {what['acquisition']} ({what['measurement']}): {where}"
