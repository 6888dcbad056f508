"""A small OpenAI-compatible embedding server for the tests: real HTTP on 127.0.0.1, with a
script of misbehaviours (errors, 429s, slow answers, malformed JSON, wrong dimensions,
dropped connections) played one per request."""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
import time

import numpy as np


def word_vector(word: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim)


def text_vector(text: str, dim: int) -> list[float]:
    """A bag of words: texts sharing words point the same way, so search still works."""
    words = re.findall(r"\w+", text.lower()) or ["<empty>"]
    vector = sum(word_vector(w, dim) for w in words)
    return (vector / np.linalg.norm(vector)).astype(float).tolist()


class EmbedServer:
    def __init__(self, dim: int = 16, slow_seconds: float = 1.0):
        self.dim = dim
        self.slow_seconds = slow_seconds
        self.script: list[str] = []  # behaviours for the next requests; then "ok"
        self.requests: list[dict] = []  # {"body": ..., "headers": ...} of every request
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner._lock:
                    owner.requests.append({"body": body, "headers": dict(self.headers)})
                    behaviour = owner.script.pop(0) if owner.script else "ok"
                owner.answer(self, behaviour, body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler, behaviour: str, body: dict) -> None:
        if self.path_is_wrong(handler):
            return self.send(handler, 404, {"error": "no such route"})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dim = self.dim
        if behaviour == "close":  # the connection drops without an answer
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if behaviour == "slow":
            time.sleep(self.slow_seconds)
        if behaviour.isdigit():
            headers = {"Retry-After": "0"} if behaviour == "429" else {}
            return self.send(handler, int(behaviour), {"error": {"message": "busy"}}, headers)
        if behaviour == "bad-json":
            return self.send_raw(handler, 200, b'{"data": [{"embedding": [0.1, ')
        if behaviour == "wrong-dim":
            dim = self.dim * 2
        data = [
            {"object": "embedding", "index": i, "embedding": text_vector(t, dim)}
            for i, t in enumerate(inputs)
        ]
        if behaviour == "few":
            data = data[:-1]
        data.reverse()  # the index field, not the order, says which input a vector is for
        self.send(handler, 200, {"object": "list", "data": data, "model": body.get("model")})

    @staticmethod
    def path_is_wrong(handler) -> bool:
        return handler.path != "/v1/embeddings"

    def send(self, handler, status: int, payload, headers=None) -> None:
        self.send_raw(handler, status, json.dumps(payload).encode(), headers)

    @staticmethod
    def send_raw(handler, status: int, raw: bytes, headers=None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(raw)

    def inputs(self) -> list[list[str]]:
        return [r["body"]["input"] for r in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
