"""A small OpenAI-compatible server on loopback, the one stand-in for the LLM provider.

Real HTTP, driven through the real `openai` client. It streams chat completions (SSE) and
answers embeddings, and has switches to fail, slow down or garble:

    stub = LLMStub().start()
    stub.url                      # base_url for the client ("http://127.0.0.1:PORT/v1")
    stub.reply = "text"           # what the model says (default: answers from the prompt)
    stub.mode = "ok" | "fail" | "slow" | "garbage" | "cut" | "bad_key"
                                  # bad_key: 401 whose body echoes the key it was sent, as
                                  # OpenAI's "Incorrect API key provided: sk-..." does
    stub.redirect_to = None       # a URL: answer every request with a 307 to it
    stub.first_token_delay = 0.0  # seconds before the first token
    stub.token_delay = 0.0        # seconds between tokens
    stub.pause_after(3)           # the next streamed reply stops after 3 tokens until
                                  # stub.resume(); stub.paused is set once it stands there
    stub.requests                 # the JSON bodies it received
    stub.authorizations           # the Authorization header of each request (None: none)

The default reply plays a grounded model: it answers with the first sentence of the first
knowledge passage in the system prompt and cites it as [1], or says [HANDOFF] when the
prompt carries no passage. It never knows anything the prompt did not give it.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import math
import re
import threading
import time

from tests.processes import free_port


def embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vec = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        h = int(hashlib.md5(word.encode()).hexdigest(), 16)
        vec[h % dimensions] += 1.0 if (h >> 64) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def grounded_answer(messages: list[dict]) -> str:
    system = " ".join(m.get("content", "") for m in messages if m.get("role") == "system")
    match = re.search(r"^\[1\] [^\n]*\n(.+?)(?=\n\[2\] |\n\n|\Z)", system, re.S | re.M)
    if not match:
        return "[HANDOFF]"
    sentence = re.split(r"(?<=[.!?])\s", match.group(1).strip(), maxsplit=1)[0]
    return f"{sentence} [1]"


class LLMStub:
    def __init__(self):
        self.mode = "ok"
        self.reply: str | None = None
        self.first_token_delay = 0.0
        self.token_delay = 0.0
        self.slow_seconds = 5.0
        self.paused = threading.Event()
        self._pause_at: int | None = None
        self._resumed = threading.Event()
        self._lock = threading.Lock()
        self.redirect_to: str | None = None
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []
        self.port = free_port()
        self.server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if "messages" in r]

    def pause_after(self, tokens: int) -> None:
        with self._lock:
            self._pause_at = tokens
            self.paused.clear()
            self._resumed.clear()

    def resume(self) -> None:
        with self._lock:
            self._pause_at = None
        self._resumed.set()

    def _take_pause(self) -> int | None:
        """The token to pause at, for the one stream that claims it."""
        with self._lock:
            at, self._pause_at = self._pause_at, None
            return at

    def start(self) -> LLMStub:
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # stream each token at once, as real providers do

            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append(body)
                stub.authorizations.append(self.headers.get("Authorization"))
                if stub.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", stub.redirect_to + self.path.removeprefix("/v1"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if stub.mode == "bad_key":
                    key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    return self._json(
                        401,
                        {
                            "error": {
                                "message": f"Incorrect API key provided: {key}. Sent: {self.headers.get('Authorization')}",
                                "type": "invalid_request_error",
                                "code": "invalid_api_key",
                            }
                        },
                    )
                if stub.mode == "fail":
                    return self._json(500, {"error": {"message": "stub says no", "type": "server_error"}})
                if stub.mode == "slow":
                    # Not a wait: the provider's latency, which the client's timeout must cut short.
                    time.sleep(stub.slow_seconds)
                if self.path.endswith("/embeddings"):
                    return self.embeddings(body)
                if self.path.endswith("/chat/completions"):
                    return self.chat(body)
                return self._json(404, {"error": {"message": "unknown path"}})

            def embeddings(self, body):
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                dims = body.get("dimensions") or 384
                data = [
                    {"object": "embedding", "index": i, "embedding": embedding(t, dims)} for i, t in enumerate(inputs)
                ]
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model", "stub"),
                        "usage": {"prompt_tokens": 0, "total_tokens": 0},
                    },
                )

            def chat(self, body):
                text = stub.reply if stub.reply is not None else grounded_answer(body["messages"])
                if not body.get("stream"):
                    return self._json(
                        200,
                        {
                            "id": "stub",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body["model"],
                            "choices": [
                                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                            ],
                        },
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if stub.mode == "garbage":
                    self.wfile.write(b"data: {this is not json\n\n")
                    self.wfile.flush()
                    return
                tokens = re.findall(r"\S+\s*", text) or [text]
                if stub.mode == "cut":
                    tokens = tokens[: max(1, len(tokens) // 2)]
                pause_at = stub._take_pause()
                # Not waits: the provider's latency (before the first token, between tokens), which
                # tests set to see a reply grow, to outlast a client's timeout, and which bench/ times.
                time.sleep(stub.first_token_delay)
                for i, token in enumerate(tokens):
                    if i:
                        time.sleep(stub.token_delay)
                    if i == pause_at:
                        stub.paused.set()
                        stub._resumed.wait(timeout=60)
                    chunk = {
                        "id": "stub",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}],
                    }
                    try:
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    except OSError:
                        return  # the client went away (a worker killed mid-stream)
                if stub.mode == "cut":
                    return  # the connection drops: no finish_reason, no [DONE]
                done = {
                    "id": "stub",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.resume()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
