"""Provides the small subcommands: ``digitnet runs``, ``data fetch``, ``predict``, ``export`` and
``dashboard``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from digitnet import settings
from digitnet.cli.common import add_checkpoints_dir, resolve_checkpoint
from digitnet.dashboard.web import MAX_CLIENTS
from digitnet.data.catalog import DATASETS
from digitnet.errors import BadSetting
from digitnet.runs.listing import list_runs
from digitnet.text import printable


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors become one :class:`BadSetting` sentence (printed by ``main``)."""

    def error(self, message: str):  # type: ignore[override]
        raise BadSetting(f"{message}; see '{self.prog} --help'.")


def parser_for(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=f"digitnet {prog}", description=description)


def run_runs(argv: list[str]) -> int:
    actions = {"rename": run_rename, "delete": run_delete, "diff": run_diff, "note": run_note}
    if argv[:1] and argv[0] in actions:
        return actions[argv[0]](argv[1:])
    parser = parser_for(
        "runs",
        "List the runs: status, data set, the settings that differ between them, epochs, best "
        "validation and test accuracy, training time and tags. 'digitnet runs diff A B', "
        "'runs note RUN TEXT', 'runs rename OLD NEW' and 'runs delete NAME' act on them.",
    )
    add_checkpoints_dir(parser)
    parser.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="table (default), or json / csv for scripts (json: every setting of every run)",
    )
    parser.add_argument(
        "--sort",
        default="age",
        help="age (newest first, the default), best, test, time, name, or a setting's column "
        "(lr, batch, layers, ...)",
    )
    parser.add_argument(
        "--filter",
        default="",
        help="words each run must match: part of its name or data set, tag:NAME, study:NAME",
    )
    options = parser.parse_args(argv)
    from digitnet.runs import study, table

    runs = list_runs(Path(options.checkpoints_dir))
    found = [run for run in runs if table.matches(run, options.filter)]
    columns = settings.columns()
    by = {header: key for key, header in columns.items()}.get(options.sort, options.sort)
    known = {*table.COLUMNS, *table.RESULTS, *columns, "age"}
    if by not in known:
        raise BadSetting(
            f"--sort {options.sort!r} is not a column; use age, best, test, time, name or a "
            f"setting: {', '.join(columns.values())}."
        )
    name = study.named(options.filter)
    if by == "age" and name and "--sort" not in argv:
        by = "best"  # a study's trials: ranked best first, as the sweep ranks them
    if by != "age":
        found.sort(key=lambda run: table.value(run, by))
    if not found and options.format == "table":
        where = f" matching {options.filter!r}" if options.filter else ""
        print(f"no runs in {options.checkpoints_dir}/{where} yet; start one with 'digitnet fit'.")
        return 0
    shown = name if options.format == "table" else None
    summary = study.line(study.read(Path(options.checkpoints_dir), shown)) if shown else ""
    if summary:  # a sweep's trials: its best and what mattered, above them
        print(summary)
    print(table.render(found, time.time(), options.format, terminal_width()))
    return 0


def terminal_width() -> int | None:
    """``$COLUMNS``, else the terminal's width where standard output is one; None when it is a
    pipe or a file (a script gets every column)."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def run_diff(argv: list[str]) -> int:
    parser = parser_for(
        "runs diff", "Two runs' settings and results side by side, differences first."
    )
    parser.add_argument("a", help="a run's name")
    parser.add_argument("b", help="another run's name")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    from digitnet.runs import table
    from digitnet.runs.listing import read_run
    from digitnet.runs.manage import run_folder_of

    root = Path(options.checkpoints_dir)
    a, b = (read_run(run_folder_of(root, name)) for name in (options.a, options.b))
    rows = [("", printable(a.name), printable(b.name), False), *table.diff(a, b)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for what, left, right, differs in rows:
        mark = "≠" if differs else " "
        print(f"{mark} {what:{widths[0]}}  {printable(left):{widths[1]}}  {printable(right)}")
    return 0


def run_note(argv: list[str]) -> int:
    parser = parser_for(
        "runs note",
        "Keep a short note and tags with a run (in its notes.json, which no run writes): "
        "digitnet runs note RUN 'the baseline #baseline #relu'; words starting with # are tags.",
    )
    parser.add_argument("name", help="the run's name")
    parser.add_argument("text", nargs="*", help="the note; #word adds a tag (empty: clear both)")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    from digitnet.runs.layout import split_note, write_notes
    from digitnet.runs.manage import run_folder_of

    folder = run_folder_of(Path(options.checkpoints_dir), options.name)
    note, tags = split_note(" ".join(options.text))
    write_notes(folder, note, tags)
    shown = " ".join("#" + tag for tag in tags) or "-"
    print(f"{printable(options.name)}: note {printable(note)!r}, tags {shown}")
    return 0


def run_rename(argv: list[str]) -> int:
    parser = parser_for("runs rename", "Rename a run that is not training.")
    parser.add_argument("old", help="the run's name now")
    parser.add_argument("new", help="its new name: letters, digits, '.', '_' and '-'")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    from digitnet.runs.manage import rename_run

    rename_run(Path(options.checkpoints_dir), options.old, options.new)
    print(f"renamed {printable(options.old)} to {printable(options.new)}")
    return 0


def run_delete(argv: list[str]) -> int:
    parser = parser_for("runs delete", "Delete a run that is not training, after asking.")
    parser.add_argument("name", help="the run to delete, with its checkpoints and logs")
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
    parser.add_argument(
        "action", choices=["fetch"], help="fetch: get the files and check their SHA-256"
    )
    parser.add_argument(
        "dataset",
        nargs="?",
        default="all",
        choices=[*DATASETS, "all"],
        help="which data set (default: all)",
    )
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
    parser.add_argument(
        "--read_only",
        action="store_true",
        help="watch only: no run is started, cancelled, resumed, renamed, deleted or noted",
    )
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve the dashboard to a browser (textual-serve) instead of this terminal; read-only "
        "unless --allow_actions",
    )
    parser.add_argument("--host", default="127.0.0.1", help="--web's address (default: this "
                        "machine only; 0.0.0.0 for every network it is on)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="--web's port (default 8000)")
    parser.add_argument(
        "--allow_actions",
        action="store_true",
        help="with --web: let whoever reaches the port launch, cancel, resume, rename and delete "
        "runs",
    )
    parser.add_argument(
        "--allowed_origins",
        nargs="+",
        default=[],
        metavar="ORIGIN",
        help="with --web: other pages that may open the dashboard (such as "
        "https://lab.example, a proxy in front of it); its own page always may",
    )
    parser.add_argument(
        "--max_clients",
        type=int,
        default=MAX_CLIENTS,
        help=f"with --web: browsers served at once (default {MAX_CLIENTS}; each runs a dashboard "
        "of its own, about 65 MB)",
    )
    options = parser.parse_args(argv)
    root = Path(options.checkpoints_dir)
    if options.web:
        from digitnet.dashboard.web import serve

        return serve(
            root,
            options.host,
            options.port,
            options.allow_actions,
            tuple(options.allowed_origins),
            options.max_clients,
        )
    from digitnet.dashboard import run_dashboard as open_dashboard

    return open_dashboard(root, read_only=options.read_only)
