"""Attacking a fastMRI file's own k-space: its mask band, its recon size, and data_range = attrs['max']."""
import numpy as np
import pytest
from fastmri_fixture import phantom_volume, write_fastmri_h5

from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, OperatorConfig, SourceConfig
from halluview.core.metrics import compare
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig


@pytest.mark.parametrize("coils", [None, 4])
def test_attack_on_file_kspace(tmp_path, coils):
    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(3, 32, 24), n_coils=coils, acceleration=1)
    experiment = Experiment(source=SourceConfig(demo=None, path=str(fixture.path), slice=1),
                            operator=OperatorConfig(acceleration=4, center_fraction=0.08, mask_type="random"),
                            recon=ReconConfig(name="zero-filled"), threat=ThreatConfig(eps=0.05),
                            optimizer=OptimizerConfig(steps=20), device="cpu", noise_draws=1)
    problem = build_problem(experiment)
    mask = problem.op.mask.reshape(-1).numpy()
    assert not mask[:fixture.padding_left].any() and not mask[fixture.padding_right:].any()
    assert 3.0 < len(mask[fixture.padding_left:fixture.padding_right]) / mask.sum() < 5.5
    np.testing.assert_array_equal(problem.y.numpy()[..., ~mask], 0)
    assert tuple(problem.clean.shape[-2:]) == (32, 24)  # the recon size, not the encoded size
    np.testing.assert_allclose(problem.reference[0].numpy(), fixture.reference[1], rtol=1e-6)
    assert problem.data_range == pytest.approx(float(fixture.reference.max()))
    result = run_to_end(problem)
    expected = compare(result.perturbed, fixture.reference[1], data_range=float(fixture.reference.max()))
    got = result.metrics["vs_reference"]
    assert {key: got[key] for key in expected} == pytest.approx(expected)  # the clinical metrics follow them
    assert {"srmse_max", "rfs"} <= set(got)
    assert result.norms["delta_l2"] <= 0.05 * result.norms["y_l2"] * (1 + 1e-5)
    assert result.norms["recon_change_l2"] > result.norms["noise_recon_change_l2_mean"]


def test_image_domain_threat_is_refused_for_raw_kspace(tmp_path):
    fixture = write_fastmri_h5(tmp_path / "file.h5", phantom_volume(1, 16, 16), n_coils=2, acceleration=1)
    experiment = Experiment(source=SourceConfig(demo=None, path=str(fixture.path)), device="cpu",
                            recon=ReconConfig(name="zero-filled"), threat=ThreatConfig(domain="image"))
    with pytest.raises(ValueError, match="only has k-space"):
        build_problem(experiment)
