"""Shared fixtures: tiny generated data behind the real verified-file path, and a fresh run
store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiny import write_tiny  # tests/ is on the import path: see pythonpath in pyproject.toml

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("DIGITNET_REAL_DATA", REPO / "data"))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny-data")
    return root, write_tiny(root)


@pytest.fixture
def tiny_env(tiny_data, tmp_path, monkeypatch) -> dict[str, str]:
    """Point digitnet at the tiny data and an empty checkpoints folder, offline; returns the env for
    subprocesses."""
    data_dir, checksums = tiny_data
    env = {
        "DIGITNET_DATA": str(data_dir),
        "DIGITNET_CHECKSUMS": str(checksums),
        "DIGITNET_CHECKPOINTS": str(tmp_path / "checkpoints"),
        "DIGITNET_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return {**os.environ, **env}


@pytest.fixture
def real_data() -> Path:
    if not (REAL_DATA / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.fail(f"real MNIST is not in {REAL_DATA}; run 'make data' first")
    return REAL_DATA
