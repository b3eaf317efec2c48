"""Assemble the public part of the equivalence case set from the upstream test suites.

Reads the test files of public graders (pinned commits, fetched as git mirrors) with
``ast.literal_eval`` on their ``pytest.mark.parametrize`` lists / unittest asserts, so the
runtime strings are kept exactly (double backslashes, form feeds and tabs included).
Nothing is imported or executed from those repositories.

Usage::

    python benchmarks/math_equivalence/harvest.py --mirror /work/.mirror \
        --out benchmarks/math_equivalence/cases_public.jsonl

Each output line: ``{"pred", "gold", "expected", "source", "options"?, "note"?}``.
``options`` records non-default Math-Verify options a case depends on; cases that only hold
under a non-default option (``strict=False``, ``allow_set_relation_comp=True``) are dropped.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

MV = "huggingface+Math-Verify"
NEMO = "NVIDIA+NeMo-Skills"
HENDRYCKS = "hendrycks+math"

# Upstream expectations we do not adopt, with the reason (written to the case's "note").
OVERRIDES: dict[tuple[str, str], tuple[int, str]] = {
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$"): (
        0, "upstream asserts equal (Math-Verify #14); 1-1/e != 1+1/e"),
}


def git_show(repo: Path, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_commit(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def parametrize_cases(source: str) -> Iterator[tuple[str, list[str], list[tuple]]]:
    """(function name, argnames, rows) for every literal parametrize decorator."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize"):
                continue
            try:
                names = ast.literal_eval(dec.args[0])
                elts = dec.args[1].elts
            except (ValueError, SyntaxError, IndexError, AttributeError):
                continue
            if isinstance(names, str):
                names = [n.strip() for n in names.split(",")]
            rows = []
            for e in elts:  # row by row: a non-literal row (e.g. ``5 / 2``) is skipped alone
                try:
                    r = ast.literal_eval(e)
                except ValueError:
                    continue
                rows.append(r if len(names) > 1 else (r,))
            yield node.name, list(names), rows


def harvest_math_verify(repo: Path, sdist_tests: Path | None = None) -> Iterator[dict[str, Any]]:
    """Math-Verify's tests, from the git mirror or (newer) from the PyPI 0.9.0 sdist's tests/."""
    if sdist_tests is not None:
        commit = "0.9.0-sdist"

        def read(f: str) -> str:
            return (sdist_tests / Path(f).name).read_text(encoding="utf-8")
    else:
        commit = git_commit(repo)

        def read(f: str) -> str:
            return git_show(repo, f)
    files = ["tests/test_all.py", "tests/test_numina_cases.py", "tests/test_open_thoughts.py",
             "tests/test_yujianll.py", "tests/test_boxed.py", "tests/test_strict.py", "tests/test_string_extraction.py"]
    for f in files:
        for fn, names, rows in parametrize_cases(read(f)):
            if "gold" not in names or "pred" not in names:
                continue
            for row in rows:
                d = dict(zip(names, row))
                exp = d.get("expected", d.get("result"))
                if exp is None:
                    continue
                opts = {k: d[k] for k in ("precision", "strict", "allow_set_relation_comp") if k in d}
                if opts.get("strict") is False or opts.get("allow_set_relation_comp") is True:
                    continue
                case = {"pred": d["pred"], "gold": d["gold"], "expected": int(bool(exp)),
                        "source": f"math-verify@{commit}:{f}::{fn}"}
                if fn in ("test_float_precision", "test_sqrt_precision", "test_symbols"):
                    opts.setdefault("precision", 5)
                if opts:
                    case["options"] = opts
                yield case


def harvest_nemo(repo: Path) -> Iterator[dict[str, Any]]:
    commit = git_commit(repo)
    f = "tests/test_math_equal.py"
    for fn, names, rows in parametrize_cases(git_show(repo, f)):
        expected = 1 if "correct" in fn and "incorrect" not in fn else 0
        for (pair,) in rows:
            a, b = pair
            if a is None or b is None:
                continue
            a, b = str(a), str(b)
            # NeMo asserts both argument orders: keep both as separate cases.
            yield {"pred": b, "gold": a, "expected": expected, "source": f"nemo-skills@{commit}:{f}::{fn}"}
            yield {"pred": a, "gold": b, "expected": expected,
                   "source": f"nemo-skills@{commit}:{f}::{fn}(swapped)"}


def harvest_hendrycks(repo: Path) -> Iterator[dict[str, Any]]:
    commit = git_commit(repo)
    f = "modeling/math_equivalence_test.py"
    tree = ast.parse(git_show(repo, f))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        env: dict[str, str] = {}
        for st in node.body:
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                env[st.targets[0].id] = ast.literal_eval(st.value)
            elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
                attr = getattr(st.value.func, "attr", "")
                if attr in ("assertTrue", "assertFalse"):
                    yield {"pred": env["test_out"], "gold": env["test_in"],
                           "expected": int(attr == "assertTrue"),
                           "source": f"hendrycks-math@{commit}:{f}::{node.name}"}


LIGHTEVAL = "huggingface+lighteval"
LIGHTEVAL_COMMIT = "9d6b912603bd144a2920db29a50e80b25bb5e613"  # last commit with test_extractive_match.py


def harvest_lighteval(repo: Path, skip: set) -> Iterator[dict[str, Any]]:
    """Lighteval's extractive-match tests (Math-Verify's ancestor): only the English math
    cases that are not already in the Math-Verify set."""
    f = "tests/unit/metrics/test_extractive_match.py"
    src = subprocess.run(["git", "-C", str(repo), "show", f"{LIGHTEVAL_COMMIT}:{f}"], check=True,
                         capture_output=True, text=True).stdout
    for fn, names, rows in parametrize_cases(src):
        if "gold" not in names or "pred" not in names or fn == "test_extraction_abc":
            continue
        for row in rows:
            d = dict(zip(names, row))
            if "language" in d or "match_type" in d or (d["gold"], d["pred"]) in skip:
                continue
            if d.get("precision", 6) != 6 and fn != "test_complex_math_expressions":
                continue
            skip.add((d["gold"], d["pred"]))
            yield {"pred": d["pred"], "gold": d["gold"], "expected": int(bool(d["expected"])),
                   "source": f"lighteval@{LIGHTEVAL_COMMIT[:7]}:{f}::{fn}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default="/work/.mirror")
    ap.add_argument("--mv-sdist-tests", help="tests/ of the math-verify PyPI sdist (newer than git); "
                    "get it with: pip download math-verify==0.9.0 --no-binary :all: --no-deps")
    ap.add_argument("--out", default=str(Path(__file__).with_name("cases_public.jsonl")))
    args = ap.parse_args()
    root = Path(args.mirror)
    cases: list[dict[str, Any]] = []
    cases += harvest_math_verify(root / MV / "repo", Path(args.mv_sdist_tests) if args.mv_sdist_tests else None)
    cases += harvest_nemo(root / NEMO / "repo")
    cases += harvest_hendrycks(root / HENDRYCKS / "repo")
    seen = set()
    with open(args.out, "w", encoding="utf-8") as fh:
        for c in cases:
            k = (c["gold"], c["pred"])
            if k in seen:
                continue
            seen.add(k)
            if k in OVERRIDES:
                c["expected"], c["note"] = OVERRIDES[k]
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"wrote {len(seen)} cases to {args.out}")
    lt_out = Path(args.out).with_name("cases_lighteval.jsonl")
    if (root / LIGHTEVAL / "repo").exists():
        extra = list(harvest_lighteval(root / LIGHTEVAL / "repo", set(seen)))
        with open(lt_out, "w", encoding="utf-8") as fh:
            for c in extra:
                fh.write(json.dumps(c, ensure_ascii=False) + "\n")
        print(f"wrote {len(extra)} extra lighteval cases to {lt_out}")


if __name__ == "__main__":
    main()
