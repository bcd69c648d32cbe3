"""Rebuild ``pytest_empathy/corpus/data/welivita-pu-2024.csv``, the figures of the study's
release, from the release file. A maintainer's script: it stays out of the package.

    python scripts/build_release_figures.py PATH/TO/dataset_and_ratings.csv [-o FILE]

Only ids, emotions, polarity and ratings are written; the release's text never enters the
package. The test suite runs this script and checks that the shipped file is what it makes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_empathy.corpus import release
from pytest_empathy.corpus.reader import load_file

SHIPPED = Path(release.__file__).with_name("data") / f"{release.NAME}.csv"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="the release file, dataset_and_ratings.csv")
    parser.add_argument("-o", "--output", type=Path, default=SHIPPED, help=f"where to write (default {SHIPPED})")
    options = parser.parse_args(argv)
    corpus = load_file(options.source, name=release.NAME)
    options.output.write_text(release.figures_csv(corpus), encoding="utf-8")
    print(f"wrote {len(corpus.rows)} rows to {options.output}")


if __name__ == "__main__":
    main()
