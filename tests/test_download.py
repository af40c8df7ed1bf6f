"""The official IMDB download, against a local HTTP server serving a tiny aclImdb-like archive.

No test touches the internet: the server listens on 127.0.0.1 on a random port. A test marked
``shared_data`` rebuilds the real archive's layout from ../shared/data/imdb and checks that the
conversion gives back the same files, byte for byte.
"""

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from pizarra.assets import datasets as ds
from pizarra.assets import download as dl
from pizarra.errors import AssetMissing, BadInput, ChecksumMismatch

REVIEWS = {  # aclImdb/<name>.txt -> text; ids and ratings come from the file names
    "train/pos/0_9": "Great film.<br /><br />Loved it.",
    "train/pos/1_7": 'Café, "quotes" and ñ.',
    "train/neg/0_3": "Boring.",
    "train/neg/1_1": "Terrible.",
    "train/neg/2_4": "Meh, too long.",
    "test/pos/0_10": "Perfect.",
    "test/neg/0_2": "Awful.",
}


def make_archive(path: Path, reviews: dict[str, str] = REVIEWS, hostile: bool = True) -> Path:
    """A tar.gz shaped like aclImdb_v1.tar.gz, plus files the converter must ignore and, with
    ``hostile``, members that try to escape the destination folder."""

    def add(tar, name, data: bytes, kind=tarfile.REGTYPE, link=""):
        info = tarfile.TarInfo(name)
        info.size, info.type, info.linkname = (len(data) if kind == tarfile.REGTYPE else 0), kind, link
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(path, "w:gz") as tar:
        for name, text in reversed(list(reviews.items())):  # archive order must not matter
            add(tar, f"aclImdb/{name}.txt", text.encode("utf-8"))
        add(tar, "aclImdb/README", b"Large Movie Review Dataset v1.0\n")
        add(tar, "aclImdb/train/unsup/0_0.txt", b"unlabelled review")
        add(tar, "aclImdb/train/urls_pos.txt", b"http://www.imdb.com/title/tt0453418/usercomments\n")
        add(tar, "aclImdb/train/labeledBow.feat", b"9 0:9 1:1\n")
        if hostile:
            add(tar, "../evil_0_1.txt", b"escaped")
            add(tar, "aclImdb/train/pos/../../../evil_1_1.txt", b"escaped")
            add(tar, "/tmp/pizarra_evil_2_1.txt", b"escaped")
            add(tar, "aclImdb/train/pos/7_8.txt", b"", kind=tarfile.SYMTYPE, link="/etc/passwd")
    return path


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1; yields (base URL, www folder)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", www
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_with_the_right_checksum_converts_to_what_load_imdb_reads(server, tmp_path):
    base, www = server
    archive = make_archive(www / "aclImdb_v1.tar.gz")
    seen = []
    dest = tmp_path / "data"
    target = dl.download_imdb(
        dest,
        url=f"{base}/aclImdb_v1.tar.gz",
        sha256=sha256(archive),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert target == dest / "imdb"
    assert sorted(p.name for p in dest.iterdir()) == ["imdb"]  # no archive or temporary folder left
    assert sorted(p.name for p in target.iterdir()) == [
        "README_aclImdb.txt",
        "imdb_test_00.jsonl",
        "imdb_train_00.jsonl",
    ]
    assert seen[-1] == (archive.stat().st_size, archive.stat().st_size)
    train = ds.load_imdb("train", data=dest)
    assert [r["id"] for r in train] == [
        "train/pos/0_9",
        "train/neg/0_3",
        "train/pos/1_7",
        "train/neg/1_1",
        "train/neg/2_4",
    ]
    assert train[2] == {"id": "train/pos/1_7", "text": 'Café, "quotes" and ñ.', "label": 1, "rating": 7}
    assert ds.load_imdb("test", data=dest) == [
        {"id": "test/pos/0_10", "text": "Perfect.", "label": 1, "rating": 10},
        {"id": "test/neg/0_2", "text": "Awful.", "label": 0, "rating": 2},
    ]
    assert ds.status("imdb", data=dest)["found"]
    # the hostile members wrote nothing anywhere
    for folder in (tmp_path, tmp_path.parent, tmp_path / "data" / "imdb"):
        assert not list(folder.glob("evil_*_1.txt")), folder
    assert not Path("/tmp/pizarra_evil_2_1.txt").exists()


def test_download_with_a_wrong_checksum_leaves_nothing(server, tmp_path):
    base, www = server
    make_archive(www / "aclImdb_v1.tar.gz")
    dest = tmp_path / "data"
    with pytest.raises(ChecksumMismatch, match="expected sha256 " + "0" * 64):
        dl.download_imdb(dest, url=f"{base}/aclImdb_v1.tar.gz", sha256="0" * 64)
    assert list(dest.iterdir()) == []
    with pytest.raises(AssetMissing, match="'imdb'"):
        ds.load_imdb("train", data=dest)


def spanish(excinfo) -> str:
    """The error as a Spanish reader gets it (CLI and web): the catalogue's sentence, not the English one."""
    from pizarra import i18n

    return i18n.error_text(excinfo.value, "es")


def test_download_errors_are_clear(server, tmp_path):
    base, www = server
    with pytest.raises(dl.DownloadError, match="Could not download .*404") as e:
        dl.download_imdb(tmp_path / "a", url=f"{base}/missing.tar.gz")
    assert spanish(e).startswith("No se ha podido descargar") and "404" in spanish(e)
    (www / "not_a_tar.tar.gz").write_bytes(b"this is not a tarball")
    with pytest.raises(dl.DownloadError, match="not a readable aclImdb tar archive") as e:
        dl.download_imdb(tmp_path / "b", url=f"{base}/not_a_tar.tar.gz", sha256=None)
    assert "no es un archivo tar de aclImdb" in spanish(e)
    for dest in (tmp_path / "a", tmp_path / "b"):
        assert list(dest.iterdir()) == []


def test_existing_set_is_kept_unless_overwrite(server, tmp_path):
    base, www = server
    make_archive(www / "a.tar.gz", hostile=False)
    dest = tmp_path / "data"
    (dest / "imdb").mkdir(parents=True)
    (dest / "imdb" / "imdb_train_00.jsonl").write_text("{}\n")
    with pytest.raises(BadInput, match="already exists") as e:
        dl.download_imdb(dest, url=f"{base}/a.tar.gz", sha256=None)
    assert "ya existe y no está vacía" in spanish(e)
    dl.download_imdb(dest, url=f"{base}/a.tar.gz", sha256=None, overwrite=True)
    assert len(ds.load_imdb("train", data=dest)) == 5


def test_local_archive_is_checked_too(tmp_path):
    archive = make_archive(tmp_path / "aclImdb_v1.tar.gz")
    with pytest.raises(ChecksumMismatch):
        dl.download_imdb(tmp_path / "x", archive=archive, sha256="f" * 64)
    with pytest.raises(BadInput, match="No archive at") as e:
        dl.download_imdb(tmp_path / "x", archive=tmp_path / "nowhere.tar.gz")
    assert spanish(e).startswith("No hay ningún archivo en")
    target = dl.download_imdb(tmp_path / "y", archive=archive, sha256=sha256(archive), url="http://127.0.0.1:9/never")
    assert len(ds.load_imdb("test", data=target.parent)) == 2


def test_chunks_stay_under_the_size_limit_and_keep_the_order(tmp_path):
    reviews = {
        f"train/{p}/{i}_{8 if p == 'pos' else 2}": f"review {p} {i} " + "x" * 50
        for i in range(6)
        for p in ("pos", "neg")
    }
    counts = dl.convert_aclimdb(
        make_archive(tmp_path / "a.tar.gz", reviews, hostile=False), tmp_path / "imdb", chunk_bytes=300
    )
    assert counts == {"train": 12, "test": 0}
    chunks = sorted((tmp_path / "imdb").glob("imdb_train_*.jsonl"))
    assert len(chunks) > 3 and all(p.stat().st_size <= 300 for p in chunks)
    assert not list((tmp_path / "imdb").glob("imdb_test_*"))
    rows = ds.load_imdb("train", data=tmp_path)
    assert [r["id"] for r in rows] == [
        f"train/{p}/{i}_{8 if p == 'pos' else 2}" for i in range(6) for p in ("pos", "neg")
    ]


def test_official_constants():
    assert dl.IMDB_URL == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert len(dl.IMDB_SHA256) == 64 and int(dl.IMDB_SHA256, 16)
    assert dl.DOWNLOADS["imdb"] is dl.download_imdb
    assert {s.name for s in ds.catalogue() if s.download} == set(dl.DOWNLOADS)


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PIZARRA_DATA", "").strip(), reason="PIZARRA_DATA is not set")
def test_conversion_reproduces_the_shared_imdb_files_byte_for_byte(tmp_path):
    """Rebuild aclImdb/ from ../shared/data/imdb as a tar (about 8 s), convert it, compare."""
    real = Path(os.environ["PIZARRA_DATA"]) / "imdb"
    archive = tmp_path / "aclImdb.tar"
    with tarfile.open(archive, "w") as tar:
        for split in ("test", "train"):
            for row in ds.load_imdb(split):
                data = row["text"].encode("utf-8")
                info = tarfile.TarInfo(f"aclImdb/{row['id']}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        readme = (real / "README_aclImdb.txt").read_bytes()
        info = tarfile.TarInfo("aclImdb/README")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    assert dl.convert_aclimdb(archive, tmp_path / "imdb") == {"train": 25000, "test": 25000}
    names = sorted(p.name for p in real.iterdir())
    assert sorted(p.name for p in (tmp_path / "imdb").iterdir()) == names
    for name in names:
        assert (tmp_path / "imdb" / name).read_bytes() == (real / name).read_bytes(), name


def test_unwritable_destination_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(dl.DownloadError, match="Cannot write to") as e:
        dl.download_imdb(blocker / "data", archive=make_archive(tmp_path / "a.tar.gz"), sha256=None)
    assert spanish(e).startswith("No se puede escribir en")
