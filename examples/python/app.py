"""A sentence-embedding service: FastAPI behind gunicorn, one model shared by every worker.

Run it from the source root, in a venv with minilm installed (README: From Python) and
`pip install fastapi gunicorn uvicorn-worker`:

    gunicorn -w 4 -k uvicorn_worker.UvicornWorker --chdir examples/python app:app

or from anywhere, with the --chdir pointing here. Add --preload to open the model once in the
gunicorn master, before it forks the workers. Either way the workers map the same read-only
model.safetensors: the weights are in memory once, not once per worker, and the model folder
or the Hugging Face cache may be read-only (nothing is downloaded, locked or written).

    curl -s localhost:8000/embed -H 'content-type: application/json' -d '{"texts": ["A man is eating food."]}'

MINILM_MODEL: a model folder, or a hub id already in the Hugging Face cache (HF_HUB_CACHE).
MINILM_THREADS: threads per request; 1 suits one worker per core.
"""

import os

import minilm
from fastapi import FastAPI
from pydantic import BaseModel

model = minilm.Encoder(
    os.environ.get("MINILM_MODEL", "sentence-transformers/all-MiniLM-L6-v2"),
    threads=int(os.environ.get("MINILM_THREADS", "1")),
)
app = FastAPI()


class EmbedRequest(BaseModel):
    texts: list[str]


# A plain def: FastAPI runs it in its thread pool, and encode() releases the GIL meanwhile.
@app.post("/embed")
def embed(request: EmbedRequest) -> dict[str, object]:
    return {"embeddings": model.encode(request.texts).tolist()}


@app.get("/health")
def health() -> dict[str, object]:
    return {"pid": os.getpid(), "model": model.path}
