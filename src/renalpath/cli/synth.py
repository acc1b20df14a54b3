"""`renalpath synth`: write a synthetic registry folder (demo data, tests, benchmarks).

The progress bar goes to stderr so that `--json` output on stdout stays machine-readable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from renalpath.cli.options import JsonOpt, new_app, refuse

if TYPE_CHECKING:
    from renalpath.synth.writer import WriteSummary

app = new_app()

_PROGRESS_EVERY = 500  # patients between progress-bar refreshes (refreshing costs time)


@app.command("synth")
def synth(
    patients: int = typer.Option(
        ..., "--patients", min=1, help="Number of synthetic patients (1 or more)."
    ),
    seed: int = typer.Option(
        1, "--seed", min=0, help="Random seed (0 or more); the same seed gives identical files."
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the registry CSV files into."),
    force: bool = typer.Option(
        False, "--force", help="Overwrite registry files already in the folder."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Write a synthetic registry folder (the CSV files `import` reads); entirely synthetic data."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from renalpath.synth.writer import write_registry

    console = Console(stderr=True)
    # A folder that already holds registry files (SynthOutputError) is refused by the CLI's
    # error handler; an OS error names the folder here.
    try:
        with Progress(
            TextColumn("synth"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("patients", total=patients)

            def tick(k: int) -> None:
                if k % _PROGRESS_EVERY == 0 or k == patients:
                    progress.update(task, completed=k)

            summary = write_registry(out, patients, seed, overwrite=force, on_patient=tick)
    except OSError as err:
        refuse(f"--out: cannot write {str(out)!r} ({err.strerror or err})")
        return
    _print(summary, as_json)


def _print(summary: WriteSummary, as_json: bool) -> None:
    if as_json:
        payload = {
            "out": str(summary.out),
            "patients": summary.patients,
            "seed": summary.seed,
            "rows": summary.rows,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    typer.echo(
        f"wrote {summary.patients} synthetic patients (seed {summary.seed}) to {summary.out}"
    )
    for name, count in summary.rows.items():
        typer.echo(f"  {name + '.csv':<20} {count:>10,} rows")
