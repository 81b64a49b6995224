"""The ablation driver: each row is every change up to it; the table reads finished runs."""

from __future__ import annotations

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


def test_table_reads_the_last_lfw_line_of_finished_runs(tmp_path):
    run = tmp_path / "runs" / "ablate-A"
    run.mkdir(parents=True)
    (run / "log.txt").write_text(
        "step 25/100 loss 0.3\n"
        "LFW step 900 (10.0 min, 115200 images): accuracy 88.50% +- 1.20, VAL@FAR=0.001 20.1%, "
        "AUC 0.9500, threshold 1.100\n"
    )
    assert ablate.last_result(run / "log.txt")["accuracy"] == 88.5
    text = ablate.table(tmp_path)
    assert "| A |" in text and "88.50% ± 1.20" in text and "115,200 | 10.0 |" in text
    assert "| B |" not in text  # not run yet
