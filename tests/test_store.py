"""Downloads from a real HTTP server on the loopback interface (no mocks)."""

import http.server
import threading
import time

import pytest

from brainalign.datasets.store import fetch, sha1_of
from brainalign.errors import BrainalignError, DataMismatch, DataUnavailable
from tests.fixtures_data import write_tiny_assembly

NAME = "assy_Tiny_language.nc"


class Server:
    """Serves one folder on 127.0.0.1 and counts the requests for each path."""

    def __init__(self, folder):
        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{NAME}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.delenv("BRAINALIGN_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    folder = tmp_path / "remote"
    folder.mkdir()
    source = write_tiny_assembly(folder / NAME)
    server = Server(folder)
    yield server, source, sha1_of(source)
    server.stop()


def test_downloads_once_then_reuses_the_cache(served, tmp_path):
    server, source, sha1 = served
    path = fetch(server.url, sha1, tmp_path / "cache", progress=False)
    assert path == tmp_path / "cache" / NAME
    assert path.read_bytes() == source.read_bytes()
    assert fetch(server.url, sha1, tmp_path / "cache", progress=False) == path
    assert server.requests == [f"/{NAME}"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [NAME]  # no temporary files left


def test_corrupt_or_partial_cache_is_fetched_again(served, tmp_path):
    server, source, sha1 = served
    path = fetch(server.url, sha1, tmp_path, filename="copy.nc", progress=False)
    path.write_bytes(source.read_bytes()[:100])  # a download cut short
    assert fetch(server.url, sha1, tmp_path, filename="copy.nc", progress=False) == path
    assert sha1_of(path) == sha1
    assert len(server.requests) == 2


def test_checksum_mismatch_is_an_error_and_caches_nothing(served, tmp_path):
    server, _, _ = served
    with pytest.raises(DataMismatch, match="SHA-1") as error:
        fetch(server.url, "0" * 40, tmp_path / "cache", progress=False)
    assert server.url in str(error.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_file_on_the_server(served, tmp_path):
    server, _, sha1 = served
    with pytest.raises(DataUnavailable, match="HTTP 404"):
        fetch(server.url + ".gone", sha1, tmp_path, progress=False)


def test_server_down_says_how_to_get_the_data(served, tmp_path):
    server, _, sha1 = served
    server.stop()
    start = time.monotonic()
    with pytest.raises(DataUnavailable) as error:
        fetch(server.url, sha1, tmp_path, progress=False)
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert server.url in message and f"dataset.path=/path/to/{NAME}" in message
    assert isinstance(error.value, BrainalignError)


@pytest.mark.parametrize("variable", ["BRAINALIGN_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_mode_skips_the_network(served, tmp_path, monkeypatch, variable):
    server, _, sha1 = served
    monkeypatch.setenv(variable, "1")
    with pytest.raises(DataUnavailable, match="offline") as error:
        fetch(server.url, sha1, tmp_path, progress=False)
    assert "dataset.path=" in str(error.value) and server.url in str(error.value)
    assert server.requests == []


def test_offline_mode_still_uses_a_valid_cache(served, tmp_path, monkeypatch):
    server, _, sha1 = served
    path = fetch(server.url, sha1, tmp_path, progress=False)
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    assert fetch(server.url, sha1, tmp_path, progress=False) == path
    assert len(server.requests) == 1


def test_progress_bar_runs(served, tmp_path, capsys):
    server, _, sha1 = served
    fetch(server.url, sha1, tmp_path, progress=True)
    assert NAME in capsys.readouterr().err
