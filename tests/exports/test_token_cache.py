"""Token counts come from the model's tokenizer once and from the cache afterwards."""

from app.embeddings.tokenizer import count_tokens
from app.exports.token_cache import cached_counts


def test_cached_counts_equal_the_tokenizer_and_only_new_texts_are_counted(tmp_path):
    path = tmp_path / "cache.npz"
    asked: list[list[str]] = []

    def counting(texts):
        asked.append(list(texts))
        return count_tokens(texts)

    texts = ["a short text", "Another, slightly longer text with punctuation!", ""]
    assert cached_counts(texts, counting, path) == count_tokens(texts)
    assert cached_counts([texts[1], "brand new words here", texts[0]], counting, path) == \
        count_tokens([texts[1], "brand new words here", texts[0]])
    assert asked == [texts, ["brand new words here"]]
    assert cached_counts(texts, counting, path) == count_tokens(texts) and len(asked) == 2


def test_a_broken_cache_file_is_ignored(tmp_path):
    path = tmp_path / "cache.npz"
    path.write_bytes(b"not a numpy file")
    assert cached_counts(["hello world"], count_tokens, path) == count_tokens(["hello world"])
