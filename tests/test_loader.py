import torch

from digitnet.data.loader import TensorBatches


def _batches(n=100, batch=16, **kwargs):
    return TensorBatches(
        torch.arange(n).reshape(n, 1, 1).expand(n, 28, 28).to(torch.uint8),
        torch.arange(n),
        batch,
        **kwargs,
    )


def _labels(loader):
    return torch.cat([y for _, y in loader]).tolist()


def test_batches_cover_every_sample_once_with_a_short_last_batch():
    loader = _batches(shuffle=True)
    assert len(loader) == 7
    assert sorted(_labels(loader)) == list(range(100))
    x, y = next(iter(loader))
    assert x.shape == (16, 1, 28, 28) and x.dtype == torch.uint8


def test_order_is_a_function_of_seed_and_epoch_only():
    a, b = _batches(shuffle=True, seed=3), _batches(shuffle=True, seed=3)
    a.sampler.set_epoch(2)
    b.sampler.set_epoch(2)
    assert _labels(a) == _labels(b)
    b.sampler.set_epoch(3)
    assert _labels(a) != _labels(b)
    assert _labels(_batches(shuffle=True, seed=4)) != _labels(_batches(shuffle=True, seed=3))


def test_ranks_split_the_epoch_between_them():
    ranks = [_batches(n=10, batch=2, shuffle=True, seed=1, rank=r, world_size=2) for r in range(2)]
    seen = [_labels(r) for r in ranks]
    assert len(seen[0]) == len(seen[1]) == 5
    assert sorted(seen[0] + seen[1]) == list(range(10))


def test_a_restored_state_skips_the_batches_already_used():
    full = _labels(_batches(shuffle=True, seed=5))
    resumed = _batches(shuffle=True, seed=5)
    resumed.load_state_dict({"epoch": 0, "position": 3})
    assert _labels(resumed) == full[3 * 16 :]
    assert _labels(resumed) == full  # only the first pass after a restore skips


def test_a_restored_position_is_not_applied_to_another_epoch():
    resumed = _batches(shuffle=True, seed=5)
    resumed.load_state_dict({"epoch": 0, "position": 7})  # saved at the end of epoch 0
    resumed.sampler.set_epoch(1)
    expected = _batches(shuffle=True, seed=5)
    expected.sampler.set_epoch(1)
    assert _labels(resumed) == _labels(expected)
