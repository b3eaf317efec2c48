"""A seeded, offline visual question set drawn with pillow: the multimodal demo task.

Why: nothing here may download a dataset, and a vision-language pipeline needs images whose
answers are known (for reporting only: engines never train on them).  Three families, each
answerable from the picture alone:

- ``count``: "How many circles are in the image?" (1..max_count shapes, optional distractors
  of another shape) -> a number;
- ``larger``: two shapes of different kinds, one at least 1.6x the other's area, "Which shape
  is larger?" with options A/B -> a letter;
- ``digit``: one large digit in a random colour and place -> a number;
- ``mixed``: the three families in turn.

Every row is ``{"id", "question", "images", "answer", "family", "source"}``.  Images are PNG
files under ``image_dir`` (paths in the row: JSON-friendly, inspectable, reused on the next
call with the same seed), or PNG bytes when ``inline=True``.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ttrl_kit import ConfigError

SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (220, 40, 40),
    "blue": (40, 80, 220),
    "green": (30, 160, 60),
    "orange": (240, 140, 20),
    "purple": (140, 60, 180),
    "black": (20, 20, 20),
}


def _draw_shape(d: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float, fill: tuple[int, int, int]) -> None:
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif kind == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)], fill=fill)


def _place(r: random.Random, size: int, radii: list[float]) -> list[tuple[float, float]] | None:
    """Non-overlapping centres for shapes of the given radii (bounding circles), or None."""
    placed: list[tuple[float, float, float]] = []
    for rad in radii:
        for _ in range(200):
            cx, cy = r.uniform(rad + 2, size - rad - 2), r.uniform(rad + 2, size - rad - 2)
            if all((cx - x) ** 2 + (cy - y) ** 2 > (rad * 1.5 + q * 1.5) ** 2 for x, y, q in placed):
                placed.append((cx, cy, rad))
                break
        else:
            return None
    return [(x, y) for x, y, _ in placed]


def _count(r: random.Random, size: int, max_count: int, distractors: bool) -> tuple[Image.Image, str, str, dict]:
    target = r.choice(SHAPES)
    k = r.randint(1, max_count)
    others = [s for s in SHAPES if s != target]
    extra = r.randint(0, 2) if distractors else 0
    while True:
        radii = [r.uniform(size * 0.05, size * 0.09) for _ in range(k + extra)]
        centres = _place(r, size, radii)
        if centres is not None:
            break
    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    colour = r.choice(list(COLOURS))
    for i, ((cx, cy), rad) in enumerate(zip(centres, radii)):
        kind = target if i < k else r.choice(others)
        _draw_shape(d, kind, cx, cy, rad, COLOURS[colour] if i < k else COLOURS[r.choice(list(COLOURS))])
    return img, f"How many {target}s are in the image?", str(k), {"shape": target, "count": k, "distractors": extra}


AREA_COEF = {"circle": 3.14159, "square": 4.0, "triangle": 1.8}  # area / radius**2 as drawn


def _larger(r: random.Random, size: int, max_count: int, distractors: bool) -> tuple[Image.Image, str, str, dict]:
    kinds = r.sample(SHAPES, 2)
    colours = r.sample(list(COLOURS), 2)
    big_first = r.random() < 0.5
    big_kind, small_kind = (kinds[0], kinds[1]) if big_first else (kinds[1], kinds[0])
    small_r = r.uniform(size * 0.06, size * 0.1)
    ratio = r.uniform(1.6, 3.0)  # true drawn-area ratio, so the answer is never a close call
    big_r = (ratio * AREA_COEF[small_kind] * small_r**2 / AREA_COEF[big_kind]) ** 0.5
    radii = [big_r, small_r] if big_first else [small_r, big_r]
    while True:
        centres = _place(r, size, radii)
        if centres is not None:
            break
    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for (cx, cy), rad, kind, col in zip(centres, radii, kinds, colours):
        _draw_shape(d, kind, cx, cy, rad, COLOURS[col])
    options = [f"the {colours[0]} {kinds[0]}", f"the {colours[1]} {kinds[1]}"]
    question = f"Which shape is larger?\nOptions: A. {options[0]} B. {options[1]}"
    return img, question, "A" if big_first else "B", {"options": options, "area_ratio": round(ratio, 3)}


_FONT_CACHE: dict[int, Any] = {}


def _font(px: int) -> Any:
    if px not in _FONT_CACHE:
        try:
            _FONT_CACHE[px] = ImageFont.load_default(size=px)  # scalable when pillow has FreeType
        except (TypeError, OSError, ImportError):
            _FONT_CACHE[px] = ImageFont.load_default()
    return _FONT_CACHE[px]


def _digit(r: random.Random, size: int, max_count: int, distractors: bool) -> tuple[Image.Image, str, str, dict]:
    digit = r.randint(0, 9)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    px = int(size * r.uniform(0.45, 0.7))
    font = _font(px)
    box = d.textbbox((0, 0), str(digit), font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    x = r.uniform(0, max(1, size - w)) - box[0]
    y = r.uniform(0, max(1, size - h)) - box[1]
    colour = r.choice(list(COLOURS))
    d.text((x, y), str(digit), fill=COLOURS[colour], font=font)
    return img, "What digit is shown in the image?", str(digit), {"digit": digit, "colour": colour}


FAMILIES: dict[str, Callable[..., tuple[Image.Image, str, str, dict]]] = {
    "count": _count,
    "larger": _larger,
    "digit": _digit,
}


def default_image_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ttrl-kit" / "visual_synth"


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def generate(
    family: str = "mixed",
    n: int = 32,
    seed: int = 0,
    size: int = 224,
    max_count: int = 6,
    distractors: bool = True,
    image_dir: str | os.PathLike | None = None,
    inline: bool = False,
) -> list[dict[str, Any]]:
    """``n`` questions, identical for the same arguments (images included, byte for byte)."""
    if family != "mixed" and family not in FAMILIES:
        raise ConfigError(f"visual_synth: unknown family {family!r}; known: mixed, {', '.join(FAMILIES)}")
    for name, value, low in (("n", n, 1), ("size", size, 56), ("max_count", max_count, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"visual_synth: {name} must be an integer >= {low}, got {value!r}")
    if size > 2048:
        raise ConfigError(f"visual_synth: size must be at most 2048, got {size}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"visual_synth: seed must be an integer, got {seed!r}")
    if max_count > 12:
        raise ConfigError(f"visual_synth: max_count must be at most 12 (the shapes must fit), got {max_count}")
    names = list(FAMILIES) if family == "mixed" else [family]
    r = random.Random(f"visual_synth:{family}:{seed}")
    out_dir: Path | None = None
    if not inline:
        out_dir = Path(image_dir) if image_dir is not None else default_image_dir()
        out_dir = out_dir / f"{family}-s{seed}-px{size}-c{max_count}{'-d' if distractors else ''}"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"visual_synth: cannot create image_dir {out_dir}: {exc.strerror}") from None
    rows = []
    for i in range(n):
        fam = names[i % len(names)]
        img, question, answer, meta = FAMILIES[fam](r, size, max_count, distractors)
        data = _png(img)
        rid = f"{family}-{seed}-{i}"
        if inline:
            image: Any = data
        else:
            assert out_dir is not None
            path = out_dir / f"{i:05d}-{fam}.png"
            if not path.exists() or path.read_bytes() != data:
                tmp = path.with_suffix(".png.partial")
                tmp.write_bytes(data)
                tmp.replace(path)
            image = str(path)
        rows.append(
            {
                "id": rid,
                "question": question,
                "images": [image],
                "answer": answer,
                "family": fam,
                "source": f"visual_synth/{fam}",
                "meta": meta,
                "image_sha1": hashlib.sha1(data).hexdigest()[:12],
            }
        )
    return rows


def load_visual_synth(source: str = "mixed", **options: Any) -> list[dict[str, Any]]:
    """Dataset loader: ``source`` is the family (``count``, ``larger``, ``digit`` or ``mixed``)."""
    known = {"n", "seed", "size", "max_count", "distractors", "image_dir", "inline"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"visual_synth: unknown option {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return generate(family=source or "mixed", **options)


def main(argv: list[str] | None = None) -> int:
    """``python -m ttrl_multimodal.synthetic --out DIR``: write ``DIR/data.jsonl`` and ``DIR/images/``."""
    import argparse

    from ttrl_multimodal.datasets import write_jsonl

    p = argparse.ArgumentParser(prog="python -m ttrl_multimodal.synthetic", description=main.__doc__)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--family", default="mixed", choices=["mixed", *FAMILIES])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--max-count", type=int, default=6)
    p.add_argument("--no-distractors", action="store_true")
    a = p.parse_args(argv)
    try:
        rows = generate(
            a.family,
            n=a.n,
            seed=a.seed,
            size=a.size,
            max_count=a.max_count,
            distractors=not a.no_distractors,
            image_dir=Path(a.out) / "images",
        )
        path = write_jsonl(rows, Path(a.out) / "data.jsonl")
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
