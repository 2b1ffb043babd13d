"""The target tokenizer: tiktoken encodings from the shipped files (never downloaded), a local Hugging
Face tokenizer, the choice per dataset, and the counts an export reports with it."""

import pydantic
import pytest

from app.config import Settings, get_settings
from app.errors import InvalidInput
from app.schemas.dataset import DatasetCreate
from app.schemas.export import ExportParams
from app.services.exports import create_export
from app.embeddings.target_tokenizer import (
    TokenizerUnavailable,
    _tiktoken,
    for_dataset,
    load_tokenizer,
    tokenizer_name,
)
from tests.exports.trainer_kit import tiny_tokenizer


def test_tiktoken_encodings_load_from_the_shipped_files_without_a_download(monkeypatch):
    import tiktoken
    import tiktoken.load

    def no_download(*args, **kwargs):
        raise AssertionError("tried to fetch an encoding")

    monkeypatch.setattr(tiktoken.load, "read_file", no_download)
    monkeypatch.setattr(tiktoken, "get_encoding", no_download)
    _tiktoken.cache_clear()
    # tiktoken's own test vectors.
    assert _tiktoken("cl100k_base").encode("hello world") == [15339, 1917]
    assert _tiktoken("o200k_base").encode("hello world") == [24912, 2375]
    assert _tiktoken("cl100k_base").n_vocab == 100277 and _tiktoken("o200k_base").n_vocab == 200019
    counter = load_tokenizer("cl100k_base")
    assert counter.count(["hello world", "", "<|endoftext|> is plain text here"]) == [2, 0, 11]
    assert "cl100k_base" in counter.label


def test_a_local_hugging_face_tokenizer_counts_and_brings_its_chat_template(tmp_path):
    hf = tiny_tokenizer()
    hf.save_pretrained(tmp_path / "tok")
    settings = Settings(WINNOW_TOKENIZER_PATH=str(tmp_path / "tok"))
    assert tokenizer_name({}, settings) == "local"  # a path on the server is the default
    local = for_dataset({}, settings)
    texts = ["What is 2+2?", "hello world, the quick brown fox"]
    assert local.count(texts) == [len(hf(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert local.chat_template() == hf.chat_template
    assert local.key.startswith("local-") and "tok" in local.label
    # A dataset still picks another one.
    assert for_dataset({"tokenizer": "o200k_base"}, settings).name == "o200k_base"
    # The tokenizer.json file itself works too.
    assert load_tokenizer("local", str(tmp_path / "tok" / "tokenizer.json")).count(texts) == local.count(texts)


def test_a_missing_local_tokenizer_is_a_clear_error(tmp_path):
    with pytest.raises(TokenizerUnavailable, match="WINNOW_TOKENIZER_PATH"):
        load_tokenizer("local", None)
    with pytest.raises(TokenizerUnavailable, match="no tokenizer.json"):
        load_tokenizer("local", str(tmp_path))
    (tmp_path / "tokenizer.json").write_text("{not a tokenizer")
    with pytest.raises(TokenizerUnavailable, match="cannot read"):
        load_tokenizer("local", str(tmp_path))


def test_a_dataset_names_only_known_tokenizers():
    assert DatasetCreate(name="d", settings={"tokenizer": "cl100k_base"}).settings == {"tokenizer": "cl100k_base"}
    with pytest.raises(pydantic.ValidationError, match="settings.tokenizer must be one of"):
        DatasetCreate(name="d", settings={"tokenizer": "/etc/passwd"})


def test_the_export_counts_with_the_dataset_tokenizer_and_says_which(session, dataset_with):
    rows = [{"input": f"What is {i} + {i}?", "output": f"It is {2 * i}."} for i in range(12)]
    dataset, _ = dataset_with(rows, settings={"tokenizer": "cl100k_base"})
    made = create_export(session, dataset.id, ExportParams(splits={"train": 1.0}), get_settings())
    tokens = made.manifest["tokens"]
    assert tokens["tokenizer_name"] == "cl100k_base" and "cl100k_base" in tokens["tokenizer"]
    expected = load_tokenizer("cl100k_base").count([f"{r['input']}\n{r['output']}" for r in rows])
    assert tokens["splits"]["train"]["total"] == sum(expected)
    assert made.manifest["format_checks"]["tokens_counted_with"] == tokens["tokenizer"]
    dataset.settings = {"tokenizer": "local"}  # chosen, but the server has no WINNOW_TOKENIZER_PATH
    session.add(dataset)
    session.flush()
    with pytest.raises(InvalidInput, match="WINNOW_TOKENIZER_PATH"):
        create_export(session, dataset.id, ExportParams(splits={"train": 1.0}), get_settings())


def test_the_api_sets_a_dataset_tokenizer_and_refuses_a_path(client, make_dataset):
    dataset = make_dataset("tok-api")
    patched = client.patch(f"/api/v1/datasets/{dataset['id']}", json={"settings": {"tokenizer": "cl100k_base"}})
    assert patched.status_code == 200 and patched.json()["settings"]["tokenizer"] == "cl100k_base"
    refused = client.patch(f"/api/v1/datasets/{dataset['id']}", json={"settings": {"tokenizer": "/etc/passwd"}})
    assert refused.status_code == 422 and "settings.tokenizer must be one of" in refused.text


def test_tiktoken_counts_split_over_threads_keep_every_text_in_order(monkeypatch):
    import app.embeddings.target_tokenizer as target

    counter = load_tokenizer("o200k_base")
    texts = [f"text {i} " + "word " * (i % 7) for i in range(5_003)]  # an uneven split
    expected = [len(counter._backend.encode_ordinary(t)) for t in texts]
    monkeypatch.setattr(target.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert counter.count(texts) == expected  # three slices
    monkeypatch.setattr(target, "_TEXTS_PER_THREAD", 10**9)
    assert counter.count(texts) == expected  # one plain loop
