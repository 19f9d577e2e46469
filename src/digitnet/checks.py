"""Provides the validation rules shared by the model, the data module, the CLI and the dashboard
form.

Every rule takes the raw value and returns the checked value or raises :class:`BadSetting` with one
sentence naming the problem and the fix. The rules import nothing heavy, so the dashboard can check
a form as the user types without importing torch.

Example::

    >>> parse_layers("784, 512,512 ,10")
    [784, 512, 512, 10]
    >>> check_lr(0)
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: lr must be a positive number of at most 1e6, got 0; try 0.01.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

from digitnet.errors import BadSetting

DATASETS = ("mnist", "fashion_mnist")  # their facts: digitnet.data.catalog, in this order
ACTIVATIONS = ("relu", "sigmoid")
LOSSES = ("cross_entropy", "mse", "sigmoid_cross_entropy")
OPTIMIZERS = ("sgd", "gd", "adam")
INITS = ("default", "gaussian", "scaled_gaussian")
ARCHS = ("mlp", "cnn")
SCHEDULES = ("constant", "cosine")
ENGINES = ("auto", "autograd", "backprop")  # how updates are computed: see digitnet.model.engine
CUDA_GRAPHS = ("auto", "on", "off")  # replay each step's updates: see digitnet.model.replay
TRAIN_SIZE = 60_000  # images in the official training file of both data sets


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise naming the valid ones."""
    choices = tuple(choices)
    if value not in choices:
        raise BadSetting(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


MOST_LR = 1e6  # past this, float32 weights overflow at the first update


def check_lr(value: Any, name: str = "lr") -> float:
    """A learning rate: a finite number above zero and at most 1e6.

    >>> check_lr("3.0")
    3.0
    >>> check_lr(1e39)
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: lr must be a positive number of at most 1e6, got 1e+39; try 0.01.
    """
    try:
        lr = float(value)
    except (TypeError, ValueError):
        raise BadSetting(
            f"{name} must be a positive number of at most 1e6, got {value!r}; try 0.01."
        ) from None
    if not math.isfinite(lr) or not 0 < lr <= MOST_LR:
        raise BadSetting(
            f"{name} must be a positive number of at most 1e6, got {value!r}; try 0.01."
        )
    return lr


def check_non_negative(name: str, value: Any) -> float:
    """A finite number at or above zero (weight decay, momentum)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadSetting(f"{name} must be a number at or above 0, got {value!r}.") from None
    if not math.isfinite(number) or number < 0:
        raise BadSetting(f"{name} must be a finite number at or above 0, got {value!r}.")
    return number


def check_positive_int(name: str, value: Any, hint: str = "") -> int:
    """A whole number of at least 1 (batch size, epochs)."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            value = int(str(value).strip()) if not isinstance(value, float) else int(value)
        except (TypeError, ValueError):
            raise BadSetting(
                f"{name} must be a whole number of at least 1, got {value!r}{hint}."
            ) from None
    if value < 1:
        raise BadSetting(f"{name} must be a whole number of at least 1, got {value!r}{hint}.")
    return value


def check_more_epochs(value: Any, done: int) -> int:
    """How many epochs to train a finished run to: more than the ``done`` it has.

    >>> check_more_epochs("20", 10)
    20
    >>> check_more_epochs("10", 10)
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: epochs must be more than the 10 the run has done, got 10.
    """
    epochs = check_positive_int("epochs", value)
    if epochs <= done:
        raise BadSetting(f"epochs must be more than the {done} the run has done, got {epochs}.")
    return epochs


def check_seed(value: Any, name: str = "seed") -> int:
    """A random seed: a whole number from 0 to 2**32 - 1 (``None``, as LightningCLI leaves an
    unset one, is 0)."""
    if value is None:
        return 0
    try:
        seed = int(str(value).strip())
    except ValueError:
        raise BadSetting(f"{name} must be a whole number, got {value!r}.") from None
    if not 0 <= seed < 2**32:
        raise BadSetting(f"{name} must lie between 0 and {2**32 - 1}, got {seed}.")
    return seed


def check_val_size(value: Any) -> int:
    """Images held out of the 60,000 training images for validation: 0 to 59,999."""
    message = f"val_size must be a whole number from 0 to {TRAIN_SIZE - 1}, got {value!r}."
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadSetting(message)
    try:
        size = int(value)
    except ValueError:
        raise BadSetting(message) from None
    if not 0 <= size < TRAIN_SIZE:
        raise BadSetting(message)
    return size


def parse_layers(value: Any) -> list[int]:
    """Layer sizes from a list or a comma-separated string; input 784 and output 10 are required.

    ``[784, 30, 10]`` is the textbook's network: 784 input pixels, 30 hidden neurons, 10 outputs.
    """
    if isinstance(value, str):  # "784, 30, 10", or "[784, 30, 10]" as fit's option reads
        text = value.strip()
        text = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise BadSetting(
            f"layers must be a list of sizes such as [784, 512, 512, 10], got {value!r}."
        )
    if len(parts) < 2:
        raise BadSetting(
            f"layers needs at least an input and an output size, such as [784, 10], got {value!r}."
        )
    sizes = []
    for part in parts:
        try:
            if isinstance(part, bool) or (isinstance(part, float) and not part.is_integer()):
                raise ValueError
            size = int(part)
        except (TypeError, ValueError):
            raise BadSetting(
                f"layers must hold whole numbers, got {part!r} in {value!r}."
            ) from None
        if size < 1:
            raise BadSetting(f"every layer needs at least 1 neuron, got {size} in {value!r}.")
        sizes.append(size)
    if sizes[0] != 784:
        raise BadSetting(
            f"the first layer must be 784 (28x28 pixels), got {sizes[0]}; e.g. [784, 512, 512, 10]."
        )
    if sizes[-1] != 10:
        raise BadSetting(f"the last layer must be 10 (one neuron per class), got {sizes[-1]}.")
    check_fits_memory(sizes)
    return sizes


def check_fits_memory(sizes: list[int]) -> None:
    """Refuse a network whose weights, gradients and momentum (4 float32 copies) exceed this
    machine's memory.

    ``[784, 10**9, 10]`` has 795 billion weights and biases: about 12,720 GB in training.
    """
    weights = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    need = 16 * weights
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: cannot tell
        return
    if need > have:
        raise BadSetting(
            f"layers {sizes} have {weights:,} weights and would need about {need / 1e9:,.0f} GB "
            f"of memory to train, more than this machine's {have / 1e9:,.0f} GB; use fewer neurons."
        )


def describe_model(settings: dict) -> str:
    """A model's settings in a few words, as ``digitnet runs`` and the dashboard show them.

    >>> describe_model({"layers": [784, 512, 512, 10], "activation": "relu"})
    '784-512-512-10 relu'
    >>> describe_model({"arch": "cnn", "activation": "relu"})
    'cnn'
    """
    if settings.get("arch", "mlp") == "cnn":
        return "cnn"
    layers = "-".join(map(str, settings.get("layers") or []))
    return f"{layers} {settings.get('activation', '')}".strip()
