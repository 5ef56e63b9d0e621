"""Generate the SIPAS-like reference data set ``sipas.csv`` (fixed seed).

Run from this folder: ``python make_data.py``; then ``Rscript make_reference.R``
computes the reference values with R's ``survey`` package.

The design mimics a provincial desk survey:

* ``province`` -- stratum (6 provinces, string codes);
* ``desk`` -- PSU, a one-stop desk, id unique over provinces; ``desk_no`` is the
  same desk numbered 1, 2, ... inside its province (for ``nest=TRUE``);
* ``day`` -- second-stage unit, a survey day at the desk (id unique overall);
* ``desks_total`` / ``days_total`` -- population counts of desks in the
  province and of working days at the desk (finite population corrections);
* ``weight`` -- sampling weight;
* ``channel``, ``gender`` -- domains; ``age`` and ``fee`` -- numeric
  variables with missing values; ``paid`` -- a 0/1 indicator;
* ``a1`` ... ``e3`` (service factors) and ``pa1`` ... ``pb2`` (policy
  components) -- Likert answers 1..5, empty when missing or not applicable.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20251124
PROVINCES = {"HN": 9, "HP": 6, "QN": 5, "DN": 7, "CT": 4, "GL": 2}
ITEMS = {
    "a": ["a1", "a2", "a3"],
    "b": ["b1", "b2", "b3", "b4"],
    "c": ["c1", "c2", "c3"],
    "d": ["d1", "d2", "d3"],
    "e": ["e1", "e2", "e3"],
    "pa": ["pa1", "pa2"],
    "pb": ["pb1", "pb2"],
}
MISSING = {"a": 0.04, "b": 0.06, "c": 0.05, "d": 0.08, "e": 0.25, "pa": 0.10, "pb": 0.15}


def generate(seed: int = SEED) -> list[dict[str, object]]:
    """Return the rows of the data set as dictionaries (missing = ``""``)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    cuts = np.array([-1.6, -0.9, -0.1, 1.1])
    for p_index, (province, n_desks) in enumerate(PROVINCES.items()):
        desks_total = n_desks * int(rng.integers(2, 6))
        province_effect = rng.normal(0.0, 0.25)
        for desk_no in range(1, n_desks + 1):
            desk = f"{province}-{desk_no:02d}"
            desk_effect = rng.normal(0.0, 0.35)
            days_total = int(rng.integers(15, 25))
            n_days = int(rng.integers(2, 5))
            for day_no in range(1, n_days + 1):
                day_effect = rng.normal(0.0, 0.15)
                n_resp = int(rng.integers(8, 25))
                base_w = (desks_total / n_desks) * (days_total / n_days) * rng.uniform(2, 6)
                for _ in range(n_resp):
                    person = rng.normal(0.0, 0.6)
                    row: dict[str, object] = {
                        "province": province,
                        "desk": desk,
                        "desk_no": desk_no,
                        "day": f"{desk}-d{day_no}",
                        "desks_total": desks_total,
                        "days_total": days_total,
                        "weight": round(base_w * rng.uniform(0.7, 1.4), 4),
                        "channel": rng.choice(["qr", "paper", "phone"], p=[0.5, 0.35, 0.15]),
                        "gender": rng.choice(["f", "m"]),
                        "age": "" if rng.random() < 0.05 else int(rng.integers(18, 80)),
                        "fee": "" if rng.random() < 0.1 else round(rng.gamma(2.0, 50.0), 2),
                        "paid": int(rng.random() < 0.3 + 0.05 * p_index),
                    }
                    for dim_index, (dim, items) in enumerate(ITEMS.items()):
                        shift = 0.1 * dim_index - 0.2
                        for item_index, item in enumerate(items):
                            if rng.random() < MISSING[dim]:
                                row[item] = ""
                                continue
                            latent = (
                                0.3 * item_index
                                + shift
                                + province_effect
                                + desk_effect
                                + day_effect
                                + person
                                + rng.normal(0.0, 0.8)
                            )
                            row[item] = int(1 + np.searchsorted(cuts, latent))
                    rows.append(row)
    return rows


def main() -> None:
    """Write ``sipas.csv`` beside this script."""
    rows = generate()
    path = Path(__file__).with_name("sipas.csv")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
