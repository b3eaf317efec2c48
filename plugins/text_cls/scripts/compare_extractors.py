"""Score saved SmolLM2 responses (from probe_templates.py) with the text_cls extractor and
with the naive alternative (last "positive"/"negative" word anywhere, as TTRL's GPQA path
and MM-UPT read answers), side by side, per prompt template.

    python plugins/text_cls/scripts/compare_extractors.py probe_out.jsonl

Input lines: {"template", "id", "gold", "responses": [k texts]}.  Prints a markdown table:
avg@k, maj@k, macro-F1 (samples and majority), abstain rate, and how often the two
extractors disagree.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

from ttrl_kit import plurality
from ttrl_kit.core.io import iter_jsonl, load_mapping
from ttrl_text_cls.metrics import classification_report
from ttrl_text_cls.task import TextClassificationTask

LABELS = ("positive", "negative")
_NAIVE = re.compile(r"\b(positive|negative)\b")


def naive(text: str) -> str | None:
    found = _NAIVE.findall(text.lower())
    return found[-1] if found else None


def main(path: str, config: str = "configs/text_cls/rotten_tomatoes.yaml") -> None:
    task = TextClassificationTask(**load_mapping(config))
    by_template = defaultdict(list)
    for _, obj in iter_jsonl(path):
        by_template[obj["template"]].append(obj)
    print(
        "| template | extractor | questions | k | avg@k | maj@k | macro-F1 samples | macro-F1 majority | abstain | accuracy when answering | differs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for tpl, rows in sorted(by_template.items()):
        for name, fn in (("text_cls", task.extract_answer), ("naive last word", naive)):
            gold_s, pred_s, gold_m, pred_m, avg = [], [], [], [], []
            abst = diff = total = 0
            for r in rows:
                ans = [fn(s) for s in r["responses"]]
                other = [naive(s) if fn is not naive else task.extract_answer(s) for s in r["responses"]]
                diff += sum(a != b for a, b in zip(ans, other))
                abst += sum(a is None for a in ans)
                total += len(ans)
                gold_s += [r["gold"]] * len(ans)
                pred_s += ans
                gold_m.append(r["gold"])
                pred_m.append(plurality(ans))
                avg.append(sum(a == r["gold"] for a in ans) / len(ans))
            s = classification_report(gold_s, pred_s, LABELS)
            m = classification_report(gold_m, pred_m, LABELS)
            k = len(rows[0]["responses"])
            print(
                f"| {tpl} | {name} | {len(rows)} | {k} | {sum(avg) / len(avg):.3f} | {m.accuracy:.3f} | "
                f"{s.macro_f1:.3f} | {m.macro_f1:.3f} | {abst / total:.3f} | "
                f"{sum(g == p for g, p in zip(gold_s, pred_s)) / max(1, total - abst):.3f} | {diff / total:.3f} |"
            )


if __name__ == "__main__":
    main(*sys.argv[1:])
