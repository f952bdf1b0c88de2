"""An attacker with every published cell of a quarter tries to subtract a suppressed one back.

The attacker downloads the four open-data files of the quarter (organizations, regions,
types, founders) and also knows the country's total. The suppressed organizations are the
unknowns; the country and every shown aggregate give a linear equation over the ones they
hold. Any combination of suppressed cells whose sum lies in the span of those equations is
recovered; the test enumerates every combination and fails if one holds 1..min_n-1 answers or
is a single organization's own figures.
"""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import service as ind
from otklik.indicators import tables
from otklik.indicators.periods import parse_period
from otklik.opendata import suppression
from otklik.registry.models import Organization
from tests.opendata.data import POPULATION, QUARTER, populate

MIN_N = 10


async def _csv(client: AsyncClient, name: str) -> list[dict[str, str]]:
    resp = await client.get(f"/api/open/v1/{name}.csv", params={"period": QUARTER})
    assert resp.status_code == 200, resp.text
    return list(csv.DictReader(io.StringIO(resp.text)))


def recovered(hidden: list[str], equations: list[set[str]]) -> list[frozenset[str]]:
    """Every non-empty set of unknowns whose sum the equations determine."""
    if not hidden:
        return []
    a = np.array([[1.0 if o in eq else 0.0 for o in hidden] for eq in equations])
    rank = np.linalg.matrix_rank(a)
    found = []
    for mask in range(1, 2 ** len(hidden)):
        v = np.array([(mask >> i) & 1 for i in range(len(hidden))], dtype=float)
        if np.linalg.matrix_rank(np.vstack([a, v])) == rank:
            found.append(frozenset(o for i, o in enumerate(hidden) if (mask >> i) & 1))
    return found


def leaks(
    truth: dict[str, int], orgs: list[dict[str, str]], aggregates: dict[str, list[dict[str, str]]]
) -> list[str]:
    hidden = [r["ogrn"] for r in orgs if r["suppressed"] == "true" and truth.get(r["ogrn"], 0)]
    assert len(hidden) <= 16, "keep the exhaustive attack small"
    column = {"regions": "region_code", "types": "type_code", "founders": "founder_code"}
    equations = [set(hidden)]  # the country's total minus every shown organization
    for name, rows in aggregates.items():
        for row in rows:
            if row["suppressed"] == "false":
                equations.append(
                    {r["ogrn"] for r in orgs if r[column[name]] == row["code"]} & set(hidden)
                )
    out = []
    for s in recovered(hidden, equations):
        total = sum(truth[o] for o in s)
        if 0 < total < MIN_N or (len(s) == 1 and len(hidden) > 1):
            out.append(f"{sorted(s)} = {total} answers")
    return out


def _random_population(seed: int) -> list[tuple[str, str, str, int]]:
    rng = random.Random(seed)
    regions = ["16", "77", "50"]
    types = ["med_outpatient", "med_inpatient"]
    rows = []
    for _ in range(12):
        region, type_code = rng.choice(regions), rng.choice(types)
        founder = rng.choice([f"r{region}-health", "minzdrav"])
        rows.append((region, type_code, founder, rng.choice([2, 4, 7, 9, 11, 13, 18, 25, 40])))
    return rows


POPULATIONS = {"fixed": POPULATION, **{f"random{s}": _random_population(s) for s in range(1, 7)}}


@pytest.mark.parametrize("which", list(POPULATIONS))
async def test_no_suppressed_cell_can_be_subtracted_back(
    session: AsyncSession, client: AsyncClient, which: str
) -> None:
    truth = await populate(session, POPULATIONS[which])
    orgs = [r for r in await _csv(client, "organizations") if r["ogrn"] in truth]
    aggregates = {name: await _csv(client, name) for name in ("regions", "types", "founders")}
    assert any(r["suppressed"] == "true" for r in orgs), "the population hides nobody"
    for r in orgs:  # a suppressed row shows nothing but who it is
        if r["suppressed"] == "true":
            assert r["responses"] == r["integral"] == r["overall"] == r["answer_rate"] == ""
    assert leaks(truth, orgs, aggregates) == []


async def test_the_cabinets_hidden_sets_are_kept(
    session: AsyncSession, client: AsyncClient
) -> None:
    """Organizations: exactly the cabinets' set; regions: at least the cabinets' set."""
    truth = await populate(session)
    period = parse_period(QUARTER)
    m = await ind.methodology(session, None)
    cabinet_orgs = await tables.hidden_organizations(session, period, m)
    cabinet_regions = await tables.hidden_regions(session, period, m)
    orgs = await _csv(client, "organizations")
    ids = {r["ogrn"]: r for r in orgs}
    by_id = dict((await session.execute(select(Organization.ogrn, Organization.id))).all())
    published = {by_id[o] for o, r in ids.items() if r["suppressed"] == "true" and o in truth}
    assert published == {by_id[o] for o in truth} & cabinet_orgs
    regions = {r["code"]: r for r in await _csv(client, "regions")}
    for code in cabinet_regions & set(regions):
        assert regions[code]["suppressed"] == "true"
    hidden = await suppression.hidden(session, period, m)
    assert set(hidden.organizations) == cabinet_orgs


async def test_without_closing_the_attack_succeeds(session: AsyncSession) -> None:
    """The attack has teeth: with the aggregates hidden by the table rule alone (no
    ``close``), some population of these leaks a cell."""
    found = []
    for rows in POPULATIONS.values():
        truth = {f"o{i}": k for i, (_, _, _, k) in enumerate(rows)}
        keys = {g: [r[i] for r in rows] for g, i in (("region", 0), ("type", 1), ("founder", 2))}
        months = [[0] * 7 + [k] + [0] * 4 for *_, k in rows]
        founders = [sorted(set(keys["founder"])).index(f) for f in keys["founder"]]
        pop = tables.Population(
            list(range(len(rows))), keys["region"], keys["type"], founders, months
        )
        period = parse_period(QUARTER)
        hidden_ids = tables.hidden_in(pop, period, MIN_N)
        plain = {g: suppression.group_hidden(pop, g, period, MIN_N) for g in suppression.GROUPINGS}
        closed = suppression.close(pop, period, MIN_N, set(hidden_ids), plain)
        for groups in (plain, closed):
            orgs = [
                {
                    "ogrn": f"o{i}",
                    "suppressed": "true" if i in hidden_ids else "false",
                    "region_code": pop.regions[i],
                    "type_code": pop.types[i],
                    "founder_code": str(pop.founders[i]),
                }
                for i in range(len(rows))
            ]
            aggregates = {
                name: [
                    {"code": k, "suppressed": "true" if k in groups[g] else "false"}
                    for k in set(suppression.keys_of(pop, g))
                ]
                for name, g in (("regions", "region"), ("types", "type"), ("founders", "founder"))
            }
            found.append((groups is closed, leaks(truth, orgs, aggregates)))
    assert any(leak for is_closed, leak in found if not is_closed), found
    assert not any(leak for is_closed, leak in found if is_closed), found
