"""What the dashboard folds from a run's events: a resumed run reads as one uninterrupted run."""

from digitnet.dashboard.state import RunView


def test_a_resume_forgets_what_the_stopped_launch_did_past_its_checkpoint():
    view = RunView()
    start = {"event": "start", "max_epochs": 3, "steps_per_epoch": 10, "batch_size": 64}
    view.apply({**start, "epoch": 0, "step": 0})
    for step in (5, 10, 15):
        view.apply(
            {
                "event": "step",
                "epoch": step // 11,
                "step": step,
                "batch": step % 10,
                "train_loss": 1.0,
            }
        )
    view.apply({"event": "val", "epoch": 0, "step": 10, "val_loss": 0.5, "val_acc": 0.8})
    view.apply({"event": "epoch", "epoch": 0, "step": 10, "val_acc": 0.8})
    # stopped early
    view.apply({"event": "val", "epoch": 1, "step": 15, "val_loss": 0.4, "val_acc": 0.85})
    # resumed from the end of epoch 0
    view.apply({**start, "epoch": 1, "step": 10, "resumed": True})
    assert view.train_steps == [5.0, 10.0]
    assert view.val_epochs == [1.0] and view.val_accs == [0.8]
    assert [row["epoch"] for row in view.epoch_rows] == [0]
