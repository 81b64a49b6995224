"""Checkpoints: no import circle in training/, a run of the layout written before checkpoint.py
resumes with its optimizer state, and the checkpoint names the best evaluation, not the last."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.training.test_teacher import fake_cache  # noqa: E402
from training import checkpoint, train  # noqa: E402
from training.evaluate import Verification  # noqa: E402
from training.losses import CosFace  # noqa: E402
from training.model import ModelConfig, build  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training"


def imports_of(path: Path) -> set[str]:
    """The training modules a module imports, at its top or inside a function."""
    modules = {p.stem for p in TRAINING.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "training":
            names = [f"training.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[1] for n in names if n.startswith("training.")} & modules
    return found - {path.stem}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_cycle_finder_finds_a_circle():
    assert cycle({"train": {"evaluate"}, "evaluate": {"train"}}) == [
        "evaluate",
        "train",
        "evaluate",
    ]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_of_training_imports_itself_back_even_inside_a_function():
    graph = {p.stem: imports_of(p) for p in TRAINING.glob("*.py")}
    assert "checkpoint" in graph["train"] and "checkpoint" in graph["evaluate"]
    assert cycle(graph) is None, " -> ".join(cycle(graph) or [])


@pytest.mark.parametrize("module", ["checkpoint", "objective", "train", "evaluate", "ablate"])
def test_each_module_imports_alone(module):
    r = subprocess.run(
        [sys.executable, "-c", f"import training.{module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]


def save_the_old_way(path: Path, model, opt, cfg, step: int, extra: dict) -> None:
    """training.train.save_checkpoint as it was before checkpoint.py (main, 707b523): the layout
    of runs started then, which must resume."""
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "config": asdict(cfg),
            "model_config": asdict(model.cfg),
            "step": step,
            **extra,
        },
        tmp,
    )
    tmp.replace(path)


def old_run(cache: Path, name: str) -> dict:
    """A checkpoint of that layout at step 7 of a --preset small --cosface run, its optimizer
    having taken steps (state to carry); what it held."""
    torch.manual_seed(0)
    cfg = train.TrainConfig(preset="small", cosface=0.1, distill=0.0, cache_dir=str(cache))
    cfg.apply_preset()
    model = build(ModelConfig(width=cfg.width, arch=cfg.arch)).to(memory_format=torch.channels_last)
    head = CosFace(6)
    opt = train.make_optimizer(list(model.parameters()) + list(head.parameters()), cfg)
    loss = model(torch.randn(4, 3, 96, 96)).sum() + head.weight.sum()
    loss.backward()
    opt.step()
    last_eval = {"step": 5, "accuracy": 0.61, "val": 0.1, "auc": 0.66}
    extra = {"seen": 112, "best": last_eval, "minutes": 1.5, "head": head.state_dict()}
    run_dir = cache / "runs" / name
    run_dir.mkdir(parents=True)
    save_the_old_way(run_dir / "last.pt", model, opt, cfg, 7, extra)
    return {"model": model.state_dict(), "head": head.state_dict(), "best": last_eval}


def test_a_run_checkpointed_by_the_old_code_resumes(tmp_path, capsys):
    cache = fake_cache(tmp_path / "cache")
    before = old_run(cache, "v4")
    args = [
        "--preset",
        "small",
        "--cosface",
        "0.1",
        "--distill",
        "0",
        "--threads",
        "1",
        "--steps",
        "9",
        "--cache-dir",
        str(cache),
        "--name",
        "v4",
    ]
    assert train.main(args) == 0
    log = (cache / "runs" / "v4" / "log.txt").read_text()
    assert "resumed from" in log and "at step 7" in log and "step 9/9" in log
    ck = checkpoint.read(cache / "runs" / "v4" / "last.pt")
    assert ck["step"] == 9 and ck["seen"] == 112 + 2 * 16 and ck["minutes"] > 1.5
    adam = next(iter(ck["optimizer"]["state"].values()))
    assert int(adam["step"]) == 3  # the saved optimizer state went on, not a fresh one
    assert ck["config"]["cosface"] == 0.1 and ck["model_config"]["width"] == 0.25
    assert set(ck["model"]) == set(before["model"])  # the same parameter names
    assert any(not torch.equal(ck["model"][k], v) for k, v in before["model"].items())
    assert not torch.equal(ck["head"]["weight"], before["head"]["weight"])  # the head trained on
    # the old "best" was the latest evaluation: read as both until a new one comes
    assert ck["last_eval"] == ck["best"] == before["best"]
    assert checkpoint.last_evaluation(ck)["images"] == ck["seen"]
    model, _ = checkpoint.load_checkpoint(cache / "runs" / "v4" / "last.pt")
    assert not model.training


def fake_lfw(monkeypatch, accuracies: list[float]) -> None:
    """Each evaluation scores the next accuracy of the list (no LFW needed)."""
    scores = iter(accuracies)

    def evaluate(embed, cache, data, **kw):
        acc = next(scores)
        return {"aligned": Verification(acc, 0.01, acc / 2, 1e-3, acc, 1.0, ())}

    monkeypatch.setattr("training.evaluate.evaluate", evaluate)
    monkeypatch.setattr(train, "evaluate", evaluate, raising=False)


def test_the_checkpoint_names_the_best_evaluation_and_the_last(tmp_path, monkeypatch):
    cache = fake_cache(tmp_path / "cache")
    fake_lfw(monkeypatch, [0.70, 0.90, 0.80])
    args = [
        "--steps",
        "3",
        "--eval-every",
        "1",
        "--width",
        "0.25",
        "--people",
        "6",
        "--per-person",
        "2",
        "--extra",
        "4",
        "--warmup",
        "1",
        "--distill",
        "0",
        "--threads",
        "1",
        "--cache-dir",
        str(cache),
        "--name",
        "b",
    ]
    assert train.main(args) == 0
    run = cache / "runs" / "b"
    ck = checkpoint.read(run / "last.pt")
    assert ck["best"]["step"] == 2 and ck["best"]["accuracy"] == 0.90
    assert ck["last_eval"]["step"] == 3 and ck["last_eval"]["accuracy"] == 0.80
    assert ck["best"]["std"] == 0.01 and ck["best"]["images"] == 2 * 16
    best = checkpoint.read(run / "step2.pt")  # the best record's weights are kept
    assert best["step"] == 2 and best["best"]["step"] == 2
    assert "best so far: step 2" in (run / "log.txt").read_text()


def test_progress_keeps_the_most_accurate_evaluation():
    p = checkpoint.Progress()
    assert p.record({"step": 1, "accuracy": 0.5}) and p.best["step"] == 1
    assert not p.record({"step": 2, "accuracy": 0.4})
    assert p.best["step"] == 1 and p.last_eval["step"] == 2
