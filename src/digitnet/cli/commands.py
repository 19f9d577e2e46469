"""Provides the small subcommands: ``digitnet runs``, ``data fetch``, ``predict``, ``export`` and
``dashboard``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from digitnet.cli.common import add_checkpoints_dir, resolve_checkpoint
from digitnet.data.catalog import DATASETS
from digitnet.errors import BadSetting
from digitnet.runs.layout import fit_cells, printable
from digitnet.runs.listing import format_age, list_runs


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors become one :class:`BadSetting` sentence (printed by ``main``)."""

    def error(self, message: str):  # type: ignore[override]
        raise BadSetting(f"{message}; see '{self.prog} --help'.")


def parser_for(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=f"digitnet {prog}", description=description)


def run_runs(argv: list[str]) -> int:
    if argv[:1] == ["rename"]:
        return run_rename(argv[1:])
    if argv[:1] == ["delete"]:
        return run_delete(argv[1:])
    parser = parser_for(
        "runs",
        "List runs with status, epochs and best validation accuracy; 'digitnet runs rename OLD "
        "NEW' and 'digitnet runs delete NAME' change them.",
    )
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    found = list_runs(Path(options.checkpoints_dir))
    if not found:
        print(f"no runs in {options.checkpoints_dir}/ yet; start one with 'digitnet fit'.")
        return 0
    now = time.time()
    print(
        f"{'run':36} {'status':9} {'dataset':13} {'model':22} {'epochs':>7} {'best acc':>8} "
        f"{'age':>5}"
    )
    for run in found:
        epochs = f"{run.epoch}/{run.max_epochs}" if run.max_epochs else str(run.epoch)
        best = f"{100 * run.best_val_acc:.2f}%" if run.best_val_acc is not None else "-"
        name, dataset, summary = (
            fit_cells(printable(text), width)  # escaped, then measured in terminal columns
            for text, width in ((run.name, 36), (run.dataset, 13), (run.summary, 22))
        )
        print(
            f"{name} {run.status:9} {dataset} {summary} {epochs:>7} {best:>8} "
            f"{format_age(now - run.updated):>5}"
        )
    return 0


def run_rename(argv: list[str]) -> int:
    parser = parser_for("runs rename", "Rename a run that is not training.")
    parser.add_argument("old")
    parser.add_argument("new")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    from digitnet.runs.manage import rename_run

    rename_run(Path(options.checkpoints_dir), options.old, options.new)
    print(f"renamed {printable(options.old)} to {printable(options.new)}")
    return 0


def run_delete(argv: list[str]) -> int:
    parser = parser_for("runs delete", "Delete a run that is not training, after asking.")
    parser.add_argument("name")
    parser.add_argument("--yes", action="store_true", help="do not ask")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    from digitnet.runs.manage import delete_run, folder_size, run_folder_of

    root, name = Path(options.checkpoints_dir), options.name
    path = run_folder_of(root, name)
    if not options.yes:
        if not sys.stdin.isatty():
            raise BadSetting(
                f"deleting run {name} needs a yes: answer at a terminal, or add --yes."
            )
        files, size = folder_size(path)
        answer = input(f"delete run {printable(name)} ({files} files, {size / 1e6:.1f} MB)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted.")
            return 1
    delete_run(root, name)
    print(f"deleted {printable(name)}")
    return 0


def run_data(argv: list[str]) -> int:
    parser = parser_for("data", "Fetch and verify data sets.")
    parser.add_argument("action", choices=["fetch"])
    parser.add_argument("dataset", nargs="?", default="all", choices=[*DATASETS, "all"])
    parser.add_argument("--data_dir", default=None, help="default: $DIGITNET_DATA or data/")
    options = parser.parse_args(argv)
    from digitnet.data.sources import fetch

    names = list(DATASETS) if options.dataset == "all" else [options.dataset]
    for name in names:
        fetch(name, options.data_dir)
    return 0


def run_predict(argv: list[str]) -> int:
    parser = parser_for(
        "predict", "Classify images with a trained run: prints the class and the 10 probabilities."
    )
    parser.add_argument("--ckpt_path", required=True, help="last, a run name, or a checkpoint file")
    parser.add_argument(
        "--background",
        choices=["auto", "black", "white"],
        default="auto",
        help="black: white digit on black, as MNIST; white: dark ink on white paper; "
        "auto: decide from the image's border (default)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="classify drawings sent as JSON lines on stdin, answering on stdout (the dashboard's "
        "Draw tab runs this; see digitnet.model.predict.serve)",
    )
    add_checkpoints_dir(parser)
    parser.add_argument("images", nargs="*", help="image files (PNG, JPEG, ...; any size)")
    options = parser.parse_args(argv)
    if not options.images and not options.serve:
        parser.error("give one or more image files, or --serve")
    path, _ = resolve_checkpoint(options.ckpt_path, Path(options.checkpoints_dir))
    if options.serve:
        from digitnet.model.predict import serve

        serve(path, sys.stdin.buffer, sys.stdout)  # bytes: a line not UTF-8 gets an answer
        return 0
    from digitnet.model.predict import predict_files

    for name, classes, probs in predict_files(path, options.images, options.background):
        best = max(range(len(probs)), key=probs.__getitem__)
        table = "  ".join(f"{classes[i]}:{p:.3f}" for i, p in enumerate(probs))
        print(f"{name}: {classes[best]} ({probs[best]:.1%})  [{table}]")
    return 0


def run_export(argv: list[str]) -> int:
    parser = parser_for(
        "export",
        "Write a trained network for use outside digitnet: pixels 0..1 -> 10 probabilities.",
    )
    parser.add_argument("--ckpt_path", required=True, help="last, a run name, or a checkpoint file")
    parser.add_argument(
        "--format",
        choices=["pt2", "onnx"],
        default="pt2",
        help="pt2: torch.export's ExportedProgram (default); onnx: needs pip install "
        "'digitnet[onnx]'",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="the file to write (default: the checkpoint's name with .pt2/.onnx)",
    )
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    path, _ = resolve_checkpoint(options.ckpt_path, Path(options.checkpoints_dir))
    out = Path(options.out) if options.out else path.with_suffix(f".{options.format}")
    if out.is_dir():
        raise BadSetting(
            f"--out {out} is a folder; give a file name, such as "
            f"{out / ('model.' + options.format)}."
        )
    from digitnet.model.classifier import DigitClassifier
    from digitnet.model.export import export

    export(DigitClassifier.load_from_checkpoint(path), out, options.format)
    print(f"wrote {out}: float pixels 0..1 [N, 1, 28, 28] -> class probabilities [N, 10]")
    return 0


def run_dashboard(argv: list[str]) -> int:
    parser = parser_for("dashboard", "Launch, watch, cancel and resume runs.")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    from digitnet.dashboard import run_dashboard as open_dashboard

    return open_dashboard(Path(options.checkpoints_dir))
