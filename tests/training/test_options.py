"""One helper makes the command line of every training config: the same flags and defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.options import parse_config
from training.prepare import PrepareConfig
from training.teacher import TeacherConfig

TRAINING = Path(__file__).resolve().parents[2] / "training"


def test_no_module_builds_options_from_fields_itself():
    for path in TRAINING.glob("*.py"):
        if path.name != "options.py":
            assert 'add_argument("--" + ' not in path.read_text(), path.name


def test_defaults_and_values_round_trip():
    assert parse_config(TeacherConfig, []) == TeacherConfig()
    cfg = parse_config(TeacherConfig, ["--workers", "0", "--set", "lfw_eval"])
    assert cfg.workers == 0 and cfg.set == "lfw_eval"
    prep = parse_config(PrepareConfig, ["--lfw-folds", "10", "--extra-data", ""])
    assert prep.lfw_folds == 10 and prep.extra_data == "" and prep.lfw_only is False


def test_a_bool_is_a_switch_that_also_takes_a_value():
    assert parse_config(PrepareConfig, ["--lfw-only"]).lfw_only is True  # prepare's switch
    pytest.importorskip("torch")
    from training.train import TrainConfig

    assert parse_config(TrainConfig, []).bf16 is True
    assert parse_config(TrainConfig, ["--bf16", "0"]).bf16 is False  # train's `--bf16 false`
    assert parse_config(TrainConfig, ["--bf16", "false"]).bf16 is False
    assert parse_config(TrainConfig, ["--bf16", "yes"]).bf16 is True


def test_every_train_setting_is_a_flag_with_its_default(capsys):
    pytest.importorskip("torch")
    from dataclasses import fields

    from training.train import TrainConfig

    assert parse_config(TrainConfig, []) == TrainConfig()
    with pytest.raises(SystemExit):
        parse_config(TrainConfig, ["--help"])
    shown = capsys.readouterr().out
    for f in fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in shown
    cfg = parse_config(TrainConfig, ["--teacher-target", "distance", "--harmonic-cross", "0.5"])
    assert cfg.teacher_target == "distance" and cfg.harmonic_cross == 0.5
