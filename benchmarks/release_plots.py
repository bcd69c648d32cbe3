"""The plots of docs/explanation/study.md: the release's crowd ratings of the three responders,
overall and by polarity, and each emotion's Good rate, drawn from the rating figures the
package ships (ids, emotions, polarity, ratings; no text of the release).

    python -m benchmarks.release_plots            # writes docs/assets/release-*.svg

The SVG files carry no date and a fixed hash salt, so running it again on the same figures
changes no byte.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from pytest_empathy.corpus import release
from pytest_empathy.emotions import POLARITY
from pytest_empathy.ratings import Rating

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RESPONDERS = ("human", "chatgpt", "chatgpt-empathy")
LABELS = {"human": "human", "chatgpt": "GPT-4", "chatgpt-empathy": "GPT-4, empathy prompt"}
COLOURS = {Rating.BAD: "#c8553d", Rating.OKAY: "#f2d0a4", Rating.GOOD: "#3f7d5b"}
MARKERS = {"human": "o", "chatgpt": "s", "chatgpt-empathy": "D"}
ASSETS = Path(__file__).parents[1] / "docs" / "assets"

Tally = dict[str, Counter[Rating]]


def tallies() -> tuple[dict[str, Tally], dict[str, Tally]]:
    """Each responder's Bad/Okay/Good counts by group (overall, positive, negative) and by emotion."""
    groups: dict[str, Tally] = {r: {} for r in RESPONDERS}
    emotions: dict[str, Tally] = {r: {} for r in RESPONDERS}
    for row in release.load_figures().rows:
        for responder in RESPONDERS:
            rating = row.ratings[responder]
            for group in ("overall", POLARITY[row.emotion]):
                groups[responder].setdefault(group, Counter())[rating] += 1
            emotions[responder].setdefault(row.emotion, Counter())[rating] += 1
    return groups, emotions


def share(counts: Counter[Rating], rating: Rating) -> float:
    return counts[rating] / sum(counts.values())


def shares_plot(groups: dict[str, Tally], path: Path) -> None:
    """Stacked Bad/Okay/Good shares, one bar per responder in each group."""
    figure, axes = plt.subplots(1, 3, figsize=(9, 2.6), sharey=True)
    for ax, group in zip(axes, ("overall", "positive", "negative"), strict=True):
        left = [0.0] * len(RESPONDERS)
        for rating in Rating:
            widths = [100 * share(groups[r][group], rating) for r in RESPONDERS]
            ax.barh(
                [LABELS[r] for r in RESPONDERS], widths, left=left, color=COLOURS[rating], label=rating.name.title()
            )
            for y, (x, w) in enumerate(zip(left, widths, strict=True)):
                ax.text(x + w / 2, y, f"{w:.0f}", ha="center", va="center", fontsize=8)
            left = [x + w for x, w in zip(left, widths, strict=True)]
        n = sum(groups["human"][group].values())
        ax.set_title(f"{group} ({n:,} prompts)", fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of responses", fontsize=8)
        ax.invert_yaxis()
    axes[1].legend(ncols=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False)
    save(figure, path)


def good_rate_plot(emotions: dict[str, Tally], path: Path) -> None:
    """Each emotion's Good rate for each responder, emotions sorted by the humans' Good rate."""
    order = sorted(emotions["human"], key=lambda e: share(emotions["human"][e], Rating.GOOD))
    figure, ax = plt.subplots(figsize=(6, 8.4))
    for responder in RESPONDERS:
        rates = [100 * share(emotions[responder][e], Rating.GOOD) for e in order]
        ax.scatter(rates, order, marker=MARKERS[responder], s=18, label=LABELS[responder])
    ax.set_xlabel("Good rating, % of an emotion's responses (about 62 each)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_xlim(0, 100)
    ax.grid(axis="x", linewidth=0.3)
    ax.legend(fontsize=8, ncols=3, loc="lower center", bbox_to_anchor=(0.4, 1.0), frameon=False)
    save(figure, path)


def save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="the folder the SVG files go to")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    plt.rcParams.update({"svg.hashsalt": "pytest-empathy", "svg.fonttype": "none"})
    groups, emotions = tallies()
    shares_plot(groups, out / "release-shares.svg")
    good_rate_plot(emotions, out / "release-good-by-emotion.svg")
    print(f"wrote {out / 'release-shares.svg'} and {out / 'release-good-by-emotion.svg'}")


if __name__ == "__main__":
    main()
