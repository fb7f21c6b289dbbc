"""The only package that speaks SQL: engines, the unit of work, the codec, tables, migrations, plans kept,
the tick's statements, the outbox's claims, rate limits, and the stored campaign.

Imports duban.domain and duban.spec; nothing above it (services, views, web, cli, flows) is imported here.
"""

from duban.store import listed as _listed  # noqa: E402,F401  (plans read stored lists from the settings' database)
