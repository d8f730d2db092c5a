"""`rest data fetch` against a server that never answers: it says what it fetches and how long it
waits, and after the first timeout it tries no other download."""

from __future__ import annotations

import socket
import threading

import yaml

from rest.cli import main


def test_one_timeout_stops_the_downloads_and_names_every_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REST_DATA_DIR", raising=False)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    requests, held = [], []

    def black_hole():  # accept, read the request line, never answer
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            requests.append(conn.recv(4096).split(b"\r\n", 1)[0].decode())

    threading.Thread(target=black_hole, daemon=True).start()
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"files": [
        {"key": k, "path": f"d/{k}.json", "url": f"http://127.0.0.1:{port}/{k}.json", "sha256": "0" * 64,
         "needed_by": ["tiny"]} for k in ("first", "second", "third")]}))
    try:
        code = main(["data", "fetch", "--output", str(tmp_path / "out"), "--manifest", str(manifest),
                     "--timeout", "0.5"])
    finally:
        server.close()
        for conn in held:
            conn.close()
    err = capsys.readouterr().err
    assert code == 2
    assert requests == ["GET /first.json HTTP/1.1"]
    assert f"fetching first.json from http://127.0.0.1:{port}/first.json (waiting up to 0.5 s" in err
    assert "d/first.json: download failed" in err
    for key in ("second", "third"):
        assert f"d/{key}.json: not tried (the download of d/first.json got no answer within 0.5 s)" in err
