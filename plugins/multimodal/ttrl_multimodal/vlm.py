"""Qwen2-VL / Qwen2.5-VL processors without torchvision, offline tiny models, and sampling.

Why this module exists (notes section 3): the PyPI torchvision wheel cannot load beside a
CPU-only torch, and the Qwen-VL processors insist on a video processor that needs it, so
``AutoProcessor.from_pretrained`` fails on a plain CPU install.  Images only need the
PIL/numpy image processor (``Qwen2VLImageProcessorPil`` in transformers 5), so we build the
processor ourselves with the video processor left out.  The same helpers build tiny
randomly-initialised Qwen2-VL / Qwen2.5-VL models from a config and a byte-level tokenizer,
so that tests exercise real model classes with no hub download.

Everything here imports torch/transformers lazily: the task itself needs neither.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ttrl_kit import ConfigError
from ttrl_multimodal.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from ttrl_multimodal.prompts import QWEN2_VL_CHAT_TEMPLATE

log = logging.getLogger("ttrl_multimodal")

FAMILIES = ("qwen2-vl", "qwen2.5-vl")
VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *VISION_TOKENS)


def _classes(family: str) -> tuple[Any, Any, Any]:
    """(config class, model class, processor class) of a family."""
    import transformers as tf

    if family == "qwen2-vl":
        return tf.Qwen2VLConfig, tf.Qwen2VLForConditionalGeneration, tf.Qwen2VLProcessor
    if family == "qwen2.5-vl":
        return tf.Qwen2_5_VLConfig, tf.Qwen2_5_VLForConditionalGeneration, tf.Qwen2_5_VLProcessor
    raise ConfigError(f"unknown vision-language family {family!r}; known: {', '.join(FAMILIES)}")


_SHIMS: dict[str, type] = {}


def processor_class(family: str) -> type:
    """The family's processor class, accepting ``video_processor=None``.

    The stock class type-checks every sub-processor; without torchvision there is no video
    processor to give it, and images never need one.  ``save_pretrained`` writes the parts
    :func:`load_processor` reads back.
    """
    if family not in _SHIMS:
        base = _classes(family)[2]

        def check_argument_for_proper_class(self, argument_name, argument):
            if argument is None:
                return None
            return base.check_argument_for_proper_class(self, argument_name, argument)

        def save_pretrained(self, save_directory, **kwargs):
            # The stock save walks every sub-processor and fails on the missing video one;
            # Trainer checkpoints call this, so it must work.
            save_processor(self, save_directory)
            return []

        _SHIMS[family] = type(
            f"{base.__name__}NoVideo",
            (base,),
            {"check_argument_for_proper_class": check_argument_for_proper_class, "save_pretrained": save_pretrained},
        )
    return _SHIMS[family]


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


def family_of(path_or_config: Any) -> str:
    """``qwen2-vl`` or ``qwen2.5-vl`` from a checkpoint folder or a config's ``model_type``."""
    model_type = getattr(path_or_config, "model_type", None)
    if model_type is None:
        folder = Path(path_or_config)
        cfg = folder / "config.json"
        proc_cfg = folder / "processor_config.json"
        try:
            if cfg.exists():
                model_type = json.loads(cfg.read_text(encoding="utf-8")).get("model_type")
            elif proc_cfg.exists():  # a processor saved on its own (Trainer checkpoints)
                name = json.loads(proc_cfg.read_text(encoding="utf-8")).get("processor_class", "")
                model_type = {"Qwen2VLProcessor": "qwen2_vl", "Qwen2_5_VLProcessor": "qwen2_5_vl"}.get(name)
            else:
                raise OSError("no config.json or processor_config.json")
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{folder}: cannot read the model type ({exc})") from None
    if model_type == "qwen2_vl":
        return "qwen2-vl"
    if model_type == "qwen2_5_vl":
        return "qwen2.5-vl"
    raise ConfigError(f"model type {model_type!r} is not Qwen2-VL or Qwen2.5-VL")


def load_processor(path: str | Path, *, min_pixels: int | None = None, max_pixels: int | None = None) -> Any:
    """The processor of a local checkpoint, with or without torchvision.

    ``AutoProcessor`` is tried first (it works where torchvision does); otherwise the
    tokenizer, the saved image-processor settings and the chat template are read from the
    folder and assembled by :func:`make_processor`.
    """
    from transformers import AutoProcessor, AutoTokenizer

    path = Path(path)
    family = family_of(path)
    try:
        proc = AutoProcessor.from_pretrained(path)
        if getattr(proc, "image_processor", None) is None:  # e.g. a bare tokenizer came back
            raise TypeError(f"AutoProcessor returned {type(proc).__name__}, not an image-text processor")
        if min_pixels is not None or max_pixels is not None:
            size = dict(proc.image_processor.size)
            size["shortest_edge"] = min_pixels or size.get("shortest_edge")
            size["longest_edge"] = max_pixels or size.get("longest_edge")
            proc.image_processor.size = size
        proc.tokenizer.padding_side = "left"
        return proc
    except Exception as exc:  # torchvision missing: build it from parts
        log.info(
            "AutoProcessor failed (%s); building the processor without a video processor",
            " ".join(str(exc).split())[:200],
        )
    tok = AutoTokenizer.from_pretrained(path)
    settings: dict[str, Any] = {}
    for name in ("preprocessor_config.json", "processor_config.json"):
        f = path / name
        if f.exists():
            data = json.loads(f.read_text(encoding="utf-8"))
            settings = data.get("image_processor", data)
            break
    size = settings.get("size") or {}
    lo = min_pixels or settings.get("min_pixels") or size.get("shortest_edge") or DEFAULT_MIN_PIXELS
    hi = max_pixels or settings.get("max_pixels") or size.get("longest_edge") or DEFAULT_MAX_PIXELS
    template = None
    for name in ("chat_template.jinja", "chat_template.json"):
        f = path / name
        if f.exists():
            text = f.read_text(encoding="utf-8")
            template = json.loads(text)["chat_template"] if name.endswith(".json") else text
            break
    return make_processor(family, tok, image_processor(lo, hi), chat_template=template)


def save_processor(proc: Any, path: str | Path) -> None:
    """Save a processor's tokenizer, image processor and chat template (the stock
    ``save_pretrained`` trips over the missing video processor)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    proc.tokenizer.save_pretrained(path)
    proc.image_processor.save_pretrained(path)
    (path / "chat_template.jinja").write_text(proc.chat_template, encoding="utf-8")
    base = next(
        (c.__name__ for c in type(proc).__mro__ if c.__name__ in ("Qwen2VLProcessor", "Qwen2_5_VLProcessor")),
        type(proc).__name__,
    )
    (path / "processor_config.json").write_text(json.dumps({"processor_class": base}, indent=2), encoding="utf-8")


def vision_token_ids(tokenizer: Any) -> list[int]:
    """Ids of the vision markers: a model must never *sample* them (a sampled ``<|image_pad|>``
    without image features makes the next forward fail)."""
    ids = [tokenizer.convert_tokens_to_ids(t) for t in VISION_TOKENS]
    return [i for i in ids if isinstance(i, int) and i >= 0 and i != tokenizer.unk_token_id]


# -- offline tiny models ------------------------------------------------------------------------
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (the byte-level BPE alphabet)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def byte_level_tokenizer() -> Any:
    """A 263-token Qwen2 tokenizer: the 256 byte symbols (no merges) plus the Qwen specials.

    Lossless for any text and built in milliseconds; enough to run real Qwen-VL model code in
    tests.  Ids: bytes 0..255, then ``<|endoftext|>`` 256 ... ``<|video_pad|>`` 262.
    """
    from transformers import Qwen2Tokenizer

    alphabet = _bytes_to_unicode()
    vocab = {alphabet[b]: i for i, b in enumerate(range(256))}
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token=None,  # type: ignore[arg-type]  # typed str, None means no unk token
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tok.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|endoftext|>"
    tok.chat_template = QWEN2_VL_CHAT_TEMPLATE
    return tok


def tiny_config(family: str, tokenizer: Any, *, hidden: int = 64, layers: int = 2) -> Any:
    """A Qwen-VL config small enough for CPU tests (about 0.2 M parameters with 263 tokens)."""
    cfg_cls = _classes(family)[0]
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
        bos_token_id=None,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    if family == "qwen2-vl":
        vision: dict[str, Any] = dict(depth=2, embed_dim=32, hidden_size=hidden, num_heads=2, mlp_ratio=2)
    else:
        vision = dict(
            depth=2,
            hidden_size=32,
            intermediate_size=64,
            out_hidden_size=hidden,
            num_heads=2,
            window_size=112,
            fullatt_block_indexes=[1],
        )
    return cfg_cls(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def tiny_model(
    family: str = "qwen2.5-vl", *, seed: int = 0, min_pixels: int = 4 * 28 * 28, max_pixels: int = 64 * 28 * 28
) -> tuple[Any, Any]:
    """``(model, processor)``: a randomly initialised Qwen-VL built from a config, no hub."""
    import torch

    tok = byte_level_tokenizer()
    proc = make_processor(family, tok, image_processor(min_pixels, max_pixels))
    torch.manual_seed(seed)
    model = _classes(family)[1](tiny_config(family, tok))
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.bos_token_id = None
    return model.eval(), proc


def save_tiny(path: str | Path, family: str = "qwen2.5-vl", *, seed: int = 0) -> Path:
    """Write a tiny checkpoint folder (model + processor parts) that :func:`load_processor` and
    ``AutoModelForImageTextToText.from_pretrained`` reload offline."""
    model, proc = tiny_model(family, seed=seed)
    path = Path(path)
    model.save_pretrained(path)
    save_processor(proc, path)
    return path


# -- sampling ------------------------------------------------------------------------------------
def sample_groups(
    model: Any,
    processor: Any,
    prompts: Sequence[list[dict[str, Any]]],
    *,
    n: int = 4,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    top_p: float = 1.0,
    batch_prompts: int = 4,
) -> list[list[str]]:
    """``n`` sampled responses for each prompt (messages with PIL images), grouped by prompt.

    Prompts are batched (left-padded); the vision markers are suppressed so a sampled
    ``<|image_pad|>`` can never break a later forward pass.
    """
    import torch

    suppress = vision_token_ids(processor.tokenizer)
    out: list[list[str]] = []
    for start in range(0, len(prompts), batch_prompts):
        chunk = prompts[start : start + batch_prompts]
        texts: list[str] = []
        images: list[Any] = []
        for msgs in chunk:
            texts.append(processor.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True))
            for m in msgs:
                if isinstance(m.get("content"), list):
                    images.extend(p["image"] for p in m["content"] if p.get("type") == "image")
        enc = processor(text=texts, images=images or None, return_tensors="pt", padding=True)
        with torch.no_grad():
            seqs = model.generate(
                **enc,
                do_sample=True,
                temperature=temperature,
                top_p=top_p,
                max_new_tokens=max_new_tokens,
                num_return_sequences=n,
                suppress_tokens=suppress,
                pad_token_id=processor.tokenizer.pad_token_id,
            )
        completions = processor.tokenizer.batch_decode(seqs[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        for i in range(len(chunk)):
            out.append(completions[i * n : (i + 1) * n])
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m ttrl_multimodal.vlm --out DIR [--family qwen2-vl]``: write a tiny random
    Qwen-VL checkpoint (model + processor parts) for smoke runs; no hub, about 1 MB."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m ttrl_multimodal.vlm", description=main.__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--family", default="qwen2-vl", choices=FAMILIES)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    path = save_tiny(a.out, a.family, seed=a.seed)
    print(f"wrote a tiny random {a.family} checkpoint to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
