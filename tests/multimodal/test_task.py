import types

import pytest
from PIL import Image

from ttrl_kit import ConfigError, GroupScorer, InputError, KeyedTask, PluginRegistry, get_registry, hookimpl, split_images
from ttrl_kit.engines.embedded.vision import QWEN2_VL_CHAT_TEMPLATE
from ttrl_multimodal import task as task_mod


def mm(**opts):
    return get_registry().task("multimodal", **opts)


def test_build_prompt_images_first_then_text(synth_rows):
    row = synth_rows[0]
    msgs = mm().build_prompt(row)
    assert [m["role"] for m in msgs] == ["user"]
    parts = msgs[0]["content"]
    assert parts[0]["type"] == "image" and isinstance(parts[0]["image"], Image.Image)
    assert parts[0]["image"].width % 28 == 0 and parts[0]["image"].mode == "RGB"
    assert parts[1]["type"] == "text" and parts[1]["text"].startswith(row["question"])
    assert parts[1]["text"].endswith("put your final answer within \\boxed{}.")


def test_image_markers_choices_system_and_pixel_budget(tmp_path):
    Image.new("RGB", (400, 300), "red").save(tmp_path / "a.png")
    Image.new("RGB", (50, 50), "blue").save(tmp_path / "b.png")
    row = {"id": "g1", "problem": "Compare <image> with <image>. Which is red?", "images": ["a.png", "b.png"],
           "choices": ["left", "right"], "answer": "left", "_base_dir": str(tmp_path)}
    t = mm(prompt_style="letter", system="Be brief.", max_pixels=16 * 784)
    msgs = t.build_prompt(row)
    assert msgs[0] == {"role": "system", "content": "Be brief."}
    kinds = [p["type"] for p in msgs[1]["content"]]
    assert kinds == ["text", "image", "text", "image", "text"]
    big = msgs[1]["content"][1]["image"]
    assert big.width * big.height <= 16 * 784
    assert "Options: A. left B. right" in msgs[1]["content"][4]["text"]
    assert t.gold_label(row) == "A"  # an option text maps to its letter
    placeholders, images = split_images(msgs)
    assert [p for p in placeholders[1]["content"] if p["type"] == "image"] == [{"type": "image"}] * 2
    assert images[0] is big


def test_row_errors_name_the_row(tmp_path):
    t = mm()
    with pytest.raises(InputError, match=r"data.jsonl:3 \(id 'x'\): missing field 'question'"):
        t.build_prompt({"id": "x", "_where": "data.jsonl:3", "images": []})
    with pytest.raises(InputError, match="2 '<image>' markers but the row has 1 images"):
        t.build_prompt({"id": "x", "question": "<image> vs <image>", "images": [Image.new("RGB", (30, 30))]})
    with pytest.raises(InputError, match=r"row id 'y': field 'images'\[0\]: image file not found"):
        t.build_prompt({"id": "y", "question": "q", "images": [str(tmp_path / "nope.png")]})
    with pytest.raises(InputError, match="more than max_images=1"):
        mm(max_images=1).build_prompt({"id": "z", "question": "q", "images": [Image.new("RGB", (30, 30))] * 2})


@pytest.mark.parametrize("opts", [{"prompt_style": "poem"}, {"answer_type": "colour"}, {"strict": "yes"},
                                  {"min_pixels": 10}, {"max_images": 0}, {"bogus": 1}])
def test_bad_options_are_config_errors(opts):
    with pytest.raises(ConfigError):
        mm(**opts)


def test_group_answers_merges_forms_of_the_same_answer():
    t = mm(number_task="none", choice_task="none")
    answers = ["3", "three", "3 circles", "4", "B", "(B)", "option b", "red", "Red.", None, "0.5", "1/2"]
    c = t.group_answers(answers)
    cls = c.class_of
    assert cls[0] == cls[1] == cls[2] != cls[3]
    assert cls[4] == cls[5] == cls[6] and cls[4] not in (cls[0], cls[3])
    assert cls[7] == cls[8] and cls[9] is None and cls[10] == cls[11]
    assert c.representatives[cls[1]] == "3"  # classes numbered by first appearance, first member represents
    assert list(c.representatives) == ["3", "4", "B", "red", "0.5"]


def test_vote_through_the_scorer():
    scorer = GroupScorer.from_names("multimodal", "majority", task_options={"number_task": "none"})
    r = scorer.score(["\\boxed{3}", "There are three circles.", "I count 4", "The answer is 3", "???"], gold="3")
    assert r.label == "3" and r.label_correct
    assert list(r.rewards) == [1.0, 1.0, 0.0, 1.0, 0.0]


class _HalfMath(KeyedTask):
    """A stand-in 'math' task that knows \\frac{1}{2} = 0.5 (the built-in rule does not)."""

    name = "math"
    calls = 0

    def canonical_key(self, answer):
        _HalfMath.calls += 1
        return {"\\frac{1}{2}": "half", "0.5": "half"}.get(answer.strip(), answer.strip())


class _Letters(KeyedTask):
    name = "text_cls"

    def __init__(self, labels=()):
        self.labels = [x.lower() for x in labels]

    def canonical_key(self, answer):
        return answer.lower() if answer.lower() in self.labels else None


def _registry_with(*tasks):
    class P:
        @hookimpl
        def register_tasks(self, register):
            for t in tasks:
                register(t.name, t)
    return PluginRegistry(load_entry_points=False, extra_plugins=[("fake", P())])


def test_numbers_and_letters_are_grouped_by_the_registered_tasks(monkeypatch):
    monkeypatch.setattr(task_mod, "get_registry", lambda: _registry_with(_HalfMath, _Letters))
    t = task_mod.VisualQATask()
    c = t.group_answers(["\\frac{1}{2}", "0.5", "B", "(B)"])
    assert c.class_of == (0, 0, 1, 1)
    assert _HalfMath.calls > 0
    assert t.delegates() == {"numeric": "task:math", "choice": "task:text_cls", "text": "builtin"}
    assert t.is_correct("\\frac{1}{2}", "0.5")


def test_missing_delegates_degrade_with_one_clear_warning(monkeypatch, mm_log):
    monkeypatch.setattr(task_mod, "get_registry", lambda: _registry_with())
    t = task_mod.VisualQATask()
    c = t.group_answers(["\\frac{1}{2}", "0.5", "1/2", "3", "B", "B"])
    assert c.class_of == (0, 1, 1, 2, 3, 3)  # exact rationals still merge; LaTeX stays apart
    t.group_answers(["1", "2"])
    warnings = [r.getMessage() for r in mm_log.records]
    assert len(warnings) == 2, warnings  # once per delegate, not once per call
    assert any("task 'math' is unavailable" in w and "unknown task 'math'" in w for w in warnings)
    assert t.delegates()["numeric"] == "builtin"


def test_a_crashing_delegate_falls_back(monkeypatch, mm_log):
    class Boom(KeyedTask):
        name = "math"

        def group_answers(self, answers):
            raise RuntimeError("boom")

    monkeypatch.setattr(task_mod, "get_registry", lambda: _registry_with(Boom))
    c = task_mod.VisualQATask(choice_task=None).group_answers(["2", "2.0", "3"])
    assert c.class_of == (0, 0, 1)
    assert any("failed while grouping" in r.getMessage() for r in mm_log.records)


def test_chat_template_matches_qwen_layout():
    from jinja2 import Template

    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How many?"}]}]
    out = Template(QWEN2_VL_CHAT_TEMPLATE).render(messages=msgs, add_generation_prompt=True)
    assert out == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                   "<|vision_start|><|image_pad|><|vision_end|>How many?<|im_end|>\n<|im_start|>assistant\n")
    sys_msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]
    assert Template(QWEN2_VL_CHAT_TEMPLATE).render(messages=sys_msgs, add_generation_prompt=False) == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n")
