"""The ablation driver: each row is every change up to it; the table reads finished runs."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from training import ablate  # noqa: E402


def test_a_row_is_its_base_plus_one_change():
    b = ablate.row_args("B", 5)
    assert b[:2] == ["--steps", "5"] and b.count("--arch") == 1 and "--cosface" not in b
    g = ablate.row_args("G", 5)
    assert "--arch" in g and "--harmonic" in g  # from B, plus its own change
    assert "--cosface" not in g and "--teacher-target" not in g  # not from its siblings
    assert g[g.index("--harmonic") + 1] == str(ablate.V1_DIR / ablate.V1_MODEL)
    assert (ablate.V1_DIR / ablate.V1_MODEL).exists()  # v1 stays in the checkout for this
    with pytest.raises(SystemExit):
        ablate.row_args("Z", 5)


def checkpoint_of(run: Path, **ck) -> None:
    """A run's last.pt holding only what the table reads (the real one holds weights too)."""
    import torch

    run.mkdir(parents=True)
    torch.save({"step": 900, "seen": 115200, "minutes": 10.5, **ck}, run / "last.pt")


def test_table_reads_the_last_evaluation_of_finished_runs_from_their_checkpoints(tmp_path):
    ev = {
        "step": 900,
        "minutes": 10.0,
        "images": 115200,
        "accuracy": 0.885,
        "std": 0.012,
        "val": 0.201,
        "auc": 0.95,
    }
    checkpoint_of(tmp_path / "runs" / "ablate-A", last_eval=ev, best=ev)
    # no LFW line in the log: the results come from the checkpoint
    (tmp_path / "runs" / "ablate-A" / "log.txt").write_text("step 25/100 loss 0.3\n")
    checkpoint_of(tmp_path / "runs" / "ablate-B")  # started, not evaluated yet
    r = ablate.last_result(tmp_path / "runs" / "ablate-A")
    assert r["accuracy"] == pytest.approx(88.5) and r["images"] == 115200
    assert ablate.last_result(tmp_path / "runs" / "ablate-B") is None
    text = ablate.table(tmp_path)
    assert "| A |" in text and "88.50% ± 1.20" in text and "20.1%" in text
    assert "115,200 | 10.0 |" in text
    assert "| B |" not in text and "| C |" not in text  # not finished, not run


def test_a_checkpoint_of_the_older_layout_gives_its_figures_too(tmp_path):
    """Before "last_eval", "best" held the latest evaluation, without std, images or minutes."""
    old = {"step": 900, "accuracy": 0.885, "val": 0.201, "auc": 0.95}
    checkpoint_of(tmp_path / "runs" / "ablate-A", best=old)
    r = ablate.last_result(tmp_path / "runs" / "ablate-A")
    assert r["images"] == 115200 and r["minutes"] == 10.5 and r["std"] is None
    assert "| A |" in ablate.table(tmp_path) and "88.50% |" in ablate.table(tmp_path)
