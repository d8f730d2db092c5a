"""``index.md``: links to every table and figure, the run's config, package versions and
the sha256 of every raw input."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

import yaml

#: Each figure of the paper: (figure, what it shows, our file stem before ``_<model>``, the
#: function of rest/report/figures.py that draws it).
PAPER_FIGURES = [
    ("Fig. 2", "accuracy per method, each benchmark column beside the paper's value", "accuracy",
     "accuracy_bars"),
    ("Fig. 3", "training dynamics: reward, entropy and completion length over steps", "training_dynamics",
     "training_dynamics"),
    ("Fig. 4", "entropy of each token region over training (the 'entropy per region' panel)",
     "training_dynamics", "training_dynamics"),
]

PACKAGES = ("rest", "torch", "transformers", "trl", "accelerate", "datasets", "tokenizers",
            "snakemake", "bfcl-eval", "vllm", "pandas", "numpy", "matplotlib")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_checksums(folder: str | Path | None) -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by its relative path."""
    if not folder:
        return {}
    root = Path(folder)
    return {str(p.relative_to(root)): sha256_file(p)
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def index_markdown(output: Path, tables: list[str], figures: list[str], audit: str,
                   run_config: dict | None, checksums: dict[str, str], sections=()) -> str:
    """The report's front page; ``sections`` are other studies' Markdown, after the figures."""
    def link(p: str) -> str:
        return f"- [{p}]({p})"

    lines = ["# ResT reproduction report", "",
             ("Tables: ours / paper (Δ). `not run`: the run did not produce the cell; "
              "`—`: not in the paper."), "", "## Tables", ""]
    lines += [link(t) for t in tables] or ["(none)"]
    lines += ["", "## Figures", ""]
    lines += [link(f) for f in figures] or ["(none)"]
    lines += ["", "## The paper's figures", "",
              "Each is redrawn by `rest report` (the `report` rule) with `rest/report/figures.py`.", "",
              "| paper | shows | our file | drawn by |", "|---|---|---|---|"]
    for fig, what, stem, func in PAPER_FIGURES:
        ours = [f for f in figures if Path(f).name.startswith(f"{stem}_") and f.endswith(".png")]
        files = ", ".join(f"[{f}]({f})" for f in ours) or "(not drawn)"
        lines.append(f"| {fig} | {what} | {files} | `figures.{func}` |")
    for section in sections:
        lines += ["", section.rstrip()]
    lines += ["", "## Audit of the published tables", "", link(audit), "",
              "## Package versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in package_versions().items()]
    lines += ["", "## Data checksums (sha256)", ""]
    if checksums:
        lines += ["| file | sha256 |", "|---|---|"] + [f"| {k} | `{v}` |" for k, v in checksums.items()]
    else:
        lines.append("(no data folder given)")
    lines += ["", "## Run config", "", "```yaml",
              yaml.safe_dump(run_config, sort_keys=False).rstrip() if run_config else "(not given)",
              "```", ""]
    return "\n".join(lines)
