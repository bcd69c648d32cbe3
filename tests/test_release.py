from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest

from pytest_empathy.corpus import release
from pytest_empathy.corpus.reader import CorpusError, load_file
from pytest_empathy.ratings import Counts


def test_shipped_figures_are_what_the_script_makes_from_the_release(release_file, tmp_path):
    shipped = (files("pytest_empathy.corpus") / "data" / f"{release.NAME}.csv").read_text()
    assert shipped == release.figures_csv(load_file(release_file))
    # The maintainer's script, outside the package, writes that.
    script = Path(__file__).parents[1] / "scripts" / "build_release_figures.py"
    command = [sys.executable, script, release_file, "-o", tmp_path / "figures.csv"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote 2000 rows to {tmp_path / 'figures.csv'}\n"
    assert (tmp_path / "figures.csv").read_text() == shipped


def test_shipped_raters_are_opaque_numbers_that_keep_the_releases_batches(release_file):
    import csv

    shipped = (files("pytest_empathy.corpus") / "data" / f"{release.NAME}.csv").read_text()
    with Path(release_file).open(encoding="utf-8") as source:
        raw = list(csv.DictReader(source))
    columns = [c for c in raw[0] if c.startswith("annotator_")]
    participant_ids = {row[c] for row in raw for c in columns}
    assert len(participant_ids) == 600 and not any(pid in shipped for pid in participant_ids)
    figures = {row.id: row for row in release.load_figures().rows}
    for column in columns:
        responder = column.removeprefix("annotator_").replace("_", "-")
        # The same rater in the release is the same number in the figures, and no other.
        pairs = {(row[column], figures[row["dialog_id"]].raters[responder]) for row in raw}
        assert len(pairs) == len({a for a, _ in pairs}) == len({n for _, n in pairs})
        assert all(number.isdigit() for _, number in pairs)
        # Each rater rated one batch of ten (the release's part_no).
        batches = {a: {row["part_no"] for row in raw if row[column] == a} for a, _ in list(pairs)[:20]}
        assert all(len(parts) == 1 for parts in batches.values())


def test_shipped_figures_hold_the_published_counts():
    corpus = release.load_figures()
    assert len(corpus.rows) == 2000 and not corpus.has_text
    assert Counter(row.polarity for row in corpus.rows) == {"positive": 881, "negative": 1119}
    totals = {r: Counts.of(row.ratings[r] for row in corpus.rows) for r in release.RESPONDERS}
    assert totals["human"] == Counts(342, 672, 986)
    assert totals["chatgpt"] == Counts(156, 576, 1268)
    assert totals["chatgpt-empathy"] == Counts(142, 563, 1295)
    per_emotion = release.human_counts()
    assert len(per_emotion) == 32
    assert sum(per_emotion.values(), Counts()) == totals["human"]


def test_text_from_a_path_joins_the_figures(release_file):
    corpus = release.load_with_text(release_file)
    assert corpus.has_text and len(corpus.rows) == 2000
    assert set(corpus.responders) == set(release.RESPONDERS)


def test_a_file_that_does_not_match_the_figures_is_refused(tmp_path, release_file):
    lines = release_file.read_text(encoding="utf-8").splitlines(keepends=True)
    shortened = tmp_path / "release.csv"
    header, body = lines[0], lines[1:]
    # Drop the last record: it ends at the last line that starts a new dialog id row.
    shortened.write_text(header + "".join(body[: _start_of_last_record(body)]), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"does not match the shipped figures.*1 id\(s\) of the release missing"):
        release.load_with_text(shortened)


def _start_of_last_record(lines: list[str]) -> int:
    return max(i for i, line in enumerate(lines) if line.split(",", 1)[0].isdigit())


@pytest.fixture
def serve(tmp_path):
    """Serve files from a folder on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_is_checked_and_cached(serve, tmp_path, release_file):
    root, base = serve
    (root / "release.csv").write_bytes(release_file.read_bytes())
    cache = tmp_path / "cache"
    path = release.download(f"{base}/release.csv", directory=cache)
    assert path.read_bytes() == release_file.read_bytes()
    (root / "release.csv").unlink()
    # Cached: the server no longer has the file, and none is needed.
    assert release.download(f"{base}/release.csv", directory=cache) == path
    assert sorted(p.name for p in cache.iterdir()) == [path.name]


def test_damaged_cache_is_downloaded_again(serve, tmp_path, release_file):
    root, base = serve
    (root / "release.csv").write_bytes(release_file.read_bytes())
    cache = tmp_path / "cache"
    path = release.download(f"{base}/release.csv", directory=cache)
    path.write_bytes(b"damaged")
    assert release.download(f"{base}/release.csv", directory=cache).read_bytes() == release_file.read_bytes()


def test_wrong_checksum_leaves_nothing_behind(serve, tmp_path):
    root, base = serve
    (root / "release.csv").write_bytes(b"id,emotion\nx,sad\n")
    cache = tmp_path / "cache"
    with pytest.raises(CorpusError, match="wrong checksum"):
        release.download(f"{base}/release.csv", directory=cache)
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("path", ["/absent.csv", ":1/refused.csv"])
def test_failed_download_leaves_nothing_behind(serve, tmp_path, path):
    _, base = serve
    url = base + path if path.startswith("/") else "http://127.0.0.1" + path
    cache = tmp_path / "cache"
    with pytest.raises(CorpusError, match="download of the welivita-pu-2024 text failed") as error:
        release.download(url, directory=cache)
    assert url in str(error.value)
    # It says what to do instead: a copy of the file, or a mirror.
    assert f"--empathy-corpus-text FILE (or ${release.TEXT_ENV})" in str(error.value)
    assert f"a mirror of it with ${release.URL_ENV}" in str(error.value)
    assert list(cache.iterdir()) == []


def test_text_is_downloaded_from_the_mirror_named_in_the_environment(serve, tmp_path, monkeypatch, release_file):
    root, base = serve
    (root / "release.csv").write_bytes(release_file.read_bytes())
    monkeypatch.setenv(release.URL_ENV, f"{base}/release.csv")
    monkeypatch.setenv(release.CACHE_ENV, str(tmp_path / "cache"))
    corpus = release.load_with_text()
    assert corpus.has_text
    assert Path(corpus.source).parent == tmp_path / "cache"
