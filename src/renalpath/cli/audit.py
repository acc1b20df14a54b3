"""`renalpath audit log|verify|concordance`: the hash-chained audit trail and the concordance audit.

`log` and `verify` read the audit trail the registry writes on every change; `concordance`
compares each tumour's first treatment with what the pathway recommends at decision time.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from renalpath.cli.options import (
    DbOpt,
    FromOpt,
    JsonFlag,
    ToOpt,
    analysable,
    check_window,
    fmt,
    print_json,
    sub_app,
)
from renalpath.errors import InvalidInput

app = sub_app("The hash-chained audit trail.")


@app.command("log")
def audit_log(
    db: DbOpt = None,
    entity: Annotated[str | None, typer.Option(help="Only this entity (file name).")] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Only this record id.")] = None,
    limit: Annotated[int, typer.Option(help="Most recent N rows (0 = all).")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Show the audit trail, most recent first."""
    from renalpath.cli.database import database_errors, engine_for
    from renalpath.registry import audit as audit_mod

    engine = engine_for(db)
    with database_errors(engine):
        rows = list(audit_mod.log_rows(engine, entity, entity_id, limit or None))
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    for r in rows:
        change = (
            f"{r['field']}: {r['old']!r} → {r['new']!r}" if r["field"] else (r["new"] or r["old"])
        )
        typer.echo(
            f"#{r['seq']} {r['at']} {r['actor']} {r['action']} {r['entity']}/{r['entity_id']} "
            f"{change} ({r['reason']})"
        )


@app.command("verify")
def audit_verify(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """Recompute the hash chain and check it against the signed head; exit 1 if any row was
    altered, removed (in the middle or at the end) or inserted, naming which.

    The chain is keyed with RENALPATH_AUDIT_KEY_FILE or RENALPATH_AUDIT_KEY (docs/audit.md).
    """
    from sqlalchemy.exc import OperationalError

    from renalpath.cli.database import engine_for
    from renalpath.registry import audit as audit_mod
    from renalpath.registry.db import require_schema

    engine = engine_for(db)
    require_schema(engine)
    try:
        result = audit_mod.verify(engine)
    except OperationalError as err:
        typer.echo(f"refused: cannot read the audit trail: {getattr(err, 'orig', err)}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(result.__dict__) + "\n")
    if not result.ok:
        where = f" at row {result.first_bad_seq}" if result.first_bad_seq else ""
        typer.echo(f"refused: audit trail {result.kind}{where}: {result.reason}", err=True)
        raise typer.Exit(1)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if not as_json:
        how = "keyed, matches its signed head" if result.keyed else "unkeyed"
        typer.echo(f"audit chain intact: {result.rows} rows ({how})")


@app.command("seal")
def audit_seal(db: DbOpt = None) -> None:
    """Start (or advance) the signed head of a trail with the configured key: the rows
    written before the key was configured are covered from then on."""
    from renalpath.cli.database import engine_for
    from renalpath.registry import audit as audit_mod
    from renalpath.registry.db import require_schema

    engine = engine_for(db)
    require_schema(engine)
    seq = audit_mod.seal(engine, audit_mod.cli_actor())
    typer.echo(f"audit trail sealed at row {seq}")


def _assumption(text: str) -> tuple[str, Any]:
    from renalpath.outcomes.concordance import parse_assumption

    try:
        return parse_assumption(text)
    except InvalidInput as err:  # a malformed --assume is a usage error (exit 2)
        raise typer.BadParameter(str(err)) from err


@app.command("concordance")
def concordance_cmd(
    db: DbOpt = None,
    as_json: JsonFlag = False,
    window_from: FromOpt = None,
    window_to: ToOpt = None,
    assume: Annotated[
        list[str] | None,
        typer.Option(
            help="State a case field the registry does not hold, for every case "
            "(FIELD=VALUE, repeatable), e.g. patient.fit_for_surgery=true; reported in output.",
        ),
    ] = None,
) -> None:
    """Was each tumour's first treatment what the pathway recommends at decision time?"""
    from renalpath.outcomes.concordance import CATEGORIES, concordance_audit
    from renalpath.outcomes.source import load_frames

    check_window(window_from, window_to)
    assumed = dict(_assumption(a) for a in assume or [])

    def run() -> dict[str, Any]:
        frames = load_frames(db, window_from, window_to)
        audit = concordance_audit(
            frames, window_from=window_from, window_to=window_to, assume=assumed
        )
        return audit.to_json_dict()

    doc = analysable(run)
    if as_json:
        print_json(doc)
        return
    overall = doc["overall"]
    typer.echo(f"first treatments audited: {doc['n_treatments']}")
    for c in CATEGORIES:
        typer.echo(f"  {c}: {overall['counts'][c]} ({fmt(overall['pct'][c], 1, ' %')})")
    typer.echo(
        "concordant (recommended or alternative) among evaluable: "
        f"{fmt(overall['concordant_pct_of_evaluable'], 1, ' %')} of {overall['evaluable_n']}"
    )
    pn = doc["pn_rate_ct1a"]
    typer.echo(
        f"partial-nephrectomy rate in cT1a: {fmt(pn['rate_pct'], 1, ' %')} "
        f"(PN {pn['pn_n']} / PN+RN {pn['pn_n'] + pn['rn_n']})"
    )
    typer.echo("by cT:")
    for ct, r in doc["by_ct"].items():
        typer.echo(
            f"  {ct}: n={r['n']}, recommended {r['counts']['recommended']}, "
            f"not evaluable {r['counts']['not_evaluable']}"
        )
    top = list(doc["missing_inputs"].items())[:5]
    if top:
        typer.echo("most frequent missing inputs: " + ", ".join(f"{k} ({v})" for k, v in top))
    for note in doc["notes"]:
        typer.echo(f"note: {note}")
