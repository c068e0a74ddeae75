"""A local web server of news pages for the URL ingestion tests: real HTTP, on 127.0.0.1 only."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORY = ("<html><head><title>Council approves two electric ferries | Harbour Gazette</title>"
         '<meta property="og:title" content="Council approves two electric ferries">'
         '<meta property="og:site_name" content="Harbour Gazette">'
         '<meta name="author" content="Ola Nordmann">'
         '<meta property="article:published_time" content="2026-11-30T08:00:00Z">'
         "</head><body><nav><a href='/'>Home</a> | <a href='/sport'>Sport</a> | <a href='/login'>Log in</a></nav>"
         "<article><h1>Council approves two electric ferries</h1>"
         "<p>The city council voted 31 to 12 on Tuesday to buy two electric ferries for the harbour route, "
         "replacing diesel boats that have served the island since 1994.</p>"
         "<p>The ferries will be built by the Dutch shipyard Damen and are expected to enter service in 2028, "
         "the transport committee said in a statement after the vote.</p>"
         "<p>Opposition leader Kari Holm said the contract was too expensive and asked for a new tender, "
         "but her motion was defeated.</p></article>"
         "<aside class='newsletter'>Sign up for our newsletter to get the morning briefing every day!</aside>"
         "<footer>Copyright Harbour Gazette. All rights reserved. Contact us | Privacy</footer></body></html>")
NAV_ONLY = "<html><head><title>Index</title></head><body><nav><a href='/a'>A</a> <a href='/b'>B</a></nav></body></html>"


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self):  # noqa: N802 (the http.server name)
        if self.path == "/hang":
            time.sleep(3)
            return
        status, kind, body = self.routes.get(self.path, (404, "text/html", b"<html>not found</html>"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.user_agents.append(self.headers.get("User-Agent", ""))

    def log_message(self, *args):
        pass


@contextmanager
def news_server(pages: dict[str, tuple[int, str, bytes]] | None = None):
    routes = {"/news/ferries.html": (200, "text/html; charset=utf-8", STORY.encode()),
              "/nav.html": (200, "text/html", NAV_ONLY.encode()),
              "/data.json": (200, "application/json", b'{"a": 1}'),
              "/big.html": (200, "text/html", b"<html><body><p>" + b"word " * 400_000 + b"</p></body></html>"),
              **(pages or {})}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.user_agents = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
