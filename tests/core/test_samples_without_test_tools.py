"""The built-in examples load in a plain install (no pytest): nibabel's examples are read from its data folder,
not through ``nibabel.testing``, which imports pytest."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["mr-anatomical", "mr-epi"])
def test_nibabel_examples_load_without_pytest(name):
    code = ("import sys; sys.modules['pytest'] = None\n"  # as if pytest were not installed
            "from halluview.core.samples import load_sample\n"
            f"scan = load_sample({name!r}); print(scan.n_slices)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 1
