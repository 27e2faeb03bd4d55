"""Fit the proposer's confidence calibration (``CALIBRATION`` in toolkit/mapping/_confidence.py).

    .venv/bin/python benchmarks/mapping_accuracy/calibrate.py [--set dev]

Runs the proposer on a set of layouts (the development set, ``layouts/``, unless told
otherwise; never fit on the held-out set), takes every proposal whose confidence rests on a
concept's evidence (:func:`toolkit.mapping._confidence.evidence`) and whether it was right, and fits
a logistic regression of being right on that evidence (Newton's method, L2 penalty, no
dependency beyond numpy), a wrong proposal weighing five right ones (``--wrong-weight``). Prints the weights to paste into ``CALIBRATION`` and the figures the
fitted weights would give.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evalset import settle_shared_golds  # noqa: E402
from run import ours  # noqa: E402

from toolkit.mapping._confidence import CALIBRATION, CONFIRM_THRESHOLD  # noqa: E402

FEATURES = [k for k in CALIBRATION if k != "bias"]


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50, wrong_weight: float = 1.0) -> np.ndarray:
    """Weights (bias first) of an L2-penalised, case-weighted logistic regression, by Newton's method."""
    cw = np.where(y == 0, wrong_weight, 1.0)
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    penalty = np.eye(xb.shape[1]) * l2
    penalty[0, 0] = 0.0  # the bias is not shrunk
    for _ in range(iters):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (cw * (p - y)) + penalty @ w
        hess = (xb * (cw * p * (1 - p))[:, None]).T @ xb + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", dest="which", default="tuning", choices=["dev", "tuning"],
                    help="the layouts to fit on (tuning: the first four folders; never heldout4)")
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the weights")
    # a wrong field accepted unseen costs a correction after the migration, a right one shown for
    # review costs a glance: a wrong proposal counts as five right ones
    ap.add_argument("--wrong-weight", type=float, default=5.0,
                    help="weight of a wrong proposal against a right one (0: balanced, right/wrong)")
    args = ap.parse_args()
    rows = [r for r in settle_shared_golds(ours(args.which)) if isinstance(r.get("evidence"), dict)]
    x = np.array([[r["evidence"][k] for k in FEATURES] for r in rows], dtype=float)
    y = np.array([r["gold"] == r["predicted"] for r in rows], dtype=float)
    wrong_weight = args.wrong_weight or float((y == 1).sum()) / max(1.0, float((y == 0).sum()))
    w = fit(x, y, args.l2, wrong_weight=wrong_weight)
    weights = {"bias": round(float(w[0]), 3)} | {k: round(float(v), 3) for k, v in zip(FEATURES, w[1:])}
    p = 1 / (1 + np.exp(-(np.hstack([np.ones((len(x), 1)), x]) @ w)))
    wrong = y == 0
    print(json.dumps({"rows": len(rows), "wrong": int(wrong.sum()), "wrong_weight": round(wrong_weight, 2),
                      "weights": weights,
                      "wrong_below_threshold_from_weights": round(float((p[wrong] < CONFIRM_THRESHOLD).mean()), 3)
                      if wrong.any() else None,
                      "right_at_or_above_threshold": round(float((p[~wrong] >= CONFIRM_THRESHOLD).mean()), 3)},
                     indent=1))


if __name__ == "__main__":
    main()
