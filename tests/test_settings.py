"""The settings registry: every setting is one row, and the form, the runs table, the sweep's
search, ``fit --help`` and the resume rules all read it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from digitnet import settings
from digitnet.data.module import DigitDataModule
from digitnet.errors import BadSetting
from digitnet.model.classifier import DigitClassifier
from digitnet.runs import layout, table
from digitnet.runs.listing import RunInfo
from digitnet.runs.spec import LaunchSpec
from digitnet.training.steps import check_same_experiment

# a path, and the arguments digitnet fit links from other settings (--model.optimizer gd makes
# --data.full_batch; --data.dataset gives the model the statistics to normalise with)
INTERNAL = {"model": {"dataset"}, "data": {"data_dir", "full_batch"}}


@pytest.mark.parametrize("cls, section", [(DigitClassifier, "model"), (DigitDataModule, "data")])
def test_every_constructor_argument_is_one_row_with_the_same_default(cls, section):
    parameters = dict(inspect.signature(cls.__init__).parameters)
    parameters.pop("self")
    rows = {r.name: r for r in settings.rows(section)}
    assert set(parameters) - INTERNAL[section] == set(rows)
    for name, row in rows.items():
        assert parameters[name].default == row.default, name


def test_fit_help_names_every_setting_of_the_model_and_the_data(capsys):
    from digitnet.cli.main import main

    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    for row in settings.REGISTRY:
        assert f"--{row.option}" in text, row.option


@pytest.fixture
def dropout(monkeypatch):
    """A registry with one more row, as a developer adds a hyper-parameter; and a speed one."""
    added = (
        settings.Setting(
            "dropout",
            "model",
            0.0,
            lambda v: settings.checks.check_non_negative("dropout", v),
            column="drop",
            search="range",
            mark=lambda v: f"do{v:g}",
        ),
        settings.Setting("threads", "model", 1, int, speed=True, form=False),
    )
    monkeypatch.setattr(settings, "REGISTRY", settings.REGISTRY + added)


def test_a_new_row_is_a_form_field_a_fit_option_a_name_part_and_a_search(dropout):
    assert LaunchSpec().dropout == "0.0" and "dropout" in LaunchSpec.field_names()
    spec = LaunchSpec(dropout="0.2")
    args = spec.to_args("x")
    assert args[args.index("--model.dropout") + 1] == "0.2"
    assert spec.describe() == "mnist-mlp-do0.2"
    assert (
        LaunchSpec(dropout="-1").errors()
        == {"dropout": "dropout must be a non-negative number, got '-1'."}
        or "dropout" in LaunchSpec(dropout="-1").errors()
    )
    swept = LaunchSpec(dropout="0..0.5")
    assert swept.is_sweep()
    assert swept.sweep_spec()["params"] == {
        "model.dropout": {"low": 0.0, "high": 0.5, "log": False}
    }


async def test_a_new_row_is_in_the_dashboard_form(dropout):
    from textual.app import App

    from digitnet.dashboard.widgets.launch_form import LaunchForm

    class Form(App):
        def compose(self):
            yield LaunchForm()

    app = Form()
    async with app.run_test(size=(100, 60)) as pilot:
        field = app.query_one("#dropout")
        assert field.value == "0.0"
        field.value = "0.3"
        await pilot.pause()
        assert app.query_one(LaunchForm).spec().dropout == "0.3"
        labels = [str(label.render()) for label in app.query(".name")]
        assert "dropout" in labels and labels.index("dropout") == len(settings.rows(form=True)) - 1


def test_a_new_row_is_a_runs_table_column_and_a_resume_rule(dropout, tmp_path):
    saved = layout.flat_settings({"dropout": 0.2, "threads": 4, "lr": 0.05}, {})
    assert saved == {"model.dropout": 0.2, "model.lr": 0.05}  # a speed setting is not saved
    runs = [
        RunInfo(name=n, path=Path(tmp_path / n), status="finished", settings={"model.dropout": d})
        for n, d in (("a", 0.1), ("b", 0.2))
    ]
    assert table.differing([r.settings for r in runs]) == ["model.dropout"]
    shown = table.render(runs, now=0.0)
    assert "drop" in shown.splitlines()[0] and "0.2" in shown
    with pytest.raises(BadSetting, match="was trained with model.dropout 0.1; a resume continues"):
        check_same_experiment({"dropout": 0.1}, {"dropout": 0.2}, "model", "the checkpoint")
    check_same_experiment({"threads": 1}, {"threads": 8}, "model", "the checkpoint")  # speed
    check_same_experiment({"engine": "auto"}, {"engine": "autograd"}, "model", "it")  # speed
    assert "dropout" in settings.experiment("model") and "threads" not in settings.experiment(
        "model"
    )
