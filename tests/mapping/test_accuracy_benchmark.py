"""The proposer's accuracy on the labelled evaluation sets (benchmarks/mapping_accuracy/).

A regression guard, not the measurement: the figures and their history are in BENCHMARKS.md and
the benchmark's README. The development layouts (``layouts/``, tuned on) must meet the targets;
the first and second held-out layouts (``layouts_heldout/``, ``layouts_heldout2/``) have since been
tuned on and must meet the calibration target too; so must the third (``layouts_heldout3/``), tuned
on since; the fourth held-out set (``layouts_heldout4/``) was scored once, and its guard is the
figures recorded then.
"""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mapping_accuracy"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        import run
        from evalset import score
    finally:
        sys.path.remove(str(BENCH))
    return run, score


def test_top1_and_calibration_on_the_development_set(bench):
    run, score = bench
    figures = score(run.ours("dev"), 0.8)
    assert figures["standard_columns"] >= 100
    assert figures["top1_standard"] >= 0.90, figures
    assert figures["wrong_below_threshold"] >= 0.95, figures
    assert figures["sensitive_found"].split("/")[0] == figures["sensitive_found"].split("/")[1]


def test_the_held_out_set_does_not_fall_below_its_recorded_figures(bench):
    run, score = bench
    figures = score(run.ours("heldout"), 0.8)
    assert figures["standard_columns"] >= 100 and figures["columns"] >= 300
    assert figures["top1_standard"] >= 0.90, figures  # 89.8% when held out; 90.7% once tuned on
    assert figures["wrong_below_threshold"] >= 0.95, figures  # 68.2% when held out; 100% once tuned on


def test_the_second_held_out_set_does_not_fall_below_its_recorded_figures(bench):
    run, score = bench
    figures = score(run.ours("heldout2"), 0.8)
    assert figures["standard_columns"] >= 80 and figures["columns"] >= 200
    assert figures["top1_standard"] >= 0.94, figures  # 94.1% (80/85) when scored once
    assert figures["wrong_below_threshold"] >= 0.95, figures  # 90.9% (10/11) when held out; 100% once tuned on


def test_the_third_held_out_set_does_not_fall_below_its_recorded_figures(bench):
    run, score = bench
    figures = score(run.ours("heldout3"), 0.8)
    assert figures["standard_columns"] >= 90 and figures["columns"] >= 300
    assert figures["top1_standard"] >= 0.944, figures  # 94.4% (85/90) when scored once; 96.7% once tuned on
    assert figures["wrong_below_threshold"] >= 0.95, figures  # 94.7% (18/19) when held out; 100% once tuned on


def test_the_fourth_held_out_set_does_not_fall_below_its_recorded_figures(bench):
    run, score = bench
    figures = score(run.ours("heldout4"), 0.8)
    assert figures["standard_columns"] >= 120 and figures["columns"] >= 350
    assert figures["top1_standard"] >= 0.92, figures  # 92.1% (117/127) when scored once
    assert figures["wrong_below_threshold"] >= 0.95, figures  # 100% (21/21) when scored once


def test_the_calibration_weights_cover_the_evidence(bench):
    from toolkit.mapping._confidence import CALIBRATION, evidence
    from toolkit.mapping._proposer import rank_concepts
    from toolkit.mapping._profiling import profile
    import pandas as pd

    cands = rank_concepts("Email", profile(pd.Series(["a@b.com", "c@d.org"])))
    assert set(evidence(cands)) == set(CALIBRATION) - {"bias"}
