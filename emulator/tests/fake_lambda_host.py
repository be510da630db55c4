#!/usr/bin/env python3
"""A throwaway stand-in for the invoke API of `cargo lambda watch
--only-lambda-apis`, for lambda_client_check.mjs.

POST /2015-03-31/functions/<name>/invocations answers as cargo-lambda does:
`good` -> 200 {"echo": <payload>}; `bad` -> 500 with an error document;
`broken` -> 503; `hang` -> no answer for 30 s; anything else -> 404 (as for
an ARN in the path). GET /counts -> invocations per name.

    python3 emulator/tests/fake_lambda_host.py   # prints "listening on URL"
"""

import json
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import time

COUNTS = Counter()
ERROR_DOC = {"errorType": "BudgetExhausted", "errorMessage": "the invalidation budget is spent"}


class Host(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.split("/")  # ['', '2015-03-31', 'functions', name, 'invocations']
        name = parts[3] if len(parts) == 5 and parts[4] == "invocations" else ""
        COUNTS[name] += 1
        if name == "good":
            self.reply(200, {"echo": json.loads(payload or b"null")})
        elif name == "bad":
            self.reply(500, ERROR_DOC)
        elif name == "broken":
            self.reply(503, "upstream unavailable")
        elif name == "hang":
            time.sleep(30)
        else:
            self.reply(404, "")

    def do_GET(self):
        self.reply(200, dict(COUNTS))

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
