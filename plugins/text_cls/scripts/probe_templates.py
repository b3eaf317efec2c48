"""Sample SmolLM2-135M-Instruct on Rotten Tomatoes reviews with several prompt templates,
to pick the template for configs/text_cls/rotten_tomatoes.yaml.

    python plugins/text_cls/scripts/probe_templates.py [MODEL_DIR] [OUT.jsonl]

MODEL_DIR defaults to the embedded engine's converted SmolLM2 checkpoint
(``~/.cache/ttrl-kit/models/smollm2-135m``, written by the first ``ttrl-kit train``).  40 reviews (seed-0 shuffle),
8 samples each, temperature 0.8, 24 new tokens, bf16, 2 threads.  The printed numbers use
a naive "last positive/negative word" reading; score the saved responses with
compare_extractors.py for the text_cls extractor side by side.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "text_cls" / "rotten_tomatoes.jsonl"
TEMPLATES = {
    "a": "Classify the sentiment of this movie review as positive or negative.\n\nReview: {text}\n\n"
    "Answer with one word: positive or negative.",
    "b": "Review: {text}\nIs this movie review positive or negative?",
    "c": "What is the sentiment of the following movie review? Answer with positive or negative.\n\n{text}",
    "d": 'Movie review: "{text}"\nQuestion: Did the reviewer like the movie? Answer "positive" if they liked it '
    'and "negative" if they did not.\nAnswer:',
}
K = 8


def main() -> None:
    # The plugin knows only the core, so the model directory is an argument; by default the
    # embedded engine's converted checkpoint (made on the first `ttrl-kit train`).
    model_dir = (
        sys.argv[1] if len(sys.argv) > 1 else str(Path.home() / ".cache" / "ttrl-kit" / "models" / "smollm2-135m")
    )
    out_path = sys.argv[2] if len(sys.argv) > 2 else "probe_out.jsonl"
    torch.set_num_threads(2)
    torch.manual_seed(0)
    rows = [json.loads(line) for line in DATA.open()]
    random.Random(0).shuffle(rows)
    rows = rows[:40]
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16).eval()
    with open(out_path, "w") as out:
        for name, tpl in TEMPLATES.items():
            t0 = time.time()
            corr, maj, abst = [], [], 0
            for i in range(0, len(rows), 8):
                batch = rows[i : i + 8]
                prompts = [
                    tok.apply_chat_template(
                        [{"role": "user", "content": tpl.format(text=r["text"])}],
                        tokenize=False,
                        add_generation_prompt=True,
                    )
                    for r in batch
                ]
                enc = tok(prompts, return_tensors="pt", padding=True)
                with torch.inference_mode():
                    g = model.generate(
                        **enc,
                        do_sample=True,
                        temperature=0.8,
                        top_p=1.0,
                        top_k=0,
                        max_new_tokens=24,
                        num_return_sequences=K,
                        pad_token_id=tok.pad_token_id,
                    )
                texts = tok.batch_decode(g[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
                for j, r in enumerate(batch):
                    resp = texts[j * K : (j + 1) * K]
                    ans = []
                    for s in resp:
                        f = re.findall(r"\b(positive|negative)\b", s.lower())
                        ans.append(f[-1] if f else None)
                    abst += sum(a is None for a in ans)
                    corr += [a == r["label"] for a in ans]
                    c: dict[str, int] = {}
                    for a in ans:
                        if a:
                            c[a] = c.get(a, 0) + 1
                    maj.append((max(c, key=c.get) if c else None) == r["label"])
                    out.write(
                        json.dumps({"template": name, "id": r["id"], "gold": r["label"], "responses": resp}) + "\n"
                    )
            print(
                name,
                "avg",
                sum(corr) / len(corr),
                "maj",
                sum(maj) / len(maj),
                "abstain",
                abst / len(corr),
                "t",
                round(time.time() - t0),
                flush=True,
            )


if __name__ == "__main__":
    main()
