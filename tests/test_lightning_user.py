"""A Lightning user's own code over digitnet's pieces, written as their scripts: every option and
tool behaves as in plain Lightning, or is refused in one sentence naming it."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from digitnet import DigitClassifier, DigitDataModule
from digitnet.errors import BadSetting

pytestmark = pytest.mark.slow  # every test here trains or predicts


def trainer(**options) -> L.Trainer:
    quiet = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    return L.Trainer(accelerator="cpu", enable_model_summary=False, **quiet, **options)


def test_max_steps_makes_that_many_updates(tiny_env):
    model = DigitClassifier(layers=[784, 16, 10])
    trainer(max_steps=7, limit_val_batches=0).fit(model, datamodule=DigitDataModule(val_size=100))
    assert model.updates == 7


class FirstBatches(L.Callback):
    def __init__(self) -> None:
        self.labels: list[list[int]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            self.labels.append(batch[1].flatten().tolist())


def test_overfit_batches_trains_on_the_same_batch_every_epoch(tiny_env):
    seen = FirstBatches()
    model = DigitClassifier(layers=[784, 16, 10])
    trainer(max_epochs=3, overfit_batches=1, callbacks=[seen]).fit(
        model, datamodule=DigitDataModule(val_size=100, batch_size=16)
    )
    assert len(seen.labels) == 3 and seen.labels[0] == seen.labels[1] == seen.labels[2]
    assert model.updates == 3


class Plain(L.LightningModule):
    """A user's own MLP, written as Lightning's examples write one."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
        self.seen: list[tuple] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.seen.append((tuple(x.shape), x.dtype, tuple(y.shape), y.dtype, float(x.mean())))
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_plain_lightning_module_gets_float_normalised_pixels_and_long_labels(tiny_env):
    model = Plain()
    data = DigitDataModule(val_size=100, batch_size=16)
    trainer(max_epochs=1, limit_val_batches=0).fit(model, datamodule=data)
    shape, dtype, label_shape, label_dtype, _ = model.seen[0]
    assert shape == (16, 1, 28, 28) and dtype == torch.float32
    assert label_shape == (16,) and label_dtype == torch.int64
    assert len(model.seen) == data.updates_per_epoch  # one mini-batch a step
    means = [m for *_, m in model.seen]
    assert abs(sum(means) / len(means)) < 0.5  # normalised: around 0, not 0..255 or 0..1


@pytest.mark.parametrize("tool", ["lr_find", "scale_batch_size"])
def test_lightnings_tuner_is_refused_in_one_sentence(tiny_env, tool):
    from lightning.pytorch.tuner import Tuner

    model = DigitClassifier(layers=[784, 16, 10])
    with pytest.raises(BadSetting, match=f"Lightning's Tuner.{tool} is not supported"):
        getattr(Tuner(trainer(max_epochs=1)), tool)(model, datamodule=DigitDataModule(val_size=100))


def test_to_onnx_and_predict_take_bare_float_images_as_totensor_gives_them(tiny_env, tmp_path):
    pytest.importorskip("onnx")
    model = DigitClassifier(layers=[784, 16, 10])
    data = DigitDataModule(val_size=100)
    trainer(max_epochs=1, limit_val_batches=0).fit(model, datamodule=data)
    model.to_onnx(tmp_path / "model.onnx", torch.rand(1, 1, 28, 28))
    assert (tmp_path / "model.onnx").stat().st_size > 0
    data.setup("test")
    images = data.test_set[0][:32].unsqueeze(1)
    as_uint8 = trainer().predict(model, dataloaders=torch.utils.data.DataLoader(images, 16))
    floats = images.float() / 255.0  # torchvision's ToTensor
    as_float = trainer().predict(model, dataloaders=torch.utils.data.DataLoader(floats, 16))
    assert torch.allclose(torch.cat(as_uint8), torch.cat(as_float), atol=1e-5)


def test_every_logger_row_is_at_the_update_count(tiny_env, tmp_path):
    """A user's LearningRateMonitor and the test after fit write to metrics.csv on the same step
    axis as digitnet's own rows: the update count (k is 1 while such a callback logs each step;
    an asked-for k > 1 is refused in one sentence naming it)."""
    import csv

    from lightning.pytorch.callbacks import LearningRateMonitor

    from digitnet import run_folder

    model = DigitClassifier(layers=[784, 16, 10])
    data = DigitDataModule(val_size=100, batch_size=64)
    options = run_folder(tmp_path / "run", 10, callbacks=[LearningRateMonitor("step")])
    fit = L.Trainer(accelerator="cpu", max_epochs=2, enable_progress_bar=False, **options)
    fit.fit(model, datamodule=data)
    fit.test(model, datamodule=data)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    ours = {int(float(r["step"])): float(r["lr"]) for r in rows if r.get("lr")}
    theirs = {int(float(r["step"])): float(r["lr-SGD/pg1"]) for r in rows if r.get("lr-SGD/pg1")}
    assert model.updates == 2 * 165 and max(theirs) >= model.updates - 10
    for step, rate in theirs.items():  # Lightning logs before the update at that count
        if step + 1 in ours:
            assert rate == pytest.approx(ours[step + 1])
    assert [int(float(r["step"])) for r in rows if r.get("test_acc")] == [model.updates]
    with pytest.raises(BadSetting, match="^LearningRateMonitor logs the learning rate at every"):
        grouped = DigitDataModule(val_size=100, steps_per_call=4)
        monitor = L.Trainer(accelerator="cpu", max_epochs=1, callbacks=[LearningRateMonitor()])
        monitor.fit(DigitClassifier(layers=[784, 16, 10]), datamodule=grouped)
