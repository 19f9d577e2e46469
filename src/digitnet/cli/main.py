"""Provides ``main()``, the ``digitnet`` entry point, which dispatches without importing torch.

``digitnet --help`` and ``digitnet runs`` stay fast because torch and Lightning are imported only
by the subcommands that train or load a model. Every :class:`~digitnet.errors.DigitnetError` ends
as one sentence on stderr and exit status 2, with no traceback.
"""

from __future__ import annotations

import sys

from digitnet.errors import Cancelled, DigitnetError

USAGE = """\
usage: digitnet [COMMAND] [OPTIONS]

Train and watch neural networks on MNIST and FashionMNIST.

commands:
  dashboard            open the terminal dashboard (also: digitnet with no command)
  fit                  train a network (LightningCLI: --config, --print_config, --model.*,
                       --data.*, --trainer.*)
  validate, test       evaluate a saved run: digitnet test --ckpt_path last|RUN|FILE
  predict              classify images: digitnet predict --ckpt_path RUN IMAGE.png ...
  export               write a trained network as .pt2 (torch.export) or .onnx:
                       digitnet export --ckpt_path RUN
  runs                 the runs in checkpoints/: status, the settings that differ, epochs,
                       accuracy, time, tags (--format json|csv, --sort, --filter tag:X);
                       runs diff A B, runs note RUN TEXT, runs rename OLD NEW, runs delete NAME
  data fetch [NAME]    get mnist, fashion_mnist or all (default) into data/ and verify them
  gates                a perceptron learns AND, OR, NAND, and cannot learn XOR
  forward IMAGE        one forward pass through a run's MLP: each layer's z and a, the cost
  backprop             one backpropagation step written out: δ, ∂C/∂w checked, the step
  perceptron           a multi-class perceptron on raw pixels: the linear baseline
  presets              the slides' and the textbook's networks as configs (fit --preset NAME)
  reproduce [NAME...]  run presets over seeds: their spread against the published figures
  compare              the slides' drop-in replacements (ReLU, cross-entropy, SGD), measured
  sweep SPEC.yaml      search settings with Optuna: each trial a run, hopeless ones pruned

Run 'digitnet COMMAND --help' for a command's options. Examples:
  digitnet fit --data.dataset fashion_mnist --model.activation sigmoid --trainer.max_epochs 30
  digitnet fit --ckpt_path last --trainer.max_epochs 20     (resume the newest run, in place)
"""

LIGHTNING_COMMANDS = ("fit", "validate", "test")


class PipeSafe:
    """stdout that outlives its reader: once a write meets a closed pipe (``digitnet runs | head
    -1``, or ``digitnet fit | tee log`` with the tee gone after a Ctrl-C), the rest of the output
    goes to /dev/null instead of raising in the middle of training or of a listing."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            quiet_stdout()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            quiet_stdout()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def main(argv: list[str] | None = None) -> int:
    program = argv is None  # run as the program, not called from Python
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "dashboard"
    if program and command != "dashboard" and not isinstance(sys.stdout, PipeSafe):
        sys.stdout = PipeSafe(sys.stdout)
    try:
        if command in ("-h", "--help", "help"):
            print(USAGE, end="")
            return 0
        if command == "--version":
            from importlib.metadata import version

            print(f"digitnet {version('digitnet')}")
            return 0
        if command in LIGHTNING_COMMANDS:
            from digitnet.cli.prepare import run_lightning

            return run_lightning(argv)
        if command in ("runs", "data", "predict", "export", "dashboard"):
            from digitnet.cli import commands

            return getattr(commands, f"run_{command}")(argv[1:])
        if command == "sweep":
            from digitnet.cli.sweep import run_sweep

            return run_sweep(argv[1:])
        if command == "spare":  # the dashboard's warm start, not a user's command
            from digitnet.cli.spare import run_spare

            return run_spare(argv[1:], main)
        if command in (
            "gates",
            "perceptron",
            "presets",
            "reproduce",
            "compare",
            "forward",
            "backprop",
        ):
            from digitnet.cli import teaching

            return getattr(teaching, f"run_{command}")(argv[1:])
        print(
            f"digitnet: error: unknown command {command!r}; run 'digitnet --help' for the list.",
            file=sys.stderr,
        )
        return 2
    except DigitnetError as error:
        # the sentence may quote names and text from a run folder
        from digitnet.text import printable

        kind = "" if isinstance(error, Cancelled) else "error: "
        print(f"digitnet: {kind}{printable(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("digitnet: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `digitnet runs | head -1`: the reader has all it wanted
        quiet_stdout()
        return 0


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit finds no closed pipe to complain
    about (the recipe of Python's signal documentation)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture)
        pass
