"""The tokenizer a dataset is trained with, for the token counts that matter to a trainer.

The format check's token limit, an export's token statistics, its training-token estimate and the
OpenAI check all count with it, and say which one they used. Choices (a dataset's `settings.tokenizer`,
else the server's `WINNOW_TOKENIZER`):
- `o200k_base` (GPT-4o, GPT-4.1, o-series: the default) and `cl100k_base` (GPT-4, GPT-3.5): tiktoken's
  encodings, shipped in `app/data/tiktoken/` (from the npm package `tiktoken`), never downloaded;
- `local`: the Hugging Face tokenizer at `WINNOW_TOKENIZER_PATH` (a folder with `tokenizer.json`, as
  saved by `save_pretrained`, or the `tokenizer.json` itself); its chat template, if the folder has one,
  renders pairs as the model will see them (`app/exports/chat_view.py`);
- `all-MiniLM-L6-v2`: the embedding model's WordPiece tokenizer (what Winnow counted before; no LLM uses it).

A path is set by whoever runs the server, never through the API: a dataset only picks among these names.
"""

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

ENCODINGS_DIR = Path(__file__).parent.parent / "data" / "tiktoken"
TIKTOKEN_ENCODINGS = ("o200k_base", "cl100k_base")
EMBEDDING_TOKENIZER = "all-MiniLM-L6-v2"
LOCAL = "local"
CHOICES = (*TIKTOKEN_ENCODINGS, LOCAL, EMBEDDING_TOKENIZER)
DEFAULT = "o200k_base"


class TokenizerUnavailable(ValueError):
    """The chosen tokenizer cannot be loaded (a missing or unreadable local file)."""


@dataclass(frozen=True)
class TargetTokenizer:
    name: str  # one of CHOICES
    label: str  # what a user reads: which tokenizer counted
    key: str  # names the token-count cache: differs whenever the counts could
    path: Path | None = None
    _backend: Any = field(default=None, compare=False, repr=False)

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens excluded, nothing truncated."""
        if not texts:
            return []
        if self.name in TIKTOKEN_ENCODINGS:
            return _count_tiktoken(self._backend, texts)
        encode = getattr(self._backend, "encode_batch_fast", self._backend.encode_batch)
        return [len(e) for e in encode(list(texts), add_special_tokens=False)]

    def chat_template(self) -> str | None:
        """The local tokenizer's chat template (tokenizer_config.json or chat_template.jinja), if any."""
        if self.path is None:
            return None
        folder = self.path if self.path.is_dir() else self.path.parent
        jinja = folder / "chat_template.jinja"
        if jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        config = folder / "tokenizer_config.json"
        if config.is_file():
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
            if isinstance(template, list):  # several named templates: the default one
                template = next((t.get("template") for t in template if t.get("name") == "default"), None)
            return template if isinstance(template, str) else None
        return None

    def special_tokens(self) -> dict[str, str]:
        """bos/eos token texts of a local tokenizer (tokenizer_config.json), for rendering its template."""
        if self.path is None:
            return {}
        config = (self.path if self.path.is_dir() else self.path.parent) / "tokenizer_config.json"
        if not config.is_file():
            return {}
        data = json.loads(config.read_text(encoding="utf-8"))
        found = {}
        for name in ("bos_token", "eos_token"):
            value = data.get(name)
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str):
                found[name] = value
        return found

    def tokens(self, text: str) -> list[str]:
        """The pieces of one text, in order (for showing which tokens are trained)."""
        if self.name in TIKTOKEN_ENCODINGS:
            return [self._backend.decode_single_token_bytes(t).decode("utf-8", "replace")
                    for t in self._backend.encode_ordinary(text)]
        encoding = self._backend.encode(text, add_special_tokens=False)
        return [text[start:end] for start, end in encoding.offsets] if text else []


# Texts per thread below which a second thread costs more than it saves.
_TEXTS_PER_THREAD = 2_000
_MAX_THREADS = 8  # each text's call and its list of ids still take the GIL: more threads only queue for it


def _count_tiktoken(encoding, texts: Sequence[str]) -> list[int]:
    """Tokens per text, special-token text counted as ordinary text (encode_ordinary).

    One contiguous slice of the texts per core, each a plain loop: encode_ordinary releases the GIL
    while it encodes. tiktoken's own encode_ordinary_batch makes a future per text, and that overhead
    (GIL held) made it 2.2x slower than a one-thread loop, 2.7x slower than this, on 2 cores
    (benchmarks/README.md, "Token counting")."""
    encode = encoding.encode_ordinary
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = min(_MAX_THREADS, cores, len(texts) // _TEXTS_PER_THREAD)
    if threads <= 1:
        return [len(encode(text)) for text in texts]
    size = -(-len(texts) // threads)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = pool.map(lambda start: [len(encode(text)) for text in texts[start:start + size]],
                         range(0, len(texts), size))
        return [n for part in parts for n in part]


@lru_cache(maxsize=4)
def _tiktoken(name: str):
    import tiktoken

    data = orjson.loads(gzip.decompress((ENCODINGS_DIR / f"{name}.json.gz").read_bytes()))
    ranks: dict[bytes, int] = {}
    for line in data["bpe_ranks"].split("\n"):
        if line:
            _, first, *tokens = line.split(" ")
            ranks.update(zip(map(base64.b64decode, tokens), range(int(first), int(first) + len(tokens))))
    return tiktoken.Encoding(name=name, pat_str=data["pat_str"], mergeable_ranks=ranks,
                             special_tokens=data["special_tokens"])


@lru_cache(maxsize=4)
def _huggingface(path: str, mtime_ns: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _local_file(path_setting: str | None) -> Path:
    if not path_setting:
        raise TokenizerUnavailable("the tokenizer 'local' needs WINNOW_TOKENIZER_PATH (a folder with tokenizer.json, "
                                   "or the tokenizer.json file) on the server")
    path = Path(path_setting).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise TokenizerUnavailable(f"no tokenizer.json at WINNOW_TOKENIZER_PATH ({path})")
    return file


def load_tokenizer(name: str, local_path: str | None = None) -> TargetTokenizer:
    if name in TIKTOKEN_ENCODINGS:
        return TargetTokenizer(name, f"tiktoken {name} (shipped offline; special tokens excluded)", name,
                               _backend=_tiktoken(name))
    if name == EMBEDDING_TOKENIZER:
        from app.embeddings.tokenizer import get_tokenizer

        return TargetTokenizer(name, "the embedding model's tokenizer (all-MiniLM-L6-v2 WordPiece, special tokens "
                                     "excluded; no LLM counts with it)", name, _backend=get_tokenizer())
    if name == LOCAL:
        file = _local_file(local_path)
        data = file.read_bytes()
        try:
            backend = _huggingface(str(file), file.stat().st_mtime_ns)
        except Exception as exc:  # the tokenizers library raises its own Exception type for a bad file
            raise TokenizerUnavailable(f"cannot read {file} as a Hugging Face tokenizer: {exc}") from None
        digest = hashlib.sha256(data).hexdigest()[:12]
        folder = file.parent
        return TargetTokenizer(name, f"the local Hugging Face tokenizer {folder.name or file.name} ({file}, "
                                     "special tokens excluded)", f"local-{digest}", path=folder, _backend=backend)
    raise TokenizerUnavailable(f"unknown tokenizer '{name}'; use one of: {', '.join(CHOICES)}")


def tokenizer_name(dataset_settings: dict | None, settings) -> str:
    """A dataset's `settings.tokenizer`, else WINNOW_TOKENIZER, else `local` when WINNOW_TOKENIZER_PATH is
    set, else o200k_base."""
    chosen = (dataset_settings or {}).get("tokenizer")
    return chosen or settings.tokenizer or (LOCAL if settings.tokenizer_path else DEFAULT)


def for_dataset(dataset_settings: dict | None, settings) -> TargetTokenizer:
    """The tokenizer a dataset's counts use."""
    return load_tokenizer(tokenizer_name(dataset_settings, settings), settings.tokenizer_path)


def cache_path(data_dir: Path, tokenizer: TargetTokenizer) -> Path:
    """The token-count cache of this tokenizer, shared by the format check and the exports."""
    return data_dir / "cache" / f"token_counts-{tokenizer.key}.npz"


def count_cached(tokenizer: TargetTokenizer, texts: Sequence[str], cache: Path | None,
                 batch: int = 10_000) -> list[int]:
    """tokenizer.count(texts), counting only what the cache at `cache` has not seen (None: no cache);
    batches bound the memory of the encodings held at once."""
    from app.embeddings.token_cache import cached_counts

    def count(some: Sequence[str]) -> list[int]:
        return [n for start in range(0, len(some), batch) for n in tokenizer.count(some[start:start + batch])]

    if cache is None:
        return count(texts)
    return cached_counts(texts, count, cache)


def check_choice(value: Any) -> str:
    """A dataset's `settings.tokenizer`, refused when not one of CHOICES."""
    if value not in CHOICES:
        raise ValueError(f"settings.tokenizer must be one of: {', '.join(CHOICES)}")
    return value
