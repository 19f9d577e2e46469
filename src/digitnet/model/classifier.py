"""Provides :class:`DigitClassifier`, the LightningModule that wires a network to its cost and
optimizer.

The network itself is a plain ``nn.Module`` (:mod:`digitnet.model.networks`); this class only adds
the cost, the metrics and the optimizer, and saves its arguments with ``save_hyperparameters()``, so
``DigitClassifier.load_from_checkpoint("checkpoints/run/last.ckpt")`` rebuilds the model alone.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from digitnet import checks, updates
from digitnet.data.catalog import CATALOG, DATASETS
from digitnet.errors import BadSetting
from digitnet.model import engine as engines
from digitnet.model.networks import CNN, COSTS, MLP, init_gaussian, probabilities
from digitnet.settings import DEFAULTS


def cosine_factor(step: int, total: int) -> float:
    """½(1 + cos(π·step/total)), held at 0 past ``total``: 1.0 at the start, 0.5 halfway, 0.0 at the
    end."""
    return 0.5 * (1.0 + math.cos(math.pi * min(step / total, 1.0)))


UPDATES_KEY = "digitnet_updates"


class DigitClassifier(L.LightningModule):
    """A digit (or clothing) classifier.

    Args:
        layers: MLP layer sizes, input first: ``[784, 512, 512, 10]`` is the slides' network.
        activation: ``relu`` or ``sigmoid``, between layers.
        loss: ``cross_entropy`` (softmax), ``mse`` (the quadratic cost, see
            :func:`digitnet.model.networks.quadratic_cost`) or ``sigmoid_cross_entropy`` (textbook
            ch. 3).
        optimizer: ``sgd`` (mini-batch), ``gd`` (full-batch gradient descent: one update per epoch
            from the gradient over the whole training split) or ``adam``.
        lr: learning rate (the textbook's eta).
        momentum: SGD momentum (0 is plain SGD).
        weight_decay: L2 penalty on weights, not biases; the textbook's lambda is ``lambda / n``.
        init: ``default`` (PyTorch's), ``gaussian`` (all N(0, 1), textbook ch. 1) or
            ``scaled_gaussian`` (weights N(0, 1/n_in), biases N(0, 1), textbook ch. 3).
        arch: ``mlp`` or ``cnn`` (textbook ch. 6; ``layers`` is then ignored).
        normalize: scale pixels to zero mean, unit variance (else to [0, 1], as ``ToTensor``).
        dataset: the data set the statistics for ``normalize`` come from.
        schedule: ``constant`` learning rate, or ``cosine``: lr · ½(1 + cos(π · t/T)) after t of the
            run's T updates, falling smoothly from ``lr`` to 0 by the last epoch.
        engine: how updates are computed (:mod:`digitnet.model.engine`): ``autograd``,
            ``backprop`` (the written-out backpropagation of the MLP, with any optimizer) or
            ``auto``, which picks ``backprop`` where it applies (not the CNN, not mixed
            precision). Both give the same weights (tested to 1e-6); only the speed differs.
        cuda_graph: ``auto`` (record each training step's updates once as a CUDA graph and replay
            it, on a CUDA device, for SGD and GD in float32 or float64; see
            :mod:`digitnet.model.replay`), ``on`` (the same, and on a CPU the same program runs
            eagerly; where it cannot apply, one line says why) or ``off`` (the plain loop).
    """

    def __init__(
        self,
        layers: Sequence[int] = DEFAULTS["layers"],
        activation: str = DEFAULTS["activation"],
        loss: str = DEFAULTS["loss"],
        optimizer: str = DEFAULTS["optimizer"],
        lr: float = DEFAULTS["lr"],
        momentum: float = DEFAULTS["momentum"],
        weight_decay: float = DEFAULTS["weight_decay"],
        init: str = DEFAULTS["init"],
        arch: str = DEFAULTS["arch"],
        normalize: bool = DEFAULTS["normalize"],
        dataset: str = DEFAULTS["dataset"],
        schedule: str = DEFAULTS["schedule"],
        engine: str = DEFAULTS["engine"],
        cuda_graph: str = DEFAULTS["cuda_graph"],
    ) -> None:
        super().__init__()
        layers = checks.parse_layers(layers if layers is not None else DEFAULTS["layers"])
        checks.check_choice("activation", activation, checks.ACTIVATIONS)
        checks.check_choice("loss", loss, checks.LOSSES)
        checks.check_choice("optimizer", optimizer, checks.OPTIMIZERS)
        checks.check_choice("init", init, checks.INITS)
        checks.check_choice("arch", arch, checks.ARCHS)
        checks.check_choice("schedule", schedule, checks.SCHEDULES)
        checks.check_choice("dataset", dataset, DATASETS)
        checks.check_choice("engine", engine, checks.ENGINES)
        checks.check_choice("cuda_graph", cuda_graph, checks.CUDA_GRAPHS)
        lr = checks.check_lr(lr)
        momentum = checks.check_non_negative("momentum", momentum)
        weight_decay = checks.check_non_negative("weight_decay", weight_decay)
        # every argument, checked, by name: a bare save_hyperparameters() under LightningCLI
        # stores what the CLI was given, and its "_instantiator", which DigitClassifier(**hparams)
        # refuses
        given = locals()
        names = list(inspect.signature(DigitClassifier.__init__).parameters)[1:]
        self.save_hyperparameters({name: given[name] for name in names})
        self.network = MLP(layers, activation) if arch == "mlp" else CNN(activation=activation)
        if init != "default":
            init_gaussian(self.network, scaled=init == "scaled_gaussian")
        self.cost = COSTS[loss]
        mean, std = (CATALOG[dataset].mean, CATALOG[dataset].std) if normalize else (0.0, 1.0)
        self.register_buffer("pixel_mean", torch.tensor(mean * 255.0), persistent=False)
        self.register_buffer("pixel_scale", torch.tensor(1.0 / (std * 255.0)), persistent=False)
        self.val_acc = MulticlassAccuracy(num_classes=10, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes=10, average="micro")
        self.val_confusion = MulticlassConfusionMatrix(num_classes=10)
        self.automatic_optimization = False  # the engine makes the updates, see training_step
        self.engine_choice = "autograd"  # the engine on_fit_start picks
        self.engine: engines.Engine | None = None  # made when training starts
        self.updates = 0  # optimizer updates made so far; Lightning's global_step counts steps
        self.diverged_at: int | None = None  # the update whose logged cost was NaN or infinite

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``[B, 10]`` for float pixels ``x`` already scaled (see :meth:`scale`)."""
        return self.network(x)

    def scale(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 pixels 0..255 -> floats of the model's dtype: (p - 255·mean) / (255·std), or p /
        255 without ``normalize``."""
        return (pixels.to(self.pixel_mean.dtype) - self.pixel_mean) * self.pixel_scale

    takes_uint8_pixels = True  # DigitDataModule hands it uint8 pixels (see on_after_batch_transfer)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """A batch's pixels, scaled: uint8 (0..255, DigitDataModule's, ``[B, 1, 28, 28]`` or k
        stacked ``[k, B, 1, 28, 28]``) or floats in [0, 1] (torchvision's ``ToTensor``), alone
        (``predict`` over bare images, ``to_onnx``'s sample) or first in a tuple with labels."""
        if isinstance(batch, torch.Tensor):
            return self.pixels(batch)
        if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
            return (self.pixels(batch[0]), *batch[1:])
        return batch

    def pixels(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 0..255 or float 0..1 pixels as the network's input (see :meth:`scale`)."""
        return self.scale(x if x.dtype == torch.uint8 else x * 255.0)

    def flops_per_update(self, batch_size: int) -> float:
        """About 6 · B · Σ n_in · n_out for an MLP (forward 2, backward 4); ``inf`` for the CNN:
        784-30-10 at batch 10 is 1.4 MFLOP, 784-512-512-10 at batch 64 is 257 MFLOP."""
        if self.hparams.arch != "mlp":
            return float("inf")
        layers = self.hparams.layers
        return 6.0 * batch_size * sum(a * b for a, b in zip(layers[:-1], layers[1:]))

    def setup(self, stage: str) -> None:
        """Refuse Lightning's Tuner in one sentence: its finders train inside their own
        ``on_fit_start``, before the engine exists."""
        from lightning.pytorch.callbacks import BatchSizeFinder, LearningRateFinder

        for callback in self.trainer.callbacks:
            if isinstance(callback, (LearningRateFinder, BatchSizeFinder)):
                tool = "lr_find" if isinstance(callback, LearningRateFinder) else "scale_batch_size"
                raise BadSetting(
                    f"Lightning's Tuner.{tool} is not supported: it expects Lightning's own "
                    "optimizer steps, and digitnet's engine makes the updates itself; search "
                    "with 'digitnet sweep' (model.lr, data.batch_size) instead."
                )

    def on_fit_start(self) -> None:
        """Pick the engine (:mod:`digitnet.model.engine`), or refuse the run in one sentence."""
        precision = self.trainer.precision
        choice = engines.choose(
            self.hparams.get("engine", DEFAULTS["engine"]), self.hparams.arch, precision
        )
        problem = engines.problem(choice, self.hparams.arch, precision)
        if problem:
            raise BadSetting(problem)
        self.engine_choice = choice

    def engine_work(self) -> engines.Work:
        """What the engine updates, and with what: the network, the cost, the optimizer (and the
        step Lightning counts), the schedule, the backward pass and the reduction across
        processes; the engine sees neither this module nor the Trainer."""
        trainer = self.trainer
        wrapper = self.optimizers()
        several = trainer.world_size > 1
        no_sync = getattr(trainer.strategy.model, "no_sync", None) if several else None

        def note(text: str) -> None:
            if trainer.is_global_zero:
                print(f"digitnet: note: {text}", file=sys.stderr, flush=True)

        return engines.Work(
            network=self.network,
            cost=self.cost,
            optimizer=wrapper.optimizer,
            step=wrapper.step,
            scheduler=self.lr_schedulers(),
            backward=self.manual_backward,
            activation=self.hparams.activation,
            loss=self.hparams.loss,
            optimizer_name=self.hparams.optimizer,
            precision=str(trainer.precision),
            schedule_total=getattr(self, "schedule_total", 0),
            processes=trainer.world_size,
            reduce=(lambda t: trainer.strategy.reduce(t, reduce_op="mean")) if several else None,
            no_sync=no_sync,
            note=note,
        )

    def on_train_start(self) -> None:
        """After a checkpoint is restored: a recorded program must see the restored optimizer.

        Gradient descent (``optimizer="gd"``) makes one update an epoch from the whole training
        split, so it needs the data in one batch: ``digitnet fit`` links ``--model.optimizer gd``
        to the data module's ``full_batch``; from Python, pass ``DigitDataModule(full_batch=True)``.
        """
        if self.hparams.optimizer == "gd" and self.trainer.num_training_batches != 1:
            raise BadSetting(
                "optimizer gd (full-batch gradient descent) needs the whole training split as one "
                "batch; pass DigitDataModule(full_batch=True), or use optimizer sgd for "
                "mini-batches."
            )
        self.engine = engines.make(self.engine_choice, self.engine_work())
        self.engine.start()
        self.engine.plan_replay(self.hparams.get("cuda_graph", DEFAULTS["cuda_graph"]))

    def on_train_end(self) -> None:
        self.engine.stop()

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        """Hand one mini-batch ``[B, ...]``, or k stacked ``[k, B, ...]``, to the engine, and log.

        The engine makes one update per mini-batch (:mod:`digitnet.model.engine`): ``self.updates``
        counts them, while Lightning's ``global_step`` counts training steps of k updates each.
        Returns the mean cost of the step's mini-batches. The loggers get ``train_loss``, the cost
        of one mini-batch (not a mean), and ``lr``, the learning rate it was trained with, for
        every ``log_every_n_steps``-th update and each epoch's last, with the update count as the
        step: with 782 updates an epoch and the default 50, at updates 50, 100, ..., 750, 782,
        800, ... A cost that is not finite stops the run (``diverged_at`` says at which update).
        """
        x, y = batch
        if y.ndim == 1:
            x, y = x.unsqueeze(0), y.unsqueeze(0)
        before = self.updates
        costs = self.engine.update(x, y, self.updates)
        self.updates += len(y)
        epoch_ends = batch_idx + 1 == self.trainer.num_training_batches
        logged = updates.logged_updates(
            before, self.updates, self.trainer.log_every_n_steps, epoch_ends
        )
        if logged:  # the cost of the mini-batch of each logged update, at that update's count
            values = costs.tolist()
            for step in logged:
                cost = values[step - before - 1]
                for logger in self.loggers:
                    logger.log_metrics(
                        {
                            "train_loss": cost,
                            "lr": self.rate_at(step - 1),
                            "epoch": self.current_epoch,
                        },
                        step=step,
                    )
                if not math.isfinite(cost) and self.diverged_at is None:
                    self.diverged_at = step  # found where the cost is computed; the run stops
                    self.trainer.should_stop = True
            self.log("train_loss", values[-1], prog_bar=True, logger=False)
        # one step axis in every logger: what else is logged in this step (a user's own
        # self.log, LearningRateMonitor) goes to the loggers at the update count, not at
        # Lightning's step (Lightning takes a logged "step" as the x of a row)
        self.log("step", float(self.updates), on_step=True, on_epoch=False, prog_bar=False)
        return costs.mean()

    def rate_at(self, update: int) -> float:
        """The learning rate of update number ``update`` (from 0) of the first parameter group:
        ``lr`` with a constant schedule, ``lr · ½(1 + cos(π·t/T))`` with the cosine one."""
        scheduler = self.lr_schedulers()
        if scheduler is None or not hasattr(scheduler, "lr_lambdas"):
            return float(self.optimizers().param_groups[0]["lr"])
        return float(scheduler.base_lrs[0] * scheduler.lr_lambdas[0](update))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[UPDATES_KEY] = self.updates

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        updates = checkpoint.get(UPDATES_KEY)
        self.updates = updates if isinstance(updates, int) else 0

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        z = self(x)
        self.val_acc.update(z, y)
        self.val_confusion.update(z, y)
        self.log("val_loss", self.cost(z, y), on_epoch=True, batch_size=len(y), sync_dist=True)
        self.log("val_acc", self.val_acc, on_epoch=True)

    def on_validation_epoch_end(self) -> None:
        """Validation rows go to the loggers at the update count, like ``train_loss``: Lightning
        uses a logged ``step`` as the x-axis value."""
        if not self.trainer.sanity_checking:
            self.log("step", float(self.updates))
            self.log("epoch", float(self.current_epoch))
        # callbacks (RunRecorder) read it first: their hooks run before this one
        self.val_confusion.reset()

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        z = self(x)
        self.test_acc.update(z, y)
        self.log("test_loss", self.cost(z, y), on_epoch=True, batch_size=len(y), sync_dist=True)
        self.log("test_acc", self.test_acc, on_epoch=True)
        # what the figures were measured on: all 10,000 images, or fewer with limit_test_batches
        self.log("test_images", float(len(y)), on_epoch=True, reduce_fx="sum", sync_dist=True)

    def on_test_epoch_end(self) -> None:
        """The test row goes to the loggers at the update count the weights were trained for,
        with the epochs done (what Lightning writes as its epoch without a logged step)."""
        self.log("step", float(self.updates))
        self.log("epoch", float(self.current_epoch))

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return probabilities(self(x), self.hparams.loss)

    def make_optimizer(self) -> torch.optim.Optimizer:
        """SGD (with momentum for ``sgd``, without for ``gd``) or Adam; weight decay on weights
        only."""
        hp = self.hparams
        weights = [p for p in self.network.parameters() if p.ndim > 1]
        biases = [p for p in self.network.parameters() if p.ndim <= 1]
        groups = [
            {"params": weights, "weight_decay": hp.weight_decay},
            {"params": biases, "weight_decay": 0.0},
        ]
        if hp.optimizer == "adam":
            # torch's fused Adam where the device has it: the same update in one kernel, 2.5x
            # faster a step than the per-tensor loop for 784-512-512-10 on a CPU (within 1e-6)
            fused = all(p.device.type in ("cpu", "cuda") for p in self.network.parameters())
            optimizer = torch.optim.Adam(groups, lr=hp.lr, fused=fused or None)
        else:
            momentum = hp.momentum if hp.optimizer == "sgd" else 0.0
            optimizer = torch.optim.SGD(groups, lr=hp.lr, momentum=momentum)
        return optimizer

    def configure_optimizers(self) -> Any:
        optimizer = self.make_optimizer()
        self.schedule_total = 0  # updates the schedule spans (see rate_table)
        if self.hparams.get("schedule", "constant") == "constant":
            return optimizer
        total = updates.planned_updates(self.trainer, getattr(self.trainer, "datamodule", None))
        if total is None:
            raise BadSetting(
                "the cosine schedule needs an end: set --trainer.max_epochs or "
                "--trainer.max_steps, or use --model.schedule constant."
            )
        self.schedule_total = total
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: cosine_factor(t, total))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    @classmethod
    def load_from_checkpoint(
        cls, checkpoint_path: Any, map_location: Any = None, strict: bool = True, **kwargs: Any
    ) -> DigitClassifier:
        """Rebuild a classifier from a checkpoint, loaded with ``weights_only=True`` (never runs
        pickled code).

        ``map_location`` is the device the model is moved to (``"cpu"``, ``"cuda:0"``);
        ``strict=False`` loads the weights that fit and leaves the rest as initialised; other
        keyword arguments override saved settings. A missing, corrupt, unsafe or foreign file
        raises :class:`digitnet.errors.CheckpointError`.
        """
        from digitnet.model.checkpoints import load_checkpoint, model_from_checkpoint

        model = model_from_checkpoint(
            load_checkpoint(checkpoint_path), str(checkpoint_path), cls, strict, **kwargs
        )
        return model.to(torch.device(map_location)) if map_location is not None else model
