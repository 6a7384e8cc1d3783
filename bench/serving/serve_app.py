"""The embedding web app of bench/serving/compare_serving.py: one FastAPI app, three backends.

    MINILM_BENCH_BACKEND=minilm|sentence-transformers|onnxruntime \\
        gunicorn serve_app:app --chdir bench/serving -w 4 -k uvicorn_worker.UvicornWorker -b 127.0.0.1:8000

    POST /embed   {"texts": ["...", ...]}  ->  {"embeddings": [[...384 floats...], ...]}
    GET  /health  ->  {"pid": <the worker's pid>, "backend": "...", "embed_requests": <answered so far>}

Each worker process loads its backend when gunicorn imports this module (no --preload), embeds
one text untimed, and only then answers, so a worker that answers /health is ready to serve.
Every backend runs one thread per worker (MINILM_BENCH_THREADS, default 1): the workers are the
parallelism. The /embed handler is `async def` and calls the backend directly: a worker embeds one
request at a time (CPU-bound work gains nothing from FastAPI's thread pool, which would only add a
thread hop and let requests of one worker compete for its core).

Backends, all embedding the model folder MINILM_BENCH_MODEL (default models/all-MiniLM-L6-v2):
  minilm                 minilm.Encoder(folder, threads=1).encode(texts): the safetensors file
                         mapped read-only, shared by all workers.
  sentence-transformers  SentenceTransformer(folder, device="cpu").encode(texts, batch_size=32)
                         under torch.inference_mode(), torch.set_num_threads(1) and
                         torch.set_num_interop_threads(1) in every worker.
  onnxruntime            ONNX Runtime on MINILM_BENCH_ONNX (default models/onnx/<folder name>/model.onnx,
                         written by bench/peers/export_onnx.py), intra_op_num_threads=1,
                         inter_op_num_threads=1, sequential execution, ORT_ENABLE_ALL; texts
                         tokenized with the `tokenizers` package from the folder's tokenizer.json,
                         truncation at 256 tokens, padding to the longest text of the request. The
                         exported graph ends in mean pooling over the attention mask and L2
                         normalisation (sentence-transformers' Pooling and Normalize modules), so
                         its output is the sentence embedding.
All three give the same embeddings up to float rounding (bench/serving/compare_serving.py checks).
"""
import json
import os
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # HF tokenizers' batch parallelism
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fastapi import FastAPI, Response  # noqa: E402
from pydantic import BaseModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BACKEND = os.environ.get("MINILM_BENCH_BACKEND", "minilm")
MODEL = Path(os.environ.get("MINILM_BENCH_MODEL", ROOT / "models" / "all-MiniLM-L6-v2"))
THREADS = int(os.environ.get("MINILM_BENCH_THREADS", "1"))
MAX_TOKENS = 256
BATCH = 32


def _minilm():
    import minilm

    encoder = minilm.Encoder(str(MODEL), threads=THREADS)
    return lambda texts: encoder.encode(texts, batch_size=BATCH)


def _sentence_transformers():
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(THREADS)
    torch.set_num_interop_threads(1)
    model = SentenceTransformer(str(MODEL), device="cpu")
    model.max_seq_length = MAX_TOKENS

    def embed(texts):
        with torch.inference_mode():
            return model.encode(texts, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False)

    return embed


def _onnxruntime():
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    onnx = Path(os.environ.get("MINILM_BENCH_ONNX", MODEL.parent / "onnx" / MODEL.name / "model.onnx"))
    tokenizer = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    pad_token = "[PAD]"
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token), pad_token=pad_token)  # to the longest
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])

    def embed(texts):
        out = []
        for b in range(0, len(texts), BATCH):
            enc = tokenizer.encode_batch(texts[b : b + BATCH])
            feeds = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            out.append(session.run(None, feeds)[0])
        return np.concatenate(out) if out else np.empty((0, 384), dtype=np.float32)

    return embed


_LOADERS = {"minilm": _minilm, "sentence-transformers": _sentence_transformers, "onnxruntime": _onnxruntime}
if BACKEND not in _LOADERS:
    raise SystemExit(f"MINILM_BENCH_BACKEND={BACKEND!r}: one of {', '.join(_LOADERS)}")
embed = _LOADERS[BACKEND]()
embed(["warm-up"])  # lazy initialisation happens here, before the worker answers /health


class EmbedRequest(BaseModel):
    texts: list[str]


app = FastAPI()


served = 0  # /embed requests this worker has answered


@app.get("/health")
async def health():
    return {"pid": os.getpid(), "backend": BACKEND, "embed_requests": served}


@app.post("/embed")
async def embed_texts(request: EmbedRequest):
    global served
    embeddings = embed(request.texts)
    served += 1
    # json.dumps on a list of floats: FastAPI's default encoder walks every float in Python first.
    return Response(json.dumps({"embeddings": embeddings.tolist()}), media_type="application/json")
