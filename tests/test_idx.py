import struct

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from digitnet.data.idx import check_pair, parse_idx
from digitnet.errors import DataError
from tiny import idx_bytes


def test_round_trip_of_images_and_labels():
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28).astype(np.uint8)
    decoded = parse_idx(idx_bytes(images), "x", 3)
    assert decoded.dtype == torch.uint8 and decoded.shape == (2, 28, 28)
    assert np.array_equal(decoded.numpy(), images)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b"\x00\x00\x09" + b[3:], "not an unsigned-byte IDX"),
        (lambda b: b[:10], "truncated inside its header"),
        (lambda b: b[:-5], "truncated"),
        (lambda b: b + b"junk", "trailing bytes"),
        (lambda b: b[:2], "too short"),
    ],
)
def test_damaged_files_are_refused_naming_the_file(mutate, message):
    raw = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match=message) as error:
        parse_idx(mutate(raw), "train-images-idx3-ubyte", 3)
    assert "train-images-idx3-ubyte" in str(error.value)


def test_wrong_number_of_dimensions_is_refused():
    with pytest.raises(DataError, match="dimensions"):
        parse_idx(idx_bytes(np.zeros(5, np.uint8)), "labels", 3)


def test_image_and_label_counts_must_match_and_labels_lie_in_range():
    images = torch.zeros(4, 28, 28, dtype=torch.uint8)
    with pytest.raises(DataError, match="4 images but 3 labels"):
        check_pair(images, torch.zeros(3, dtype=torch.uint8), "train")
    with pytest.raises(DataError, match="label 12 is out of range"):
        check_pair(images, torch.tensor([0, 1, 12, 3], dtype=torch.uint8), "train")


@hsettings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_either_decode_consistently_or_raise_data_error(raw):
    try:
        tensor = parse_idx(raw, "fuzz")
    except DataError:
        return
    dims = raw[3]
    shape = struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims])
    assert tuple(tensor.shape) == shape
    assert tensor.numel() == len(raw) - 4 - 4 * dims


@hsettings(max_examples=50, deadline=None)
@given(st.integers(0, 5), st.integers(1, 40))
def test_any_cut_of_a_valid_file_is_refused(n, cut):
    raw = idx_bytes(np.ones((n + 1, 28, 28), np.uint8))
    with pytest.raises(DataError):
        parse_idx(raw[: len(raw) - cut], "cut", 3)
