"""Every speed path computes exactly what the plain path does."""

import math

import pytest
import torch

from digitnet import DigitClassifier, DigitDataModule
from digitnet.data.loader import TensorBatches
from trainers import bare_trainer

pytestmark = pytest.mark.slow  # every test here trains


def _train(tiny_env, steps_per_call, epochs=2, **model_kwargs):
    torch.manual_seed(7)
    model = DigitClassifier(layers=[784, 16, 10], **model_kwargs)
    data = DigitDataModule(
        "mnist", batch_size=32, val_size=10_000, steps_per_call=steps_per_call, seed=3
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
