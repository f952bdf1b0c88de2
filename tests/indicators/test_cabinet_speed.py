"""The organizations page computes its distribution in the page's own statement: the counts
equal the separate distribution query's and the hand-computed bands, suppression included."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import service
from otklik.cabinets.repository import Filters
from otklik.identity.roles import Role
from otklik.indicators import service as ind
from otklik.indicators.periods import parse_period
from tests.factories import create_organization, create_user
from tests.indicators.factories import create_responses

DAY = date(2026, 11, 10)


async def test_page_bands_equal_the_distribution(session: AsyncSession) -> None:
    answers = {
        "А": [5] * 10,  # 5.0, but hidden: the smallest cell beside В (lowest id of 10s)
        "Б": [3] * 5 + [4] * 5,  # 3.5 -> band 3,5–4,0
        "В": [1] * 4,  # primary suppression (4 < 10)
        "Г": [4] * 10,  # 4.0 -> band 4,0–4,5
    }
    for name, values in answers.items():
        org = await create_organization(session, region="58", founder="r58-health", name=name)
        await create_responses(session, org, DAY, values, code="staff")
    user = await create_user(session, Role.regional_authority, "region:58")
    period, m = parse_period("2026-11"), await ind.methodology(session, None)
    expected = list(zip(service.BIN_LABELS, [0, 1, 1, 0, 0], strict=True))
    table = await service.organization_table(
        session, user, period, m, DAY, Filters(), "-shrunk", 1, per_page=2
    )
    assert (table.total, len(table.rows)) == (4, 2)
    assert table.bands == expected
    assert await service.distribution(session, user, period, m, DAY) == expected
    # a filtered table leaves the distribution to its own statement
    filtered = await service.organization_table(
        session, user, period, m, DAY, Filters(q="Б"), "-shrunk", 1
    )
    assert (filtered.bands, filtered.total) == (None, 1)
    # past the last page there is no row to carry the counts
    past = await service.organization_table(
        session, user, period, m, DAY, Filters(), "-shrunk", 9, per_page=2
    )
    assert (past.rows, past.total, past.bands) == ([], 4, None)
