import base64
import io
import json

import pytest
from PIL import Image

from ttrl_kit import ConfigError, InputError, get_registry


def load(path, **kw):
    return get_registry().dataset_loader("visual_file")(str(path), **kw)


def png(colour="red"):
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_jsonl_with_relative_paths_and_data_uris(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png())
    uri = "data:image/png;base64," + base64.b64encode(png("blue")).decode()
    lines = [{"id": 1, "question": "q1", "images": ["img/a.png"], "answer": "3"},
             {"question": "q2", "image": uri}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    rows = load(tmp_path / "d.jsonl")
    assert rows[0]["id"] == 1 and rows[1]["id"].endswith("d.jsonl:2")
    task = get_registry().task("multimodal")
    colours = [task.build_prompt(r)[0]["content"][0]["image"].getpixel((5, 5)) for r in rows]
    assert colours == [(255, 0, 0), (0, 0, 255)]
    assert load(tmp_path / "d.jsonl", limit=1) == rows[:1]


@pytest.mark.parametrize("line,needle", [
    ('{"images": ["a.png"]}', "missing field 'question'"),
    ('{"question": "q", "images": [3]}', "field 'images'[0]: expected an image path"),
    ('[1, 2]', "expected a JSON object"),
    ('{"question": ', "invalid JSON"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, needle):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"question": "ok"}\n' + line + "\n")
    with pytest.raises(InputError) as e:
        load(p)
    assert f"{p}:2" in str(e.value) and needle in str(e.value)


def test_geometry3k_style_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({
        "images": [[{"bytes": png(), "path": "x.png"}], [{"bytes": png("green"), "path": None}]],
        "problem": ["<image>Find x. Angle A is 30.", "<image>Find the area."],
        "answer": ["60", "2\\sqrt{3}"],
    })
    pq.write_table(table, tmp_path / "train.parquet")
    rows = load(tmp_path / "train.parquet")
    task = get_registry().task("multimodal")
    msgs = task.build_prompt(rows[1])
    assert msgs[0]["content"][0]["image"].getpixel((3, 3)) == (0, 128, 0)
    assert msgs[0]["content"][1]["text"].startswith("Find the area.")
    assert task.gold_label(rows[1]) == "2\\sqrt{3}"


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match="file not found .*download"):
        load("hiyouga/geometry3k")
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(ConfigError, match="unsupported file type"):
        load(tmp_path / "x.csv")
