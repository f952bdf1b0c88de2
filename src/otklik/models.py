"""Every domain's tables on the one metadata.

Import this module before ORM work outside the web application (the command line, scripts):
a model's foreign keys name tables of other domains, which SQLAlchemy resolves only when
their modules are loaded.
"""

from __future__ import annotations

import otklik.identity.models
import otklik.indicators.models
import otklik.insights.models
import otklik.intake.models
import otklik.jobs.models
import otklik.outreach.models
import otklik.registry.models
import otklik.surveys.models  # noqa: F401 - register every table on the metadata
