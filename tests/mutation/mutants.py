"""Hand-written mutants of the attack core, the metrics and the physics: deliberate bugs the test suite must catch.

Each mutant replaces exact source text (every ``old`` must occur exactly once in its file) and names the tests
that should notice it; ``python -m tests.mutation.run`` applies each in a scratch copy and runs them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]


ATTACKS = "halluview/core/attacks/"
ATTACK_TESTS = ("tests/core/attacks", "tests/test_cli.py")
METRICS = "halluview/core/metrics.py"
METRIC_TESTS = ("tests/core/test_metrics.py", "tests/core/test_volume_metrics.py")
PHYSICS = "halluview/core/physics/"
PHYSICS_TESTS = ("tests/core/physics", "tests/core/test_fastmri_file_kspace.py", "tests/core/io/test_io_fastmri.py")
SCREEN_TESTS = ("tests/core/test_display.py", "tests/core/test_units.py", "tests/core/test_session_model.py",
                "tests/gui/test_on_screen.py", "tests/gui/test_walkthrough.py")

QUALITY = "halluview/core/quality/"
QUALITY_TESTS = ("tests/core/quality",)
STUDY = "halluview/core/study/"
STUDY_TESTS = ("tests/core/test_study_tasks.py", "tests/core/test_study_grid.py", "tests/test_cli_study.py")
NATIVE_TESTS = ("tests/core/test_native_size.py", "tests/gui/test_native_resolution.py")
ANALYSES = "halluview/core/analyses/"
ANALYSIS_TESTS = ("tests/core/analyses",)
TTT = "halluview/core/recon/test_time.py"
TTT_TESTS = ("tests/core/recon/test_test_time.py", "tests/core/recon/test_test_time_study.py")
DIFFUSION = "halluview/core/recon/diffusion.py"
DIFFUSION_TESTS = ("tests/core/recon/test_diffusion.py", "tests/core/attacks/test_diffusion_attacks.py")

MUTANTS: tuple[Mutant, ...] = (
    # --- the list --------------------------------------------------------------------------------------
    Mutant("noise baseline at 0.1x the attack's size", ATTACKS + "threat.py",
           (("        return draw * target / torch.clamp(", "        return 0.1 * draw * target / torch.clamp("),),
           ATTACK_TESTS),
    Mutant("L-inf noise baseline at 0.1x the attack's size", ATTACKS + "threat.py",
           (('return draw / torch.clamp(draw.abs(), min=1e-30) * _group_norm(realised, "linf", self._dims)',
             'return 0.1 * draw / torch.clamp(draw.abs(), min=1e-30) * _group_norm(realised, "linf", self._dims)'),),
           ATTACK_TESTS),
    Mutant("restarts keep only the first run's worst case", ATTACKS + "run.py",
           (("            if self.best_delta is None or float(value) > self.best_value:",
             "            if self.best_delta is None or (self.restart == 0 and float(value) > self.best_value):"),),
           ATTACK_TESTS),
    Mutant("the last step is not evaluated (the point before each update is the candidate)", ATTACKS + "run.py",
           (("        delta, record = self.pending, None",
             "        delta, record = self.pending, None\n"
             "        previous = getattr(self, '_previous_delta', delta)\n"
             "        self._previous_delta = delta"),
            ("                self.best_value, self.best_delta = float(value), delta.clone()",
             "                self.best_value, self.best_delta = float(value), previous.clone()")),
           ATTACK_TESTS),
    Mutant("projection skipped in the loop", ATTACKS + "run.py",
           (("            self.pending = problem.threat.project(self.rule.step(delta, grad, self.index, value))"
             ".detach()",
             "            self.pending = self.rule.step(delta, grad, self.index, value).detach()"),),
           ATTACK_TESTS),
    Mutant("projection is the identity", ATTACKS + "threat.py",
           (("        return delta * torch.clamp(self.radius / torch.clamp(size, min=1e-30), max=1.0)",
             "        return delta"),),
           ATTACK_TESTS),
    Mutant("eps relative to the L2 norm of y for L-inf threats", ATTACKS + "threat.py",
           (("            self.radius = config.eps * _group_norm(reference, config.norm, self._dims)",
             '            self.radius = config.eps * _group_norm(reference, "l2", self._dims)'),),
           ATTACK_TESTS),
    Mutant("realised eps relative to the radius instead of the reference", ATTACKS + "threat.py",
           (("            size = size / (self.radius / self.config.eps)", "            size = size / self.radius"),),
           ATTACK_TESTS),
    Mutant("per-coil budgets over the whole measurement", ATTACKS + "threat.py",
           (("self._dims = (-2, -1) if config.per_coil and reference.dim() == 4 else",
             "self._dims = (-3, -2, -1) if config.per_coil and reference.dim() == 4 else"),),
           ATTACK_TESTS),
    # --- the attack's steps -----------------------------------------------------------------------------------
    Mutant("L2 steps not normalised", ATTACKS + "optimizers.py",
           (("        return grad / torch.clamp(self.threat.group_norm(grad), min=1e-30)", "        return grad"),),
           ATTACK_TESTS),
    Mutant("L-inf sign steps replaced by L2 steps", ATTACKS + "optimizers.py",
           (("        if self.threat.entrywise:\n            return grad / torch.clamp(grad.abs(), min=1e-30)",
             "        if False:\n            return grad / torch.clamp(grad.abs(), min=1e-30)"),),
           ATTACK_TESTS),
    Mutant("auto schedule never halves", ATTACKS + "optimizers.py",
           (("        self._scale /= 2", "        self._scale /= 1"),), ATTACK_TESTS),
    Mutant("auto schedule does not return to the best point", ATTACKS + "optimizers.py",
           (("        return self._best[1].clone(), self._best[2]", "        return delta, grad"),), ATTACK_TESTS),
    Mutant("descent instead of ascent", ATTACKS + "optimizers.py",
           (("        new = delta + self._length(index) * direction",
             "        new = delta - self._length(index) * direction"),),
           ATTACK_TESTS),
    Mutant("insert and remove start the auto schedule at 2 eps", ATTACKS + "optimizers.py",
           (('        return 2.0 if self.schedule == "auto" and not interior_optimum else 2.5 / self.steps',
             '        return 2.0 if self.schedule == "auto" else 2.5 / self.steps'),), ATTACK_TESTS),
    Mutant("the start is a candidate for the worst case", ATTACKS + "run.py",
           (("        if self.index >= 0:\n",
             "        if self.index < 0 and (self.best_delta is None or float(value) > self.best_value):\n"
             "            self.best_value, self.best_delta = float(value), delta.clone()\n"
             "        if self.index >= 0:\n"),),
           ATTACK_TESTS),
    # --- studies (issue 12) -------------------------------------------------------------------------------------
    Mutant("a warm start is not scaled to its budget", STUDY + "tasks.py",
           (('scale = 1.0 if problem.objective.interior_optimum else cell.labels["eps"] / eps_before',
             "scale = 1.0"),), STUDY_TESTS),
    Mutant("batched attacks all climb the first one's gradient", ATTACKS + "batched.py",
           (("ascent.advance(values[i], None if grads is None else grads[i:i + 1], perturbed[i:i + 1])",
             "ascent.advance(values[i], None if grads is None else grads[0:1], perturbed[i:i + 1])"),),
           STUDY_TESTS),
    Mutant("a rerun does not skip the finished cells", STUDY + "tasks.py",
           (("        if cell.key not in done:", "        if True:"),), STUDY_TESTS),
    Mutant("the Parquet table keeps numbers as text", STUDY + "table.py",
           (("        columns[name] = numbers if is_number and", "        columns[name] = text if is_number and"),),
           STUDY_TESTS),
    Mutant("the study's ratio to noise from the global change for a region objective", STUDY + "summary.py",
           (('    return "change_l2_in" if all(', '    return "change_l2" if all('),),
           ("tests/core/test_study_summary.py",)),
    # --- objectives, threats and the verdict ------------------------------------------------------------------
    Mutant("region objective rewards change outside", ATTACKS + "objectives.py",
           (("            return _sum_squares(change * self.inside) - penalty",
             "            return _sum_squares(change * self.inside) + penalty"),), ATTACK_TESTS),
    Mutant("insert objective scored outside the region", ATTACKS + "objectives.py",
           (("        return -_sum_squares((perturbed - self.target) * self.inside) - penalty",
             "        return -_sum_squares((perturbed - self.target) * self.outside) - penalty"),), ATTACK_TESTS),
    Mutant("noise ignores the threat's support", ATTACKS + "threat.py",
           (("        return self._masked(_randn_like(self.shape, self.dtype, generator).to(self.device))",
             "        return _randn_like(self.shape, self.dtype, generator).to(self.device)"),), ATTACK_TESTS),
    Mutant("image-domain threats forget the clean measurement", ATTACKS + "run.py",
           (("        return self.y + self.op(delta)", "        return self.op(delta)"),), ATTACK_TESTS),
    Mutant("verdict: found when either test passes", ATTACKS + "verdict.py",
           (("    found = improved and beats_noise", "    found = improved or beats_noise"),), ATTACK_TESTS),
    Mutant("verdict: an unimproved attack counts as improved", ATTACKS + "verdict.py",
           (("    improved = attack > clean + tolerance", "    improved = attack >= clean - tolerance"),),
           ATTACK_TESTS),
    Mutant("verdict: budget use never reported", ATTACKS + "verdict.py",
           (("    if budget_used < LOW_BUDGET_USE:", "    if budget_used < 0:"),), ATTACK_TESTS),
    # --- metrics ----------------------------------------------------------------------------------------------
    Mutant("SSIM window off by one", METRICS,
           (("    size = DEFAULT_WIN_SIZE[window] if win_size is None else int(win_size)",
             "    size = DEFAULT_WIN_SIZE[window] + 2 if win_size is None else int(win_size)"),), METRIC_TESTS),
    Mutant("SSIM population instead of sample covariance", METRICS,
           (('    cov_norm = n_pixels / (n_pixels - 1) if window == "uniform" else 1.0', "    cov_norm = 1.0"),),
           METRIC_TESTS),
    Mutant("SSIM C2 from K1", METRICS,
           (("    c2 = ((k2 * data_range) ** 2)[:, None, None]", "    c2 = ((k1 * data_range) ** 2)[:, None, None]"),),
           METRIC_TESTS),
    Mutant("SSIM mean over the uncropped border", METRICS,
           (("    ssim_values = _ssim_terms(x, ref, data_range, window, size, k1, k2, pad=False)",
             "    ssim_values = _ssim_terms(x, ref, data_range, window, size, k1, k2, pad=True)"),), METRIC_TESTS),
    Mutant("data range from the reconstruction", METRICS,
           (("        resolved = ref.flatten(1).amax(dim=1)", "        resolved = ref.flatten(1).amax(dim=1) * 1.01"),),
           METRIC_TESTS),
    Mutant("PSNR in natural log", METRICS,
           (("    return _finish(10 * torch.log10(data_range ** 2 / squared_error), single_image)",
             "    return _finish(10 * torch.log(data_range ** 2 / squared_error), single_image)"),), METRIC_TESTS),
    Mutant("NMSE normalised by the error's own energy", METRICS,
           (("    ref_energy = (ref ** 2 * weights).flatten(1).sum(dim=1)",
             "    ref_energy = (x ** 2 * weights).flatten(1).sum(dim=1)"),), METRIC_TESTS),
    Mutant("masked mean over all pixels", METRICS,
           (("    return (values * weights).flatten(1).sum(dim=1) / weights.flatten(1).sum(dim=1)",
             "    return (values * weights).flatten(1).mean(dim=1)"),), METRIC_TESTS),
    # --- physics ----------------------------------------------------------------------------------------------
    Mutant("FFT not orthonormal", PHYSICS + "mri.py",
           (('    x = torch.fft.fftn(x, dim=_IMAGE_DIMS, norm="ortho")',
             "    x = torch.fft.fftn(x, dim=_IMAGE_DIMS)"),),
           PHYSICS_TESTS),
    Mutant("FFT without the centring shift", PHYSICS + "mri.py",
           (("    x = torch.fft.ifftshift(x, dim=_IMAGE_DIMS)\n    x = torch.fft.fftn(",
             "    x = torch.fft.fftn("),), PHYSICS_TESTS),
    Mutant("adjoint skips the conjugate of the coil maps", PHYSICS + "mri.py",
           (("        return torch.sum(torch.conj(self.coil_maps.to(coil_images.dtype)) * coil_images, dim=1)",
             "        return torch.sum(self.coil_maps.to(coil_images.dtype) * coil_images, dim=1)"),), PHYSICS_TESTS),
    Mutant("forward ignores the mask", PHYSICS + "mri.py",
           (("        return fft2c(self._coil_images(x)) * self.mask", "        return fft2c(self._coil_images(x))"),),
           PHYSICS_TESTS),
    Mutant("coil maps not normalised", PHYSICS + "mri.py",
           (("    maps /= np.sqrt(np.sum(np.abs(maps) ** 2, axis=0, keepdims=True))", "    maps /= 2.0"),),
           PHYSICS_TESTS),
    Mutant("fastMRI centre block off by one", PHYSICS + "masks.py",
           (("    start = (num_cols - num_low + 1) // 2", "    start = (num_cols - num_low) // 2"),), PHYSICS_TESTS),
    Mutant("random mask probability without the centre correction", PHYSICS + "masks.py",
           (("    prob = (n / accel - n_low) / (n - n_low)", "    prob = 1 / accel"),), PHYSICS_TESTS),
    Mutant("FBP scaled by the wrong angle count", PHYSICS + "ct.py",
           (("        return self._backproject_pixels(filtered) * (math.pi / (2 * self.n_angles))",
             "        return self._backproject_pixels(filtered) * (math.pi / (2 * (self.n_angles + 1)))"),),
           PHYSICS_TESTS),
    Mutant("ramp filter without its DC tap", PHYSICS + "ct.py",
           (("    kernel[0] = 0.25", "    kernel[0] = 0.0"),), PHYSICS_TESTS),
    Mutant("Poisson noise counts with the wrong sign of the exponent", PHYSICS + "noise.py",
           (("        counts = torch.poisson(self.incident_flux * torch.exp(-optical_depth), generator=generator)",
             "        counts = torch.poisson(self.incident_flux * torch.exp(optical_depth), generator=generator)"),),
           PHYSICS_TESTS),
    Mutant("complex Gaussian noise twice as strong", PHYSICS + "noise.py",
           (("            return y + torch.complex(parts[0], parts[1]) * (std / math.sqrt(2.0))",
             "            return y + torch.complex(parts[0], parts[1]) * std"),), PHYSICS_TESTS),
    # --- what the app shows (issue 10) ---------------------------------------------------------------------------
    Mutant("the difference scale shrinks mid-run", "halluview/core/display.py",
           (("        if self._limit is None or self._smoothed > self._limit:", "        if True:"),), SCREEN_TESTS),
    Mutant("the difference scale from the largest |change| (one hot pixel sets it)", "halluview/core/display.py",
           (("    limit = float(np.percentile(magnitude, percentile))", "    limit = float(magnitude.max())"),),
           SCREEN_TESTS),
    Mutant("HU offset with the wrong sign", "halluview/core/units.py",
           (('HU = UnitMap(HU_PER_WORKING_UNIT, -HU_PER_WORKING_UNIT, "HU")',
             'HU = UnitMap(HU_PER_WORKING_UNIT, HU_PER_WORKING_UNIT, "HU")'),), SCREEN_TESTS),
    Mutant("a new scan keeps the old scan's regions", "halluview/core/session.py",
           (("        self.regions.reset()", "        pass"),), SCREEN_TESTS),
    Mutant("a slice change mid-run leaves the run going", "halluview/core/session.py",
           (('        self._cancel_running(f"the slice changed to {index} while it ran")', "        pass"),),
           SCREEN_TESTS),
    # --- native resolution (issue 11) -------------------------------------------------------------------------------
    Mutant("a working size squeezes the slice into a square", "halluview/core/geometry.py",
           (("    return max(1, round(rows * scale)), max(1, round(cols * scale))", "    return size, size"),),
           NATIVE_TESTS),
    Mutant("a built-in model resizes the slice to its training size again", "halluview/core/problem.py",
           (("        m = _simulate(config, working_image(scan, index, experiment.source.image_size))",
             "        m = _simulate(config, working_image(scan, index, experiment.source.image_size or 128))"),),
           NATIVE_TESTS),
    Mutant("a region drawn in scan pixels is used as if in working pixels", "halluview/core/problem.py",
           (("mask = region_on_grid(experiment.region, tuple(facts.shape), grid)  # a chosen working size",
             "mask = region_mask(experiment.region, grid)  #"),), NATIVE_TESTS),
    Mutant("a non-square CT slice padded off-centre", "halluview/core/physics/square.py",
           (("        self.pads = (side - self.shape[1]) // 2, (side - self.shape[0]) // 2",
             "        self.pads = 0, 0"),),
           NATIVE_TESTS),
    Mutant("a derived DICOM in the source study without its source reference", "halluview/core/io/dicom_writer.py",
           (("        dataset.SourceImageSequence = [_image_reference(*sources[index])]", "        pass"),),
           ("tests/core/io/test_io_writers.py",)),
    # --- the papers' other probes (issue 13) ---------------------------------------------------------------------
    Mutant("rotation damage measured against the unrotated truth (the motion counted as damage)",
           ANALYSES + "rotations.py",
           (("    recon = scene.inputs.recon(scene.inputs.acquire(truth))\n",
             "    recon = scene.inputs.recon(scene.inputs.acquire(truth))\n    truth = scene.x.expand_as(truth)\n"),),
           ANALYSIS_TESTS),
    Mutant("a feature's contrast is its inside plus its ring", ANALYSES + "feature_shapes.py",
           (("    return inside - around", "    return inside + around"),), ANALYSIS_TESTS),
    Mutant("the invariance search rewards a small input change", ANALYSES + "invariance.py",
           (("output_distance - config.alpha * input_rms", "output_distance + config.alpha * input_rms"),),
           ANALYSIS_TESTS),
    Mutant("the null-space part is the error plus its measured part", ANALYSES + "nullspace.py",
           (("    null = e.detach().to(measured.dtype) - measured",
             "    null = e.detach().to(measured.dtype) + measured"),),
           ANALYSIS_TESTS),
    # --- test-time training (issue 14) ---------------------------------------------------------------------------
    Mutant("test-time training climbs its loss", TTT,
           (("            loss.backward()\n            optimizer.step()", "            (-loss).backward()\n"
             "            optimizer.step()"),), TTT_TESTS),
    Mutant("test-time training adapts the original network, not a copy", TTT,
           (("    model = copy.deepcopy(recon).eval()", "    model = recon.eval()"),), TTT_TESTS),
    Mutant("a test-time training split feeds the held-out columns to the network", TTT,
           (("    network_input = y if input_mask is None else y * input_mask", "    network_input = y"),), TTT_TESTS),
    Mutant("a split may hold out the fully sampled centre", TTT,
           (("    candidates = np.flatnonzero(acquired & ~centre)", "    candidates = np.flatnonzero(acquired)"),),
           TTT_TESTS),
    Mutant("the deployment re-adapts the already adapted network", TTT,
           (("        model, record = adapt(self.original, self.op, y,",
             "        model, record = adapt(self.adapted, self.op, y,"),), TTT_TESTS),
    Mutant("the deployment scores the frozen network instead of the re-adapted one", TTT,
           (("    image, record = recon.readapt(problem.perturbed_measurement(delta).detach())",
             "    image, record = recon.readapt(problem.perturbed_measurement(delta).detach())\n"
             "    image = recon(problem.perturbed_measurement(delta)).detach()"),), TTT_TESTS),
    # --- diffusion reconstruction (issue 14) --------------------------------------------------------------------
    Mutant("data consistency steps away from the measurement", DIFFUSION,
           (("        image = image + self.op.adjoint(y - self.op(image))",
             "        image = image - self.op.adjoint(y - self.op(image))"),), DIFFUSION_TESTS),
    Mutant("the sampler ignores its seed", DIFFUSION,
           (("        generator = torch.Generator().manual_seed(self.seed)",
             "        generator = torch.Generator().manual_seed(0)"),), DIFFUSION_TESTS),
    Mutant("DDIM steps without the predicted noise direction", DIFFUSION,
           (("        return torch.sqrt(alpha_prev) * x0 + direction + sigma * noise, image",
             "        return torch.sqrt(alpha_prev) * x0 + sigma * noise, image"),), DIFFUSION_TESTS),
    Mutant("a random reconstruction's spread is taken over images, not seeds", "halluview/core/recon/evaluate.py",
           (("        scores[\"ssim_seed_std\"] = float(ssim.mean(dim=1).std())",
             "        scores[\"ssim_seed_std\"] = float(ssim.mean(dim=0).std())"),), DIFFUSION_TESTS),
    # --- clinical metrics (issue 14) -----------------------------------------------------------------------------
    Mutant("VIF ignores the data range (no 255 / L scaling)", QUALITY + "vif.py",
           (("    scale = 255.0 / torch.as_tensor(data_range,", "    scale = 1.0 / torch.as_tensor(data_range,"),),
           QUALITY_TESTS),
    Mutant("segment RMSE divides by the image's pixel count, not the segment's", QUALITY + "srmse.py",
           (("    return ids, np.sqrt(sums / np.maximum(counts, 1))", "    return ids, np.sqrt(sums / labels.size)"),),
           QUALITY_TESTS),
    Mutant("GLCM pairs are counted across segment borders", QUALITY + "radiomics.py",
           (("        same = (first == second) & (first >= 0)", "        same = (first >= 0) & (second >= 0)"),),
           QUALITY_TESTS),
    Mutant("RFS normalises the reconstruction by its own statistics", QUALITY + "radiomics.py",
           (("    a, b = (reference[usable] - centre) / spread, (reconstruction[usable] - centre) / spread",
             "    a = (reference[usable] - centre) / spread\n"
             "    b = (reconstruction[usable] - reconstruction[usable].mean(0)) / spread"),), QUALITY_TESTS),
    Mutant("the high-frequency share counts from a quarter of Nyquist", QUALITY + "spectral.py",
           (("    return float(power[radius > HIGH_FREQUENCY_CUTOFF]", "    return float(power[radius > 0.125]"),),
           QUALITY_TESTS),
)
