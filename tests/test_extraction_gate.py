"""Regression gate: a pinned slice of AEB and WCXB dev articles scored against floors.

The slice (40 AEB + 60 WCXB pages) and the floors live in eval/baseline.json; re-pin with
`.venv/bin/python eval/extraction.py --write-baseline` after an accepted quality change.
The full runs are `.venv/bin/python eval/extraction.py`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tidings_eval_extraction", REPO / "eval" / "extraction.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    return _harness()


@pytest.fixture(scope="module")
def baseline(harness: ModuleType) -> dict:
    return json.loads(harness.BASELINE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scores(harness: ModuleType, baseline: dict) -> dict[str, float]:
    root = harness.data_dir()
    missing = [p for p in (root / "aeb", root / "wcxb-dev-articles") if not p.is_dir()]
    if missing:
        pytest.fail(
            f"extraction gate data missing: {', '.join(map(str, missing))}. Set TIDINGS_EVAL_DATA "
            "to the directory holding aeb/ and wcxb-dev-articles/ (default ../shared/data).",
            pytrace=False,
        )
    return harness.gate_scores(root, baseline)


def test_slice_is_pinned(baseline: dict) -> None:
    assert len(baseline["aeb_ids"]) == 40
    assert len(baseline["wcxb_ids"]) == 60
    assert set(baseline["floors"]) == set(baseline["measured"])


@pytest.mark.parametrize(
    "metric",
    [
        "aeb_f1",
        "aeb_precision",
        "aeb_recall",
        "wcxb_f1",
        "wcxb_with_present",
        "wcxb_without_absent",
        "wcxb_title",
        "wcxb_author",
        "wcxb_date",
    ],
)
def test_quality_floor(scores: dict[str, float], baseline: dict, metric: str) -> None:
    floor = baseline["floors"][metric]
    assert scores[metric] >= floor, (
        f"{metric} fell to {scores[metric]:.4f}, below the pinned floor {floor:.4f} "
        f"(measured {baseline['measured'][metric]:.4f} when pinned)"
    )


def test_scorer_penalises_bad_output(harness: ModuleType) -> None:
    """The gate's own scorer must be able to fail: junk and empty text score low."""
    truth = "The harbour authority approved night pilots for the northern ferry route today."
    tp, fp, fn = harness.shingle_tp_fp_fn(truth, "Home News Sport Weather Share this Source link")
    assert harness._precision(tp, fp, fn) == 0.0
    assert harness.word_prf(truth, "")[2] == 0.0
    assert harness.word_prf(truth, truth)[2] == 1.0


def test_missing_data_fails_with_a_clear_message(
    harness: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_EVAL_DATA", str(tmp_path / "nowhere"))
    assert harness.data_dir() == tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError):
        harness.load_aeb(harness.data_dir(), ["x"])
