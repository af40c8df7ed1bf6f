"""Official downloads, for users with internet: fetch, check the sha256, convert to Pizarra's layout.

Only IMDB has one: the aclImdb tarball from Stanford becomes ``imdb/imdb_{train,test}_NN.jsonl``,
exactly the layout ``pizarra.assets.datasets.load_imdb`` reads (and byte for byte the files in
``../shared/data/imdb``). Nothing here runs unless a person asks for it: Pizarra never goes online
by itself.

    download_imdb("~/pizarra-data")     # then: export PIZARRA_DATA=~/pizarra-data
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from pizarra.assets.checksums import sha256_file
from pizarra.errors import BadInput, ChecksumMismatch, PizarraError

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# 84,125,825 bytes. The same sha256 is published by independent projects (Julia's MLDatasets,
# several download scripts); its md5 7c2ac02c03563afcf9b574c7e56c153a is the one torchtext uses.
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
CHUNK_BYTES = 3_500_000  # every JSONL chunk stays under this size (the data folder keeps files < 4 MiB)

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None)


class DownloadError(PizarraError):
    """The download could not be done (no network, server error, bad archive)."""

    status_code = 502


def fetch(
    url: str, dest: str | Path, sha256: str | None = None, progress: Progress | None = None, timeout: float = 60
) -> Path:
    """Stream ``url`` into ``dest``, hashing as it goes. With a known ``sha256`` a different file
    raises ``ChecksumMismatch`` and is deleted; ``dest`` only appears once the file is complete."""
    dest = Path(dest)
    partial = dest.with_name(dest.name + ".part")
    digest, done = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            while chunk := response.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, OSError) as err:
        partial.unlink(missing_ok=True)
        why = (
            f"HTTP {err.code} {err.reason}" if isinstance(err, urllib.error.HTTPError) else getattr(err, "reason", err)
        )
        raise DownloadError(
            f"Could not download {url}: {why}. Check the internet "
            "connection, or download the file with a browser and pass it as an archive.",
            key="err.download.failed",
            url=url,
            why=str(why),
        ) from err
    if sha256 and digest.hexdigest() != sha256.lower():
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(url, sha256, digest.hexdigest())
    return partial.replace(dest)


# aclImdb/<split>/<pos|neg>/<id>_<rating>.txt : the only members read. A name with '..', an absolute
# path or a link cannot match, and nothing is extracted to disk, so no path can escape dest_dir.
_REVIEW = re.compile(r"(?:\./)?aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt")


def convert_aclimdb(archive: str | Path, dest: str | Path, chunk_bytes: int = CHUNK_BYTES) -> dict[str, int]:
    """Read the labelled reviews of an aclImdb tarball and write Pizarra's JSONL chunks into ``dest``.

    Each line is ``{"id": "train/pos/0_9", "text", "label": 1|0, "rating"}``; per split the order
    is pos 0, neg 0, pos 1, neg 1, ... and a new chunk starts before one would pass ``chunk_bytes``.
    Returns the number of reviews per split.
    """
    reviews: dict[str, dict[tuple[int, str], tuple[int, str]]] = {"train": {}, "test": {}}
    readme = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if match := _REVIEW.fullmatch(member.name):
                    split, polarity, review_id, rating = match.groups()
                    text = tar.extractfile(member).read().decode("utf-8", errors="replace")
                    reviews[split][(int(review_id), polarity)] = (int(rating), text)
                elif member.name.removeprefix("./") == "aclImdb/README":
                    readme = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DownloadError(
            f"{archive} is not a readable aclImdb tar archive: {err}",
            key="err.download.bad_archive",
            path=str(archive),
            why=str(err),
        ) from err
    if not any(reviews.values()):
        raise DownloadError(
            f"{archive} holds no aclImdb/<train|test>/<pos|neg>/<id>_<rating>.txt reviews.",
            key="err.download.no_reviews",
            path=str(archive),
        )
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for split, by_key in reviews.items():
        lines = []
        for review_id in sorted({i for i, _ in by_key}):
            for polarity in ("pos", "neg"):
                if (review_id, polarity) in by_key:
                    rating, text = by_key[review_id, polarity]
                    row = {
                        "id": f"{split}/{polarity}/{review_id}_{rating}",
                        "text": text,
                        "label": int(polarity == "pos"),
                        "rating": rating,
                    }
                    lines.append((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        _write_chunks(lines, dest, f"imdb_{split}", chunk_bytes)
    if readme is not None:
        (dest / "README_aclImdb.txt").write_bytes(readme)
    return {split: len(by_key) for split, by_key in reviews.items()}


def _write_chunks(lines: list[bytes], dest: Path, stem: str, chunk_bytes: int) -> None:
    """``stem_00.jsonl``, ``stem_01.jsonl``, ...: whole lines, each file at most ``chunk_bytes``
    (unless one line alone is longer)."""
    chunks: list[list[bytes]] = [[]]
    size = 0
    for line in lines:
        if chunks[-1] and size + len(line) > chunk_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line)
    for number, chunk in enumerate(chunks):
        if chunk:
            (dest / f"{stem}_{number:02d}.jsonl").write_bytes(b"".join(chunk))


def download_imdb(
    dest_dir: str | Path,
    url: str = IMDB_URL,
    sha256: str | None = IMDB_SHA256,
    progress: Progress | None = None,
    archive: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Download aclImdb_v1.tar.gz (or use ``archive``, a copy already on disk), check its sha256
    and write ``dest_dir/imdb/``. Returns that folder; set ``PIZARRA_DATA=dest_dir`` to use it.

    ``sha256=None`` skips the check (only for a mirror whose checksum is unknown). The folder is
    built beside its final place and renamed at the end, so a failure leaves no half-written set.
    """
    dest_dir = Path(dest_dir).expanduser()
    target = dest_dir / "imdb"
    if archive is not None and not Path(archive).is_file():
        raise BadInput(
            f"No archive at {archive}: give the path of aclImdb_v1.tar.gz.",
            key="err.download.no_archive",
            path=str(archive),
        )
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise BadInput(
            f"{target} already exists and is not empty; remove it or ask to overwrite it.",
            key="err.download.exists",
            path=str(target),
        )
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        workdir = tempfile.TemporaryDirectory(prefix=".imdb-download-", dir=dest_dir)
    except OSError as err:
        raise DownloadError(
            f"Cannot write to {dest_dir} ({err.strerror}); choose a writable folder.",
            key="err.download.not_writable",
            path=str(dest_dir),
            why=str(err.strerror),
        ) from err
    with workdir as tmp:
        if archive is None:
            archive = fetch(url, Path(tmp) / "aclImdb_v1.tar.gz", sha256=sha256, progress=progress)
        elif sha256 and (actual := sha256_file(archive)) != sha256.lower():
            raise ChecksumMismatch(archive, sha256, actual)
        built = Path(tmp) / "imdb"
        convert_aclimdb(archive, built)
        if target.exists():
            shutil.rmtree(target)
        built.replace(target)
    return target


DOWNLOADS: dict[str, Callable[..., Path]] = {"imdb": download_imdb}  # `pizarra data download NAME`
