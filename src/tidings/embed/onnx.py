"""ONNX Runtime backend: the configured sentence-transformers model exported locally to ONNX
on first use (optionally int8-quantised), run without torch afterwards."""

# The exported graph is the whole sentence-transformers pipeline after tokenisation
# (transformer, pooling, normalisation), traced from the model itself, so mean, CLS and
# last-token pooling all come out as the model defines them. Tokenisation uses the model's
# own fast tokenizer, saved beside the graph and read back with the `tokenizers` library.
#
# Texts are sorted by token count before batching, so a batch of short texts is not padded
# to the length of one long one.

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import Embedder, EmbedderError
from .sentence_transformers import BUNDLED, resolve_model

log = logging.getLogger(__name__)

QUANTIZE_MODES = ("none", "int8")
EXPORT_VERSION = 1  # bump when the exported files change, so old caches are not reused
ONNX_EXTRA = "pip install 'tidings[onnx]'"


def model_id_with_quantization(model_id: str, quantize: str) -> str:
    """The id a database records. fp32 ONNX gives the torch model's vectors (cosine ≥ 0.9999,
    tested), so it keeps the model's id; int8 vectors differ measurably, so they get their own
    id and switching between them needs `tidings reembed`."""
    return model_id if quantize == "none" else f"{model_id}+{quantize}"


def check_quantize(quantize: str) -> str:
    quantize = (quantize or "none").strip().lower()
    if quantize not in QUANTIZE_MODES:
        raise EmbedderError(
            f"unknown embedding quantization {quantize!r}; choose one of {list(QUANTIZE_MODES)}"
        )
    return quantize


def _import_runtime():
    try:
        import onnxruntime
        import tokenizers
    except ImportError as exc:
        raise EmbedderError(
            f"the onnx embedding backend needs onnxruntime and tokenizers: {ONNX_EXTRA}"
        ) from exc
    return onnxruntime, tokenizers


class OnnxEmbedder(Embedder):
    def __init__(
        self,
        model: str = BUNDLED,
        query_prompt: str = "",
        document_prompt: str = "",
        truncate_dim: int = 0,
        batch_size: int = 32,
        device: str = "cpu",
        max_seq_length: int = 256,
        quantize: str = "none",
        cache_dir: str | os.PathLike = "",
        threads: int = 0,
    ):
        ort, tokenizers = _import_runtime()
        self.quantize = check_quantize(quantize)
        target, base_id = resolve_model(model)
        if not Path(target).exists():
            raise EmbedderError(
                f"the onnx backend exports a local model; {model!r} is not a local path "
                "(download it once, then point TIDINGS_MODEL at its directory)"
            )
        cache_root = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "tidings"
        self.path = ensure_export(Path(target), base_id, self.quantize, cache_root)
        meta = json.loads((self.path / "meta.json").read_text())
        self.input_names: list[str] = meta["inputs"]
        self.padding_side: str = meta["padding_side"]
        self.pad_id: int = meta["pad_id"]
        full_dim = int(meta["dim"])
        limit = int(meta["max_seq_length"] or 10**6)
        self.max_seq_length = min(max_seq_length, limit) if max_seq_length else limit
        self.tokenizer = tokenizers.Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # idle threads sleep instead of spinning: a server, a poller or a Ray stage shares
        # the cores, and spinning workers take CPU from them (measured: up to 40% more CPU
        # per batch on a loaded 2-core machine for the same work)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(self.path / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbedderError(f"cannot load the ONNX model in {self.path}: {exc}") from exc
        self.dim = min(truncate_dim, full_dim) if truncate_dim else full_dim
        model_id = f"{base_id}@{self.dim}" if truncate_dim else base_id
        self.model_id = model_id_with_quantization(model_id, self.quantize)
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.batch_size = max(1, batch_size)

    @classmethod
    def options_from_settings(cls, settings) -> dict:
        cache = settings.embed_cache_dir or str(settings.data_path / "models")
        return {
            **super().options_from_settings(settings),
            "quantize": settings.embed_quantize,
            "cache_dir": cache,
            "threads": settings.embed_threads,
        }

    @classmethod
    def model_id_for(cls, settings) -> str:
        quantize = check_quantize(settings.embed_quantize)
        return model_id_with_quantization(super().model_id_for(settings), quantize)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        prompt = self.query_prompt if is_query else self.document_prompt
        encodings = self.tokenizer.encode_batch([prompt + t for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # longest first: the first (slowest) batch shows any memory problem at once
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            feeds = self._feeds([encodings[i] for i in chunk])
            vectors = self.session.run(None, feeds)[0]
            out[chunk] = vectors[:, : self.dim]
        return out

    def _feeds(self, encodings) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            cols = slice(width - n, width) if self.padding_side == "left" else slice(0, n)
            ids[row, cols] = enc.ids
            mask[row, cols] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return {name: feeds[name] for name in self.input_names}


def cache_key(model_path: Path, model_id: str, quantize: str) -> str:
    """Changes with the model's files (names, sizes, times), the options and our versions."""
    import onnxruntime

    files = sorted(
        (str(p.relative_to(model_path)), p.stat().st_size, int(p.stat().st_mtime))
        for p in model_path.rglob("*")
        if p.is_file()
    )
    blob = json.dumps(
        [EXPORT_VERSION, model_id, str(model_path), quantize, onnxruntime.__version__, files]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_export(model_path: Path, model_id: str, quantize: str, cache_root: Path) -> Path:
    """The cached export's directory, made on first use. Several processes may race to make
    it: each builds in its own temp directory and the first rename wins."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")[:80]
    target = cache_root / f"{slug}-{quantize}-{cache_key(model_path, model_id, quantize)}"
    if (target / "meta.json").exists():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_root))
    try:
        log.warning("exporting %s to ONNX (%s) in %s; done once", model_id, quantize, target)
        export(model_path, work, quantize)
        try:
            work.rename(target)
        except OSError:
            if not (target / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _wrap(model, names: list[str]):
    """The SentenceTransformer as a module of positional tensors in, vectors out (what
    torch.onnx traces)."""
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    return Wrapped().eval()


def export(model_path: Path, out: Path, quantize: str) -> None:
    """Export model_path (a sentence-transformers directory) into out/: model.onnx,
    tokenizer.json and meta.json."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EmbedderError(
            "exporting a model to ONNX needs torch and sentence-transformers"
        ) from exc
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from .sentence_transformers import _quiet_transformers

    _quiet_transformers()
    try:
        model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    except Exception as exc:
        raise EmbedderError(f"cannot load embedding model {model_path}: {exc}") from exc
    hf_tokenizer = model.tokenizer
    # two texts of different lengths, so the traced graph sees padding and a real mask
    sample = ["a short text", "a somewhat longer sample text, with punctuation, to pad"]
    features = {
        k: v for k, v in model.preprocess(sample).items() if isinstance(v, torch.Tensor)
    }
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features]
    wrapped = _wrap(model, names)
    fp32 = out / ("model.onnx" if quantize == "none" else "model.fp32.onnx")
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python code
        torch.onnx.export(
            wrapped,
            tuple(features[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={
                **{n: {0: "batch", 1: "tokens"} for n in names},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    if quantize == "int8":
        quantize_int8(fp32, out / "model.onnx")
        fp32.unlink()
    hf_tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    get_dim = getattr(model, "get_embedding_dimension", None) or getattr(
        model, "get_sentence_embedding_dimension", None
    )
    dim = get_dim() if get_dim else None
    if not dim:
        with torch.no_grad():
            dim = int(wrapped(*(features[n] for n in names)).shape[1])
    meta = {
        "inputs": names,
        "dim": int(dim),
        "max_seq_length": int(model.max_seq_length or 0),
        "padding_side": hf_tokenizer.padding_side,
        "pad_id": int(hf_tokenizer.pad_token_id or 0),
        "quantize": quantize,
        "source": str(model_path),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights, per output channel: the matrix
    products take nearly all the time, and quantising every op (embeddings, norms) costs far
    more accuracy than it saves time."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise EmbedderError(f"int8 quantisation needs onnx and onnxruntime: {ONNX_EXTRA}") from exc
    prepared = source.with_suffix(".prep.onnx")
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception:  # pre-processing is an optimisation; quantise the raw graph instead
        log.info("quantisation pre-processing failed; quantising the exported graph")
        shutil.copyfile(source, prepared)
    quantize_dynamic(
        str(prepared),
        str(target),
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        weight_type=QuantType.QInt8,
    )
    prepared.unlink(missing_ok=True)
