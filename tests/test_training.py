"""digitnet.train: the Python training API under the command line (on tiny generated data)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from digitnet.errors import BadSetting, RunError

SMALL = {"layers": [784, 8, 10], "epochs": 2, "batch_size": 32, "val_size": 100, "lr": 0.1}


def rows(run: Path) -> list[dict]:
    with open(run / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


def weights(run: Path) -> dict:
    return torch.load(run / "last.ckpt", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_train_makes_the_run_digitnet_fit_makes(tiny_env, capsys):
    """The same settings through train() and through `digitnet fit` give the same weights, the
    same logged losses and the same result; both print the same summary and test lines."""
    from digitnet import train
    from digitnet.cli.main import main

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    result = train(SMALL, root / "by-python")
    printed = capsys.readouterr().out
    assert "run by-python: 784-8-10 relu, 6,352 weights and 18 biases" in printed
    assert "run by-python: test accuracy" in printed
    args = ["fit", "--run_name", "by-cli", "--model.layers", "[784, 8, 10]", "--model.lr", "0.1"]
    args += ["--trainer.max_epochs", "2", "--data.batch_size", "32", "--data.val_size", "100"]
    assert main([*args, "--trainer.enable_progress_bar", "false"]) == 0
    ours, theirs = weights(root / "by-python"), weights(root / "by-cli")
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    losses = lambda run: [r["train_loss"] for r in rows(run) if r["train_loss"]]  # noqa: E731
    assert losses(root / "by-python") == losses(root / "by-cli")
    assert result.status == "finished" and result.run == "by-python"
    assert result.best_val_acc is not None and result.test_acc is not None
    assert result.updates_per_epoch == 10_500 // 32 + 1


@pytest.mark.slow
def test_a_run_made_by_train_resumes_with_digitnet_fit(tiny_env, capsys):
    from digitnet import train
    from digitnet.cli.main import main

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    train({**SMALL, "epochs": 1}, root / "py", trainer={"limit_train_batches": 5}, quiet=True)
    assert capsys.readouterr().out == ""  # quiet: no progress bar, no lines
    assert main(["fit", "--ckpt_path", "py", "--trainer.max_epochs", "2"]) == 0
    assert "resumed after epoch 1" in capsys.readouterr().out
    train_rows = [r for r in rows(root / "py") if r["train_loss"]]
    assert max(int(r["step"]) for r in train_rows) <= 10  # its limit came with its config


@pytest.mark.slow
def test_callbacks_join_and_a_class_path_is_made_and_resumes(tiny_env, capsys):
    """A spec's callback by its short name and as one mapping (not a list), Lightning's default
    logger value, and a progress bar of the user's own: the run trains with them, keeps the
    callback in its config.yaml as a list, and resumes with digitnet fit."""
    import lightning as L
    from lightning.pytorch.callbacks import TQDMProgressBar

    from digitnet.cli.main import main
    from digitnet.training.api import train
    from digitnet.training.options import from_options

    class Count(L.Callback):
        epochs = 0

        def on_train_epoch_end(self, trainer, pl_module):
            Count.epochs += 1

    options = {"model.layers": [784, 8, 10], "trainer.max_epochs": 2, "data.val_size": 100}
    options |= {"trainer.limit_train_batches": "3", "test_after_fit": "false"}
    monitor = {"class_path": "LearningRateMonitor", "init_args": {"logging_interval": "epoch"}}
    options |= {"trainer.callbacks": monitor, "trainer.logger": True}
    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    mine = [Count(), TQDMProgressBar(refresh_rate=50)]
    result = train(**from_options(options), run_dir=root / "cb", callbacks=mine)
    assert Count.epochs == 2 and result.test_acc is None and result.updates_per_epoch == 3
    saved = (root / "cb/config.yaml").read_text()
    assert "callbacks:\n  - class_path: lightning.pytorch.callbacks.LearningRateMonitor" in saved
    assert main(["fit", "--ckpt_path", "cb", "--trainer.max_epochs", "3"]) == 0
    assert "resumed after epoch 2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "given, trainer, says",
    [
        ({"learning_rate": 0.1}, {}, "learning_rate is not a setting; the settings are dataset"),
        ({"lr": -1}, {}, "lr must be"),
        ({"layers": [784, 10, 5]}, {}, "10"),
        ({}, {"max_epochs": 3}, "trainer argument max_epochs is the run's own; set the setting "
                                "epochs instead."),
        ({}, {"accumulate_grad_batches": 2}, "accumulate_grad_batches is not supported"),
        ({}, {"precision": "65"}, "Precision '65' is invalid"),
        ({}, {"callbacks": [{"class_path": "NoSuchCallback"}]}, "NoSuchCallback cannot be made"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_sentence_and_makes_no_folder(tiny_env, given, trainer, says):
    from digitnet import train

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    with pytest.raises(BadSetting, match=says.replace(".", r"\.")):
        train(given, root / "bad", trainer=trainer)
    assert not (root / "bad").exists()


def test_train_never_writes_into_an_existing_run_or_a_folder_of_the_users(tiny_env):
    from digitnet import train

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    own = root / "mine"
    own.mkdir(parents=True)
    (own / "notes.txt").write_text("keep")
    with pytest.raises(RunError, match="is not a digitnet run"):
        train(SMALL, own)
    assert [p.name for p in own.iterdir()] == ["notes.txt"]


def test_fit_options_become_settings_and_trainer_arguments():
    from digitnet.training.options import from_options

    found = from_options({"preset": "nielsen-ch1", "trainer.max_epochs": 2, "model.lr": 1.0})
    assert found["given"]["layers"] == [784, 30, 10] and found["given"]["lr"] == 1.0
    assert found["given"]["epochs"] == 2 and found["trainer"] == {"precision": "64-true"}
    with pytest.raises(BadSetting, match="model.dataset follows data.dataset"):
        from_options({"model.dataset": "mnist"})
    from digitnet.training.options import check_settings

    gpu = from_options({"trainer.accelerator": "gpu"})["given"]  # Lightning's, not the form's
    assert check_settings(gpu)["device"] == "gpu"


@pytest.mark.slow
@pytest.mark.parametrize(
    "option", ["--trainer.limit_train_batches=5", "--trainer.callbacks+=LearningRateMonitor"]
)
def test_a_k_the_trainer_would_change_is_refused_before_the_run_is_made(tiny_env, capsys, option):
    """An asked-for --data.steps_per_call that a Trainer option counting mini-batches would make
    groups of is refused in one sentence before the first update, and leaves no run folder (it
    used to leave one listed as failed)."""
    from digitnet import train
    from digitnet.cli.main import main

    root = Path(tiny_env["DIGITNET_CHECKPOINTS"])
    args = ["fit", "--run_name", "grouped", "--data.steps_per_call", "4", option]
    assert main([*args, "--data.val_size", "100"]) == 2
    assert "would make groups of 4" in capsys.readouterr().err
    assert not (root / "grouped").exists()
    with pytest.raises(BadSetting, match="would make groups of 4"):
        train({"steps_per_call": 4, "val_size": 100}, root / "py", trainer={"max_steps": 3})
    assert not (root / "py").exists()
