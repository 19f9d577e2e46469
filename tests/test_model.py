import math

import pytest
import torch

from digitnet.errors import BadSetting
from digitnet.model.classifier import DigitClassifier
from digitnet.model.networks import (
    MLP,
    init_gaussian,
    quadratic_cost,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)


def test_quadratic_cost_matches_the_hand_computed_example():
    # one image of class 1, every output a_j = sigmoid(0) = 0.5: 1/2 (9 * 0.25 + 0.25) = 1.25
    assert quadratic_cost(torch.zeros(1, 10), torch.tensor([1])).item() == pytest.approx(1.25)


def test_quadratic_cost_is_summed_over_outputs_and_averaged_over_the_batch():
    z = torch.randn(5, 10)
    y = torch.randint(0, 10, (5,))
    a = torch.sigmoid(z)
    by_hand = (
        sum(
            0.5 * sum((a[i, j] - (1.0 if j == y[i] else 0.0)) ** 2 for j in range(10))
            for i in range(5)
        )
        / 5
    )
    assert quadratic_cost(z, y).item() == pytest.approx(float(by_hand), rel=1e-5)


def test_sigmoid_cross_entropy_matches_the_hand_computed_example():
    assert sigmoid_cross_entropy(torch.zeros(1, 10), torch.tensor([1])).item() == pytest.approx(
        10 * math.log(2), rel=1e-6
    )


def test_softmax_cross_entropy_of_uniform_scores_is_log_10():
    assert softmax_cross_entropy(
        torch.zeros(3, 10), torch.tensor([0, 4, 9])
    ).item() == pytest.approx(math.log(10))


def test_the_default_network_prints_like_the_slides():
    text = str(MLP([784, 512, 512, 10], "relu"))
    assert "(0): Linear(in_features=784, out_features=512, bias=True)" in text
    assert "(1): ReLU()" in text
    assert "(4): Linear(in_features=512, out_features=10, bias=True)" in text
    assert "(5)" not in text  # no activation after the output layer


def test_gaussian_init_draws_weights_and_biases_from_the_unit_normal():
    torch.manual_seed(0)
    net = MLP([784, 100, 10], "sigmoid")
    init_gaussian(net, scaled=False)
    assert net.stack[0].weight.std().item() == pytest.approx(1.0, abs=0.02)
    assert net.stack[0].bias.std().item() == pytest.approx(1.0, abs=0.3)
    init_gaussian(net, scaled=True)
    assert net.stack[0].weight.std().item() == pytest.approx(784**-0.5, rel=0.05)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=0),
        dict(lr=float("nan")),
        dict(layers=[]),
        dict(layers=[784, 0, 10]),
        dict(activation="tanh"),
        dict(loss="hinge"),
        dict(optimizer="rmsprop"),
        dict(momentum=-1),
    ],
)
def test_bad_hyper_parameters_are_refused_before_anything_is_built(kwargs):
    with pytest.raises(BadSetting):
        DigitClassifier(**kwargs)


def test_weight_decay_applies_to_weights_not_biases():
    model = DigitClassifier(layers=[784, 20, 10], weight_decay=0.1)
    groups = model.make_optimizer().param_groups
    assert groups[0]["weight_decay"] == 0.1 and all(p.ndim == 2 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0.0 and all(p.ndim == 1 for p in groups[1]["params"])


def test_pixels_are_scaled_on_the_fly_to_the_data_sets_statistics():
    model = DigitClassifier()
    pixels = torch.tensor([0, 255], dtype=torch.uint8)
    assert model.scale(pixels).tolist() == pytest.approx(
        [-0.1307 / 0.3081, (1 - 0.1307) / 0.3081], rel=1e-5
    )
    raw = DigitClassifier(normalize=False)
    assert raw.scale(pixels).tolist() == pytest.approx([0.0, 1.0])


def test_load_from_checkpoint_honours_map_location_and_strict(tmp_path):
    from digitnet.errors import CheckpointError
    from digitnet.model.checkpoints import atomic_save

    saved = DigitClassifier(layers=[784, 16, 10])
    path = tmp_path / "m.ckpt"
    atomic_save({"state_dict": saved.state_dict(), "hyper_parameters": dict(saved.hparams)}, path)
    same = DigitClassifier.load_from_checkpoint(path, map_location="cpu")
    assert same.device.type == "cpu" and torch.equal(
        same.network.stack[0].weight, saved.network.stack[0].weight
    )
    with pytest.raises(CheckpointError, match="another architecture"):
        DigitClassifier.load_from_checkpoint(path, layers=[784, 20, 10])
    loose = DigitClassifier.load_from_checkpoint(path, strict=False, layers=[784, 20, 10])
    # the one that fits
    assert torch.equal(loose.network.stack[2].bias, saved.network.stack[2].bias)
    assert loose.network.stack[0].weight.shape == (20, 784)
