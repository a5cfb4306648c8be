"""A tiny OpenAI-compatible embeddings server on loopback, for the knowledge tests.

Real HTTP through the real `openai` client (which asks for base64 vectors by default).
Vectors are deterministic bags of words: each word (or its concept, from a small table
that plays the part of a model's knowledge of synonyms) adds to one hashed dimension, so
texts sharing words or concepts point the same way.

    stub = EmbeddingStub().start()
    stub.url           # base_url for the client
    stub.fail = True   # answer 500 to everything
    stub.requests      # the JSON bodies received
    stub.hold("ZEBRA") # requests with a text containing "ZEBRA" wait: stub.held is set when
                       # one arrives, and they are answered once stub.release() is called
    stub.stop()
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import math
import re
import struct
import threading

# What a real model knows and a stemmer does not: these words mean the same thing.
CONCEPTS = {
    "reimbursement": "refund",
    "reimbursed": "refund",
    "refunds": "refund",
    "parcel": "package",
    "packages": "package",
    "courier": "delivery",
    "shipping": "delivery",
    "shipped": "delivery",
}
STOP = {"a", "an", "the", "i", "my", "can", "do", "how", "is", "of", "to", "in", "we", "you", "get", "for", "it"}


def vector(text: str, dimensions: int) -> list[float]:
    vec = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in STOP:
            continue
        word = CONCEPTS.get(word, word)
        digest = int(hashlib.sha256(word.encode()).hexdigest(), 16)
        vec[digest % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if not norm:
        vec[0] = 1.0
        norm = 1.0
    return [v / norm for v in vec]


class EmbeddingStub:
    def __init__(self, dimensions: int = 384):
        self.dimensions = dimensions
        self.fail = False
        self.requests: list[dict] = []
        self.server: http.server.ThreadingHTTPServer | None = None
        self.hold_marker = ""
        self.held = threading.Event()
        self._released = threading.Event()

    def hold(self, marker: str) -> None:
        self.hold_marker = marker
        self.held.clear()
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> EmbeddingStub:
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                stub.requests.append(body)
                if stub.fail or not self.path.endswith("/embeddings"):
                    return self._send(500, {"error": {"message": "stub failure", "type": "server_error"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                if stub.hold_marker and any(stub.hold_marker in text for text in texts):
                    stub.held.set()
                    stub._released.wait(timeout=60)
                size = body.get("dimensions") or stub.dimensions
                data = []
                for index, text in enumerate(texts):
                    values = vector(text, size)
                    if body.get("encoding_format") == "base64":
                        values = base64.b64encode(struct.pack(f"<{size}f", *values)).decode()
                    data.append({"object": "embedding", "index": index, "embedding": values})
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model"),
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    },
                )

            def _send(self, status: int, payload: dict):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
