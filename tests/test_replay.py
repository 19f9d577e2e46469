"""``--model.cuda_graph``: the program a CUDA graph records gives the plain loop's weights.

On a CPU the program runs eagerly (``cuda_graph="on"``), which checks everything a recording
replays: the buffers it is filled through, the learning-rate table that advances the schedule, the
written-out SGD step with its momentum buffers, the shapes of an epoch's last steps, and a resume
from a checkpoint. On a CUDA device (skipped elsewhere) the recorded graph gives the eager weights.
"""

from __future__ import annotations

import lightning as L
import pytest
import torch

from digitnet import DigitClassifier, DigitDataModule
from digitnet.model.replay import rate_table
from trainers import bare_trainer

pytestmark = pytest.mark.slow  # every test here trains


SETTINGS = {
    "sgd-momentum-decay-cosine": dict(optimizer="sgd", momentum=0.9, weight_decay=1e-3, lr=0.05),
    "sgd-plain-constant": dict(optimizer="sgd", momentum=0.0, lr=0.5, schedule="constant"),
    "gd": dict(optimizer="gd", lr=0.5, schedule="constant"),
}


def fit(
    cuda_graph: str,
    accelerator: str = "cpu",
    precision: str = "32-true",
    epochs: int = 2,
    steps: int = -1,
    ckpt_path: str | None = None,
    callbacks: tuple = (),
    **model_kwargs,
) -> DigitClassifier:
    """Two epochs of the 600 tiny training images at batch 16, four mini-batches a step: each
    epoch is 9 steps of [4, 16], one of [1, 16] and one short [1, 8]."""
    torch.manual_seed(11)
    model_kwargs.setdefault("layers", [784, 12, 10])
    model = DigitClassifier(cuda_graph=cuda_graph, **model_kwargs)
    full_batch = model_kwargs.get("optimizer") == "gd"  # as digitnet fit links them
    data = DigitDataModule(
        "mnist", batch_size=16, val_size=10_000, seed=5, steps_per_call=4, full_batch=full_batch
    )
    trainer = bare_trainer(
        max_epochs=epochs,
        max_steps=steps,
        accelerator=accelerator,
        devices=1,
        precision=precision,
        callbacks=list(callbacks),
    )
    trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
    return model


def assert_same_weights(ours: DigitClassifier, theirs: DigitClassifier, atol: float) -> None:
    mine, reference = ours.state_dict(), theirs.state_dict()
    for name in reference:
        assert mine[name].dtype == reference[name].dtype, name
        gap = (mine[name].cpu() - reference[name].cpu()).abs().max().item()
        assert gap <= atol, f"{name} differs by up to {gap:.3g}"


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("engine", ["autograd", "backprop"])
def test_the_program_gives_the_plain_loops_weights(tiny_env, capsys, engine, setting):
    ours = fit("on", engine=engine, **SETTINGS[setting])
    assert "the program a CUDA graph would record runs eagerly" in capsys.readouterr().err
    assert_same_weights(ours, fit("off", engine=engine, **SETTINGS[setting]), atol=1e-6)
    assert ours.updates == (2 if setting == "gd" else 76)


def test_the_program_computes_in_float64_as_the_plain_loop(tiny_env):
    kwargs = dict(engine="backprop", activation="sigmoid", loss="mse", lr=3.0, momentum=0.5)
    ours = fit("on", precision="64-true", **kwargs)
    assert_same_weights(ours, fit("off", precision="64-true", **kwargs), atol=1e-12)


def test_the_program_trains_the_cnn_as_the_plain_loop(tiny_env):
    ours = fit("on", arch="cnn", epochs=1)
    assert_same_weights(ours, fit("off", arch="cnn", epochs=1), atol=1e-6)


class SaveAtFirstEpochEnd(L.Callback):
    def __init__(self, path):
        self.path = path

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == 0:
            trainer.save_checkpoint(self.path)


@pytest.mark.parametrize("engine", ["autograd", "backprop"])
def test_a_resume_through_the_program_matches_the_uninterrupted_plain_run(
    tiny_env, tmp_path, engine
):
    path = tmp_path / "epoch0.ckpt"
    fit("on", engine=engine, callbacks=(SaveAtFirstEpochEnd(path),))
    resumed = fit("on", engine=engine, ckpt_path=str(path))
    assert resumed.updates == 76
    assert_same_weights(resumed, fit("off", engine=engine), atol=1e-6)


def test_where_no_program_applies_one_line_says_why_and_the_plain_loop_trains(tiny_env, capsys):
    ours = fit("on", optimizer="adam", lr=1e-3, epochs=1)
    err = capsys.readouterr().err
    assert "no CUDA graph: the recorded program makes SGD and GD updates, not adam" in err
    assert ours.engine.replay is None
    assert_same_weights(ours, fit("off", optimizer="adam", lr=1e-3, epochs=1), atol=0)


def test_the_rate_table_holds_the_schedules_rates_and_the_last_one_past_its_end():
    w = torch.zeros(3, requires_grad=True)
    sgd = torch.optim.SGD([{"params": [w]}, {"params": [torch.zeros(1, requires_grad=True)]}], 0.1)
    cosine = torch.optim.lr_scheduler.LambdaLR(sgd, lambda t: 1 - t / 4 if t < 4 else 0.0)
    expected = [0.1, 0.075, 0.05, 0.025, 0.0]
    table = rate_table(sgd, cosine, 4)
    assert table.shape == (2, 5) and table[0].tolist() == pytest.approx(expected)
    for t in range(6):  # the host's scheduler and the table agree at every count
        assert table[0, min(t, 4)].item() == pytest.approx(sgd.param_groups[0]["lr"])
        sgd.step()
        cosine.step()


class Stream:
    """Stands in for ``torch.cuda.Stream`` where there is no CUDA device."""

    def wait_stream(self, other):
        pass


class FailingGraph:
    """Stands in for ``torch.cuda.graph``: recording fails, as an unsafe operation makes it."""

    def __init__(self, graph, pool=None):
        pass

    def __enter__(self):
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

    def __exit__(self, *args):
        return False


def test_a_recording_that_fails_says_why_and_training_goes_on_eagerly(
    tiny_env, capsys, monkeypatch
):
    import contextlib

    from digitnet.model import replay

    monkeypatch.setattr(replay.Replay, "__init__", _recording(replay.Replay.__init__))
    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", Stream)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", object)
    monkeypatch.setattr(torch.cuda, "graph_pool_handle", lambda: None)
    monkeypatch.setattr(torch.cuda, "graph", FailingGraph)
    ours = fit("on", engine="backprop")
    err = capsys.readouterr().err
    assert (
        "CUDA graph recording failed (RuntimeError: operation not permitted when stream is "
        "capturing); training eagerly." in err
    )
    assert err.count("recording failed") == 1 and ours.engine.replay is None
    assert_same_weights(ours, fit("off", engine="backprop"), atol=1e-6)


def _recording(init):
    """``Replay.__init__`` made to record even without CUDA (the stand-ins above do the rest)."""

    def wrapped(self, gradients, optimizer, rates, record):
        init(self, gradients, optimizer, rates, True)

    return wrapped


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(
    "kwargs, atol",
    [
        (dict(engine="backprop"), 1e-5),
        (dict(engine="autograd"), 1e-5),
        # cuDNN picks its convolution algorithms for the stream it runs on, and a recording runs
        # on its own: the sums of a convolution's gradient come in another order. Measured on an
        # H100: 1.25e-5 apart after 50 updates (1.27e-5 after 76), where a wrong update is ~1e-2.
        (dict(engine="autograd", arch="cnn"), 5e-5),
        (dict(engine="backprop", activation="sigmoid", loss="mse", lr=3.0, momentum=0.0), 1e-5),
    ],
    ids=["mlp-backprop", "mlp-autograd", "cnn", "textbook"],
)
def test_on_cuda_the_replayed_graph_gives_the_eager_weights(tiny_env, monkeypatch, kwargs, atol):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    # 14 steps: the 11 of the first epoch (9 of them [4, 16]) and 3 of the second, 50 updates
    ours = fit("auto", accelerator="cuda", steps=14, **kwargs)
    assert ours.updates == 50 and ours.engine.replayed > 0  # the later steps came from the graph
    assert_same_weights(ours, fit("off", accelerator="cuda", steps=14, **kwargs), atol=atol)
