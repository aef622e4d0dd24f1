"""Run outputs: JSON + markdown summaries and the rate–error plot of a lam sweep."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUMMARY_FIELDS = ("lam", "final_lam", "test_error", "training_bits", "estimated_bits", "estimated_bytes", "side_bytes",
                  "total_estimated_bytes", "coded_bytes", "coded_latent_bits", "zero_latent_share", "bits_per_param",
                  "num_params", "train_seconds", "stream")


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    """``summary.json`` (everything) and ``summary.md`` (the main numbers) in ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    lines = [f"# EPR run: {summary.get('model')} (lam={summary.get('lam')})", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {summary.get(k)} |" for k in SUMMARY_FIELDS if k in summary]
    (run_dir / "summary.md").write_text("\n".join(lines) + "\n")


def write_sweep(out_dir: Path, runs: list[dict[str, Any]]) -> None:
    """``sweep.json``, ``sweep.md`` and ``rate_error.png`` (bytes vs test error) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sweep.json").write_text(json.dumps(runs, indent=2, sort_keys=True))
    cols = [c for c in SUMMARY_FIELDS if any(c in r for r in runs)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c)) for c in cols) + " |" for r in runs]
    (out_dir / "sweep.md").write_text("# EPR lam sweep\n\n" + "\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    pts = sorted((r["total_estimated_bytes"] / 1024, 100 * r["test_error"], r["lam"]) for r in runs)
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-")
    for kb, err, lam in pts:
        ax.annotate(f"λ={lam:g}", (kb, err), fontsize=7)
    ax.set_xlabel("estimated size (KiB)")
    ax.set_ylabel("test error (%)")
    ax.set_title(f"EPR rate–error: {runs[0].get('model')}")
    fig.tight_layout()
    fig.savefig(out_dir / "rate_error.png", dpi=120)
    plt.close(fig)
