"""Loaders: the real Rotten Tomatoes file, slicing, one-line errors, CSV, hub (mocked)."""

from __future__ import annotations

import json
import sys
import types
from typing import ClassVar

import pytest

from ttrl_kit import ConfigError, InputError, get_registry
from ttrl_text_cls.datasets import load_auto, load_csv, load_hub, load_jsonl


def test_rotten_tomatoes_loads_with_stable_ids(rt_path):
    rows = get_registry().dataset_loader("text_cls")(str(rt_path), labels=["positive", "negative"])
    assert len(rows) == 4866
    assert len({r["id"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"positive", "negative"}
    assert sum(r["label"] == "positive" for r in rows) == 2455
    again = load_jsonl(str(rt_path))
    assert [r["id"] for r in again] == [r["id"] for r in rows]


def test_train_and_heldout_slices_are_disjoint_and_reproducible(rt_path):
    train = load_jsonl(str(rt_path), shuffle=True, seed=7, offset=0, limit=32)
    held = load_jsonl(str(rt_path), shuffle=True, seed=7, offset=1000, limit=100)
    assert len(train) == 32 and len(held) == 100
    assert not {r["id"] for r in train} & {r["id"] for r in held}
    assert [r["id"] for r in train] == [r["id"] for r in load_jsonl(str(rt_path), shuffle=True, seed=7, limit=32)]
    assert [r["id"] for r in train] != [r["id"] for r in load_jsonl(str(rt_path), shuffle=True, seed=8, limit=32)]
    plain = load_jsonl(str(rt_path), limit=3)
    assert [r["id"] for r in plain] == ["rt-156", "rt-157", "rt-158"]


def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(p)


@pytest.mark.parametrize(
    "lines,opts,fragment",
    [
        (
            [json.dumps({"id": "a", "text": "ok", "label": "positive"}), json.dumps({"id": "b", "label": "negative"})],
            {},
            ":2: missing field 'text'",
        ),
        (
            [json.dumps({"id": "a", "text": "  ", "label": "positive"})],
            {},
            ":1: field 'text': expected a non-empty string",
        ),
        ([json.dumps({"text": "ok", "label": "positive"})], {}, ":1: missing field 'id'"),
        (
            [json.dumps({"id": [1], "text": "ok", "label": "positive"})],
            {},
            ":1: field 'id': expected a string or integer",
        ),
        ([json.dumps({"id": "a", "text": "ok"})], {}, ":1: missing field 'label'"),
        (
            [json.dumps({"id": "a", "text": "ok", "label": "meh"})],
            {"labels": ["positive", "negative"]},
            ":1: field 'label': 'meh' is not one of",
        ),
        (
            [
                json.dumps({"id": "a", "text": "ok", "label": "positive"}),
                "",
                json.dumps({"id": "a", "text": "x", "label": "negative"}),
            ],
            {},
            ":3: field 'id': duplicate id 'a' (first at ",
        ),
        (["{not json"], {}, ":1: invalid JSON"),
    ],
)
def test_jsonl_bad_rows_give_one_line_errors(tmp_path, lines, opts, fragment):
    path = _write(tmp_path, "bad.jsonl", lines)
    with pytest.raises(InputError) as ei:
        load_jsonl(path, **opts)
    msg = str(ei.value)
    assert msg.startswith(path) and fragment in msg and "\n" not in msg


def test_unlabeled_rows_auto_ids_and_option_errors(tmp_path):
    path = _write(tmp_path, "u.jsonl", [json.dumps({"text": "one"}), json.dumps({"text": "two"})])
    rows = load_jsonl(path, label_field=None, auto_id=True)
    assert [r["id"] for r in rows] == ["u-0", "u-1"]
    rows = load_jsonl(path, require_label=False, auto_id=True, offset=1)
    assert [r["text"] for r in rows] == ["two"]
    with pytest.raises(ConfigError, match="unknown option 'limt'"):
        load_jsonl(path, limt=3)
    with pytest.raises(ConfigError, match="limit"):
        load_jsonl(path, limit=0)
    with pytest.raises(InputError, match="file not found"):
        load_jsonl(str(tmp_path / "nope.jsonl"))


def test_csv_and_tsv(tmp_path):
    p = tmp_path / "reviews.csv"
    p.write_text(
        'id,text,label\n1,"Great, moving film",positive\n2,"Line one\nline two",negative\n\n3,Dull,negative\n',
        encoding="utf-8",
    )
    rows = load_auto(str(p))
    assert [(r["id"], r["label"]) for r in rows] == [("1", "positive"), ("2", "negative"), ("3", "negative")]
    assert rows[1]["text"] == "Line one\nline two"
    t = tmp_path / "r.tsv"
    t.write_text("text\tlabel\nfine\tpositive\n", encoding="utf-8")
    assert load_csv(str(t), auto_id=True)[0] == {"text": "fine", "label": "positive", "id": "r-0"}


def test_csv_errors_name_line_and_field(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text('id,text,label\n1,"fine",positive\n2,"multi\nline",negative\n3,,negative\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:5: field 'text': expected a non-empty string"):
        load_csv(str(p))
    q = tmp_path / "nocol.csv"
    q.write_text("id,review,label\n1,x,positive\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nocol\.csv:1: field 'text': no such column; columns: id, review, label"):
        load_csv(str(q))
    assert load_csv(str(q), text_field="review")[0]["review"] == "x"
    r = tmp_path / "extra.csv"
    r.write_text("id,text,label\n1,x,positive,oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"extra\.csv:2: more fields"):
        load_csv(str(r))


class _FakeLabel:
    names: ClassVar[list[str]] = ["neg", "pos"]


class _FakeSplit(list):
    features: ClassVar[dict[str, _FakeLabel]] = {"label": _FakeLabel()}


def test_hub_loader_maps_class_labels_without_network(monkeypatch):
    """The hub path is not exercised against the network; a stand-in ``datasets`` module
    checks the arguments we pass and the row conversion."""
    calls = {}

    def load_dataset(name, config=None, *, split, revision=None, cache_dir=None):
        calls.update(name=name, config=config, split=split)
        return _FakeSplit([{"text": "good", "label": 1}, {"text": "bad", "label": 0}])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    rows = load_auto("hf:rotten_tomatoes", split="validation", limit=5)
    assert calls == {"name": "rotten_tomatoes", "config": None, "split": "validation"}
    assert rows == [
        {"text": "good", "label": "pos", "id": "rotten_tomatoes/validation/0"},
        {"text": "bad", "label": "neg", "id": "rotten_tomatoes/validation/1"},
    ]

    def broken(*a, **k):
        raise ConnectionError("offline\nsecond line")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=broken))
    with pytest.raises(InputError) as ei:
        load_hub("rotten_tomatoes")
    assert "cannot load: ConnectionError: offline" in str(ei.value) and "\n" not in str(ei.value)
