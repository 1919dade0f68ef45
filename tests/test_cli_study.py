"""`halluview-cli study`: a commented example, a small study into a resumable table, one line for a bad config."""
import yaml

from halluview.cli import main
from halluview.cli_study import EXAMPLE
from halluview.core.study.grid import GRID_KEYS, study_config
from halluview.core.study.local import read_table

SMALL = """
sources: [{demo: brain}]
recons: [zero-filled]
eps: [0.01, 0.02]
choices: {optimizer: {steps: 2}, device: cpu}
"""


def test_the_example_is_a_valid_config_that_names_every_setting(capsys):
    assert main(["study", "--example"]) == 0
    printed = capsys.readouterr().out
    assert printed == EXAMPLE and all(f"{key}:" in printed for key in GRID_KEYS)
    config = study_config(yaml.safe_load(printed))
    assert config.eps == (0.005, 0.01, 0.02) and config.recons == ("unet-mri-4x", "tv-mri-4x")


def test_a_small_study_writes_its_table_and_a_rerun_skips_what_is_done(tmp_path, capsys):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    assert main(["study", str(path), "--quiet"]) == 0
    assert "2 cells run, 0 already done, 0 failed" in capsys.readouterr().out
    table = read_table(tmp_path / "small")
    assert len(table) == 4 and {r["kind"] for r in table} == {"attack", "noise"}
    assert sorted({r["eps"] for r in table}) == ["0.01", "0.02"]
    assert main(["study", str(path), "--quiet"]) == 0
    assert "0 cells run, 2 already done" in capsys.readouterr().out


def test_a_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    cases = {"broken.yaml": "eps: [0.01\nrecons: x", "wrong.yaml": "eps: [2.0]\n", "list.yaml": "- 1\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    for name in [*cases, "missing.yaml"]:
        assert main(["study", str(tmp_path / name)]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and error.startswith("halluview-cli: error: ") and name in error
        assert not (tmp_path / name.replace(".yaml", "")).exists()
    assert main(["study"]) == 2 and "--example" in capsys.readouterr().err


def test_a_source_that_cannot_be_read_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "missing.yaml"
    path.write_text(f"sources: [{{path: {tmp_path / 'nowhere.dcm'}}}]\nrecons: [tv]\neps: [0.01]\n")
    assert main(["study", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere.dcm" in err and "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["missing.yaml"]
