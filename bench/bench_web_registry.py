"""Patient list, patient page and "evaluate this patient" on a 100,000-patient registry.

Targets: list < 200 ms; patient page and "evaluate this patient" (the case built from the
registry, the pathway run on it, the case page rendered) < 100 ms server time, median.

Server time = from the moment the app receives the request until it has sent the last byte
of the answer, measured by an ASGI wrapper around the real app (in this process, so no
client or network time is counted).  Each figure is the median of REPEAT requests after one
untimed warm-up of the same request; the first (cold-cache) time is printed as well.

The registry is built once (`renalpath synth --patients N --seed 1` + import, ~1.5 min for
100,000) and kept in `bench/out/web-registry-<N>/` (git-ignored); later runs reuse it after
bringing its schema to head.  `RENALPATH_BENCH_WEB_N` sets N (default 100,000).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from harness import Figure, report

HERE = Path(__file__).resolve().parent
N = int(os.environ.get("RENALPATH_BENCH_WEB_N", "100000"))
REPEAT = 5
FRESH = 20  # distinct patient pages timed, each drawing its own eGFR plot
TOKEN = "bench-registry-token-0123456789"
TARGET_S = 0.2
TARGET_PAGE_S = 0.1  # patient page and "evaluate this patient"

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


def registry(n: int = N) -> str:
    """URL of the cached n-patient SQLite registry, built on first use, schema at head."""
    from renalpath.registry.db import make_engine, upgrade

    folder = HERE / "out" / f"web-registry-{n}"
    db = folder / "registry.db"
    url = f"sqlite:///{db}"
    if not (folder / "complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)
        cli = [str(Path(sys.executable).with_name("renalpath"))]
        print(f"building the {n:,}-patient bench registry once (~1.5 min per 100,000) …")
        subprocess.run(
            [*cli, "synth", "--patients", str(n), "--seed", "1", "--out", str(folder / "csv")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [*cli, "import", str(folder / "csv"), "--db", url],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (folder / "complete").touch()
    engine = make_engine(url)
    upgrade(engine)  # a registry cached by an older checkout gets the newer indexes
    engine.dispose()
    return url


class ServerTimer:
    """ASGI wrapper: the time from receiving a request to sending its last body byte."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        start = time.perf_counter()

        async def timed_send(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - start

        await self.app(scope, receive, timed_send)


def _sample_ids(url: str) -> dict[str, str]:
    """A patient in the middle of the registry, and an id prefix for the search."""
    from sqlalchemy import func, select

    from renalpath.registry.db import make_engine
    from renalpath.registry.models import Intervention, Lab, Patient

    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Patient)).scalar_one()
        # a patient with many labs: the page (and the eGFR plot) at its heaviest
        busiest = conn.execute(
            select(Lab.patient_id).group_by(Lab.patient_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        middle = conn.execute(
            select(Patient.patient_id).order_by(Patient.patient_id).offset(count // 2).limit(1)
        ).scalar_one()
        effective = func.coalesce(Intervention.intent, Intervention.intent_derived)
        salvage = conn.execute(
            select(func.count(func.distinct(Intervention.patient_id))).where(effective == "salvage")
        ).scalar_one()
        # distinct patients with an eGFR: each page view draws a new plot (none cached)
        fresh = conn.execute(
            select(Lab.patient_id)
            .where(Lab.egfr.is_not(None))
            .group_by(Lab.patient_id)
            .order_by(Lab.patient_id)
            .offset(count // 3)
            .limit(FRESH + 1)
        ).scalars()
        fresh_ids = ",".join(fresh)
    engine.dispose()
    return {
        "fresh": fresh_ids,
        "busiest": busiest,
        "prefix": middle[: max(1, len(middle) - 3)],
        "count": str(count),
        "salvage": str(salvage),
    }


def main() -> None:
    from fastapi.testclient import TestClient

    from renalpath.web.app import create_app
    from renalpath.web.auth import MemoryAccountStore
    from renalpath.web.settings import WebSettings

    url = registry()
    ids = _sample_ids(url)
    store = MemoryAccountStore()
    store.add_token(store.add("bench", "bench-password-1", "clinician"), TOKEN)
    app = create_app(WebSettings(secret_key="bench", database_url=url), store)
    timer = ServerTimer(app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    deep = max(1, int(ids["count"]) // 50 - 10)  # near the last page (50 per page)
    busiest = ids["busiest"]
    last_salvage = max(1, -(-int(ids["salvage"]) // 50))
    requests = [
        ("list page 1", "/patients"),
        (f"list page {deep:,}", f"/patients?page={deep}"),
        (f"search q={ids['prefix']}", f"/patients?q={ids['prefix']}"),
        ("filter salvage=yes", "/patients?salvage=yes"),
        ("filter salvage=no, sex=female", "/patients?salvage=no&sex=female"),
        (f"salvage=yes, last page ({last_salvage})", f"/patients?salvage=yes&page={last_salvage}"),
        ("patient page (timeline + eGFR plot)", f"/patients/{busiest}"),
        ("evaluate this patient (case + pathway)", f"/patients/{busiest}/evaluate"),
    ]
    figures: list[Figure] = []
    worst = 0.0
    with TestClient(timer) as client:
        for label, path in requests:
            for kind, prefix in (("HTML", ""), ("API", "/api/v1")):
                if kind == "API" and ("salvage=yes&page" in path or "evaluate" in path):
                    continue
                times = []
                for _ in range(REPEAT + 1):
                    resp = client.get(prefix + path, headers=headers)
                    if resp.status_code != 200:
                        raise RuntimeError(f"{prefix + path} answered {resp.status_code}")
                    times.append(timer.last)
                median = statistics.median(times[1:])
                worst = max(worst, median)
                print(f"  {kind:4} {label:<38} first {times[0] * 1000:7.1f} ms")
                figures.append(Figure(f"web {kind}: {label}", median))
        # the repeat view above reuses the cached plot; a first view of a patient draws it
        times = []
        for pid in ids["fresh"].split(","):
            resp = client.get(f"/patients/{pid}", headers=headers)
            if resp.status_code != 200:
                raise RuntimeError(f"/patients/{pid} answered {resp.status_code}")
            times.append(timer.last)
        median = statistics.median(times[1:])
        worst = max(worst, median)
        print(
            f"  HTML patient page, first view of {FRESH} patients: "
            f"slowest {max(times[1:]) * 1000:.1f} ms"
        )
        figures.append(Figure(f"web HTML: patient page, first view (median of {FRESH})", median))
        page_worst = median
        # "evaluate this patient" for patients not seen before (nothing of theirs cached)
        times = []
        for pid in ids["fresh"].split(","):
            resp = client.get(f"/patients/{pid}/evaluate", headers=headers)
            if resp.status_code != 200:
                raise RuntimeError(f"/patients/{pid}/evaluate answered {resp.status_code}")
            times.append(timer.last)
        median = statistics.median(times[1:])
        page_worst = max(page_worst, median)
        print(
            f"  HTML evaluate this patient, {FRESH} patients: "
            f"slowest {max(times[1:]) * 1000:.1f} ms"
        )
        figures.append(Figure(f"web HTML: evaluate this patient (median of {FRESH})", median))
    print(
        f"registry: {int(ids['count']):,} patients ({url}); server time, median of {REPEAT}; "
        f"slowest {worst * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms); patient page and "
        f"evaluate, first views: {page_worst * 1000:.1f} ms (target < "
        f"{TARGET_PAGE_S * 1000:.0f} ms)"
    )
    report(figures)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
