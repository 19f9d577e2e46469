"""Provides safe checkpoint loading and atomic saving.

Every load goes through :func:`load_checkpoint`, which calls ``torch.load(..., weights_only=True)``
explicitly (so ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` cannot turn it off): a crafted pickle is
refused, never run. Every save goes through :func:`atomic_save` (Lightning's saves through
:class:`~digitnet.model.checkpoint_io.SafeCheckpointIO`): write ``.last.ckpt.<random>.tmp`` in the
same folder, flush and fsync it, then rename it over ``last.ckpt``; a process killed at any moment
leaves the previous checkpoint whole. This module imports torch, never Lightning: a resume is
checked before Lightning is imported.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from digitnet import untrusted
from digitnet.atomic import atomic_file
from digitnet.errors import CheckpointError


def load_checkpoint(path: Any) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU with ``weights_only=True``, or raise
    :class:`CheckpointError`."""
    path = Path(path)
    try:
        handle = untrusted.open_read(path, follow=True)  # a FIFO or a folder never reaches torch
    except FileNotFoundError:
        raise CheckpointError(
            f"checkpoint {path} does not exist; 'digitnet runs' lists the runs and their "
            "checkpoints."
        ) from None
    except OSError as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({error.strerror or error}); use another "
            "checkpoint of the run, such as best.ckpt."
        ) from None
    with handle:
        head = handle.read(8)
        handle.seek(0)
        if not head.startswith((ZIP_MAGIC, PICKLE_MAGIC)):
            raise CheckpointError(
                f"{path} is not a checkpoint: it is {_what_is(head)}; give a .ckpt file that "
                "digitnet or Lightning wrote."
            )
        try:
            checkpoint = torch.load(handle, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            refused = re.search(r"GLOBAL ([\w.]+)", str(error))
            what = f" ({refused.group(1)})" if refused else ""
            raise CheckpointError(
                f"{path} was refused: it holds pickled objects beyond plain weights{what}, which "
                "could run code when loaded; only load checkpoints you trust, through code you "
                "control."
            ) from None
        except (
            RuntimeError,
            EOFError,
            OSError,
            ValueError,
            zipfile.BadZipFile,
            KeyError,
            IndexError,
        ):
            raise CheckpointError(
                f"{path} is truncated or damaged: its archive does not read whole; use another "
                "checkpoint of the run, such as best.ckpt."
            ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a digitnet checkpoint (it has no state_dict).")
    weights = checkpoint["state_dict"]
    if not isinstance(weights, dict) or not all(
        isinstance(k, str) and torch.is_tensor(v) for k, v in weights.items()
    ):
        raise CheckpointError(
            f"{path} is not a digitnet checkpoint (its state_dict is not a mapping of named "
            "tensors)."
        )
    if not isinstance(checkpoint.get("hyper_parameters", {}), dict):
        raise CheckpointError(
            f"{path} is not a digitnet checkpoint (its hyper_parameters are not a mapping)."
        )
    if not all_finite(checkpoint):
        raise CheckpointError(
            f"{path} holds weights that are not finite (NaN or infinity); "
            "use another checkpoint of the run, such as best.ckpt."
        )
    expected = checkpoint.get(DIGEST_KEY)
    if expected is not None and weights_digest(checkpoint["state_dict"]) != expected:
        raise CheckpointError(
            f"{path} is corrupt: its weights do not match the checksum saved with them "
            "(a flipped or lost bit); use another checkpoint of the run, such as best.ckpt."
        )
    return checkpoint


ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6 (and Lightning's)
PICKLE_MAGIC = b"\x80"  # the legacy format: a pickle, protocol 2 or higher


def _what_is(head: bytes) -> str:
    """What a file that is not a checkpoint looks like, from its first bytes."""
    if not head:
        return "empty"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"text (it starts with {text.strip()[:8]!r})"
    return f"a file of another program (it starts with {head[:4].hex(' ')})"


def check_weights(checkpoint: dict[str, Any], model: torch.nn.Module, name: str) -> None:
    """Raise :class:`CheckpointError` naming mismatched keys and shapes between a checkpoint and a
    model."""
    saved = checkpoint["state_dict"]
    expected = model.state_dict()
    problems = [
        f"{k} is {tuple(saved[k].shape)} in the file but {tuple(v.shape)} in the model"
        for k, v in expected.items()
        if k in saved and tuple(saved[k].shape) != tuple(v.shape)
    ]
    missing = [k for k in expected if k not in saved]
    extra = [k for k in saved if k not in expected]
    if missing:
        problems.append("missing " + ", ".join(missing[:6]))
    if extra:
        problems.append("unexpected " + ", ".join(extra[:6]))
    if problems:
        raise CheckpointError(
            f"{name} holds another architecture: "
            + "; ".join(problems[:6])
            + "; resume it with its own settings (drop the --model overrides) or start a new run."
        )


def model_from_checkpoint(
    checkpoint: dict[str, Any], name: str, cls: type, strict: bool = True, **overrides: Any
) -> Any:
    """Rebuild ``cls(**hyper_parameters)`` from ``checkpoint`` and load its weights (with
    ``strict=False``, those whose names and shapes fit)."""
    hparams = dict(checkpoint.get("hyper_parameters") or {})
    hparams.update(overrides)
    try:
        model = cls(**hparams)
    except TypeError as error:
        raise CheckpointError(
            f"{name} was not written by digitnet's DigitClassifier ({error})."
        ) from None
    if strict:
        check_weights(checkpoint, model, name)
        model.load_state_dict(checkpoint["state_dict"])
    else:
        own = model.state_dict()
        model.load_state_dict(
            {
                k: v
                for k, v in checkpoint["state_dict"].items()
                if k in own and torch.is_tensor(v) and v.shape == own[k].shape
            },
            strict=False,
        )
    return model


DIGEST_KEY = "digitnet_weights_sha256"


def weights_digest(state_dict: dict[str, Any]) -> str:
    """SHA-256 over every tensor's name, shape, dtype and bytes, in name order.

    Stored in each checkpoint at save and checked at load: a flipped bit inside a tensor, which
    the zip container does not notice, makes the checkpoint refuse to load instead of resuming
    with silently wrong weights.
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name]
        if torch.is_tensor(tensor):
            t = tensor.detach().cpu().contiguous()
            digest.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
            digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def all_finite(checkpoint: dict[str, Any]) -> bool:
    """True if every floating-point tensor in the checkpoint's weights is finite."""
    return all(
        bool(torch.isfinite(t).all())
        for t in checkpoint.get("state_dict", {}).values()
        if torch.is_tensor(t) and t.is_floating_point()
    )


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` through :func:`digitnet.atomic.atomic_file`: a kill or a full disk keeps the
    old file.

    The checkpoint is serialised in memory first (a few MB), so the disk is written by Python's
    own file, whose failure is an ``OSError``; torch's zip writer would report a full disk as a
    ``RuntimeError`` from C++, or abort the process.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        handle.write(buffer.getbuffer())
