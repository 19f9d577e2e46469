"""Every speed path computes exactly what the plain path does."""

import math
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml

from digitnet import DigitClassifier, DigitDataModule
from digitnet.cli.prepare import run_lightning
from digitnet.data.loader import TensorBatches
from digitnet.errors import BadSetting
from trainers import bare_trainer

pytestmark = pytest.mark.slow  # every test here trains


def _train(tiny_env, steps_per_call, epochs=2, **model_kwargs):
    torch.manual_seed(7)
    model = DigitClassifier(layers=[784, 16, 10], **model_kwargs)
    data = DigitDataModule(
        "mnist",
        batch_size=32,
        val_size=10_000,
        steps_per_call=steps_per_call,
        seed=3,
        full_batch=model_kwargs.get("optimizer") == "gd",  # as digitnet fit links them
    )
    trainer = bare_trainer(max_epochs=epochs)
    trainer.fit(model, datamodule=data)
    return model, data, trainer


def _bare(tiny_env, data, epochs=2, **model_kwargs):
    """The plain loop: the same mini-batches in the same order, automatic-optimization math."""
    torch.manual_seed(7)
    model = DigitClassifier(layers=[784, 16, 10], **model_kwargs)
    net = model.network
    optimizer = torch.optim.SGD(
        net.parameters(), lr=model.hparams.lr, momentum=model.hparams.momentum
    )
    per_epoch = math.ceil(len(data.train_set[1]) / 32)
    total = per_epoch * epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: 0.5 * (1 + math.cos(math.pi * min(t / total, 1)))
    )
    loader = TensorBatches(*data.train_set, 32, shuffle=True, seed=3)
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        for x, y in loader:
            loss = model.cost(net(model.scale(x)), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            schedule.step()
    return model


@pytest.mark.parametrize("steps_per_call", [1, 4, 7])
def test_grouped_updates_give_the_weights_of_the_plain_loop(tiny_env, steps_per_call):
    fast, data, trainer = _train(tiny_env, steps_per_call)
    plain = _bare(tiny_env, data)
    assert fast.updates == 2 * math.ceil(600 / 32)
    for (name, a), (_, b) in zip(fast.state_dict().items(), plain.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_full_batch_gradient_descent_makes_one_update_per_epoch(tiny_env):
    model, data, trainer = _train(tiny_env, None, epochs=3, optimizer="gd", lr=0.5)
    assert trainer.global_step == 3


class Probe(L.Callback):
    """What Lightning's hooks see: the CPU threads a fit trains on, and, at each of Lightning's
    optimizer steps, whether every parameter has a gradient (a real update, not a no-op)."""

    def __init__(self) -> None:
        self.threads, self.real_steps = None, []

    def on_train_start(self, trainer, pl_module) -> None:
        self.threads = torch.get_num_threads()

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.real_steps.append(all(p.grad is not None for p in pl_module.parameters()))


CLI_RUN = [
    "fit",
    "--model.layers",
    "[784, 16, 10]",
    "--data.val_size",
    "10000",
    "--trainer.max_epochs",
    "2",
    "--trainer.enable_progress_bar",
    "false",
    "--test_after_fit",
    "false",
]


def test_each_lightning_step_is_a_real_update_and_a_small_network_gets_one_thread(tiny_env):
    """784-16-10 at batch 64 is 4.9 MFLOP an update: one thread; 16 updates a Lightning step, the
    first of them Lightning's own optimizer step, with every gradient there; the threads a caller
    had are put back."""
    torch.set_num_threads(2)
    probe = Probe()
    assert run_lightning([*CLI_RUN, "--run_name", "small"], callbacks=[probe]) == 0
    assert probe.threads == 1 and torch.get_num_threads() == 2
    # 600 training images: 9 mini-batches of 64 in one step, then one of 24, in each epoch
    assert probe.real_steps == [True] * 4


def test_gd_on_the_command_line_trains_on_one_batch_of_the_whole_split(tiny_env):
    probe = Probe()
    argv = [*CLI_RUN, "--run_name", "gd", "--model.optimizer", "gd", "--model.lr", "0.5"]
    assert run_lightning(argv, callbacks=[probe]) == 0
    assert probe.real_steps == [True, True]  # one update an epoch
    saved = yaml.safe_load((Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "gd/hparams.yaml").read_text())
    assert saved["optimizer"] == "gd"


def test_gd_from_python_without_one_batch_is_refused_in_one_sentence(tiny_env):
    model = DigitClassifier(layers=[784, 16, 10], optimizer="gd")
    data = DigitDataModule("mnist", batch_size=32, val_size=10_000)
    with pytest.raises(BadSetting, match=r"pass DigitDataModule\(full_batch=True\)"):
        bare_trainer(max_epochs=1).fit(model, datamodule=data)
    assert model.updates == 0
