"""Local servers that answer like the real channels: WeCom, DingTalk and Feishu group bots, and SMTP.

The bot server takes the behaviour from the key in the URL, as the real services would for a given bot:
`ok…` accepts; `limited…` answers 200 with the rate-limit errcode; `badkey…` answers 200 with the
invalid-key errcode; `boom…` answers HTTP 500; `hang…` replies only after the client has given up; `slow…`
replies after `latency` seconds. DingTalk checks the 加签 signature when the bot has a secret. Every accepted
text is kept, per key, as the bot's group would show it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ERRORS = {  # service → (rate limited, invalid key), as the services answer them
    "wecom": (
        {"errcode": 45009, "errmsg": "api freq out of limit"},
        {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1716000000_1]"},
    ),
    "dingtalk": (
        {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
        {"errcode": 300001, "errmsg": "token is not exist"},
    ),
    "feishu": (
        {"code": 9499, "msg": "too many request"},
        {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
    ),
}
SUCCESS = {
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success", "data": {}},
}


class BotServer:
    """A threaded HTTP server answering WeCom, DingTalk and Feishu webhook posts on one port."""

    def __init__(self, *, latency: float = 0.05, hang: float = 6.0, dingtalk_secrets: dict[str, str] | None = None):
        self.received: dict[str, list[str]] = defaultdict(list)
        self.requests = 0
        self.latency, self.hang = latency, hang
        self.dingtalk_secrets = dingtalk_secrets or {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as real web servers do: no 40 ms delayed-ACK stalls

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                if len(data) < length:  # the client died mid-request: a real server drops it too
                    self.close_connection = True
                    return
                body = json.loads(data or b"{}")
                status, reply = server.answer(self.path, body)
                data = json.dumps(reply, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:  # noqa: ANN001
                pass  # a killed dispatcher resets its connections; that is the test, not an error

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        split = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if split.path.startswith("/cgi-bin/webhook/send"):
            service, key, text = "wecom", query.get("key", ""), body.get("text", {}).get("content", "")
            if len(text.encode()) > 2048:
                return 200, {"errcode": 40058, "errmsg": "content exceed max length 2048"}
        elif split.path.startswith("/robot/send"):
            service, key, text = "dingtalk", query.get("access_token", ""), body.get("text", {}).get("content", "")
            secret = self.dingtalk_secrets.get(key)
            if secret and not _signed(secret, query.get("timestamp", ""), query.get("sign", "")):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        elif split.path.startswith("/open-apis/bot/v2/hook/"):
            service, key, text = "feishu", split.path.split("/")[5], body.get("content", {}).get("text", "")
        else:
            return 404, {"error": "unknown path"}
        with self._lock:
            self.requests += 1
        if key.startswith("hang"):
            time.sleep(self.hang)
        if key.startswith("slow"):
            time.sleep(self.latency)
        if key.startswith("boom"):
            return 500, {"error": "internal server error"}
        if key.startswith("limited"):
            return 200, ERRORS[service][0]
        if key.startswith("badkey"):
            return 200, ERRORS[service][1]
        with self._lock:
            self.received[key].append(text)
        return 200, SUCCESS[service]

    def __enter__(self) -> BotServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.httpd.shutdown()
        self.httpd.server_close()


def _signed(secret: str, timestamp: str, sign: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest())
    return bool(timestamp) and hmac.compare_digest(expected.decode(), sign)


@contextmanager
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port; yields (port, received messages)."""
    import socket
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    received = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.original_content, policy=policy.default)))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()
