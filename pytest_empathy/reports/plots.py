"""The report's figures, drawn with matplotlib from a JSON result and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.patches import Patch

from pytest_empathy.reports.entries import Statistics, total
from pytest_empathy.results.result_document import Counts, GroupEntry

COLOURS = {"bad": "#d95f4c", "okay": "#f2c14e", "good": "#4f9d69"}
LABELS = ("bad", "okay", "good")


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return out.getvalue()


def _shares(counts: Counts) -> list[float]:
    whole = total(counts) or 1
    return [100 * n / whole for n in (counts["bad"], counts["okay"], counts["good"])]


def _n(entry: GroupEntry) -> str:
    """A group's numbers of ratings, model and baseline, where small groups must show them."""
    model, baseline = entry["n"], total(entry["baseline"])
    return str(model) if model == baseline else f"{model}/{baseline}"


def rating_bars(groups: Mapping[str, GroupEntry], model: str, baseline: str) -> bytes:
    """Stacked Bad/Okay/Good bars per group, the model beside the baseline, as in the paper."""
    names = list(groups)
    height = max(3.0, 0.42 * len(names) + 1.2)
    figure, axis = plt.subplots(figsize=(8.5, height))
    bar = 0.38
    for index, name in enumerate(names):
        entry = groups[name]
        for offset, counts, alpha in ((-bar / 2, entry["model"], 1.0), (bar / 2, entry["baseline"], 0.55)):
            left = 0.0
            for label, share in zip(LABELS, _shares(counts), strict=True):
                axis.barh(
                    index + offset,
                    share,
                    bar,
                    left=left,
                    color=COLOURS[label],
                    alpha=alpha,
                    edgecolor="white",
                    linewidth=0.5,
                )
                left += share
    axis.set_yticks(range(len(names)), [f"{name} (n {_n(groups[name])})" for name in names])
    axis.invert_yaxis()
    axis.set_xlim(0, 100)
    axis.set_xlabel("share of ratings (%): upper bar model, lower (paler) bar baseline")
    # The sides' swatches are their bars in small: the three colours, full and pale.
    sides = [tuple(Patch(color=COLOURS[label], alpha=alpha) for label in LABELS) for alpha in (1.0, 0.55)]
    axis.legend(
        handles=[Patch(color=COLOURS[label]) for label in LABELS] + sides,
        labels=[label.capitalize() for label in LABELS] + [f"model: {model}", f"baseline: {baseline}"],
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=5,
        frameon=False,
        fontsize=8,
    )
    axis.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def gain_intervals(emotions: Mapping[str, GroupEntry], interval: str) -> bytes:
    """Absolute Good-rate gain per emotion with its interval, sorted, each labelled with its
    n; significant after Holm filled, the others hollow."""
    rows = sorted(
        (entry["good_gain_absolute"], name, entry)
        for name, entry in emotions.items()
        if entry["good_gain_absolute"] is not None
    )
    figure, axis = plt.subplots(figsize=(8.5, max(3.0, 0.3 * len(rows) + 1.0)))
    for index, (gain, _name, entry) in enumerate(rows):
        low, high = entry["good_gain_absolute_ci"] or (gain, gain)
        colour = COLOURS["good"] if gain >= 0 else COLOURS["bad"]
        axis.plot([100 * low, 100 * high], [index, index], color=colour, linewidth=1.6)
        axis.plot(
            [100 * gain],
            [index],
            "o",
            color=colour,
            markerfacecolor=colour if entry["significant"] else "white",
            markersize=6,
        )
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_yticks(range(len(rows)), [f"{name} (n {entry['n']})" for _, name, entry in rows])
    axis.set_xlabel(
        f"Good rate, model minus baseline (percentage points), {interval}; "
        "filled: significantly better or worse after Holm"
    )
    axis.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def polarity_summary(found: Statistics) -> bytes:
    groups = {"overall": found.overall} | {name: entry for name, entry in found.polarity.items() if entry["n"]}
    figure, axis = plt.subplots(figsize=(6.0, 2.6))
    names = list(groups)
    width = 0.36
    for index, name in enumerate(names):
        entry = groups[name]
        for offset, rate, alpha in (
            (-width / 2, entry["good_rate"], 1.0),
            (width / 2, entry["baseline_good_rate"], 0.55),
        ):
            axis.bar(index + offset, 100 * (rate or 0), width, color=COLOURS["good"], alpha=alpha)
            axis.text(index + offset, 100 * (rate or 0) + 1, f"{100 * (rate or 0):.0f}%", ha="center", fontsize=8)
    axis.set_xticks(range(len(names)), [f"{name}\nn {_n(groups[name])}" for name in names])
    axis.set_ylabel("Good rate (%)")
    axis.set_ylim(0, 105)
    axis.legend(
        handles=[
            Patch(color=COLOURS["good"], label="model"),
            Patch(color=COLOURS["good"], alpha=0.55, label="baseline"),
        ],
        frameon=False,
        fontsize=8,
        loc="upper right",
    )
    axis.spines[["top", "right"]].set_visible(False)
    return _png(figure)
