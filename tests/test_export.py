"""``digitnet export``: the trained network runs outside digitnet and gives the checkpoint's
answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from digitnet import DigitClassifier
from digitnet.cli.main import main

pytestmark = pytest.mark.slow  # every test here trains


def fit(*args: str) -> None:
    assert (
        main(
            [
                "fit",
                "--trainer.max_epochs",
                "1",
                "--data.val_size",
                "100",
                "--model.layers",
                "[784, 16, 10]",
                "--trainer.enable_progress_bar",
                "false",
                "--trainer.enable_model_summary",
                "false",
                *args,
            ]
        )
        == 0
    )


def expected(run: Path, pixels: torch.Tensor) -> torch.Tensor:
    """What the checkpoint itself says for float pixels 0..1: digitnet's own scaling and
    probabilities."""
    model = DigitClassifier.load_from_checkpoint(run / "last.ckpt").eval()
    with torch.no_grad():
        return model.predict_step(model.scale(pixels * 255), 0).float()


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--model.arch", "cnn"],
        ["--trainer.precision", "64-true", "--model.loss", "mse", "--model.activation", "sigmoid"],
    ],
    ids=["mlp", "cnn", "float64-mse"],
)
def test_the_pt2_file_gives_the_checkpoints_probabilities_for_any_batch(tiny_env, capsys, extra):
    fit("--run_name", "r", *extra)
    capsys.readouterr()
    assert main(["export", "--ckpt_path", "r"]) == 0
    out = Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "r" / "last.pt2"
    assert f"wrote {out}" in capsys.readouterr().out
    program = torch.export.load(out).module()
    for batch in (1, 7):
        pixels = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(batch))
        got = program(pixels).float()
        assert got.shape == (batch, 10)
        torch.testing.assert_close(got, expected(out.parent, pixels), atol=1e-5, rtol=0)


def test_the_onnx_file_runs_in_onnxruntime_with_the_checkpoints_answers(tiny_env, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    fit("--run_name", "r")
    out = tmp_path / "exported" / "digits.onnx"
    assert main(["export", "--ckpt_path", "r", "--format", "onnx", "--out", str(out)]) == 0
    session = ort.InferenceSession(str(out))
    pixels = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    got = torch.from_numpy(session.run(None, {"pixels": pixels.numpy()})[0])
    torch.testing.assert_close(
        got, expected(Path(tiny_env["DIGITNET_CHECKPOINTS"]) / "r", pixels), atol=1e-5, rtol=0
    )
    # no temporary or external-data file left
    assert [p.name for p in out.parent.iterdir()] == ["digits.onnx"]


def test_export_refuses_a_folder_and_a_missing_run_in_one_sentence(tiny_env, tmp_path, capsys):
    assert main(["export", "--ckpt_path", "nothing-here"]) == 2
    assert "neither 'last', a run under" in capsys.readouterr().err
    fit("--run_name", "r")
    capsys.readouterr()
    assert main(["export", "--ckpt_path", "r", "--out", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
