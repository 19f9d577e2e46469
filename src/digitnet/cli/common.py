"""Provides what several subcommands share: the ``--checkpoints_dir`` option and ``--ckpt_path``
lookup.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_checkpoints_dir(parser)
>>> parser.parse_args(["--checkpoints_dir", "runs"]).checkpoints_dir
'runs'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from digitnet import untrusted
from digitnet.errors import RunError
from digitnet.runs.files import RunFolder
from digitnet.runs.layout import NAME_RE, default_root
from digitnet.runs.listing import list_runs
from digitnet.runs.lock import check_real_folder


def add_checkpoints_dir(parser: Any) -> None:
    """Add ``--checkpoints_dir`` (default ``$DIGITNET_CHECKPOINTS`` or ``checkpoints``) to an
    argparse or jsonargparse parser."""
    parser.add_argument(
        "--checkpoints_dir",
        type=str,
        default=str(default_root()),
        help="where run folders live (default: $DIGITNET_CHECKPOINTS or checkpoints)",
    )


def resolve_checkpoint(spec: str, root: Path | None = None) -> tuple[Path, Path | None]:
    """Turn ``last``, a run name, or a file into (checkpoint file, its run folder or None).

    ``last`` is the ``last.ckpt`` of the newest run that has one; ``mnist-mlp-20261125-101500``
    is that run's ``last.ckpt``; anything else is a file path.
    """
    root = Path(root) if root is not None else default_root()
    if spec == "last":
        for run in list_runs(root):
            if run.has_checkpoint:
                return RunFolder(run.path).last_ckpt, run.path
        raise RunError(
            f"there is no run with a last.ckpt under {root}; start one with 'digitnet fit'."
        )
    if NAME_RE.fullmatch(spec) and (root / spec).is_dir():
        check_real_folder(root / spec)
        if not untrusted.is_regular(RunFolder(root / spec).last_ckpt):
            raise RunError(f"run {spec} has no last.ckpt yet; it cannot be resumed.")
        return RunFolder(root / spec).last_ckpt, root / spec
    path = Path(spec)
    if not path.is_file():
        raise RunError(
            f"--ckpt_path {spec!r} is neither 'last', a run under {root}, nor an existing file."
        )
    run_dir = path.parent if untrusted.is_regular(RunFolder(path.parent).status) else None
    if run_dir is not None:
        check_real_folder(run_dir)
    return path, run_dir
