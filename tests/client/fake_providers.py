"""A local stand-in for the OpenAI and Anthropic HTTP APIs, for the real `openai` and
`anthropic` SDKs pointed at it with `base_url`: their JSON answers and SSE streams, with known
usage figures, and every request body kept (`requests`) to check what the provider saw.

- `POST /v1/chat/completions` (openai), `POST /v1/responses` (openai), `POST /v1/messages`
  (anthropic); `"stream": true` answers Server-Sent Events as each API does.
- A model starting with `fail` is refused: 429 `rate_limit_exceeded` (openai), 529
  `overloaded_error` (anthropic).
- The model answered is the dated snapshot of the one requested (`ANSWERED`), as the
  providers answer, so that a test can tell which of the two was tracked.
- Every text answered contains `COMPLETION_SECRET`: it must never reach the tracker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The snapshot each alias answers with (all in the price catalog, as aliases of the model).
ANSWERED = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
COMPLETION_SECRET = "COMPLETION-SECRET-7c1e"
WORDS = ["Hello", ", ", COMPLETION_SECRET, "!"]

# The usage each endpoint answers (distinct figures, so that a mix-up shows).
CHAT_USAGE = {
    "prompt_tokens": 1234,
    "completion_tokens": 56,
    "total_tokens": 1290,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0},
}
CHAT_STREAM_USAGE = {
    "prompt_tokens": 2222,
    "completion_tokens": 77,
    "total_tokens": 2299,
    "prompt_tokens_details": {"cached_tokens": 2048},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
RESPONSES_USAGE = {
    "input_tokens": 800,
    "input_tokens_details": {"cached_tokens": 512},
    "output_tokens": 40,
    "output_tokens_details": {"reasoning_tokens": 8},
    "total_tokens": 840,
}
RESPONSES_STREAM_USAGE = {
    "input_tokens": 901,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 33,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 934,
}
MESSAGES_USAGE = {
    "input_tokens": 300,
    "output_tokens": 45,
    "cache_read_input_tokens": 2000,
    "cache_creation_input_tokens": 100,
}
# A stream's message_start counts the input (and 1 output token so far); message_delta
# brings the final, cumulative output count.
MESSAGES_STREAM_START_USAGE = {
    "input_tokens": 410,
    "output_tokens": 1,
    "cache_read_input_tokens": 1500,
    "cache_creation_input_tokens": 0,
}
MESSAGES_STREAM_OUTPUT_TOKENS = 64


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]


@dataclass
class FakeProviders:
    base_url: str
    requests: list[Recorded] = field(default_factory=list)

    @property
    def openai_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.base_url

    def last(self, path: str) -> dict[str, Any]:
        """The body of the latest request to `path`."""
        return next(r.body for r in reversed(self.requests) if r.path == path)


def _chat_completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS), "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": CHAT_USAGE,
    }


def _chat_chunks(model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1_760_000_000}
    usage_field = {"usage": None} if include_usage else {}
    for index, word in enumerate(WORDS):
        delta = {"role": "assistant", "content": word} if index == 0 else {"content": word}
        yield {
            **base,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            **usage_field,
        }
    yield {
        **base,
        "model": model,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        **usage_field,
    }
    if include_usage:
        yield {**base, "model": model, "choices": [], "usage": CHAT_STREAM_USAGE}


def _response(model: str, usage: dict[str, Any] | None, status: str = "completed") -> Any:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_760_000_000,
        "status": status,
        "model": model,
        "output": []
        if usage is None
        else [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(WORDS), "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def _response_events(model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    text = "".join(WORDS)
    item = {"type": "message", "id": "msg_1", "role": "assistant"}
    part = {"type": "output_text", "annotations": []}
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    yield "response.created", {"response": _response(model, None, "in_progress")}
    yield (
        "response.output_item.added",
        {"output_index": 0, "item": {**item, "status": "in_progress", "content": []}},
    )
    yield "response.content_part.added", {**at, "part": {**part, "text": ""}}
    for word in WORDS:
        yield "response.output_text.delta", {**at, "delta": word}
    yield "response.output_text.done", {**at, "text": text}
    yield "response.content_part.done", {**at, "part": {**part, "text": text}}
    yield (
        "response.output_item.done",
        {"output_index": 0, "item": {**item, "status": "completed", "content": [part]}},
    )
    yield "response.completed", {"response": _response(model, RESPONSES_STREAM_USAGE)}


def _message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(WORDS)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": MESSAGES_USAGE,
    }


def _message_events(model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    start = {
        **_message(model),
        "content": [],
        "stop_reason": None,
        "usage": MESSAGES_STREAM_START_USAGE,
    }
    yield "message_start", {"message": start}
    yield "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
    yield "ping", {}
    for word in WORDS:
        yield (
            "content_block_delta",
            {"index": 0, "delta": {"type": "text_delta", "text": word}},
        )
    yield "content_block_stop", {"index": 0}
    yield (
        "message_delta",
        {
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": MESSAGES_STREAM_OUTPUT_TOKENS},
        },
    )
    yield "message_stop", {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.providers.requests.append(Recorded(self.path, body))
        model = str(body.get("model", ""))
        answered = ANSWERED.get(model, model)
        streamed = body.get("stream") is True
        if self.path == "/v1/chat/completions":
            if model.startswith("fail"):
                self._json(429, _openai_rate_limited())
            elif streamed:
                options = body.get("stream_options") or {}
                chunks = _chat_chunks(answered, options.get("include_usage") is True)
                self._sse((None, chunk) for chunk in chunks)
            else:
                self._json(200, _chat_completion(answered))
        elif self.path == "/v1/responses":
            if model.startswith("fail"):
                self._json(429, _openai_rate_limited())
            elif streamed:
                events = _response_events(answered)
                self._sse(
                    (name, {"type": name, "sequence_number": number, **data})
                    for number, (name, data) in enumerate(events)
                )
            else:
                self._json(200, _response(answered, RESPONSES_USAGE))
        elif self.path == "/v1/messages":
            if model.startswith("fail"):
                error = {"type": "overloaded_error", "message": "Overloaded"}
                self._json(529, {"type": "error", "error": error})
            elif streamed:
                events = _message_events(answered)
                self._sse((name, {"type": name, **data}) for name, data in events)
            else:
                self._json(200, _message(answered))
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: Any) -> None:
        """Server-Sent Events, then `data: [DONE]` (openai's end; anthropic ignores it)."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
        if self.path == "/v1/chat/completions":
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True


def _openai_rate_limited() -> dict[str, Any]:
    return {
        "error": {
            "message": "Rate limit reached for requests",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    providers: FakeProviders


@contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    """Serve the fake APIs on a free local port, in a thread, for the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.providers = FakeProviders(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.providers
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
