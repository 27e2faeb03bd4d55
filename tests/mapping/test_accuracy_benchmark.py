"""The proposer's accuracy on the labelled evaluation set stays at the issue's targets.

A regression guard, not the measurement: the figures and their history are in BENCHMARKS.md.
"""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mapping_accuracy"


def test_top1_and_calibration_on_the_evaluation_set():
    sys.path.insert(0, str(BENCH))
    try:
        import run
        from evalset import score
    finally:
        sys.path.remove(str(BENCH))
    figures = score(run.ours(), 0.8)
    assert figures["standard_columns"] >= 100
    assert figures["top1_standard"] >= 0.90, figures
    assert figures["wrong_below_threshold"] >= 0.95, figures
    assert figures["sensitive_found"].split("/")[0] == figures["sensitive_found"].split("/")[1]
