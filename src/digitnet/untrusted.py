"""Provides the ways digitnet opens a file in a folder it does not trust, and reads what it holds.

A run folder is shared like a document (a lab server's ``checkpoints/``), so any name in it may be
a symbolic link to someone else's file, a FIFO that blocks whoever opens it, a folder, or a file
far larger than it should be. Every open of such a file goes through here:

- nothing follows a symbolic link in the folder (``O_NOFOLLOW``): a write lands in the folder or
  nowhere, and a read never leaves it;
- only regular files are used: the file is opened without blocking (``O_NONBLOCK``, so a FIFO
  cannot stall the caller) and checked with ``fstat`` before a byte is read or written;
- reads are bounded: :func:`read_bytes` refuses a file larger than its limit instead of filling
  the memory with it.

A file that is not a regular file raises :class:`NotRegularFile`, an ``OSError``, so a reader that
treats an unreadable file as missing does the same with a planted one::

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "planted.json").symlink_to("/etc/hostname")
    >>> read_bytes(folder / "planted.json", 1024)
    Traceback (most recent call last):
    ...
    digitnet.untrusted.NotRegularFile: ... is a symbolic link, not a regular file

The same module bounds what a YAML or JSON document can grow into: :func:`check_expansion` counts
the nodes of a parsed value with its shared parts counted each time they are used, so a
"billion laughs" of aliases (520 bytes that expand to 10^9 nodes) is refused in microseconds.
Imports nothing heavy.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
SMALL = 1 << 20  # status.json, launcher.json, a config: 1 MiB is thousands of times enough
MOST_NODES = 100_000  # a run's whole config is about 200 nodes


class NotRegularFile(OSError):
    """A file that digitnet would have to follow a link, block on or read a folder to use."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{Path(path).name} is {kind}, not a regular file")
        self.path, self.kind = Path(path), kind


class TooLarge(OSError):
    """A file larger than what its reader accepts."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{Path(path).name} holds {size} bytes, over {limit}")
        self.path, self.size, self.limit = Path(path), size, limit


def kind_of(path: Path, follow: bool = False) -> str:
    """What ``path`` is, in words: ``a regular file``, ``a symbolic link``, ``a FIFO``, ..."""
    try:
        mode = (os.stat if follow else os.lstat)(path).st_mode
    except OSError:
        return "missing"
    for test, words in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "a device"


def is_regular(path: Path) -> bool:
    """True if ``path`` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def is_real_dir(path: Path) -> bool:
    """True if ``path`` itself is a folder, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def open_fd(path: Path, flags: int, follow: bool = False, mode: int = 0o644) -> int:
    """``os.open`` that never blocks, never follows a link (unless ``follow``) and returns a
    descriptor of a regular file only; else :class:`NotRegularFile` (or the ``OSError`` of the
    open, such as ``FileNotFoundError``)."""
    try:
        fd = os.open(path, flags | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW), mode)
    except OSError as error:
        # ELOOP: the name is a link; ENXIO: a FIFO nobody reads; EISDIR: a folder opened to write
        if error.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.EMLINK):
            raise NotRegularFile(path, kind_of(path, follow)) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path, kind_of(path, follow))
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_read(path: Path, follow: bool = False) -> BinaryIO:
    """A regular file opened to read bytes (see :func:`open_fd`)."""
    return os.fdopen(open_fd(path, os.O_RDONLY, follow), "rb")


def open_append(path: Path) -> BinaryIO:
    """A regular file in an untrusted folder opened to append bytes, made if missing; a link in
    its place is refused, never written through."""
    return os.fdopen(open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab")


def read_bytes(path: Path, limit: int = SMALL, follow: bool = False) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; else :class:`TooLarge`."""
    with open_read(path, follow) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise TooLarge(path, size, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:  # grown since the fstat
        raise TooLarge(path, len(data), limit)
    return data


def read_text(path: Path, limit: int = SMALL, follow: bool = False) -> str:
    return read_bytes(path, limit, follow).decode("utf-8")


def expanded_size(value: Any, most: int = MOST_NODES) -> int:
    """How many nodes ``value`` has when every shared part is counted each time it is used.

    A YAML alias is the same Python object at each use, so a document of 520 bytes can hold
    10^9 nodes that a walk over it would visit one by one. Counting each object once, with the
    sizes of its parts remembered, takes time in its distinct objects only::

        >>> layer = ["lol"] * 10
        >>> for _ in range(8):
        ...     layer = [layer] * 10
        >>> expanded_size(layer, most=10**12)
        1111111111
        >>> expanded_size({"a": [1, 2], "b": {"c": None}})
        6
    """
    sizes: dict[int, int] = {}
    keep = []  # the objects measured, alive until the end: an id is never reused meanwhile

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, (dict, list, tuple)):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > 100:  # a list holding itself, or nesting no config needs
            return most + 1
        sizes[id(node)] = most + 1  # a cycle back to this node counts as too large
        keep.append(node)
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > most:
                break
        sizes[id(node)] = total
        return total

    return size(value, 0)


def check_expansion(
    value: Any, source: str, error: type[Exception] = ValueError, most: int = MOST_NODES
) -> None:
    """Raise ``error`` naming ``source`` if ``value`` expands past ``most`` nodes."""
    if expanded_size(value, most) > most:
        raise error(
            f"{source} expands to more than {most:,} values (aliases that repeat each other, "
            "a 'billion laughs'); write the settings out plainly."
        )
