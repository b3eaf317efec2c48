import base64
import math
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ttrl_kit import ConfigError, InputError
from ttrl_multimodal import images as im


@settings(max_examples=300, deadline=None)
@given(h=st.integers(1, 6000), w=st.integers(1, 6000),
       lo=st.integers(4, 64), span=st.integers(0, 2000))
def test_smart_resize_respects_grid_and_budget(h, w, lo, span):
    min_px, max_px = lo * 784, (lo + span) * 784
    if max(h, w) / min(h, w) > im.MAX_ASPECT_RATIO:
        with pytest.raises(ValueError):
            im.smart_resize(h, w, min_pixels=min_px, max_pixels=max_px)
        return
    rh, rw = im.smart_resize(h, w, min_pixels=min_px, max_pixels=max_px)
    assert rh % 28 == 0 and rw % 28 == 0 and rh >= 28 and rw >= 28
    assert rh * rw <= max_px  # the token budget is a hard limit
    if max_px >= 2 * min_px:
        assert rh * rw >= min_px
    # the aspect ratio moves by about one unit per side at most (unless a side is clamped to one unit)
    if min(rh, rw) >= 3 * 28 and max(h, w) / min(h, w) < 50:
        assert abs(math.log((rh / rw) / (h / w))) <= 2.5 * 28 / min(rh, rw)


def test_smart_resize_known_values():
    assert im.smart_resize(168, 224) == (168, 224)  # already on the grid: 6x8 units = 48 tokens
    assert im.smart_resize(100, 60, min_pixels=4 * 784, max_pixels=64 * 784) == (112, 56)
    h, w = im.smart_resize(2000, 3000, min_pixels=4 * 784, max_pixels=64 * 784)
    assert h * w <= 64 * 784 and (h, w) == (168, 252)
    assert im.smart_resize(10, 10, min_pixels=16 * 784, max_pixels=64 * 784) == (112, 112)


def _png(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_open_image_from_every_supported_form(tmp_path):
    img = Image.new("RGB", (30, 20), (1, 2, 3))
    data = _png(img)
    (tmp_path / "a.png").write_bytes(data)
    forms = [
        img, data, {"bytes": data, "path": None}, {"path": "a.png"}, "a.png", str(tmp_path / "a.png"),
        f"file://{tmp_path / 'a.png'}", "data:image/png;base64," + base64.b64encode(data).decode(),
    ]
    for spec in forms:
        out = im.open_image(spec, base_dir=tmp_path)
        assert out.size == (30, 20) and out.getpixel((0, 0))[:3] == (1, 2, 3)


@pytest.mark.parametrize("spec,needle", [
    ("missing.png", "image file not found"),
    (b"not an image", "cannot decode image"),
    ("https://example.com/x.png", "not fetched"),
    ("data:image/png;base64,!!!", "not valid base64"),
    ({"foo": 1}, "neither 'bytes' nor 'path'"),
    (12, "expected an image path"),
    ("", "empty image path"),
])
def test_bad_images_give_one_line_input_errors(tmp_path, spec, needle):
    with pytest.raises(InputError) as e:
        im.open_image(spec, base_dir=tmp_path, where="data.jsonl:7: field 'images'[0]")
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and msg.startswith("data.jsonl:7")


def test_oversized_images_are_refused(monkeypatch):
    data = _png(Image.new("RGB", (100, 100)))
    monkeypatch.setattr(im, "MAX_DECODED_PIXELS", 5000)
    with pytest.raises(InputError, match="more than 5000 pixels"):
        im.open_image(data)
    monkeypatch.setattr(im, "MAX_FILE_BYTES", 10)
    with pytest.raises(InputError, match="more than the limit"):
        im.open_image(data)


def test_fit_image_converts_to_rgb_on_the_grid():
    rgba = Image.new("RGBA", (50, 90), (255, 0, 0, 0))
    out = im.fit_image(rgba, min_pixels=4 * 784, max_pixels=16 * 784)
    assert out.mode == "RGB" and out.width % 28 == 0 and out.height % 28 == 0
    assert out.getpixel((1, 1)) == (255, 255, 255)  # transparent -> white, not black
    assert im.image_tokens(out) == (out.width // 28) * (out.height // 28)
    with pytest.raises(InputError, match="aspect ratio"):
        im.fit_image(Image.new("L", (1, 500)))


def test_pixel_budget_validation():
    assert im.check_pixel_budget(784, 1568) == (784, 1568)
    for lo, hi in [(10, 1568), (2000, 1000), ("784", 1568), (True, 1568)]:
        with pytest.raises(ConfigError):
            im.check_pixel_budget(lo, hi)
