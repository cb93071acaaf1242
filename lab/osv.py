"""A local stand-in of OSV's query API (https://api.osv.dev/v1/query), for the dependency audit.

It answers as OSV does (https://google.github.io/osv.dev/post-v1-query/): a POST of
`{"package": {"name", "ecosystem"}, "version"}` gets `{"vulns": [record, ...]}` for the records
whose `affected` entry names that package and whose ECOSYSTEM ranges hold that version, or `{}`.
Its records are real ones, kept in lab/advisories/ as OSV JSON, each transcribed from the PyPA
advisory database (github.com/pypa/advisory-database, vulns/<package>/<id>.yaml) with its
identifiers, ranges and dates unchanged
(its list of affected versions and most references left out: the ranges say the same).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

ADVISORIES = Path(__file__).parent / "advisories"


def affects(record: dict[str, Any], name: str, version: str) -> bool:
    """Whether the record's ECOSYSTEM ranges for this PyPI package hold this version: at or
    after an `introduced` event and before the `fixed` event that follows it."""
    for affected in record["affected"]:
        package = affected["package"]
        if package["ecosystem"] != "PyPI" or canonicalize_name(package["name"]) != name:
            continue
        if version in affected.get("versions", []):
            return True
        for span in affected.get("ranges", []):
            if span["type"] != "ECOSYSTEM":
                continue
            inside = False
            for event in span["events"]:
                if "introduced" in event:
                    start = event["introduced"]
                    inside = start == "0" or Version(version) >= Version(start)
                elif "fixed" in event and inside and Version(version) >= Version(event["fixed"]):
                    inside = False
            if inside:
                return True
    return False


def answer(query: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    package = query["package"]
    if package.get("ecosystem") != "PyPI":
        return {}
    name = canonicalize_name(package["name"])
    found = [r for r in records if affects(r, name, query["version"])]
    return {"vulns": found} if found else {}


@contextmanager
def serving(folder: Path = ADVISORIES) -> Iterator[str]:
    """The stand-in on a free port of 127.0.0.1, until the block ends: yields its query URL."""
    records = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/query":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length", 0))
            body = json.dumps(answer(json.loads(self.rfile.read(length)), records)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()
