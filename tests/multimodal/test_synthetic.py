import hashlib
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from ttrl_kit import ConfigError, get_registry
from ttrl_multimodal.synthetic import COLOURS, generate


def load(**kw):
    return get_registry().dataset_loader("visual_synth")(**kw)


def test_seeded_and_reproducible(tmp_path):
    a = load(source="mixed", n=9, seed=5, image_dir=str(tmp_path / "a"))
    b = load(source="mixed", n=9, seed=5, image_dir=str(tmp_path / "b"))
    c = load(source="mixed", n=9, seed=6, image_dir=str(tmp_path / "c"))
    assert [r["image_sha1"] for r in a] == [r["image_sha1"] for r in b]
    assert [r["question"] for r in a] == [r["question"] for r in b]
    assert [r["image_sha1"] for r in a] != [r["image_sha1"] for r in c]
    for r in a:  # the file on disk is the image the row describes
        assert hashlib.sha1(open(r["images"][0], "rb").read()).hexdigest()[:12] == r["image_sha1"]
    assert Counter(r["family"] for r in a) == {"count": 3, "larger": 3, "digit": 3}
    assert len({r["id"] for r in a}) == 9


def _colour_pixels(img, rgb):
    return int((np.asarray(img) == np.array(rgb, dtype=np.uint8)).all(axis=-1).sum())


def test_labels_agree_with_the_pictures():
    rows = generate("mixed", n=30, seed=1, inline=True)
    for r in rows:
        img = Image.open(__import__("io").BytesIO(r["images"][0])).convert("RGB")
        if r["family"] == "larger":
            # the option named by the answer is drawn with more pixels of its colour
            colours = [o.split()[1] for o in r["meta"]["options"]]
            sizes = [_colour_pixels(img, COLOURS[c]) for c in colours]
            assert "AB"[sizes.index(max(sizes))] == r["answer"], r
        elif r["family"] == "count":
            assert 1 <= int(r["answer"]) <= 6 and r["meta"]["count"] == int(r["answer"])
            assert f"{r['meta']['shape']}s" in r["question"]
        else:
            assert r["answer"] in "0123456789" and len(r["answer"]) == 1
            non_white = int((np.asarray(img) != 255).any(axis=-1).sum())
            assert non_white > 200  # a digit was really drawn


def test_each_family_and_inline_bytes():
    for fam in ("count", "larger", "digit"):
        rows = generate(fam, n=3, seed=0, inline=True, size=112)
        assert {r["family"] for r in rows} == {fam}
        assert isinstance(rows[0]["images"][0], bytes)


@pytest.mark.parametrize("kw", [{"source": "colours"}, {"n": 0}, {"size": 10}, {"max_count": 40},
                                {"seed": "x"}, {"resolution": 3}])
def test_bad_options(kw, tmp_path):
    kw.setdefault("source", "mixed")
    with pytest.raises(ConfigError):
        load(image_dir=str(tmp_path), **kw)


def test_write_dataset_cli_then_load_it_back(tmp_path):
    from ttrl_multimodal.synthetic import main

    assert main(["--out", str(tmp_path / "ds"), "--n", "4", "--seed", "2"]) == 0
    rows = get_registry().dataset_loader("visual_file")(str(tmp_path / "ds" / "data.jsonl"))
    assert len(rows) == 4 and rows[0]["images"][0].startswith("images/")
    task = get_registry().task("multimodal")
    img = task.build_prompt(rows[0])[0]["content"][0]["image"]
    assert img.size == (224, 224)
