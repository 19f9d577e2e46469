"""End-to-end checks on the real MNIST and FashionMNIST files (fetched by 'make data')."""

import json

import pytest
import torch

from digitnet.cli.main import main
from digitnet.data.module import DigitDataModule

pytestmark = pytest.mark.slow  # every test here trains


@pytest.mark.real_data
@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_real_splits_have_the_official_sizes(real_data, dataset):
    data = DigitDataModule(dataset, data_dir=str(real_data))
    data.setup()
    assert data.train_set[0].shape == (50_000, 28, 28) and data.train_set[0].dtype == torch.uint8
    assert len(data.val_set[1]) == 10_000 and len(data.test_set[1]) == 10_000
    assert sorted(data.test_set[1].unique().tolist()) == list(range(10))
    train_ids = set(data.train_set[0].reshape(50_000, -1)[:500].sum(1).tolist())
    assert len(train_ids) > 400  # real, varied images


@pytest.mark.real_data
@pytest.mark.parametrize("dataset, floor", [("mnist", 0.95), ("fashion_mnist", 0.82)])
def test_one_epoch_of_the_default_network_learns_the_real_data(
    real_data, tmp_path, monkeypatch, dataset, floor
):
    monkeypatch.setenv("DIGITNET_CHECKPOINTS", str(tmp_path))
    assert (
        main(
            [
                "fit",
                "--data.dataset",
                dataset,
                "--data.data_dir",
                str(real_data),
                "--trainer.max_epochs",
                "1",
                "--trainer.enable_progress_bar",
                "false",
                "--trainer.enable_model_summary",
                "false",
                "--run_name",
                "real",
            ]
        )
        == 0
    )
    status = json.loads((tmp_path / "real" / "status.json").read_text())
    assert status["status"] == "finished" and status["best_val_acc"] > floor
    events = [
        json.loads(line) for line in (tmp_path / "real" / "events.jsonl").read_text().splitlines()
    ]
    test = [e for e in events if e["event"] == "test"][-1]
    assert test["test_acc"] > floor
