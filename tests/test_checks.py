import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitnet import checks
from digitnet.data.catalog import DATASETS
from digitnet.errors import BadSetting


def test_layers_parse_from_text_and_lists():
    assert checks.parse_layers("784, 512,512 ,10") == [784, 512, 512, 10]
    assert checks.parse_layers([784, 30, 10]) == [784, 30, 10]


@pytest.mark.parametrize(
    "bad", ["", [], [784], "784,0,10", "784,-3,10", "784,abc,10", [784, 2.5, 10], "100,10", "784,5"]
)
def test_bad_layer_lists_are_refused_with_a_sentence(bad):
    with pytest.raises(BadSetting) as error:
        checks.parse_layers(bad)
    assert str(error.value).endswith(".")


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e39, "fast", None])
def test_learning_rate_must_be_positive_and_finite(bad):
    with pytest.raises(BadSetting, match="lr must be a positive"):
        checks.check_lr(bad)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_learning_rate_is_accepted_exactly_when_positive_and_finite(value):
    if math.isfinite(value) and 0 < value <= checks.MOST_LR:
        assert checks.check_lr(value) == value
    else:
        with pytest.raises(BadSetting):
            checks.check_lr(value)


@given(
    st.one_of(
        st.integers(-10, 100_000),
        st.floats(allow_nan=True),
        st.text(max_size=4),
        st.none(),
        st.booleans(),
    )
)
def test_batch_size_accepts_only_whole_numbers_from_one(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    ok = ok or (isinstance(value, float) and value.is_integer() and value >= 1)
    ok = ok or (isinstance(value, str) and value.strip().isdecimal() and int(value.strip()) >= 1)
    if ok:
        assert checks.check_positive_int("batch_size", value) == int(value)
    else:
        with pytest.raises(BadSetting, match="batch_size"):
            checks.check_positive_int("batch_size", value)


def test_val_size_range():
    assert checks.check_val_size(10_000) == 10_000
    assert checks.check_val_size(0) == 0
    for bad in (-1, 60_000, "x", 1.5, True):
        with pytest.raises(BadSetting, match="val_size"):
            checks.check_val_size(bad)


def test_unknown_choice_names_the_valid_ones():
    with pytest.raises(BadSetting, match="mnist, fashion_mnist"):
        checks.check_choice("dataset", "cifar", DATASETS)
