import numpy as np
import pytest
from quality_images import phantom


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    ref = phantom()
    noisy = ref + 0.03 * rng.standard_normal(ref.shape)
    return ref, noisy
