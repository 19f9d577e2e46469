"""Provides the lecture's commands: ``gates``, ``perceptron``, ``presets``, ``reproduce`` and
``compare``."""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

from digitnet.cli.commands import parser_for
from digitnet.cli.common import add_checkpoints_dir
from digitnet.data.catalog import DATASETS
from digitnet.errors import BadSetting
from digitnet.settings import DEFAULTS


def run_gates(argv: list[str]) -> int:
    parser = parser_for(
        "gates", "Train a perceptron on AND, OR, NAND and XOR and show what it learned."
    )
    parser.add_argument(
        "--max_epochs",
        type=int,
        default=100,
        help="passes over the four inputs at most, for each gate (default 100)",
    )
    parser.add_argument(
        "--surface",
        choices=["AND", "OR", "NAND", "XOR"],
        default=None,
        help="draw the quadratic cost of that gate's sigmoid neuron over its two weights, with "
        "the path gradient descent takes",
    )
    options = parser.parse_args(argv)
    from digitnet.lecture.neurons import GATES, INPUTS, train_gate

    if options.surface:
        from digitnet.lecture.surface import descent, heat_map

        print(f"{options.surface}: C = ½·mean (σ(w1 x1 + w2 x2 + b) − y)² over w1 and w2")
        print("\n".join(heat_map(options.surface, descent(options.surface))))
        return 0
    for gate in GATES:
        result = train_gate(gate, options.max_epochs)
        w1, w2 = result.weights
        print(f"{gate}: ", end="")
        if result.learned:
            print(f"learned in {result.epochs} epochs: w = [{w1:g}, {w2:g}], b = {result.bias:g}")
        else:
            print(
                f"NOT learned: no epoch of {result.epochs} was free of mistakes. "
                "XOR is not linearly separable: no line w·x + b = 0 puts (0,1) and (1,0) on one "
                "side and (0,0) and (1,1) on the other, so a single perceptron cannot compute it "
                "(a hidden layer can)."
            )
        print("   x1 x2 | want perceptron | sigmoid neuron")
        for x, want, out, smooth in zip(
            INPUTS.int().tolist(),
            GATES[gate].int().tolist(),
            result.outputs,
            result.sigmoid_outputs,
        ):
            mark = "" if want == out else "  <- wrong"
            print(f"    {x[0]}  {x[1]} |   {want}      {out}      |   {smooth:.3f}{mark}")
    return 0


def run_perceptron(argv: list[str]) -> int:
    parser = parser_for(
        "perceptron",
        "A multi-class perceptron on raw pixels: the linear baseline for the networks.",
    )
    parser.add_argument(
        "--dataset", default=DEFAULTS["dataset"], choices=DATASETS, help="default: %(default)s"
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="passes over the training images (default 3)"
    )
    parser.add_argument("--data_dir", default=None, help="default: $DIGITNET_DATA or data/")
    parser.add_argument(
        "--seed", type=int, default=0, help="the order the images are shown in (default 0)"
    )
    options = parser.parse_args(argv)
    import torch

    from digitnet.data.module import DigitDataModule
    from digitnet.lecture.neurons import MulticlassPerceptron

    data = DigitDataModule(options.dataset, data_dir=options.data_dir)
    data.prepare_data()
    data.setup()
    x = data.train_set[0].reshape(len(data.train_set[1]), -1).float() / 255
    test_x = data.test_set[0].reshape(len(data.test_set[1]), -1).float() / 255
    model = MulticlassPerceptron()
    generator = torch.Generator().manual_seed(options.seed)
    for epoch in range(options.epochs):
        mistakes = model.fit_epoch(x, data.train_set[1], generator)
        accuracy = (model.predict(test_x) == data.test_set[1]).float().mean().item()
        print(
            f"epoch {epoch + 1}: {mistakes} mistakes on {len(x)} training images, test accuracy "
            f"{accuracy:.2%}"
        )
    return 0


def run_presets(argv: list[str]) -> int:
    parser_for("presets", "List the preset configs.").parse_args(argv)
    from digitnet.lecture import presets

    for preset in presets.all_presets():
        print(
            f"{preset.name}\n  {preset.description}\n  source: {preset.source}\n"
            f"  published: {preset.published}% ({preset.metric}; {preset.note})\n"
            f"  run: digitnet fit --preset {preset.name}\n"
        )
    return 0


def run_reproduce(argv: list[str]) -> int:
    parser = parser_for(
        "reproduce",
        "Run presets over several seeds and set their spread beside the published figures (and "
        "beside the textbook's own network.py, in NumPy, where a preset is its setting).",
    )
    parser.add_argument(
        "presets", nargs="*", default=["all"], help="preset names (default: all of them)"
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 of each preset (5)")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override every preset's epochs (quick look)"
    )
    parser.add_argument(
        "--no_reference", action="store_true", help="skip the NumPy network.py runs (slow)"
    )
    parser.add_argument("--out", default="docs/reproduce", help="writes OUT.md and OUT.json")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    if options.seeds < 1:
        raise BadSetting(f"--seeds must be at least 1, got {options.seeds}.")
    import yaml

    from digitnet.cli import experiments
    from digitnet.lecture import presets, textbook

    chosen = (
        presets.all_presets()
        if options.presets in ([], ["all"])
        else [presets.get(n) for n in options.presets]
    )
    extra = {"trainer.max_epochs": options.epochs} if options.epochs else {}
    root, stamp = Path(options.checkpoints_dir), experiments.stamp()
    header = ["preset", "published", "ours: median (min-max)", "stuck", "difference",
              "network.py: median (min-max)", "stuck", "seeds", "seconds/run"]  # fmt: skip
    rows, records = [], []
    for preset in chosen:
        seeds = range(options.seeds)
        results = [
            experiments.fit(
                {"preset": preset.name, "seed_everything": seed, **extra},
                f"reproduce-{preset.name}-s{seed}-{stamp}",
                root,
            )
            for seed in seeds
        ]
        ours = experiments.spread(
            [r.best_val_acc if preset.metric == "val" else r.test_acc for r in results]
        )
        setting = textbook.setting_of(yaml.safe_load(preset.path.read_text()))
        reference, theirs = [], experiments.spread([])
        if setting is not None and not options.no_reference:
            if options.epochs:
                setting = dataclasses.replace(setting, epochs=options.epochs)
            splits = experiments.textbook_splits(setting)
            reference = [textbook.train(setting, seed, splits) for seed in seeds]
            key = "test_acc" if preset.metric == "test" else None
            theirs = experiments.spread([r[key] if key else max(r["val_accs"]) for r in reference])
        difference = "-" if ours.median is None else f"{100 * ours.median - preset.published:+.2f}"
        rows.append(
            [
                preset.name,
                f"{preset.published:.2f} ({preset.metric})",
                ours.text(),
                str(ours.stuck),
                difference,
                theirs.text(),
                str(theirs.stuck) if theirs.runs else "-",
                str(len(results)),
                f"{experiments.mean([r.seconds for r in results]):.0f}",
            ]
        )
        records.append(
            {
                "preset": preset.name,
                "published": preset.published,
                "metric": preset.metric,
                "source": preset.source,
                "ours": dataclasses.asdict(ours),
                "network_py": dataclasses.asdict(theirs),
                "runs": [experiments.as_dict(r) for r in results],
                "network_py_runs": reference,
            }
        )
        print(f"reproduce {preset.name}: ours {ours.text()}, published {preset.published:.2f}")
    print()
    print(experiments.plain_table(header, rows))
    notes = (
        f"Measured with `digitnet reproduce {' '.join(options.presets)} --seeds {options.seeds}"
        f"{f' --epochs {options.epochs}' if options.epochs else ''}` on {platform.machine()} "
        f"(Python {platform.python_version()}), seeds 0 to {options.seeds - 1}. 'ours' is the "
        "test accuracy of the best-validation checkpoint, or the best validation accuracy where "
        "the source reports validation (val); 'network.py' is the textbook's own code (in NumPy, "
        "`digitnet.lecture.textbook`) on the same split and seeds, measured the same way. A run "
        f"is stuck when it ends more than {100 * experiments.STUCK_GAP:.0f} points below the best "
        "run of its setting (saturated sigmoid neurons).\n"
    )
    experiments.write_tables(
        Path(options.out), "Presets against their published figures", header, rows, records, notes
    )
    print(f"\nwrote {options.out}.md and {options.out}.json")
    return 0


SWAPS = [  # (what the row shows, the run name's part, what differs, why it trains as it does)
    (
        "modern: ReLU, cross-entropy, mini-batch SGD",
        "modern",
        {},
        "ReLU passes the error back undiminished wherever a neuron is on, and softmax "
        "cross-entropy's output error is a - y: the steps stay large while the network is wrong.",
    ),
    (
        "sigmoid instead of ReLU",
        "sigmoid",
        {"model.activation": "sigmoid"},
        "σ'(z) is at most 0.25, so the error shrinks at each layer it is passed back through "
        "(BP2) and a saturated neuron hardly moves: it wants a larger learning rate.",
    ),
    (
        "MSE instead of cross-entropy",
        "mse",
        {"model.loss": "mse"},
        "the quadratic cost's output error (a - y)·σ'(z) is smallest where an output neuron is "
        "confidently wrong (the learning slowdown of the textbook's chapter 3).",
    ),
    (
        "full-batch GD instead of mini-batch SGD",
        "gd",
        {"model.optimizer": "gd"},
        "one update an epoch, from the gradient over every training image: {updates} in all, "
        "where mini-batch SGD made {modern_updates}.",
    ),
    (
        "the slides' old column: sigmoid, MSE, full GD",
        "sigmoid-mse-gd",
        {"model.activation": "sigmoid", "model.loss": "mse", "model.optimizer": "gd"},
        "all three at once: {updates}, each made small by σ' and by the quadratic cost.",
    ),
]
COMPARE_RATES = "0.03,0.1,0.3,1,3"


def run_compare(argv: list[str]) -> int:
    parser = parser_for(
        "compare",
        "Train one network with each drop-in replacement of the slides swapped back, each at its "
        "own best learning rate (of --lrs, by validation accuracy), and say why each trains as "
        "it does.",
    )
    parser.add_argument(
        "--dataset", default=DEFAULTS["dataset"], choices=DATASETS, help="default: %(default)s"
    )
    parser.add_argument("--epochs", type=int, default=5, help="epochs of each variant (default 5)")
    parser.add_argument(
        "--layers",
        default="[784, 100, 10]",
        help="the network of every variant (default [784, 100, 10])",
    )
    parser.add_argument(
        "--lrs",
        default=COMPARE_RATES,
        help=f"learning rates each variant is tried at, comma-separated (default {COMPARE_RATES})",
    )
    parser.add_argument("--out", default="docs/compare", help="writes OUT.md and OUT.json")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    rates = compare_rates(options.lrs)
    from digitnet.cli import experiments

    base = {
        "data.dataset": options.dataset,
        "model.layers": options.layers,
        "model.momentum": 0.0,
        "model.schedule": "constant",
        "trainer.max_epochs": options.epochs,
    }
    settings = (
        f"{options.layers} on {options.dataset}, {options.epochs} epochs, batch "
        f"{DEFAULTS['batch_size']}, no momentum, constant rate; each row at the learning rate of "
        f"{' '.join(f'{r:g}' for r in rates)} with the best validation accuracy"
    )
    print(f"compare: {settings}", flush=True)
    root, stamp = Path(options.checkpoints_dir), experiments.stamp()
    header = ["network", "best lr", "val acc %", "test acc %", "vs modern", "updates"]
    rows, records, whys, modern = [], [], [], None
    for i, (label, slug, swap, why) in enumerate(SWAPS):
        tried = {}
        for rate in rates:
            print(f"compare {i + 1}/{len(SWAPS)}: {label}, lr {rate:g} ...", flush=True)
            name = f"compare-{slug}-lr{rate:g}-{stamp}"
            tried[rate] = experiments.fit({**base, "model.lr": rate, **swap}, name, root)
        rate, best = max(tried.items(), key=lambda item: item[1].best_val_acc or -1.0)
        updates = (best.updates_per_epoch or 0) * options.epochs
        modern = modern or (rate, best, updates)
        delta = (
            "-"
            if i == 0 or best.test_acc is None or modern[1].test_acc is None
            else (f"{100 * (best.test_acc - modern[1].test_acc):+.2f}")
        )
        rows.append(
            [
                label,
                f"{rate:g}",
                experiments.pct(best.best_val_acc),
                experiments.pct(best.test_acc),
                delta,
                f"{updates:,}",
            ]
        )
        at_modern = tried.get(modern[0])
        line = why.format(updates=count(updates, "update"), modern_updates=f"{modern[2]:,}")
        if i and rate != modern[0] and at_modern is not None:
            line += (
                f" At the modern row's lr {modern[0]:g} it reaches "
                f"{experiments.pct(at_modern.best_val_acc)}% (validation)."
            )
        whys.append(f"- {label}: {line}")
        records.append(
            {
                "swap": label,
                "args": swap,
                "best_lr": rate,
                "why": line,
                "tried": {f"{r:g}": experiments.as_dict(result) for r, result in tried.items()},
                **experiments.as_dict(best),
            }
        )
    print()
    print(experiments.plain_table(header, rows))
    print("\nwhy:\n" + "\n".join(whys))
    notes = (
        f"Each row trains {settings}, changing only what the row names; it shows the test "
        "accuracy of that run. Measured with "
        f"`digitnet compare --epochs {options.epochs} --lrs {options.lrs}`.\n\n"
        + "\n".join(whys)
        + "\n"
    )
    experiments.write_tables(
        Path(options.out),
        "The slides' drop-in replacements, each at its own best learning rate",
        header,
        rows,
        records,
        notes,
    )
    print(f"\nwrote {options.out}.md and {options.out}.json")
    return 0


def count(n: int, noun: str) -> str:
    """``1 update``, ``3,910 updates``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def compare_rates(text: str) -> list[float]:
    """``--lrs``: positive learning rates, comma-separated.

    >>> compare_rates("0.1, 1,3")
    [0.1, 1.0, 3.0]
    """
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        rates = []
    if not rates or not all(0 < r < float("inf") for r in rates):
        raise BadSetting(
            f"--lrs {text!r} is not a list of positive learning rates; write them comma-separated, "
            f"as in --lrs {COMPARE_RATES}."
        )
    return sorted(set(rates))


def run_forward(argv: list[str]) -> int:
    parser = parser_for(
        "forward",
        "One forward pass through a trained MLP, layer by layer: each layer's z = W a + b and "
        "a = σ(z), the output a_j, and with --label the one-hot y and the cost term by term.",
    )
    parser.add_argument("image", help="an image file of a digit (or a garment), any size")
    parser.add_argument("--ckpt_path", default="last", help="last (default), a run's name, a file")
    parser.add_argument("--label", type=int, default=None, help="the true class: shows the cost")
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    import torch

    from digitnet.cli.common import resolve_checkpoint
    from digitnet.data.catalog import CATALOG
    from digitnet.lecture.passes import forward
    from digitnet.model.classifier import DigitClassifier
    from digitnet.model.predict import read_image

    path, _ = resolve_checkpoint(options.ckpt_path, Path(options.checkpoints_dir))
    model = DigitClassifier.load_from_checkpoint(path).double().eval()
    hp = model.hparams
    if hp.arch != "mlp":
        raise BadSetting(f"{path} is a {hp.arch}; digitnet forward shows an MLP's layers.")
    classes = CATALOG[hp.dataset].classes
    if options.label is not None and not 0 <= options.label < len(classes):
        raise BadSetting(f"--label must be a class from 0 to {len(classes) - 1}.")
    layers = [(m.weight.detach(), m.bias.detach()) for m in model.network.modules()
              if isinstance(m, torch.nn.Linear)]  # fmt: skip
    x = model.scale(read_image(options.image).reshape(1, 1, 28, 28)).flatten().double()
    y = None
    if options.label is not None:
        y = torch.zeros(len(classes), dtype=torch.float64)
        y[options.label] = 1.0
    cost = "cross_entropy" if hp.loss == "cross_entropy" else "mse"
    passed = forward(layers, x, y, hp.activation, cost)
    print(f"a⁰ = x: {len(x)} pixels, scaled as the run was trained (normalize {hp.normalize})")
    for i, (z, a) in enumerate(zip(passed.z, passed.a[1:]), start=1):
        last = i == len(passed.z)
        how = ("softmax" if cost == "cross_entropy" else "sigmoid") if last else hp.activation
        print(f"layer {i}: z = W a + b ({len(z)} neurons: z from {float(z.min()):.3f} to "
              f"{float(z.max()):.3f}), a = {how}(z)", end="")  # fmt: skip
        if not last:
            top = torch.topk(a, min(3, len(a)))
            strongest = ", ".join(f"#{int(j)} {float(v):.3f}" for v, j in zip(*top))
            print(f": {int((a > 0.5 if how == 'sigmoid' else a > 0).sum())} of {len(a)} active;"
                  f" strongest {strongest}")  # fmt: skip
        else:
            print()
    print("output:")
    for j, name in enumerate(classes):
        line = f"  a_{j} = {float(passed.output[j]):.4f}  {name}"
        if y is not None:
            line += f"   y_{j} = {int(y[j])}   cost term {float(passed.terms[j]):.4f}"
        print(line)
    guess = int(passed.output.argmax())
    print(f"guess: {classes[guess]} (a_{guess} is the largest)")
    if y is not None:
        what = "½ Σ (a_j − y_j)²" if cost == "mse" else "−Σ y_j ln a_j"
        print(f"cost C = {what} = {float(passed.terms.sum()):.4f}")
    return 0


def run_backprop(argv: list[str]) -> int:
    parser = parser_for(
        "backprop",
        "One backpropagation step written out: each layer's δ (BP1, BP2), a few ∂C/∂w (BP4) "
        "beside a finite-difference check, the gradient-descent step, and the cost before and "
        "after; on the 2-2-1 XOR network, or on one MNIST image with --mnist (784-30-10).",
    )
    parser.add_argument("--mnist", action="store_true", help="one MNIST training image instead")
    parser.add_argument("--lr", type=float, default=2.0, help="the step's learning rate η (2.0)")
    parser.add_argument("--seed", type=int, default=1, help="the weights' seed (1)")
    options = parser.parse_args(argv)
    import torch

    from digitnet.lecture.passes import backprop, xor_network

    if options.mnist:
        from digitnet.data.module import default_data_dir, load_split

        images, labels = load_split("mnist", "train", default_data_dir())
        x = images[0].flatten().double() / 255.0
        y = torch.zeros(10, dtype=torch.float64)
        y[int(labels[0])] = 1.0
        generator = torch.Generator().manual_seed(options.seed)
        net = [
            (torch.randn(30, 784, generator=generator, dtype=torch.float64),
             torch.randn(30, generator=generator, dtype=torch.float64)),
            (torch.randn(10, 30, generator=generator, dtype=torch.float64),
             torch.randn(10, generator=generator, dtype=torch.float64)),
        ]  # fmt: skip
        print(f"one MNIST training image (a {int(labels[0])}), 784-30-10 sigmoid, quadratic cost")
    else:
        net, x, y = xor_network(options.seed), torch.tensor([1.0, 0.0]), torch.tensor([1.0])
        print("XOR on a 2-2-1 sigmoid network, input (1, 0), target 1, quadratic cost")
    step = backprop(net, x, y, options.lr)
    for i, delta in enumerate(step.deltas, start=1):
        rule = "BP1: (a − y) ⊙ σ'(z)" if i == len(step.deltas) else "BP2: (Wᵀ δ) ⊙ σ'(z)"
        shown = ", ".join(f"{float(v):+.5f}" for v in delta[:4])
        more = (
            f", ... ({len(delta)} in all, |δ| = {float(delta.norm()):.5f})"
            if len(delta) > 4
            else ""
        )
        print(f"δ of layer {i} ({rule}): [{shown}{more}]")
    print("∂C/∂w = δ_j a_k (BP4), against (C(w + ε) − C(w − ε)) / 2ε:")
    for layer, (j, k), analytic, numeric in step.checks:
        print(f"  layer {layer + 1} w[{j},{k}]: {analytic:+.8f}   numeric {numeric:+.8f}"
              f"   differ by {abs(analytic - numeric):.1e}")  # fmt: skip
    print(f"step: w ← w − {options.lr:g} ∂C/∂w, b ← b − {options.lr:g} δ")
    print(f"cost before {step.cost_before:.6f}, after {step.cost_after:.6f}"
          f" ({'down' if step.cost_after < step.cost_before else 'up'})")  # fmt: skip
    return 0
