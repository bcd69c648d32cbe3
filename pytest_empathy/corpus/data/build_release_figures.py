"""Rebuild ``welivita-pu-2024.csv``, the figures of the study's release, from the release file.

    python pytest_empathy/corpus/data/build_release_figures.py PATH/TO/dataset_and_ratings.csv

Only ids, emotions, polarity and ratings are written; the release's text never enters the
package. The test suite checks that the shipped file is what this script makes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_empathy.corpus import release
from pytest_empathy.corpus.reader import load_file


def main(source: str) -> None:
    corpus = load_file(source, name=release.NAME)
    target = Path(__file__).with_name(f"{release.NAME}.csv")
    target.write_text(release.figures_csv(corpus), encoding="utf-8")
    print(f"wrote {len(corpus.rows)} rows to {target}")


if __name__ == "__main__":
    main(*sys.argv[1:])
