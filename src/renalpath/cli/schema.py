"""`renalpath schema case`: the JSON Schema of the input the pathway engine accepts."""

from __future__ import annotations

import json
import sys

from renalpath.cli.options import sub_app

app = sub_app("Print input schemas (JSON Schema draft 2020-12).")


@app.command("case")
def schema_case() -> None:
    """JSON Schema of the case accepted by `renalpath recommend`."""
    from renalpath.pathway import case_json_schema

    sys.stdout.write(json.dumps(case_json_schema(), indent=2) + "\n")
