"""Token counts come from the model's tokenizer once and from the cache afterwards, shared by the format
check and the export."""

import uuid

from app.checks.base import AnalysisContext, DatasetInfo, ExampleRow
from app.checks.format import FormatCheck
from app.config import get_settings
from app.embeddings.token_cache import cached_counts
from app.embeddings.tokenizer import count_tokens, training_text
from app.schemas.export import ExportParams
from app.services.exports import create_export
from app.embeddings.target_tokenizer import TargetTokenizer, cache_path, load_tokenizer


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


def test_a_cache_of_another_key_scheme_is_not_read(tmp_path):
    """A file written with blake2b keys (before xxh3) could map a text to another text's count: ignored."""
    import numpy as np

    from app.embeddings import token_cache

    path = tmp_path / "cache.npz"
    texts = ["a short text", "another text"]
    keys = token_cache._keys(texts)
    np.savez(path, keys=np.sort(keys), counts=np.array([999, 999], dtype=np.int32))  # no scheme: the old format
    asked = []
    assert cached_counts(texts, lambda t: asked.append(list(t)) or count_tokens(t), path) == count_tokens(texts)
    assert asked == [texts]
    with np.load(path) as data:
        assert str(data["scheme"]) == token_cache.KEY_SCHEME  # rewritten in the current scheme


def test_a_repeated_text_is_counted_once(tmp_path):
    asked: list[list[str]] = []

    def counting(texts):
        asked.append(list(texts))
        return count_tokens(texts)

    texts = ["b b b", "a", "b b b", "c c", "a"]
    assert cached_counts(texts, counting, tmp_path / "cache.npz") == count_tokens(texts)
    assert asked == [["b b b", "a", "c c"]]  # each distinct text once, in the order first seen
    assert cached_counts(["c c", "a", "d"], counting, tmp_path / "cache.npz") == count_tokens(["c c", "a", "d"])
    assert asked[1:] == [["d"]]


def test_a_broken_cache_file_is_ignored(tmp_path):
    path = tmp_path / "cache.npz"
    path.write_bytes(b"not a numpy file")
    assert cached_counts(["hello world"], count_tokens, path) == count_tokens(["hello world"])


def test_training_text_reads_system_history_input_output_in_order():
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert training_text("Be brief.", history, "What now?", "Stop.") == "Be brief.\nhi\nhello\nWhat now?\nStop."
    assert training_text(None, None, "question", "answer") == "question\nanswer"
    assert training_text("", [], "question", "") == "question"


def test_an_export_after_the_format_check_counts_no_token_anew(session, dataset_with, monkeypatch):
    marker = uuid.uuid4().hex  # texts no other test has put in the shared cache
    rows = [{"input": f"question {i} {marker}", "output": f"answer {i}", "system": "Be brief." if i % 2 else None,
             "history": [{"role": "user", "content": f"hi {i}"}, {"role": "assistant", "content": "hello"}]
             if i % 3 == 0 else None} for i in range(12)]
    dataset, ids = dataset_with(rows)
    asked: list[str] = []

    real_count = TargetTokenizer.count

    def counting(self, texts):
        asked.extend(texts)
        return real_count(self, texts)

    monkeypatch.setattr(TargetTokenizer, "count", counting)
    target = load_tokenizer("o200k_base")  # what the analysis gives the check: the dataset's target tokenizer
    ctx = AnalysisContext(dataset=DatasetInfo(id=dataset.id, task_type="generation"),
                          examples=[ExampleRow(id=i, **row) for i, row in zip(ids, rows)],
                          tokenizer=target, token_cache=cache_path(get_settings().data_dir, target))
    FormatCheck().run(ctx)
    assert len(asked) == len(rows)
    made = create_export(session, dataset.id, ExportParams(splits={"train": 1.0, "validation": 0.0, "test": 0.0}),
                         get_settings())
    assert len(asked) == len(rows)  # every count came from the cache the format check filled
    expected = real_count(load_tokenizer("o200k_base"),  # the default target tokenizer
                          [training_text(r["system"], r["history"], r["input"], r["output"]) for r in rows])
    assert made.manifest["tokens"]["splits"]["train"]["total"] == sum(expected)
