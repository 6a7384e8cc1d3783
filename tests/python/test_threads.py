"""What a service needs from minilm.Encoder: encode() lets other Python threads run, one Encoder
serves many threads at once, it works in a process forked after it was made (gunicorn
--preload), and Ctrl-C stops a long encode() call."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import minilm
from support import ENCODER_DATA, read_texts, same_bits


@pytest.fixture(scope="module")
def texts():
    return read_texts(ENCODER_DATA / "texts.txt")


def test_encode_lets_other_threads_run(model_path, texts):
    model = minilm.Encoder(model_path, threads=1)
    batch = texts[16:216]  # one encode_into call of 200 texts: about a second
    window = {}

    def encode():
        window["start"] = time.perf_counter()
        model.encode(batch, batch_size=len(batch))
        window["end"] = time.perf_counter()

    worker = threading.Thread(target=encode)
    stamps = []
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.001)  # a GIL-holding encode would never let this thread wake up
    worker.join()

    start, end = window["start"], window["end"]
    inside = [t for t in stamps if start < t < end]
    gaps = np.diff([start, *inside, end])
    print(f"{len(inside)} iterations during a {end - start:.2f} s encode call, longest gap {gaps.max() * 1000:.0f} ms")
    assert len(inside) >= 20
    assert gaps.max() < (end - start) / 2


def test_threads_sharing_one_encoder_get_the_single_threaded_bits(encoder, texts):
    batch = texts[16:176] + texts[-4:]
    want = encoder.encode(batch)
    slices = [slice(k, len(batch), 4) for k in range(4)]
    barrier = threading.Barrier(4)

    def encode(part: slice) -> np.ndarray:
        barrier.wait()
        return encoder.encode(batch[part], batch_size=8)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(encode, slices))
    for part, got in zip(slices, results):
        assert same_bits(got, want[part])


def test_setting_max_seq_length_while_other_threads_encode(model_path, texts):
    # Every row comes out whole, from either setting; nothing crashes.
    batch = texts[-6:] + texts[16:22]  # long texts (truncated differently) and short ones
    short = minilm.Encoder(model_path, threads=1, max_seq_length=32).encode(batch)
    full = minilm.Encoder(model_path, threads=1).encode(batch)
    model = minilm.Encoder(model_path, threads=1)
    stop = threading.Event()
    results: list[list[np.ndarray]] = [[], []]

    def encode_until_stopped(mine: list[np.ndarray]) -> None:
        while not stop.is_set():
            mine.append(model.encode(batch, batch_size=3))

    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(encode_until_stopped, mine) for mine in results]
        n = 0
        deadline = time.monotonic() + 30
        while (n < 8 or min(map(len, results)) < 3) and time.monotonic() < deadline:
            model.max_seq_length = 32 if n % 2 == 0 else 256  # reloads the folder: tens of ms
            n += 1
        stop.set()
        for f in running:
            f.result(timeout=60)

    assert n >= 8 and min(map(len, results)) >= 3
    for got in results[0] + results[1]:
        for i in range(len(batch)):
            assert same_bits(got[i], short[i]) or same_bits(got[i], full[i]), f"text {i} is from neither setting"
    assert model.max_seq_length == (32 if n % 2 == 1 else 256)


def test_an_encoder_works_in_a_forked_child(model_path, texts):
    model = minilm.Encoder(model_path, threads=2)
    batch = texts[16:56]
    want = model.encode(batch)  # the parent's threads have run before the fork

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            signal.alarm(60)  # a hang ends the child, and the parent sees a short read
            data = model.encode(batch).tobytes()
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
            code = 0
        finally:
            os._exit(code)

    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready, _, _ = select.select([read_end], [], [], 1.0)
        if ready:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    else:
        os.kill(pid, signal.SIGKILL)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    got = np.frombuffer(b"".join(chunks), dtype=np.float32).reshape(want.shape)
    assert same_bits(got, want)


CTRL_C_CHILD = r"""
import signal, sys, time
# Python leaves SIGINT ignored when it starts with SIGINT ignored (as a background job of a
# shell without job control starts): Ctrl-C must reach this child however the tests were started.
signal.signal(signal.SIGINT, signal.default_int_handler)
import minilm
model = minilm.Encoder(sys.argv[1], threads=1)
long_text = " ".join(["word"] * 300)
texts = [long_text] * 2000  # at the slowest 500 batches of 4: far more than 15 s on any CPU
print("started", flush=True)
start = time.monotonic()
try:
    model.encode(texts, batch_size=4)
    print("completed", flush=True)
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.2f} s", flush=True)
"""


def test_ctrl_c_stops_a_long_encode_call(model_path):
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD, str(model_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 30)
        assert ready, "the child did not start within 30 s"
        assert child.stdout.readline() == "started\n"
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            out, err = child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the child was still encoding 10 s after SIGINT")
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    print(out.strip())
    assert out.startswith("interrupted after"), f"stdout {out!r}, stderr {err!r}"
    assert "completed" not in out
    assert elapsed < 5, f"the child took {elapsed:.1f} s to stop"
