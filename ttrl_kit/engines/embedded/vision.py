"""Vision-language models in the embedded engine: Qwen-VL processors, images through TRL, encoding.

The engine stays plugin-agnostic: a task's ``build_prompt`` may put images into the chat as
``{"type": "image", "image": <PIL.Image>}`` parts (the convention of the HF processors,
qwen-vl-utils and TRL); this module only moves those parts where each consumer wants them:

* **Processors** (:func:`load_processor`, :func:`make_processor`, :func:`save_processor`): on
  a CPU-only install the Qwen2-VL / Qwen2.5-VL processors cannot be built by ``AutoProcessor``
  (their video processor needs torchvision, whose PyPI wheel does not load beside a CPU torch),
  so the processor is rebuilt from its tokenizer, the PIL/numpy image processor
  (``Qwen2VLImageProcessorPil``) and the chat template, without a video processor.
* **Loading** (:func:`is_vlm_checkpoint`, :func:`load_vlm`): a checkpoint whose config has a
  ``vision_config`` loads with ``AutoModelForImageTextToText`` and its processor.
* **Training** (:func:`trl_columns`): TRL's ``GRPOTrainer`` wants prompts with ``{"type":
  "image"}`` placeholders plus an ``images`` column; it then carries ``pixel_values`` /
  ``image_grid_thw`` (and ``mm_token_type_ids``) through generation and through every
  log-prob pass itself (``split_pixel_values_by_grid``).  We hand it exactly that.
* **Encoding** (:func:`encode`, :func:`prompt_ids`, image tokens expanded) and the vision
  markers a sampler must suppress (:func:`suppressed_tokens`); sampling itself is
  :mod:`ttrl_kit.engines.embedded.generate`, one loop for text and image-text models.

Everything dispatches on the *processor* (a transformers ``ProcessorMixin`` with an image
processor), never on a task or plugin name.  Offline tiny Qwen-VL models are in tiny_vlm.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ttrl_kit.core.chat import has_images as has_images  # the engine's callers read it from here
from ttrl_kit.core.chat import split_images as split_images
from ttrl_kit.core.errors import ConfigError

log = logging.getLogger("ttrl_kit.engines.embedded")

FAMILIES = ("qwen2-vl", "qwen2.5-vl")
VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>", "<|image|>")
#: Qwen-VL's pixel budget per image by default (4 .. 16384 patches of 28 x 28).
DEFAULT_MIN_PIXELS = 4 * 28 * 28
DEFAULT_MAX_PIXELS = 16384 * 28 * 28
_MODEL_TYPES = {"qwen2_vl": "qwen2-vl", "qwen2_5_vl": "qwen2.5-vl"}
_PROCESSORS = {"Qwen2VLProcessor": "qwen2-vl", "Qwen2_5_VLProcessor": "qwen2.5-vl"}

#: A Qwen2-VL / Qwen2.5-VL chat template (images and text only, no tools, no video), written for
#: processors rebuilt offline: it renders exactly what the released template renders for such
#: conversations, including the default system prompt.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# -- processors -------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def is_vlm_checkpoint(path: str | Path) -> bool:
    """A local checkpoint of an image-text model (its config has a ``vision_config``)."""
    return "vision_config" in _read_json(Path(path) / "config.json")


def is_processor(obj: Any) -> bool:
    """Whether the engine's processing class takes images (then the VLM paths below apply)."""
    try:
        from transformers import ProcessorMixin
    except ImportError:  # pragma: no cover - transformers is a train dependency
        return False
    return isinstance(obj, ProcessorMixin) and getattr(obj, "image_processor", None) is not None


def model_classes(family: str) -> tuple[Any, Any, Any]:
    """(config class, model class, processor class) of a family."""
    import transformers as tf

    if family == "qwen2-vl":
        return tf.Qwen2VLConfig, tf.Qwen2VLForConditionalGeneration, tf.Qwen2VLProcessor
    if family == "qwen2.5-vl":
        return tf.Qwen2_5_VLConfig, tf.Qwen2_5_VLForConditionalGeneration, tf.Qwen2_5_VLProcessor
    raise ConfigError(f"unknown vision-language family {family!r}; known: {', '.join(FAMILIES)}")


def family_of(path_or_config: Any) -> str:
    """``qwen2-vl`` or ``qwen2.5-vl`` from a checkpoint folder (its config, or the
    ``processor_config.json`` of a processor saved on its own) or a config's ``model_type``."""
    model_type = getattr(path_or_config, "model_type", None)
    if model_type is None:
        folder = Path(path_or_config)
        if not (folder / "config.json").exists() and not (folder / "processor_config.json").exists():
            raise ConfigError(f"{folder}: cannot read the model type (no config.json or processor_config.json)")
        model_type = _read_json(folder / "config.json").get("model_type")
        if model_type is None:
            name = _read_json(folder / "processor_config.json").get("processor_class", "")
            model_type = {v: k for k, v in _MODEL_TYPES.items()}.get(_PROCESSORS.get(name, ""))
    if model_type in _MODEL_TYPES:
        return _MODEL_TYPES[model_type]
    raise ConfigError(f"model type {model_type!r} is not Qwen2-VL or Qwen2.5-VL")


_NO_VIDEO: dict[str, type] = {}


def processor_class(family: str) -> type:
    """The family's processor class, accepting ``video_processor=None``.

    The stock class type-checks every sub-processor; without torchvision there is no video
    processor to give it, and images never need one.  ``save_pretrained`` (Trainer
    checkpoints call it; the stock one fails on the missing video processor) writes the
    parts :func:`load_processor` reads back."""
    if family not in _NO_VIDEO:
        base = model_classes(family)[2]

        def check_argument_for_proper_class(self, argument_name, argument):
            return None if argument is None else base.check_argument_for_proper_class(self, argument_name, argument)

        def save_pretrained(self, save_directory, **kwargs):
            save_processor(self, save_directory)
            return []

        _NO_VIDEO[family] = type(
            f"{base.__name__}NoVideo",
            (base,),
            {"check_argument_for_proper_class": check_argument_for_proper_class, "save_pretrained": save_pretrained},
        )
    return _NO_VIDEO[family]


def image_processor(min_pixels: int = DEFAULT_MIN_PIXELS, max_pixels: int = DEFAULT_MAX_PIXELS) -> Any:
    """The PIL/numpy Qwen2-VL image processor (no torchvision), with a pixel budget."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(size={"shortest_edge": int(min_pixels), "longest_edge": int(max_pixels)})


def make_processor(
    family: str,
    tokenizer: Any,
    improc: Any = None,
    *,
    chat_template: str | None = None,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Any:
    """A working processor from parts; left padding (generation pads prompts on the left)."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = "<|endoftext|>"
    template = chat_template or getattr(tokenizer, "chat_template", None) or QWEN2_VL_CHAT_TEMPLATE
    return processor_class(family)(
        image_processor=improc or image_processor(min_pixels, max_pixels),
        tokenizer=tokenizer,
        video_processor=None,
        chat_template=template,
    )


def load_processor(path: str | Path, *, min_pixels: int | None = None, max_pixels: int | None = None) -> Any:
    """The processor of a local checkpoint, with or without torchvision.

    ``AutoProcessor`` is tried first (it works where torchvision does); otherwise the
    tokenizer, the saved image-processor settings and the chat template are read from the
    folder and assembled by :func:`make_processor`.  ``min_pixels``/``max_pixels`` override
    the saved pixel budget."""
    from transformers import AutoProcessor, AutoTokenizer

    path = Path(path)
    try:
        proc = AutoProcessor.from_pretrained(path)
        if not is_processor(proc):  # e.g. a bare tokenizer came back
            raise TypeError(f"AutoProcessor returned {type(proc).__name__}, not an image-text processor")
        if min_pixels is not None or max_pixels is not None:
            size = dict(proc.image_processor.size)
            size["shortest_edge"] = min_pixels or size.get("shortest_edge")
            size["longest_edge"] = max_pixels or size.get("longest_edge")
            proc.image_processor.size = size
        proc.tokenizer.padding_side = "left"
        return proc
    except Exception as exc:  # torchvision missing: build it from parts
        first_error = " ".join(str(exc).split())[:300]
    try:
        family = family_of(path)
    except ConfigError:
        raise ConfigError(f"model {str(path)!r}: cannot build its processor ({first_error})") from None
    tok = AutoTokenizer.from_pretrained(path)
    settings: dict[str, Any] = {}
    for name in ("preprocessor_config.json", "processor_config.json"):
        data = _read_json(path / name)
        if data:
            settings = data.get("image_processor", data)
            break
    size = settings.get("size") or {}
    lo = min_pixels or settings.get("min_pixels") or size.get("shortest_edge") or DEFAULT_MIN_PIXELS
    hi = max_pixels or settings.get("max_pixels") or size.get("longest_edge") or DEFAULT_MAX_PIXELS
    template = None
    if (path / "chat_template.jinja").is_file():
        template = (path / "chat_template.jinja").read_text(encoding="utf-8")
    elif (path / "chat_template.json").is_file():
        template = _read_json(path / "chat_template.json").get("chat_template")
    log.info("building the %s processor without a video processor (AutoProcessor: %s)", family, first_error)
    return make_processor(family, tok, image_processor(lo, hi), chat_template=template)


def save_processor(proc: Any, path: str | Path) -> None:
    """Save a processor's tokenizer, image processor and chat template (the stock
    ``save_pretrained`` trips over the missing video processor)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    proc.tokenizer.save_pretrained(path)
    proc.image_processor.save_pretrained(path)
    if proc.chat_template:
        (path / "chat_template.jinja").write_text(proc.chat_template, encoding="utf-8")
    base = next((c.__name__ for c in type(proc).__mro__ if c.__name__ in _PROCESSORS), type(proc).__name__)
    (path / "processor_config.json").write_text(json.dumps({"processor_class": base}, indent=2), encoding="utf-8")


def load_vlm(path: str | Path) -> tuple[Any, Any]:
    """``(model, processor)`` of a local image-text checkpoint, fp32 master weights, left padding."""
    import torch
    from transformers import AutoModelForImageTextToText

    try:
        model = AutoModelForImageTextToText.from_pretrained(str(path), dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model {str(path)!r}: cannot load as an image-text model: {str(exc).splitlines()[0]}"
        ) from None
    proc = load_processor(path)
    tok = proc.tokenizer
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, proc


# -- images in chat messages ----------------------------------------------------------------
def trl_columns(prompts: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, list]:
    """``{"prompt": placeholders, "images": [images per row]}``: TRL's multimodal dataset form."""
    cols: dict[str, list] = {"prompt": [], "images": []}
    for msgs in prompts:
        placeholders, images = split_images(msgs)
        cols["prompt"].append(placeholders)
        cols["images"].append(images)
    return cols


def encode(processor: Any, prompts: Sequence[Sequence[Mapping[str, Any]]]) -> Any:
    """Chat prompts with their images -> the model's inputs (left-padded batch, image tokens
    expanded, ``pixel_values`` / ``image_grid_thw``)."""
    texts, images = [], []
    for msgs in prompts:
        placeholders, imgs = split_images(msgs)
        texts.append(processor.apply_chat_template(placeholders, add_generation_prompt=True, tokenize=False))
        images.extend(imgs)
    return processor(text=texts, images=images or None, return_tensors="pt", padding=True)


def prompt_ids(processor: Any, messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """Prompt token ids with every image expanded to its ``<|image_pad|>`` run."""
    return encode(processor, [messages])["input_ids"][0].tolist()


def prompt_tokens(processor: Any, messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt length in tokens with every image expanded to its ``<|image_pad|>`` run."""
    return len(prompt_ids(processor, messages))


def suppressed_tokens(tokenizer_or_processor: Any) -> list[int]:
    """Vision marker ids: a model must never *sample* them (a sampled ``<|image_pad|>``
    without image features desynchronises image tokens and features at the next forward)."""
    tok = getattr(tokenizer_or_processor, "tokenizer", tokenizer_or_processor)
    ids = set()
    for t in VISION_TOKENS:
        i = tok.convert_tokens_to_ids(t)
        if isinstance(i, int) and i >= 0 and i != tok.unk_token_id:
            ids.add(i)
    return sorted(ids)
