"""Write an NLU figures page (Markdown) from the reports of `rasa test nlu`.

Two kinds of run are described: a cross-validation of the training data
(`--folds N`), or the evaluation of a trained model on the held-out test set
(`--test-set FILE --model FILE`).
"""

import argparse
import json
import platform
import subprocess
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Tuple

# Confusions between two intents are listed when they exceed this share of
# the true intent's examples.
CONFUSION_SHARE = 0.02


def _load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _confusions(errors: List[Dict[str, Any]], supports: Dict[str, int]) -> List[Tuple[str, str, int, float]]:
    counts: Dict[Tuple[str, str], int] = {}
    for error in errors:
        pair = (error["intent"], error["intent_prediction"]["name"])
        counts[pair] = counts.get(pair, 0) + 1
    rows = []
    for (true, predicted), count in counts.items():
        share = count / max(supports.get(true, 1), 1)
        if share > CONFUSION_SHARE:
            rows.append((true, predicted, count, share))
    return sorted(rows, key=lambda row: -row[3])


def _cpu() -> str:
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(
        line.split(":", 1) for line in output.splitlines() if ":" in line
    )
    name = fields.get("Model name", "unknown CPU").strip()
    cores = fields.get("CPU(s)", "?").strip()
    return f"{name}, {cores} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report_dir", type=Path, help="--out folder of rasa test nlu")
    parser.add_argument("--folds", type=int, help="number of folds of a cross-validation")
    parser.add_argument("--test-set", help="held-out NLU file that the model was evaluated on")
    parser.add_argument("--model", help="trained model evaluated on the test set")
    parser.add_argument("--seconds", type=int, required=True, help="wall time of the run, in s")
    parser.add_argument("--peak-kb", type=int, required=True, help="peak resident memory, in KiB")
    args = parser.parse_args()

    intents = _load(args.report_dir / "intent_report.json")
    entities_path = args.report_dir / "DIETClassifier_report.json"
    entities = _load(entities_path) if entities_path.exists() else {}
    errors_path = args.report_dir / "intent_errors.json"
    errors = _load(errors_path) if errors_path.exists() else []

    supports = {
        name: int(values["support"])
        for name, values in intents.items()
        if isinstance(values, dict) and "support" in values and name not in ("macro avg", "weighted avg", "micro avg")
    }

    if args.test_set:
        heading = [
            "# NLU figures on the held-out test set",
            "",
            f"Measured on {date.today().isoformat()} by `bench/nlu_test_set.sh` "
            f"(`rasa test nlu --nlu {args.test_set} --model {args.model}`), on {_cpu()}.",
            f"The test set is never used for training (`tests/nlu/test_datasets.py` checks it). "
            f"Wall time {args.seconds // 60} min {args.seconds % 60} s; "
            f"peak resident memory {args.peak_kb / 1024:.0f} MiB.",
        ]
    else:
        heading = [
            "# NLU figures",
            "",
            f"Measured on {date.today().isoformat()} by `bench/nlu_cross_validation.sh` "
            f"({args.folds}-fold cross-validation of `bot/data/nlu.yml` with `config.yml`, "
            f"`rasa test nlu --cross-validation --folds {args.folds}`), on {_cpu()}.",
            f"Wall time {args.seconds // 60} min {args.seconds % 60} s for the {args.folds} trainings "
            f"and evaluations; peak resident memory {args.peak_kb / 1024:.0f} MiB.",
        ]
    lines = heading + [
        "",
        "| measure | value |",
        "|---|---|",
        f"| intent macro-F1 | {intents['macro avg']['f1-score']:.3f} |",
        f"| intent weighted F1 | {intents['weighted avg']['f1-score']:.3f} |",
        f"| intent accuracy | {intents.get('accuracy', float('nan')):.3f} |",
    ]
    if entities:
        lines.append(f"| entity macro-F1 (DIET) | {entities['macro avg']['f1-score']:.3f} |")
        if "location" in entities:
            lines.append(f"| `location` entity F1 | {entities['location']['f1-score']:.3f} |")
    lines += ["", "## Per intent", "", "| intent | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
    for name in sorted(supports):
        values = intents[name]
        lines.append(
            f"| {name} | {values['precision']:.3f} | {values['recall']:.3f} | "
            f"{values['f1-score']:.3f} | {supports[name]} |"
        )
    if entities:
        lines += ["", "## Per entity", "", "| entity | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
        for name, values in sorted(entities.items()):
            if not isinstance(values, dict) or name.endswith("avg") or name == "no_entity":
                continue
            lines.append(
                f"| {name} | {values['precision']:.3f} | {values['recall']:.3f} | "
                f"{values['f1-score']:.3f} | {int(values['support'])} |"
            )
    confusions = _confusions(errors, supports)
    lines += ["", f"## Confusions above {CONFUSION_SHARE:.0%} of the true intent's examples", ""]
    if confusions:
        lines += ["| true intent | predicted | count | share |", "|---|---|---|---|"]
        lines += [f"| {t} | {p} | {c} | {s:.1%} |" for t, p, c, s in confusions]
    else:
        lines.append("None.")
    lines += [
        "",
        "NOTE: all these messages were written for this project, the test set by other",
        "hands than most of the training data; real users' messages will score lower until",
        "real (anonymised) messages are added.",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
