"""Updates per step change speed only: for every k and the Lightning options that count, a run
is the one k = 1 makes (updates, learning rate at every update, metrics.csv, epoch ends, progress
totals, weights), or an option k would change is refused in one sentence."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor

from digitnet import DigitClassifier, DigitDataModule, run_folder
from digitnet.errors import BadSetting
from digitnet.record.progress import UpdatesProgressBar

pytestmark = pytest.mark.slow  # every test here trains

# tiny data: 5,600 training images, batch 16: 350 mini-batches an epoch
OPTIONS = {
    "epochs": dict(max_epochs=3),
    "limit-count": dict(max_epochs=2, limit_train_batches=5),
    "limit-fraction": dict(max_epochs=2, limit_train_batches=0.5),
    "max-steps": dict(max_epochs=3, max_steps=7),
    "limit-val": dict(max_epochs=2, limit_val_batches=1),
    "log-every-3": dict(max_epochs=2, log_every_n_steps=3),
    "val-twice": dict(max_epochs=2, val_check_interval=0.5),
    "max-time": dict(max_epochs=2, max_time={"days": 1}),  # looked at after every step
    "lr-monitor": dict(max_epochs=2, callbacks=[LearningRateMonitor("step")]),
}
COUNTING = {"limit-count", "limit-fraction", "max-steps", "val-twice", "max-time", "lr-monitor"}


class Totals(UpdatesProgressBar):
    """The progress bar's total of each epoch, as a user reads it."""

    def __init__(self) -> None:
        super().__init__(refresh_rate=1)
        self.totals: list[int] = []

    def on_train_epoch_start(self, trainer, *args) -> None:
        super().on_train_epoch_start(trainer, *args)
        self.totals.append(self.train_progress_bar.total)


def fit(
    folder: Path, k: int | None, options: dict, resume: Path | None = None
) -> tuple[DigitClassifier, Totals]:
    torch.manual_seed(3)
    model = DigitClassifier(layers=[784, 12, 10])
    data = DigitDataModule("mnist", batch_size=16, val_size=5000, seed=2, steps_per_call=k)
    options = dict(options)
    every = options.pop("log_every_n_steps", 1)
    bar = Totals()
    kwargs = run_folder(folder, every, callbacks=[bar, *options.pop("callbacks", [])])
    trainer = L.Trainer(
        accelerator="cpu", enable_model_summary=False, num_sanity_val_steps=0, **options, **kwargs
    )
    trainer.fit(model, datamodule=data, ckpt_path=resume)
    return model, bar


def observed(folder: Path, model: DigitClassifier, bar: Totals) -> dict:
    """What a user sees of a run."""
    rows = list(csv.DictReader((folder / "metrics.csv").open()))
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    return {
        "updates": model.updates,
        "rows": [{key: float(value) for key, value in row.items() if value} for row in rows],
        "epoch ends": [(e["epoch"], e["step"]) for e in events if e["event"] == "epoch"],
        "per epoch": [e["steps_per_epoch"] for e in events if e["event"] == "start"],
        "bar totals": bar.totals,
    }


@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_k_makes_the_run_k_1_makes(tiny_env, tmp_path, name):
    options = OPTIONS[name]
    reference_model, bar = fit(tmp_path / "k1", 1, options)
    reference = observed(tmp_path / "k1", reference_model, bar)
    lrs = [float(row["lr"]) for row in reference["rows"] if "lr" in row]
    if options.get("log_every_n_steps", 1) == 1:  # every update's rate: the schedule's whole span
        assert len(lrs) == reference_model.updates
        assert lrs[-1] <= 0.05 * 0.05, "the schedule falls to 0 over the run's own updates"
    for k in (None, 2, 16, 102):
        folder = tmp_path / f"k{k}"
        if name in COUNTING and k is not None:
            with pytest.raises(BadSetting, match="would make groups of"):
                fit(folder, k, options)
            continue
        model, bar = fit(folder, k, options)
        seen = observed(folder, model, bar)
        for row, expected in zip(seen.pop("rows"), reference["rows"], strict=True):
            assert row == pytest.approx(expected, rel=1e-5, abs=1e-7), (k, row, expected)
        assert seen == {key: value for key, value in reference.items() if key != "rows"}, k
        for key, value in reference_model.state_dict().items():
            assert torch.allclose(model.state_dict()[key], value, atol=1e-6), (k, key)


def test_the_updates_of_a_limited_run_are_counted_in_mini_batches(tiny_env, tmp_path):
    """The targets of the issue: limit_train_batches 5 x 2 epochs makes 10 updates, max_steps 7
    makes 7, and the last learning rate of a 4-epoch run of 5 batches is near 0."""
    assert fit(tmp_path / "a", None, dict(max_epochs=2, limit_train_batches=5))[0].updates == 10
    assert fit(tmp_path / "b", None, dict(max_epochs=3, max_steps=7))[0].updates == 7
    fit(tmp_path / "c", None, dict(max_epochs=4, limit_train_batches=5))
    rows = list(csv.DictReader((tmp_path / "c" / "metrics.csv").open()))
    last = [float(row["lr"]) for row in rows if row.get("lr")][-1]
    assert last <= 0.05 * 0.05


class CancelAt(Callback):
    """Asks the run to stop, as the dashboard's ``c`` does, once ``updates`` updates are made; the
    run saves ``last.ckpt`` after the step."""

    def __init__(self, updates: int) -> None:
        self.updates = updates

    def on_train_batch_end(self, trainer, module, *args) -> None:
        if module.updates == self.updates:
            (Path(trainer.default_root_dir) / "cancel").write_text("")


@pytest.mark.parametrize("place", ["epoch-end", "inside"])
def test_a_resumed_run_is_the_one_k_1_makes(tiny_env, tmp_path, place):
    """A resume at an epoch's end (of a one-epoch run) or inside one (cancelled after 128 of the
    350 updates of epoch 1, a whole number of steps for every k) ends with the rows, epoch ends
    and weights of the same resume made with k = 1."""
    seen = {}
    for k in (1, None, 2, 16):
        folder = tmp_path / f"k{k}"
        if place == "epoch-end":
            fit(folder, k, dict(max_epochs=1))
        else:
            fit(folder, k, dict(max_epochs=2, callbacks=[CancelAt(128)]))
            assert json.loads((folder / "status.json").read_text())["status"] == "cancelled"
        model, bar = fit(folder, k, dict(max_epochs=2), resume=folder / "last.ckpt")
        seen[k] = observed(folder, model, bar), model.state_dict()
    (reference, weights) = seen.pop(1)
    assert reference["updates"] == 2 * 350 and [e for e, _ in reference["epoch ends"]][-1] == 1
    for k, (run, state) in seen.items():
        for row, expected in zip(run.pop("rows"), reference["rows"], strict=True):
            assert row == pytest.approx(expected, rel=1e-5, abs=1e-7), (k, row, expected)
        assert run == {key: value for key, value in reference.items() if key != "rows"}, k
        for key, value in weights.items():
            assert torch.allclose(state[key], value, atol=1e-6), (k, key)


def test_the_run_is_the_plain_torch_loop(tiny_env, tmp_path):
    """Where a plain loop applies (SGD, the cosine schedule over the run's updates, the same
    mini-batches in the same order), every k ends at its weights."""
    from digitnet.data.loader import TensorBatches
    from digitnet.model.classifier import cosine_factor

    torch.manual_seed(3)
    plain = DigitClassifier(layers=[784, 12, 10])
    data = DigitDataModule("mnist", batch_size=16, val_size=5000, seed=2)
    data.setup("fit")
    batches = TensorBatches(*data.train_set, 16, shuffle=True, seed=2)
    total = 2 * batches.updates
    optimizer = plain.make_optimizer()
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: cosine_factor(t, total))
    for epoch in range(2):
        batches.sampler.set_epoch(epoch)
        for x, y in batches:
            optimizer.zero_grad()
            plain.cost(plain(plain.scale(x)), y).backward()
            optimizer.step()
            schedule.step()
    for k in (None, 1, 16):
        model, _ = fit(tmp_path / f"k{k}", k, dict(max_epochs=2))
        assert model.updates == total
        for key, value in plain.state_dict().items():
            assert torch.allclose(model.state_dict()[key], value, atol=1e-6), (k, key)
