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
           (("            if best_delta is None or float(value) > best_value:",
             "            if best_delta is None or (restart == 0 and float(value) > best_value):"),),
           ATTACK_TESTS),
    Mutant("the last step is not evaluated (the point before each update is the candidate)", ATTACKS + "run.py",
           (("            delta = problem.threat.project(rule.step(delta, grad, index, value)).detach()",
             "            previous = delta\n"
             "            delta = problem.threat.project(rule.step(delta, grad, index, value)).detach()"),
            ("                best_value, best_delta = float(value), delta.clone()",
             "                best_value, best_delta = float(value), previous.clone()")),
           ATTACK_TESTS),
    Mutant("projection skipped in the loop", ATTACKS + "run.py",
           (("            delta = problem.threat.project(rule.step(delta, grad, index, value)).detach()",
             "            delta = rule.step(delta, grad, index, value).detach()"),),
           ATTACK_TESTS),
    Mutant("projection is the identity", ATTACKS + "threat.py",
           (("        return delta * torch.clamp(self.radius / torch.clamp(size, min=1e-30), max=1.0)",
             "        return delta"),),
           ATTACK_TESTS),
    Mutant("eps relative to the L2 norm of y for L-inf threats", ATTACKS + "threat.py",
           (("            self.radius = config.eps * _group_norm(reference, config.norm, self._dims)",
             '            self.radius = config.eps * _group_norm(reference, "l2", self._dims)'),),
           ATTACK_TESTS),
    Mutant("realised eps relative to the radius instead of the reference", ATTACKS + "run.py",
           (("        size = size / (threat.radius / threat.config.eps)", "        size = size / threat.radius"),),
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
           (("        new = delta + self._length(index) * direction", "        new = delta - self._length(index) * direction"),),
           ATTACK_TESTS),
    Mutant("the start is a candidate for the worst case", ATTACKS + "run.py",
           (("        value, grad, _ = _evaluate(problem, delta, with_grad=True)",
             "        value, grad, _ = _evaluate(problem, delta, with_grad=True)\n"
             "        if best_delta is None or float(value) > best_value:\n"
             "            best_value, best_delta = float(value), delta.clone()"),),
           ATTACK_TESTS),
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
)
