"""Seconds to link a day of a feed: tens of thousands of synthetic incident rows, blocked by country and day.

    python benchmarks/link_scale.py [--incidents 30000] [--countries 60] [--towns 40] [--days 3] [--seed 0]

The rows have the columns the sharded and Ray runs write (``outputs.INCIDENT_ROW_COLUMNS``): each synthetic event
(a type, a day, a town of a country, an attacker, a target and a death toll) is reported by one to four articles,
each with its own publication date (the day of the event or the next), its own wording of the date (resolved or
missing), place detail (the town or only its region), actors and count (the toll give or take a few). Printed: the
time to build the link records, to find the candidate pairs (blocking), to compare and cluster them, the number of
pairs compared against the n(n-1)/2 a comparison of everything with everything would need, the events found and
how many reports they merged. A figure to read, never a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TYPES = ("AirStrike", "Shelling", "Explosion", "ArmedClash", "Attack", "Abduction")


def synthetic_rows(incidents: int, countries: int, towns: int, days: int, seed: int) -> list[dict]:
    """Incident rows of synthetic events, about 2.5 reports per event, in feed order (shuffled)."""
    rng = random.Random(seed)
    start = dt.date(2024, 3, 1)
    rows: list[dict] = []
    event = 0
    while len(rows) < incidents:
        event += 1
        country = f"Country{rng.randrange(countries)}"
        region = f"Region{rng.randrange(5)}-{country}"
        town = f"Town{rng.randrange(towns)}-{country}"
        day = start + dt.timedelta(days=rng.randrange(days))
        kind = rng.choice(TYPES)
        attacker, target = f"Group{rng.randrange(30)}", f"Unit{rng.randrange(30)}"
        toll = rng.choice([None, rng.randrange(1, 60)])
        for report in range(rng.choice([1, 2, 2, 3, 4])):
            if len(rows) >= incidents:
                break
            published = day + dt.timedelta(days=rng.randrange(2))
            resolved = rng.random() < 0.8
            hierarchy = [town, region, country] if rng.random() < 0.7 else [region, country]
            killed = None if toll is None or rng.random() < 0.3 else max(1, toll + rng.randrange(-2, 3))
            rows.append({
                "article_id": f"article-{event}-{report}", "incident": 0, "publication_date": published.isoformat(),
                "type": kind, "event_type": "", "sub_event_type": "", "civilian_targeting": False,
                "date_iso": day.isoformat() if resolved else None, "date_text": "on Saturday" if resolved else None,
                "date_precision": "day" if resolved else None, "place": hierarchy[0], "place_hierarchy": hierarchy,
                "admin1": region, "country": country, "latitude": None, "longitude": None,
                "attackers": [attacker] if rng.random() < 0.6 else [], "targets": [target], "victims": [],
                "instruments": [], "sources": [f"Outlet{rng.randrange(100)}"],
                "fatalities_min": killed, "fatalities_max": killed, "fatalities_text": None,
                "injuries_min": None, "injuries_max": None, "injuries_text": None, "confidence": 0.5,
                "notes": "", "trigger_text": "strike", "trigger_start": 0, "trigger_end": 6,
            })
    rng.shuffle(rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=30000)
    parser.add_argument("--countries", type=int, default=60)
    parser.add_argument("--towns", type=int, default=40, help="towns per country")
    parser.add_argument("--days", type=int, default=3, help="days the events fall on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from conflict_ie.incidents.linking import LinkSettings, candidate_pairs, link_records, record_from_row

    rows = synthetic_rows(args.incidents, args.countries, args.towns, args.days, args.seed)
    settings = LinkSettings()
    started = time.perf_counter()
    records = [record_from_row(row) for row in rows]
    built = time.perf_counter()
    pairs = candidate_pairs(records, settings)
    blocked = time.perf_counter()
    events = link_records(records, settings)  # blocks again, then compares and clusters
    linked = time.perf_counter()
    everything = len(records) * (len(records) - 1) // 2
    print(f"{len(records)} incident rows ({args.countries} countries, {args.towns} towns each, {args.days} days)")
    print(f"records built in {built - started:.2f} s; blocking: {len(pairs)} candidate pairs "
          f"({len(pairs) / everything:.4%} of the {everything} pairs of all against all) in {blocked - built:.2f} s")
    print(f"link_records (blocking, comparing, clustering, merging): {linked - blocked:.2f} s; "
          f"{len(events)} events, {sum(1 for e in events if len(e.members) > 1)} of them merging 2+ reports")
    print(f"total {linked - started - (blocked - built):.2f} s from rows to events")


if __name__ == "__main__":
    main()
