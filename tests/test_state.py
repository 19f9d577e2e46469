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
    assert view.train_loss.steps == [5.0, 10.0]
    assert view.val_acc.steps == [10.0] and view.val_acc.values == [0.8]
    assert [row["epoch"] for row in view.epoch_rows] == [0]


def test_a_metrics_line_and_the_old_step_line_make_one_point_each():
    """metrics.csv's rows arrive as ``metrics`` lines; runs recorded before them carry the loss in
    ``step`` and ``val`` lines: both fill the same series, a step once."""
    view = RunView()
    view.apply({"event": "step", "epoch": 0, "step": 50, "batch": 49, "train_loss": 0.9})
    view.apply({"event": "metrics", "step": 50, "train_loss": 0.9, "lr": 0.05, "time": 1.0})
    view.apply({"event": "metrics", "step": 100, "train_loss": 0.7, "lr": 0.049, "time": 2.0})
    view.apply({"event": "val", "epoch": 0, "step": 100, "val_loss": 0.5, "val_acc": 0.8})
    view.apply({"event": "metrics", "step": 100, "val_loss": 0.5, "val_acc": 0.8})
    assert view.train_loss.steps == [50.0, 100.0] and view.train_loss.values == [0.9, 0.7]
    assert view.lr.values == [0.05, 0.049] and view.val_acc.values == [0.8]
