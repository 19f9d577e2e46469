"""A callback that makes a fault happen inside a real training process, chosen by
$DIGITNET_TEST_FAULT.

``kill:N`` sends SIGKILL to its own process once N updates are made (``pl_module.updates``);
``term:N`` sends SIGTERM (a graceful
stop); ``cancel:N`` writes the run's cancel file, as the dashboard does; ``int2:N`` sends SIGINT
twice (an impatient Ctrl-C Ctrl-C); ``fill:N`` fills the disk the run folder is on; ``testint:0``
and ``testterm:0`` send SIGINT or SIGTERM during the test after fit; ``raise:N`` raises an error;
``flood:N`` prints N lines after every update. Without the
variable it does nothing, so a resumed run (started without it) trains normally.
"""

import os
import signal
from pathlib import Path

import lightning as L


class Fault(L.Callback):
    def __init__(self) -> None:
        kind, _, value = os.environ.get("DIGITNET_TEST_FAULT", "").partition(":")
        self.kind, self.value, self.done = kind, int(value or 0), False

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if self.kind in ("testint", "testterm") and not self.done:
            self.done = True
            os.kill(os.getpid(), signal.SIGINT if self.kind == "testint" else signal.SIGTERM)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if not self.kind or self.done or self.kind.startswith("test"):
            return
        if self.kind == "flood":
            for i in range(self.value):
                print(f"flood line {i} of step {pl_module.updates} " + "x" * 100, flush=True)
            return
        if pl_module.updates >= self.value:
            self.done = True
            if self.kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif self.kind == "term":
                os.kill(os.getpid(), signal.SIGTERM)
            elif self.kind == "cancel":  # what the dashboard's c key does
                (Path(trainer.default_root_dir) / "cancel").write_text("")
            # fill the disk the run writes to: the next save meets a real ENOSPC
            elif self.kind == "fill":
                with open(
                    Path(trainer.default_root_dir).parent / "filler", "wb", buffering=0
                ) as handle:
                    try:
                        while True:
                            handle.write(b"\0" * 65536)
                    except OSError:
                        pass
            elif self.kind == "int2":
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
            elif self.kind == "raise":
                raise RuntimeError(f"injected failure at step {pl_module.updates}")


class Payload:
    """A pickle that, if ever unpickled, opens (creates) the file ``$PAYLOAD_MARK``: the attack's
    marker."""

    def __reduce__(self):
        return (open, (os.environ["PAYLOAD_MARK"], "w"))
