"""Milvus Lite's gRPC server on a free port of 127.0.0.1 (never another address), for the tests and the bench:
the real Milvus API, BM25 function and hybrid search included. Stopped by its PID."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def milvus_server(data_dir: Path, timeout_s: float = 60.0) -> Iterator[str]:
    """Yields the server as a QA_VECTOR_STORE value (milvus://127.0.0.1:PORT) once it answers."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "server.log", "wb") as log:  # read it when a test cannot reach the server
        server = subprocess.Popen([str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir",
                                   str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_it_answers(port, server, timeout_s)
            yield f"milvus://127.0.0.1:{port}"
        finally:
            _stop(server)


def _stop(server: subprocess.Popen) -> None:
    os.kill(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()


def _wait_until_it_answers(port: int, server: subprocess.Popen, timeout_s: float) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with {server.returncode}")
        try:
            # Closed, not left to ping: Milvus Lite's server answers a channel that keeps pinging while idle with
            # GOAWAY "too_many_pings", and the next client for the same address got that dead channel.
            with contextlib.closing(MilvusClient(f"http://127.0.0.1:{port}", timeout=2)) as probe:
                probe.list_collections()
            return
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.3)
    raise RuntimeError(f"milvus-lite server did not answer within {timeout_s:g} s")
