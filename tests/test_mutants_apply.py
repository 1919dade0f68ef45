"""The hand-written mutants still match the code (a mutant whose text no longer occurs would silently test
nothing): each applies cleanly to a copy of its file."""
from pathlib import Path

import pytest

from tests.mutation.mutants import MUTANTS, Mutant
from tests.mutation.run import ROOT, apply


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_mutant_applies_and_changes_the_code(mutant: Mutant, tmp_path: Path):
    copy = tmp_path / mutant.path
    copy.parent.mkdir(parents=True)
    original = (ROOT / mutant.path).read_text()
    copy.write_text(original)
    apply(mutant, tmp_path)
    assert copy.read_text() != original
    for test in mutant.tests:
        assert (ROOT / test.split("::")[0]).exists(), test
