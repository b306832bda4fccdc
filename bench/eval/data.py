"""MovieLens-100k, read at run time from the ``recbole`` wheel's example data.

The data is never copied into this repository: its licence forbids redistribution, and the
``recbole==1.2.1`` wheel (installed with ``pip install --no-deps``) already ships it. We locate
the package with :func:`importlib.util.find_spec` instead of importing it, because importing
recbole would pull in torch, which we neither need nor install.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "pip install --no-deps recbole==1.2.1"


class DatasetMissing(RuntimeError):
    """The optional data source is not installed; the message says how to get it."""


@dataclass(frozen=True, slots=True)
class Rating:
    """One rating, read as an implicit positive signal: the person engaged with the item."""

    user: str
    item: str
    ts: int


@dataclass(frozen=True, slots=True)
class Movie:
    item: str
    title: str
    year: str
    genres: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MovieLens:
    ratings: list[Rating]
    movies: dict[str, Movie]

    @property
    def users(self) -> list[str]:
        return sorted({r.user for r in self.ratings}, key=int)


def dataset_dir() -> Path:
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissing(f"MovieLens-100k needs the recbole wheel: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k"
    if not (folder / "ml-100k.inter").is_file():
        raise DatasetMissing(f"{folder} has no ml-100k.inter; reinstall with {INSTALL_HINT}")
    return folder


def load(folder: Path | None = None) -> MovieLens:
    """Ratings (every one, whatever its value: an implicit positive) and movies with their
    genres lower-cased, as the profile stores topics."""
    folder = folder or dataset_dir()
    ratings: list[Rating] = []
    with (folder / "ml-100k.inter").open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)
        for user, item, _rating, ts in reader:
            ratings.append(Rating(user, item, int(float(ts))))
    movies: dict[str, Movie] = {}
    with (folder / "ml-100k.item").open(encoding="latin-1") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for item, title, year, genres in reader:
            movies[item] = Movie(item, title, year, tuple(g.lower() for g in genres.split()))
    return MovieLens(ratings, movies)
