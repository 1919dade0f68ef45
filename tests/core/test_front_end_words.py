"""Messages the app shows never name a command-line option; the CLI's still say which one to use."""
import pickle

import torch

from halluview.core.data_checks import check_gradient
from halluview.core.errors import APP, CLI, message_for
from halluview.core.recon.checkpoints import CheckpointError, read_state_dict


class Constant(torch.nn.Module):
    def forward(self, y):
        return torch.zeros(y.shape[0], 4, 4)


def test_a_reconstruction_without_gradient_points_each_front_end_to_its_transfer_control():
    try:
        check_gradient(Constant(), torch.ones(1, 4, 4), "constant")
    except ValueError as err:
        assert "--" not in message_for(err, APP) and "Attacked via" in message_for(err, APP)
        assert "--surrogate" in message_for(err, CLI)
    else:
        raise AssertionError("a constant reconstruction was accepted")


def test_a_pickled_checkpoint_names_the_cli_option_only_on_the_command_line(tmp_path):
    path = tmp_path / "pickled.pt"
    with open(path, "wb") as f:
        pickle.dump({"weights": torch.nn.Linear(2, 2)}, f)
    try:
        read_state_dict(path)
    except CheckpointError as err:
        assert "--" not in message_for(err, APP) and "asks" in message_for(err, APP)
        assert "--allow-pickle" in message_for(err, CLI)
    else:
        raise AssertionError("a pickled file was read without permission")
