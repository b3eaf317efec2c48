"""Offline tiny Qwen2-VL / Qwen2.5-VL models: real model classes, random weights, no hub.

Tests, smoke configs and benchmarks need an image-text model that runs the real Qwen-VL code
(processor, image tokens, M-RoPE, generation, TRL's VLM path) in seconds on a CPU, with no
download.  A byte-level tokenizer (256 byte symbols + the Qwen specials) and a config of about
0.2 M parameters give exactly that::

    python -m ttrl_kit.engines.embedded.tiny_vlm --out models/tiny-qwen2-vl [--family qwen2.5-vl]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttrl_kit.engines.embedded import vision

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


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
    tok.chat_template = vision.QWEN2_VL_CHAT_TEMPLATE
    return tok


def tiny_config(family: str, tokenizer: Any, *, hidden: int = 64, layers: int = 2) -> Any:
    """A Qwen-VL config small enough for CPU tests (about 0.2 M parameters with 263 tokens)."""
    cfg_cls = vision.model_classes(family)[0]
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
        vis: dict[str, Any] = dict(depth=2, embed_dim=32, hidden_size=hidden, num_heads=2, mlp_ratio=2)
    else:
        vis = dict(
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
        vision_config=vis,
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
    proc = vision.make_processor(family, tok, vision.image_processor(min_pixels, max_pixels))
    torch.manual_seed(seed)
    model = vision.model_classes(family)[1](tiny_config(family, tok))
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.bos_token_id = None
    return model.eval(), proc


def save_tiny(path: str | Path, family: str = "qwen2.5-vl", *, seed: int = 0) -> Path:
    """Write a tiny checkpoint folder (model + processor parts) that :func:`vision.load_processor`
    and ``AutoModelForImageTextToText.from_pretrained`` reload offline."""
    model, proc = tiny_model(family, seed=seed)
    path = Path(path)
    model.save_pretrained(path)
    vision.save_processor(proc, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m ttrl_kit.engines.embedded.tiny_vlm --out DIR [--family qwen2-vl]``: write a tiny
    random Qwen-VL checkpoint (model + processor parts) for smoke runs; no hub, about 1 MB."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m ttrl_kit.engines.embedded.tiny_vlm", description=main.__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--family", default="qwen2-vl", choices=vision.FAMILIES)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    path = save_tiny(a.out, a.family, seed=a.seed)
    print(f"wrote a tiny random {a.family} checkpoint to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
