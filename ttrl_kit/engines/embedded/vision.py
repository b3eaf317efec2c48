"""Vision-language models in the embedded engine: loading, images through TRL, sampling.

The engine stays plugin-agnostic: a task's ``build_prompt`` may put images into the chat as
``{"type": "image", "image": <PIL.Image>}`` parts (the convention of the HF processors,
qwen-vl-utils and TRL); this module only moves those parts where each consumer wants them:

* **Loading** (:func:`is_vlm_checkpoint`, :func:`load_vlm`): a checkpoint whose config has a
  ``vision_config`` loads with ``AutoModelForImageTextToText`` and its processor.  On a CPU-only
  install the Qwen2-VL / Qwen2.5-VL processors cannot be built by ``AutoProcessor`` (their video
  processor needs torchvision, whose PyPI wheel does not load beside a CPU torch), so the
  processor is rebuilt from its tokenizer, the PIL/numpy image processor and the chat template,
  without a video processor.
* **Training** (:func:`trl_columns`): TRL's ``GRPOTrainer`` wants prompts with ``{"type":
  "image"}`` placeholders plus an ``images`` column; it then carries ``pixel_values`` /
  ``image_grid_thw`` (and ``mm_token_type_ids``) through generation and through every
  log-prob pass itself (``split_pixel_values_by_grid``).  We hand it exactly that.
* **Sampling outside TRL** (:func:`sample`: evaluation, extra votes when n_votes > n_train)
  and **prompt lengths** (:func:`prompt_tokens`, image tokens expanded) use the processor
  with the images, and suppress the vision marker tokens while generating.

Everything dispatches on the *processor* (a transformers ``ProcessorMixin`` with an image
processor), never on a task or plugin name.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError

log = logging.getLogger("ttrl_kit.engines.embedded")

VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>", "<|image|>")
_QWEN = {"qwen2_vl": "Qwen2VLProcessor", "qwen2_5_vl": "Qwen2_5_VLProcessor"}
_QWEN_BY_CLASS = {v: k for k, v in _QWEN.items()}


# -- loading ---------------------------------------------------------------------------------
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


def _no_video_class(base: type[Any]) -> type:
    """``base`` accepting ``video_processor=None`` and saving without it (Trainer checkpoints
    call ``save_pretrained``; the stock one fails on the missing video processor)."""

    def check_argument_for_proper_class(self, name, arg):
        return None if arg is None else base.check_argument_for_proper_class(self, name, arg)

    def save_pretrained(self, save_directory, **kwargs):
        out = Path(save_directory)
        out.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(out)
        self.image_processor.save_pretrained(out)
        if self.chat_template:
            (out / "chat_template.jinja").write_text(self.chat_template, encoding="utf-8")
        (out / "processor_config.json").write_text(json.dumps({"processor_class": base.__name__}), encoding="utf-8")
        return []

    return type(
        f"{base.__name__}NoVideo",
        (base,),
        {"check_argument_for_proper_class": check_argument_for_proper_class, "save_pretrained": save_pretrained},
    )


def load_processor(path: str | Path) -> Any:
    """``AutoProcessor`` where it works; else (no torchvision) a Qwen-VL processor rebuilt
    from the folder's tokenizer, image-processor settings and chat template."""
    import transformers as tf

    path = Path(path)
    try:
        proc = tf.AutoProcessor.from_pretrained(path)
        if is_processor(proc):
            return proc
        raise TypeError(f"AutoProcessor returned {type(proc).__name__}")
    except Exception as exc:
        first_error = " ".join(str(exc).split())[:300]
    model_type = _read_json(path / "config.json").get("model_type")
    if model_type is None:
        model_type = _QWEN_BY_CLASS.get(_read_json(path / "processor_config.json").get("processor_class", ""))
    if model_type not in _QWEN:
        raise ConfigError(f"model {str(path)!r}: cannot build its processor ({first_error})")
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    settings = _read_json(path / "preprocessor_config.json")
    size = dict(settings.get("size") or {})
    if settings.get("min_pixels"):
        size["shortest_edge"] = settings["min_pixels"]
    if settings.get("max_pixels"):
        size["longest_edge"] = settings["max_pixels"]
    improc = Qwen2VLImageProcessorPil(size=size) if size else Qwen2VLImageProcessorPil()
    tok = tf.AutoTokenizer.from_pretrained(path)
    template = None
    if (path / "chat_template.jinja").is_file():
        template = (path / "chat_template.jinja").read_text(encoding="utf-8")
    elif (path / "chat_template.json").is_file():
        template = _read_json(path / "chat_template.json").get("chat_template")
    template = template or getattr(tok, "chat_template", None)
    if not template:
        raise ConfigError(f"model {str(path)!r}: no chat template found for the processor")
    cls = _no_video_class(getattr(tf, _QWEN[model_type]))
    log.info("built %s without a video processor (AutoProcessor: %s)", cls.__name__, first_error)
    return cls(image_processor=improc, tokenizer=tok, video_processor=None, chat_template=template)


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
def split_images(messages: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """``(messages with {"type": "image"} placeholders, the images in order)``."""
    out, images = [], []
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == "image":
                    if part.get("image") is not None:
                        images.append(part["image"])
                    parts.append({"type": "image"})
                elif isinstance(part, Mapping):
                    parts.append({"type": part.get("type", "text"), "text": part.get("text", "")})
                else:
                    parts.append(part)
            out.append({**msg, "content": parts})
        else:
            out.append(dict(msg))
    return out, images


def has_images(prompts: Sequence[Sequence[Mapping[str, Any]]]) -> bool:
    return any(
        isinstance(m.get("content"), list)
        and any(isinstance(p, Mapping) and p.get("type") == "image" for p in m["content"])
        for msgs in prompts
        for m in msgs
    )


def trl_columns(prompts: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, list]:
    """``{"prompt": placeholders, "images": [images per row]}``: TRL's multimodal dataset form."""
    cols: dict[str, list] = {"prompt": [], "images": []}
    for msgs in prompts:
        placeholders, images = split_images(msgs)
        cols["prompt"].append(placeholders)
        cols["images"].append(images)
    return cols


def _encode(processor: Any, prompts: Sequence[Sequence[Mapping[str, Any]]]) -> Any:
    texts, images = [], []
    for msgs in prompts:
        placeholders, imgs = split_images(msgs)
        texts.append(processor.apply_chat_template(placeholders, add_generation_prompt=True, tokenize=False))
        images.extend(imgs)
    return processor(text=texts, images=images or None, return_tensors="pt", padding=True)


def prompt_tokens(processor: Any, messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt length in tokens with every image expanded to its ``<|image_pad|>`` run."""
    return len(prompt_ids(processor, messages))


def suppressed_tokens(processor: Any) -> list[int]:
    """Vision marker ids: sampling one would desynchronise image tokens and features."""
    tok = processor.tokenizer
    ids = set()
    for t in VISION_TOKENS:
        i = tok.convert_tokens_to_ids(t)
        if isinstance(i, int) and i >= 0 and i != tok.unk_token_id:
            ids.add(i)
    return sorted(ids)


def sample(
    model: Any,
    processor: Any,
    prompts: Sequence[list[dict[str, Any]]],
    n: int,
    *,
    temperature: float,
    top_p: float,
    top_k: int,
    max_new_tokens: int,
    dtype: str = "bf16",
) -> tuple[list[list[str]], list[list[int]]]:
    """``n`` sampled completions (texts, token lengths) per chat prompt with its images."""
    import torch

    enc = _encode(processor, prompts)
    device = next(model.parameters()).device
    enc = {k: v.to(device) if hasattr(v, "to") else v for k, v in enc.items()}
    autocast: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if dtype == "bf16":
        autocast = torch.autocast("cuda" if torch.cuda.is_available() else "cpu", dtype=torch.bfloat16)
    tok = processor.tokenizer
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), autocast:
            out = model.generate(
                **enc,
                do_sample=True,
                temperature=temperature,
                top_p=top_p,
                top_k=top_k if top_k > 0 else None,
                max_new_tokens=max_new_tokens,
                num_return_sequences=n,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                suppress_tokens=suppressed_tokens(processor),
            )
    finally:
        if was_training:
            model.train()
    gen = out[:, enc["input_ids"].shape[1] :]
    eos = tok.eos_token_id
    lengths = [row.index(eos) + 1 if eos in row else len(row) for row in gen.tolist()]
    decoded = tok.batch_decode(gen, skip_special_tokens=True)
    return (
        [decoded[i * n : (i + 1) * n] for i in range(len(prompts))],
        [lengths[i * n : (i + 1) * n] for i in range(len(prompts))],
    )


def prompt_ids(processor: Any, messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """Prompt token ids with every image expanded to its ``<|image_pad|>`` run."""
    return _encode(processor, [messages])["input_ids"][0].tolist()
