"""PNG figures for a verdict: the membership attack's ROC curves and per-record loss histograms."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from erasure_engine.verification.verdict import Verdict  # noqa: E402

ROLE_COLOURS = {"candidate": "tab:blue", "parent": "tab:red", "oracle": "tab:green"}
ROLE_STYLES = {"candidate": "-", "parent": "--", "oracle": ":"}


def plot_membership_roc(verdict: Verdict, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    for role, curve in verdict.curves["membership_roc"].items():
        auc = verdict.details["membership"]["loss"][role]["auc"]
        # clip_on=False: a perfect attack runs along the axes and must stay visible.
        axes.plot(
            curve.fpr,
            curve.tpr,
            drawstyle="steps-post",
            color=ROLE_COLOURS.get(role),
            linestyle=ROLE_STYLES.get(role, "-"),
            linewidth=2,
            clip_on=False,
            label=f"{role} (AUC {auc:.3f})",
        )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    axes.set_xlabel("false-positive rate (holdout called member)")
    axes.set_ylabel("true-positive rate (forget record called member)")
    axes.set_title("Membership inference (loss attack):\nforget vs never-seen holdout", fontsize=10)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


def plot_loss_histograms(verdict: Verdict, path: Path) -> Path:
    losses = verdict.curves["losses"]
    figure, panels = plt.subplots(1, len(losses), figsize=(4 * len(losses), 3.5), dpi=100, squeeze=False)
    everything = np.concatenate([values for sets in losses.values() for values in sets.values()])
    bins = np.linspace(float(everything.min()), float(everything.max()) + 1e-9, 30)
    for axes, (role, sets) in zip(panels[0], losses.items()):
        axes.hist(sets["forget"], bins=bins, alpha=0.6, label="forget (members)", color="tab:red")
        axes.hist(sets["holdout"], bins=bins, alpha=0.6, label="holdout (never seen)", color="tab:grey")
        axes.set_title(f"{role}: per-record loss")
        # Language models: mean loss per token; classifiers: one cross-entropy per record.
        axes.set_xlabel("mean loss (nats per token)" if verdict.kind == "causal_lm" else "cross-entropy loss (nats)")
        axes.set_ylabel("records")
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


def write_report(verdict: Verdict, directory: str | Path) -> dict[str, Path]:
    """verdict.json plus the PNG figures into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "verdict": verdict.write_json(directory / "verdict.json"),
        "membership_roc": plot_membership_roc(verdict, directory / "membership_roc.png"),
        "loss_histograms": plot_loss_histograms(verdict, directory / "loss_histograms.png"),
    }
