"""Run the `valentine` schema matchers on the evaluation set (in an environment that has it).

Reads {"standard": [...], "set": <layout set, default dev>} from stdin, prints JSON: matcher -> rows of {layout, column, concept,
confidence}. Each source column's prediction is the target column (a concept) with its best
score; a column with no match gets no concept. run.py turns concepts into targets and scores.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evalset import HERE, layouts  # noqa: E402


def main() -> None:
    from valentine import valentine_match
    from valentine.algorithms import Coma, Cupid, DistributionBased, JaccardDistanceMatcher, SimilarityFlooding

    asked = json.load(sys.stdin)
    standard, which = set(asked["standard"]), asked.get("set", "dev")
    ref = yaml.safe_load((HERE / "reference_values.yaml").read_text(encoding="utf-8"))
    target = pd.DataFrame({k: [str(x) for x in v] for k, v in ref.items() if k in standard})
    matchers = {"Coma": lambda: Coma(use_instances=True), "Cupid": Cupid, "SimilarityFlooding": SimilarityFlooding,
                "JaccardDistance": JaccardDistanceMatcher, "DistributionBased": DistributionBased}
    out: dict = {}
    for name, make in matchers.items():
        rows, started = [], time.time()
        try:
            for lay in layouts(which):
                src = lay["table"].drop(columns=[k for k in [lay["key"]] if k]).fillna("")
                matches = valentine_match([src, target], make(), df_names=["source", "target"])
                best: dict[str, tuple[str, float]] = {}
                for pair, s in matches.items():
                    col, tgt = pair.source_column, pair.target_column
                    if pair.source_table != "source":
                        col, tgt = tgt, col
                    if col not in best or s > best[col][1]:
                        best[col] = (tgt, float(s))
                for col, gold in lay["gold"].items():
                    if gold == "key":
                        continue
                    pred, conf = best.get(col, (None, 0.0))
                    rows.append({"layout": lay["layout"], "column": col, "concept": pred, "confidence": conf})
            out[name] = {"rows": rows, "seconds": round(time.time() - started, 1)}
        except Exception as exc:  # a matcher that cannot run here is reported, not hidden
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
