"""A local stand-in of GitLab's Releases API, for the package kind's release job.

It answers `POST /api/v4/projects/:id/releases` as GitLab's documentation gives it
(docs.gitlab.com/api/releases, "Create a release"; a CI/CD job token is accepted in the
`JOB-TOKEN` header, gitlab-org/gitlab merge request 20632): a JSON body with `tag_name`
(required), `name` and `assets.links` (each `name`, `url`, `link_type`) makes the release and
answers 201 with it; a missing or wrong token answers 401, a missing `tag_name` 400, a second
release of one tag 409. It keeps what it made, for the test to read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Releases:
    """The stand-in's address and the releases made through it, by project id and tag."""

    url: str
    made: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


@contextmanager
def serving(project_id: str, job_token: str) -> Iterator[Releases]:
    """The Releases API of one project, answering on a free local port while in use."""
    releases = Releases(url="")

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            if self.path != f"/api/v4/projects/{project_id}/releases":
                self.answer(404, {"message": "404 Project Not Found"})
                return
            if self.headers.get("JOB-TOKEN") != job_token:
                self.answer(401, {"message": "401 Unauthorized"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            tag = body.get("tag_name")
            if not tag:
                self.answer(400, {"error": "tag_name is missing"})
                return
            if (project_id, tag) in releases.made:
                self.answer(409, {"message": "Release already exists"})
                return
            release = {
                "tag_name": tag,
                "name": body.get("name") or tag,
                "assets": {"links": body.get("assets", {}).get("links", [])},
            }
            releases.made[(project_id, tag)] = release
            self.answer(201, release)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    releases.url = f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield releases
    finally:
        server.shutdown()
        server.server_close()
