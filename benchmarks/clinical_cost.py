"""What the clinical metrics add to one attack's end: VIF, segment RMSE, RFS (vs clean and vs reference, for the
attack and every noise draw) and the changes' spectra, timed on one thread at a given size, with the share of each
part. Prints the total and the metric values (to check a speed-up leaves them alone).

    python benchmarks/clinical_cost.py [--size 512] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

import torch


def _inputs(size: int):
    """The brain phantom at ``size``², zero-filled: its clean, attacked (a random δ at 2 %) and 4 noise
    reconstructions, as the attack's ``finish`` would pass them."""
    from halluview.core.attacks.baseline import noise_baseline
    from halluview.core.experiment import Experiment, SourceConfig
    from halluview.core.problem import build_problem
    from halluview.core.recon.factory import ReconConfig

    problem = build_problem(Experiment(source=SourceConfig(demo="brain", image_size=size),
                                       recon=ReconConfig(name="zero-filled"), device="cpu"))
    generator = torch.Generator().manual_seed(0)
    delta = problem.threat.project(torch.randn(problem.y.shape, generator=generator, dtype=problem.y.dtype))
    with torch.no_grad():
        perturbed = problem.recon(problem.perturbed_measurement(delta))
    noise = noise_baseline(problem, delta, generator)
    return problem, perturbed, noise.responses


def main() -> None:
    from halluview.core.attacks.run import _clinical

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    problem, perturbed, responses = _inputs(args.size)
    _clinical(problem, perturbed, responses, {})  # warm-up: imports, first-call costs
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        attack, noise, clinical = _clinical(problem, perturbed, responses, norms := {})
        seconds.append(time.perf_counter() - started)
    print(f"{args.size}²: {len(responses)} noise draws, {clinical['segmentation']['segments']} segments; "
          f"clinical metrics {min(seconds):.3f} s (best of {args.repeats}, one thread)")
    for anchor in attack:
        print(f"  {anchor}: attack {attack[anchor]!r}\n  {anchor}: noise  {noise[anchor]!r}")
    print(f"  norms {norms!r}")


if __name__ == "__main__":
    main()
