"""Loading dataset images and sizing them the way Qwen2-VL / Qwen2.5-VL see them.

Why this module exists: ``qwen-vl-utils`` (the usual helper) imports torchvision at import
time, and the PyPI torchvision wheel does not load beside a CPU-only torch.  What we need from
it is small: open an image from whatever a dataset row holds (a path, raw bytes, a base64
data URI, a Hugging Face ``{"bytes", "path"}`` record or an already-open PIL image), convert it
to RGB, and resize it so that both sides are multiples of the vision encoder's 28-pixel unit
and the pixel count stays within ``[min_pixels, max_pixels]`` (the token budget of one image).

Images are untrusted input too: decoding is bounded (file size, decoded pixel count, aspect
ratio), and every failure is an :class:`ttrl_kit.InputError` whose one-line message says where
the image came from.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from pathlib import Path
from typing import Any

from PIL import Image

from ttrl_kit import ConfigError, InputError

#: One vision "unit": patch 14 x spatial merge 2 (Qwen2-VL and Qwen2.5-VL alike).
FACTOR = 28
#: Defaults of the Qwen2-VL processor: at least 4 and at most 16384 merged 28x28 patches.
DEFAULT_MIN_PIXELS = 4 * FACTOR * FACTOR
DEFAULT_MAX_PIXELS = 16384 * FACTOR * FACTOR
#: Beyond this ratio the image degenerates into a one-unit-wide strip; qwen refuses it too.
MAX_ASPECT_RATIO = 200.0
#: Refuse to read image files larger than this (bytes) and decoded images larger than this (pixels).
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DECODED_PIXELS = 64_000_000


def smart_resize(
    height: int,
    width: int,
    *,
    factor: int = FACTOR,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int]:
    """The ``(height, width)`` an image should be resized to before patching.

    Works in grid units of ``factor`` pixels: (1) round each side to the nearest unit (at
    least one); (2) if the area exceeds ``max_pixels`` scale both sides by the same
    ``sqrt(area / max_pixels)`` and floor, if it is below ``min_pixels`` scale up and ceil;
    (3) repair what rounding broke, one unit at a time, always on the side that keeps the
    aspect ratio closest.  Guarantees: both sides are multiples of ``factor``; the area never
    exceeds ``max_pixels`` (the token budget is a hard limit); the area reaches ``min_pixels``
    whenever ``max_pixels >= 2 * min_pixels`` (with a tighter window no grid shape of the right
    aspect may exist, and the maximum wins).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if max_pixels < factor * factor:
        raise ValueError(f"max_pixels ({max_pixels}) is smaller than one {factor}x{factor} unit")
    if min_pixels > max_pixels:
        raise ValueError(f"min_pixels ({min_pixels}) is larger than max_pixels ({max_pixels})")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(f"aspect ratio {max(height, width) / min(height, width):.0f} exceeds {MAX_ASPECT_RATIO:.0f}")
    unit = factor * factor
    u_max = max_pixels // unit
    u_min = min(u_max, -(-min_pixels // unit))
    aspect = height / width

    hu, wu = max(1, round(height / factor)), max(1, round(width / factor))
    if hu * wu > u_max:
        scale = math.sqrt(height * width / (u_max * unit))
        hu, wu = max(1, math.floor(height / scale / factor)), max(1, math.floor(width / scale / factor))
    elif hu * wu < u_min:
        scale = math.sqrt(u_min * unit / (height * width))
        hu, wu = math.ceil(height * scale / factor), math.ceil(width * scale / factor)

    def distortion(h: int, w: int) -> float:
        return abs(math.log((h / w) / aspect))

    while hu * wu > u_max:  # shrink, keeping the aspect ratio closest
        options = [(h, w) for h, w in ((hu - 1, wu), (hu, wu - 1)) if h >= 1 and w >= 1]
        hu, wu = min(options, key=lambda s: distortion(*s))
    while hu * wu < u_min:  # grow, without breaking the maximum
        options = [(h, w) for h, w in ((hu + 1, wu), (hu, wu + 1)) if h * w <= u_max]
        if not options:
            break
        hu, wu = min(options, key=lambda s: distortion(*s))
    return hu * factor, wu * factor


def check_pixel_budget(min_pixels: Any, max_pixels: Any, where: str = "multimodal") -> tuple[int, int]:
    """Validate ``min_pixels``/``max_pixels`` options (a config mistake, not a data one)."""
    for name, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)):
        if not isinstance(value, int) or isinstance(value, bool) or value < FACTOR * FACTOR:
            raise ConfigError(f"{where}: {name} must be an integer >= {FACTOR * FACTOR}, got {value!r}")
    if min_pixels > max_pixels:
        raise ConfigError(f"{where}: min_pixels ({min_pixels}) is larger than max_pixels ({max_pixels})")
    return min_pixels, max_pixels


def _decode(data: bytes, where: str) -> Image.Image:
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{where}: image is {len(data)} bytes, more than the limit of {MAX_FILE_BYTES}")
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_DECODED_PIXELS:
            raise InputError(f"{where}: image is {img.width}x{img.height}, more than {MAX_DECODED_PIXELS} pixels")
        img.load()
    except InputError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"{where}: cannot decode image: {' '.join(str(exc).split())[:200]}") from None
    return img


def _read_path(path: Path, where: str) -> Image.Image:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{where}: image file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read image {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise InputError(f"{where}: image {path} is {size} bytes, more than the limit of {MAX_FILE_BYTES}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot read image {path}: {exc.strerror}") from None
    return _decode(data, f"{where} ({path.name})")


def open_image(spec: Any, *, base_dir: str | Path | None = None, where: str = "image") -> Image.Image:
    """Open one image from a dataset value.

    Accepted: a PIL image; ``bytes``; a ``data:image/...;base64,`` URI; a ``file://`` URI or a
    path (relative paths are resolved against ``base_dir``, the dataset file's folder); a
    mapping with ``bytes`` and/or ``path`` (the Hugging Face ``Image`` feature's storage).
    Remote URLs are refused: nothing is downloaded at run time.
    """
    if isinstance(spec, Image.Image):
        return spec
    if isinstance(spec, (bytes, bytearray, memoryview)):
        return _decode(bytes(spec), where)
    if isinstance(spec, dict):
        if spec.get("bytes") is not None:
            return open_image(spec["bytes"], base_dir=base_dir, where=where)
        if spec.get("path"):
            return open_image(spec["path"], base_dir=base_dir, where=where)
        if spec.get("image") is not None:
            return open_image(spec["image"], base_dir=base_dir, where=where)
        raise InputError(f"{where}: image record has neither 'bytes' nor 'path'")
    if isinstance(spec, str):
        s = spec.strip()
        if s.startswith("data:"):
            head, _, payload = s.partition(",")
            if ";base64" not in head:
                raise InputError(f"{where}: data URI is not base64-encoded")
            try:
                return _decode(base64.b64decode(payload, validate=True), where)
            except (binascii.Error, ValueError):
                raise InputError(f"{where}: data URI is not valid base64") from None
        if s.startswith(("http://", "https://")):
            raise InputError(f"{where}: remote image URLs are not fetched; download the image and use a path")
        if s.startswith("file://"):
            s = s[len("file://") :]
        if not s:
            raise InputError(f"{where}: empty image path")
        path = Path(s).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return _read_path(path, where)
    raise InputError(f"{where}: expected an image path, bytes or image record, got {type(spec).__name__}")


def fit_image(
    img: Image.Image,
    *,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    where: str = "image",
) -> Image.Image:
    """RGB copy of ``img`` resized by :func:`smart_resize` (bicubic), ready for the processor.

    Resizing here rather than in the processor makes the token count of every image known and
    bounded before anything reaches the model, and identical for generation and training.
    """
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
            background = Image.new("RGB", img.size, (255, 255, 255))
            background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
            img = background
        else:
            img = img.convert("RGB")
    try:
        h, w = smart_resize(img.height, img.width, min_pixels=min_pixels, max_pixels=max_pixels)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if (w, h) != img.size:
        img = img.resize((w, h), Image.Resampling.BICUBIC)
    return img


def image_tokens(img: Image.Image, *, factor: int = FACTOR) -> int:
    """Number of ``<|image_pad|>`` tokens a fitted image costs in the prompt (one per 28x28 unit)."""
    return (img.width // factor) * (img.height // factor)
