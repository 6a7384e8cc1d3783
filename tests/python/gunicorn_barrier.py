"""Gunicorn settings for test_service.py: every worker stops right after fork (without --preload,
before it imports the app) until the test has seen all of them forked; then they all go on at the
same instant, and load the model together.

The test passes two pipes: each worker writes its pid to MINILM_TEST_FORKED_FD, then reads one
byte from MINILM_TEST_GO_FD; the test writes one byte per worker. If the test goes away, the read
sees end of file and the worker carries on.
"""

import os

graceful_timeout = 10
keepalive = 120  # the test opens its connections while the slowest worker is still loading
control_socket_disable = True  # gunicorn >= 27 would otherwise make a socket under ~/.gunicorn


def post_fork(server, worker):
    forked = int(os.environ["MINILM_TEST_FORKED_FD"])
    go = int(os.environ["MINILM_TEST_GO_FD"])
    os.write(forked, f"{os.getpid()}\n".encode())
    os.read(go, 1)
    os.close(forked)
    os.close(go)
