"""Write the NLU figures of `rasa test nlu` into their section of bench/nlu.md.

Two kinds of run are described, each in its own section of the page, so that
running one benchmark keeps the figures of the other:

* a cross-validation of the training data (`--folds N`), run with the
  FallbackClassifier switched off so that every prediction keeps the model's
  own confidence; the page then shows, for a range of thresholds, what the
  fallback would catch and lose, which is how the threshold of `config.yml`
  is chosen;
* the evaluation of the trained model, fallback included, on the held-out
  test set (`--test-set FILE --model FILE`).

Both need the successes and the errors of `rasa test nlu` (`--successes`).
"""

import argparse
import json
import platform
import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any, Dict, Iterable, List, NamedTuple, Tuple

import yaml
from sklearn.metrics import precision_recall_fscore_support

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "bench" / "nlu.md"

FALLBACK_INTENT = "nlu_fallback"
DISTRESS_INTENT = "distress"

# Confusions between two intents are listed when they exceed this share of
# the true intent's examples.
CONFUSION_SHARE = 0.02

# Targets the service must meet before it goes to young users.
TARGET_MACRO_F1 = 0.92
TARGET_LOCATION_F1 = 0.95
TARGET_DISTRESS_RECALL = 1.0
TARGET_DISTRESS_FALSE_POSITIVES = 0.02

# Thresholds of the FallbackClassifier compared on the cross-validation.
THRESHOLDS = (0.0, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)

SECTIONS = ("cross-validation", "test-set")


class Prediction(NamedTuple):
    """One evaluated message: its true intent, the predicted one and its confidence."""

    true: str
    predicted: str
    confidence: float
    text: str = ""


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_predictions(report_dir: Path) -> List[Prediction]:
    """Read every prediction from intent_successes.json and intent_errors.json."""
    predictions = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = report_dir / name
        if not path.exists():
            continue
        for row in _load(path):
            prediction = row.get("intent_prediction") or {}
            predictions.append(
                Prediction(
                    row["intent"],
                    prediction.get("name") or "",
                    float(prediction.get("confidence") or 0.0),
                    row.get("text") or "",
                )
            )
    return predictions


def with_threshold(predictions: Iterable[Prediction], threshold: float) -> List[Prediction]:
    """Apply a fallback threshold: a prediction below it becomes nlu_fallback.

    NOTE: the FallbackClassifier also falls back when the two best intents
    are closer than its ambiguity threshold; the reports do not keep the
    second intent, so that part is not simulated.
    """
    return [
        p._replace(predicted=FALLBACK_INTENT) if p.confidence < threshold and p.predicted != FALLBACK_INTENT else p
        for p in predictions
    ]


def macro_f1(predictions: List[Prediction]) -> float:
    """Macro-F1 over the true intents; a fallback counts as a wrong prediction."""
    labels = sorted({p.true for p in predictions})
    _, _, f1, _ = precision_recall_fscore_support(
        [p.true for p in predictions], [p.predicted for p in predictions],
        labels=labels, average="macro", zero_division=0,
    )
    return float(f1)


def per_intent(predictions: List[Prediction]) -> List[Tuple[str, float, float, float, int]]:
    """Precision, recall, F1 and support of each true intent."""
    labels = sorted({p.true for p in predictions})
    precision, recall, f1, support = precision_recall_fscore_support(
        [p.true for p in predictions], [p.predicted for p in predictions],
        labels=labels, average=None, zero_division=0,
    )
    return [(label, precision[i], recall[i], f1[i], int(support[i])) for i, label in enumerate(labels)]


def confusions(predictions: List[Prediction]) -> List[Tuple[str, str, int, float]]:
    """Pairs (true, predicted) above CONFUSION_SHARE of the true intent's examples."""
    supports: Dict[str, int] = {}
    counts: Dict[Tuple[str, str], int] = {}
    for p in predictions:
        supports[p.true] = supports.get(p.true, 0) + 1
        if p.predicted != p.true:
            counts[(p.true, p.predicted)] = counts.get((p.true, p.predicted), 0) + 1
    rows = [
        (true, predicted, count, count / supports[true])
        for (true, predicted), count in counts.items()
        if count / supports[true] > CONFUSION_SHARE
    ]
    return sorted(rows, key=lambda row: (-row[3], row[0]))


def distress_figures(predictions: List[Prediction]) -> Tuple[float, int, int, float, int, int]:
    """Recall on distress messages and share of other messages predicted as distress."""
    distress = [p for p in predictions if p.true == DISTRESS_INTENT]
    others = [p for p in predictions if p.true != DISTRESS_INTENT]
    found = sum(p.predicted == DISTRESS_INTENT for p in distress)
    false_alarms = sum(p.predicted == DISTRESS_INTENT for p in others)
    recall = found / len(distress) if distress else float("nan")
    false_rate = false_alarms / len(others) if others else float("nan")
    return recall, found, len(distress), false_rate, false_alarms, len(others)


def configured_threshold() -> float:
    """Return the FallbackClassifier threshold of config.yml."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component.get("name") == "FallbackClassifier":
            return float(component["threshold"])
    return 0.0


def _cpu() -> str:
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    return f"{fields.get('Model name', 'unknown CPU').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs"


def _mark(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "**not met**"


def _entity_rows(entities: Dict[str, Any]) -> List[str]:
    rows = ["| entity | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
    for name, values in sorted(entities.items()):
        if not isinstance(values, dict) or name.endswith("avg") or name == "no_entity":
            continue
        rows.append(
            f"| {name} | {values['precision']:.3f} | {values['recall']:.3f} | "
            f"{values['f1-score']:.3f} | {int(values['support'])} |"
        )
    return rows


def _intent_rows(predictions: List[Prediction]) -> List[str]:
    rows = ["| intent | precision | recall | F1 | examples |", "|---|---|---|---|---|"]
    rows += [f"| {n} | {p:.3f} | {r:.3f} | {f:.3f} | {s} |" for n, p, r, f, s in per_intent(predictions)]
    return rows


def _confusion_rows(predictions: List[Prediction]) -> List[str]:
    rows = confusions(predictions)
    if not rows:
        return ["None."]
    return ["| true intent | predicted | count | share |", "|---|---|---|---|"] + [
        f"| {t} | {p} | {c} | {s:.1%} |" for t, p, c, s in rows
    ]


def _threshold_rows(predictions: List[Prediction]) -> List[str]:
    correct = sum(p.predicted == p.true for p in predictions)
    wrong = len(predictions) - correct
    rows = [
        "| threshold | correct predictions lost to the fallback | wrong predictions caught | macro-F1 |",
        "|---|---|---|---|",
    ]
    for threshold in THRESHOLDS:
        lost = sum(p.predicted == p.true and p.confidence < threshold for p in predictions)
        caught = sum(p.predicted != p.true and p.confidence < threshold for p in predictions)
        rows.append(
            f"| {threshold:.2f} | {lost} ({lost / max(correct, 1):.1%}) | {caught} ({caught / max(wrong, 1):.1%}) "
            f"| {macro_f1(with_threshold(predictions, threshold)):.3f} |"
        )
    return rows


def threshold_choice(predictions: List[Prediction], configured: float) -> str:
    """Compare the threshold of config.yml with the one of highest macro-F1, in one paragraph."""
    scores = {t: macro_f1(with_threshold(predictions, t)) for t in THRESHOLDS}
    best = max(scores, key=lambda t: (scores[t], -t))
    configured_score = macro_f1(with_threshold(predictions, configured))

    def counts(threshold: float) -> Tuple[int, int]:
        lost = sum(p.predicted == p.true and p.confidence < threshold for p in predictions)
        caught = sum(p.predicted != p.true and p.confidence < threshold for p in predictions)
        return lost, caught

    text = f"Macro-F1 with the fallback is highest at {best:.2f} ({scores[best]:.3f}). `config.yml` uses {configured:.2f} ({configured_score:.3f})"
    if abs(configured - best) < 1e-9:
        return text + "."
    (lost_best, caught_best), (lost_conf, caught_conf) = counts(best), counts(configured)

    def more_or_fewer(difference: int) -> str:
        return f"{abs(difference)} {'more' if difference >= 0 else 'fewer'}"

    return (
        text + f": against {best:.2f} it loses {more_or_fewer(lost_conf - lost_best)} correct predictions and "
        f"catches {more_or_fewer(caught_conf - caught_best)} wrong ones, "
        f"{configured_score - scores[best]:+.3f} in macro-F1."
    )


class LocationFigures(NamedTuple):
    """Places the bot reads in the messages, compared with the annotated ones."""

    precision: float
    recall: float
    f1: float
    correct: int
    read: int
    annotated: int


def _predicted_locations(report_dir: Path) -> Dict[str, str]:
    """Return, by message text, the first location entity the pipeline predicted."""
    predicted: Dict[str, str] = {}
    for path in sorted(report_dir.glob("*_successes.json")) + sorted(report_dir.glob("*_errors.json")):
        if path.name.startswith(("intent_", "response_")):
            continue
        for row in _load(path):
            values = [entity["value"] for entity in row.get("predicted_entities") or [] if entity["entity"] == "location"]
            if values and row["text"] not in predicted:
                predicted[row["text"]] = values[0]
    return predicted


def _place_key(outcome: Any) -> Any:
    """Return where the bot searches: one commune's INSEE code, or the codes of the homonyms it offers as buttons."""
    if outcome is None or outcome.status == "not_found":
        return None
    if outcome.status == "ambiguous":
        return frozenset(candidate.insee_code for candidate in outcome.candidates)
    return outcome.point.insee_code


def bot_location_figures(report_dir: Path, data_file: Path) -> LocationFigures:
    """Measure the places the bot reads: the model's entity plus the knowledge look-up.

    Each message of `data_file` goes through `bot.actions.lookup.place_in_message`
    with the location entity the evaluated pipeline predicted for it. A
    message is read correctly when the bot searches around the commune (or
    offers as buttons the homonyms) that an annotated location entity names.
    Messages without an annotated location must give no place.
    """
    from rasa.shared.nlu.training_data.loading import load_data

    import knowledge
    from bot.actions.lookup import place_in_message

    index = knowledge.get_index()
    predicted = _predicted_locations(report_dir)
    correct = read = annotated = 0
    for message in load_data(str(data_file)).intent_examples:
        text = message.get("text")
        values = [str(entity["value"]) for entity in message.get("entities") or [] if entity["entity"] == "location"]
        # « Saint-Denis dans le 93 » is annotated as two entities that name one place together.
        expected = {_place_key(place_in_message(index, value, value)) for value in values}
        if len(values) > 1:
            expected.add(_place_key(place_in_message(index, " ".join(values), values[0])))
        expected.discard(None)
        # An annotated place the knowledge does not know counts as missed.
        annotated += bool(values)

        outcome = place_in_message(index, text, predicted.get(text))
        if outcome is not None:
            # A place that is not found counts as read: the bot replies that it found no such place.
            read += 1
            correct += _place_key(outcome) in expected
    precision = correct / read if read else 0.0
    recall = correct / annotated if annotated else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return LocationFigures(precision, recall, f1, correct, read, annotated)


CUE_NOTE = (
    "NOTE: the cue-word regexes at the end of `bot/data/nlu.yml` are features written with all the "
    "training data in view. A slang word that one example alone contains (« salam », « mci ») is "
    "therefore not wholly unseen in the fold that holds that example out, so the figures of short "
    "messages may be slightly optimistic."
)

LOCATION_NOTE = (
    "Two location figures are given. The `location` entity F1 compares the entity spans the model "
    "tags with the annotated ones. DIET gets, through `bot.nlu.commune_featurizer.CommuneNameFeaturizer`, "
    "a feature on the words of every commune name of the open data, including names that no training "
    "example contains, as the running assistant does. The bot does not rely on them alone: `bot.actions.lookup.place_in_message` "
    "also looks for commune names, postal codes and département numbers in the whole message. "
    "The second figure is that of the place `place_in_message` returns, which the search actions use: "
    "correct when it is the commune (or the homonyms offered as buttons) that the annotated entities name; "
    "a place read in a message with no annotated location counts against precision, and an annotated "
    "place the knowledge does not know counts as missed. "
    "NOTE: a département is compared through its chef-lieu, and the whole-message look-up that the bot "
    "adds for `inform_location` is left out."
)


def _training_time_sentence(seconds: int) -> str:
    if not seconds:
        return "The training time of this model was not recorded (it was trained before `scripts/train.sh` kept it)."
    return (
        f"Training the model (`scripts/train.sh`) took {seconds // 60} min {seconds % 60} s. NOTE: "
        "`scripts/test.sh` trains while the tests that need no model run, so a model it trained took longer "
        "than on an idle machine."
    )


def location_rows(figures: LocationFigures) -> List[str]:
    """Return the table row of the places the bot reads."""
    return [
        f"| place read by the bot (entity + knowledge), F1 | {figures.f1:.3f} "
        f"(precision {figures.precision:.3f}, recall {figures.recall:.3f}) | ≥ {TARGET_LOCATION_F1} "
        f"| {_mark(figures.f1, TARGET_LOCATION_F1)} |",
    ]


def summary_rows(predictions: List[Prediction], entities: Dict[str, Any]) -> List[str]:
    """Return the table of the measures that have a target, with whether each is met."""
    score = macro_f1(predictions)
    recall, found, total, false_rate, alarms, others = distress_figures(predictions)
    rows = [
        "| measure | value | target | |",
        "|---|---|---|---|",
        f"| intent macro-F1 | {score:.3f} | ≥ {TARGET_MACRO_F1} | {_mark(score, TARGET_MACRO_F1)} |",
    ]
    if "location" in entities:
        location = entities["location"]["f1-score"]
        rows.append(
            f"| `location` entity F1 (DIET) | {location:.3f} | ≥ {TARGET_LOCATION_F1} "
            f"| {_mark(location, TARGET_LOCATION_F1)} |"
        )
    rows += [
        f"| distress recall | {recall:.3f} ({found}/{total}) | {TARGET_DISTRESS_RECALL} "
        f"| {_mark(recall, TARGET_DISTRESS_RECALL)} |",
        f"| other messages predicted as distress | {false_rate:.1%} ({alarms}/{others}) "
        f"| ≤ {TARGET_DISTRESS_FALSE_POSITIVES:.0%} | {_mark(false_rate, TARGET_DISTRESS_FALSE_POSITIVES, False)} |",
    ]
    if entities:
        rows.append(f"| entity macro-F1 (DIET) | {entities['macro avg']['f1-score']:.3f} | | |")
    return rows


def missed_distress_lines(predictions: List[Prediction]) -> List[str]:
    """Return a sentence that lists the distress messages predicted as another intent, if any."""
    missed = [p for p in predictions if p.true == DISTRESS_INTENT and p.predicted != DISTRESS_INTENT]
    if not missed:
        return []
    listed = "; ".join(f"« {p.text} » (read as {p.predicted})" for p in missed)
    return [
        f"Distress messages missed by the model and the rule layer: {listed}. Both see each message alone; "
        "a reply to the bot's question about suicide (« oui… ») is read with that question by "
        "`bot.actions.safety.answer_suicide_followup`.",
        "",
    ]


def cross_validation_section(args: argparse.Namespace, predictions: List[Prediction], entities: Dict) -> List[str]:
    threshold = configured_threshold()
    with_fallback = with_threshold(predictions, threshold)
    return [
        "## Cross-validation",
        "",
        f"Measured on {date.today().isoformat()} by `bench/nlu_cross_validation.sh`: "
        f"{args.folds}-fold cross-validation of the {len(predictions)} examples of `bot/data/nlu.yml` "
        f"(`rasa test nlu --cross-validation --folds {args.folds} --successes`) on {_cpu()}.",
        f"Wall time {args.seconds // 60} min {args.seconds % 60} s for the {args.folds} trainings and "
        f"evaluations; peak resident memory {args.peak_kb / 1024:.0f} MiB.",
        "",
        "The run uses `config.yml` with the FallbackClassifier switched off, so that each prediction "
        "keeps the model's confidence (DIET's averaged with the linear model's by "
        "`bot.nlu.intent_ensemble.IntentEnsemble`). The figures below apply the threshold of `config.yml` "
        f"({threshold:.2f}) afterwards: a message under it counts as a wrong prediction.",
        "",
        CUE_NOTE,
        "",
        LOCATION_NOTE,
        "",
        *summary_rows(with_fallback, entities),
        *location_rows(bot_location_figures(args.report_dir, args.data)),
        f"| intent macro-F1 without the fallback | {macro_f1(predictions):.3f} | | |",
        "",
        *missed_distress_lines(with_fallback),
        "### Choice of the fallback threshold",
        "",
        "A message under the threshold gets « je n'ai pas compris, peux-tu reformuler ? », then the offer "
        "of a counsellor. Losing a correct answer costs the user one more message; keeping a wrong one "
        "gives an answer to another question.",
        "",
        *_threshold_rows(predictions),
        "",
        threshold_choice(predictions, threshold),
        "",
        "### Per intent (with the fallback)",
        "",
        *_intent_rows(with_fallback),
        "",
        "### Per entity",
        "",
        *_entity_rows(entities),
        "",
        f"### Confusions above {CONFUSION_SHARE:.0%} of the true intent's examples (with the fallback)",
        "",
        *_confusion_rows(with_fallback),
        "",
    ]


def test_set_section(args: argparse.Namespace, predictions: List[Prediction], entities: Dict) -> List[str]:
    return [
        "## Held-out test set",
        "",
        f"Measured on {date.today().isoformat()} by `bench/nlu_test_set.sh`: the trained model "
        f"`{args.model}`, whole pipeline with the fallback and the rule layers, on the "
        f"{len(predictions)} messages of `{args.test_set}` (`rasa test nlu --successes`), on {_cpu()}.",
        "The test set is never used for training (`tests/nlu/test_datasets.py` checks it). "
        f"Wall time {args.seconds // 60} min {args.seconds % 60} s; peak resident memory "
        f"{args.peak_kb / 1024:.0f} MiB. {_training_time_sentence(args.train_seconds)}",
        "",
        *summary_rows(predictions, entities),
        *location_rows(bot_location_figures(args.report_dir, Path(args.test_set))),
        "",
        LOCATION_NOTE,
        "",
        "### Per intent",
        "",
        *_intent_rows(predictions),
        "",
        "### Per entity",
        "",
        *_entity_rows(entities),
        "",
        f"### Confusions above {CONFUSION_SHARE:.0%} of the true intent's examples",
        "",
        *_confusion_rows(predictions),
        "",
    ]


PAGE_HEADER = """# NLU figures

Two measures of the French understanding, each written by its own script
(see `bench/README.md` if present, or the scripts' headers):

- `bench/nlu_cross_validation.sh`: 5-fold cross-validation of the training data;
- `bench/nlu_test_set.sh`: the trained model on the held-out test set.

Distress recall here is the model's with the rule layer; the rule layer alone
is measured on the larger labelled set `tests/nlu/data/distress.yml` by the
test suite (`tests/bot/actions/test_distress_labelled.py` fails below recall 1.0).

NOTE: all these messages were written for this project, the test set by other
hands than most of the training data; real users' messages will score lower
until real (anonymised) messages are added.
"""


def write_section(page: Path, section: str, lines: List[str]) -> None:
    """Replace one section of the page, keeping the other one."""
    text = page.read_text(encoding="utf-8") if page.exists() else ""
    blocks = {}
    for name in SECTIONS:
        match = re.search(rf"<!-- {name} -->\n(.*?)<!-- /{name} -->\n", text, re.DOTALL)
        # Stripped, so that rewriting a section does not add a blank line each time.
        blocks[name] = match.group(1).rstrip("\n") if match else ""
    blocks[section] = "\n".join(lines).rstrip("\n")
    body = [PAGE_HEADER]
    for name in SECTIONS:
        body.append(f"<!-- {name} -->\n{blocks[name] or 'Not measured yet.'}\n<!-- /{name} -->\n")
    page.write_text("\n".join(body), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report_dir", type=Path, help="--out folder of rasa test nlu")
    parser.add_argument("--folds", type=int, help="number of folds of a cross-validation")
    parser.add_argument("--test-set", help="held-out NLU file that the model was evaluated on")
    parser.add_argument("--data", type=Path, default=ROOT / "bot" / "data" / "nlu.yml",
                        help="NLU file of a cross-validation")
    parser.add_argument("--model", help="trained model evaluated on the test set")
    parser.add_argument("--seconds", type=int, required=True, help="wall time of the run, in s")
    parser.add_argument("--train-seconds", type=int, default=0,
                        help="training time of the model, in s (0 when unknown)")
    parser.add_argument("--peak-kb", type=int, required=True, help="peak resident memory, in KiB")
    parser.add_argument("--page", type=Path, default=PAGE, help="page to update")
    args = parser.parse_args()

    predictions = load_predictions(args.report_dir)
    if not predictions:
        parser.error(f"no intent_successes.json or intent_errors.json in {args.report_dir}")
    entities_path = args.report_dir / "DIETClassifier_report.json"
    entities = _load(entities_path) if entities_path.exists() else {}

    if args.test_set:
        write_section(args.page, "test-set", test_set_section(args, predictions, entities))
    else:
        write_section(args.page, "cross-validation", cross_validation_section(args, predictions, entities))


if __name__ == "__main__":
    main()
