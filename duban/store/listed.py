"""Lists (名录) in the database: `duban units import` keeps each listed party's spells, so who was listed when
stays answerable after a re-import.

A re-import compares the file with the list as it stands: a new row opens a spell, a changed row closes its spell
and opens one with the new values, a row gone from the file closes its spell, an unchanged row is left alone. The
import and every spell it opens or closes commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from duban.domain.listed import ListedRow, ReadList, use_stored_lists
from duban.errors import StoreError
from duban.instants import utc
from duban.store.codec import Codec
from duban.store.core import core_table
from duban.store.db import reading, unit_of_work
from duban.store.tables import ListedUnit, UnitImport

_L = core_table(ListedUnit)
_I = core_table(UnitImport)

_COLUMNS = (
    "list_name",
    "code",
    "name",
    "parent_code",
    "level",
    "kind",
    "credit_code",
    "attributes",
    "contact",
    "phone",
    "channels",
    "listed_from",
    "import_id",
)
_SELECT = (
    "SELECT id, code, name, parent_code, level, kind, credit_code, CAST(attributes AS TEXT), contact, phone, "
    "CAST(channels AS TEXT) FROM listed_unit WHERE list_name = ?"
)


def _keeps_attributes(read: ReadList, current: dict) -> None:
    """Refuse a file that gives no unit an attribute the units listed now carry (StoreError, nothing stored)."""
    from duban.domain.listed import LABELS

    given = {key for row in read.rows for key in row.attributes}
    given |= {"channels"} if any(row.channels for row in read.rows) else set()
    held: dict[str, int] = {}
    for stored in current.values():
        for key in [*json.loads(stored[7] or "{}"), *(["channels"] if stored[10] and stored[10] != "null" else [])]:
            held[key] = held.get(key, 0) + 1
    lost = sorted((key, n) for key, n in held.items() if key not in given)
    if lost:
        said = "、".join(f"{LABELS.get(key, key)} ({key}, held by {n:,})" for key, n in lost[:5])
        why = []
        if any(key != "channels" for key, _n in lost):
            why.append("a sample's strata or a `where:` on it would then find nobody")
        if any(key == "channels" for key, _n in lost):
            why.append("their messages would go to DUBAN_FALLBACK_CHANNELS instead of their own mailboxes")
        raise StoreError(
            f"{read.file}: no row gives {said}, which the units listed now carry: importing it would clear it from "
            f"all of them ({'; '.join(why)}); nothing was stored. Put the column back (or map it), or if the list "
            "really drops it, import again with --dropping"
        )


@dataclass
class ImportResult:
    list_name: str
    import_id: int
    rows: int
    added: int
    changed: int
    removed: int
    unchanged: int
    number: int = 1  # the import's place among its list's imports (1 for the first), as `duban units history` counts
    # the campaigns planned over the list, each with how many of its units now have the list's new channels
    reached: dict[str, int] = field(default_factory=dict)


def import_list(
    engine: Engine,
    list_name: str,
    read: ReadList,
    *,
    now: datetime,
    actor: str = "cli",
    delisting: bool = False,
    dropping: bool = False,
    campaigns: Sequence[str] = (),
) -> ImportResult:
    """Store a checked list under `list_name`: update in place, keeping every earlier spell; the `campaigns` planned
    over it send to a changed row's new channels (_reach), in the same transaction.

    A file that would leave more than half of the units listed now no longer listed (another county's list, last
    year's, an extract) is refused with nothing stored, unless `delisting` says the list really shrinks so; a file
    with no value for an attribute the units listed now carry (an export without its 风险等级 column) is refused
    too, unless `dropping` says the list really drops it: its strata and `where:` would find nobody."""
    now = utc(now)
    with unit_of_work(engine) as conn:
        codec = Codec(conn)
        if not codec.sqlite:  # two imports of one list at once: the second waits and compares with the first
            codec.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"duban.units.{list_name}"])
        current = {row[1]: row for row in codec.select(_SELECT + " AND listed_until IS NULL", [list_name])}
        listed_now = len(current)
        if not dropping:
            _keeps_attributes(read, current)
        opening: list[ListedRow] = []
        closing: list[int] = []
        moved: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # code: its channels before, after
        unchanged = 0
        for row in read.rows:
            stored = current.pop(row.code, None)
            if stored is None:
                opening.append(row)
            elif _content(codec, stored) == row.content():
                unchanged += 1
            else:
                closing.append(stored[0])
                opening.append(row)
                before = tuple(codec.read_json(stored[10]) or ())
                if before != tuple(row.channels):
                    moved[row.code] = (before, tuple(row.channels))
        if not delisting and _mostly_gone(len(current), listed_now):
            raise StoreError(
                f"{read.file}: list {list_name!r} now has {listed_now:,} units and this file keeps "
                f"{listed_now - len(current):,} of them: {len(current):,} would no longer be listed (e.g. "
                f"{', '.join(sorted(current)[:3])}); nothing was stored. Is it the right file for this list? If the "
                "list really shrinks so (a new year's 名录), import it again with --delisting"
            )
        import_id: int = conn.execute(
            insert(_I)
            .values(
                list_name=list_name,
                file=read.file,
                sha256=read.sha256,
                rows=len(read.rows),
                imported_at=now,
                actor=actor,
            )
            .returning(_I.c.id)
        ).scalar_one()
        changed = len(closing)
        closing.extend(stored[0] for stored in current.values())  # gone from the file
        marker = codec.instant(now)
        codec.execute_many(
            "UPDATE listed_unit SET listed_until = ?, closed_by = ? WHERE id = ?",
            [(marker, import_id, spell) for spell in closing],
        )
        for start in range(0, len(opening), 50_000):
            codec.insert(
                "listed_unit",
                _COLUMNS,
                (
                    (
                        list_name,
                        r.code,
                        r.name,
                        r.division,
                        r.level,
                        r.kind,
                        r.credit_code,
                        codec.json(r.attributes) if r.attributes else None,
                        r.contact,
                        r.phone,
                        codec.json(list(r.channels)) if r.channels else None,
                        marker,
                        import_id,
                    )
                    for r in opening[start : start + 50_000]
                ),
            )
        added = len(opening) - changed
        conn.execute(_I.update().where(_I.c.id == import_id).values(added=added, changed=changed, removed=len(current)))
        number = codec.select(
            "SELECT COUNT(*) FROM unit_import WHERE list_name = ? AND id <= ?", [list_name, import_id]
        )
        reached = {campaign_id: _reach(codec, campaign_id, moved) for campaign_id in campaigns}
    return ImportResult(
        list_name, import_id, len(read.rows), added, changed, len(current), unchanged, number[0][0], reached
    )


def _reach(codec: Codec, campaign_id: str, moved: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> int:
    """Give the campaign's listed units the list's new channels, where the campaign still holds the old ones (it
    took them from the list); how many changed. The dispatcher reads a unit's channels at each send, so the
    messages already waiting go to the new address too. Nothing else of the campaign's copy changes: its units,
    names and attributes stay as planned (its samples and strata were drawn over them)."""
    codes = sorted(moved)
    updates = []
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found = codec.select(
            f"SELECT code, CAST(channels AS TEXT) FROM campaign_unit WHERE campaign_id = ? AND code IN "
            f"({', '.join('?' * len(chunk))})",
            [campaign_id, *chunk],
        )
        for code, channels in found:
            before, after = moved[code]
            if tuple(codec.read_json(channels) or ()) == before:
                updates.append((codec.json(list(after)), campaign_id, code))
    codec.execute_many(
        f"UPDATE campaign_unit SET channels = {codec.json_marker} WHERE campaign_id = ? AND code = ?", updates
    )
    return len(updates)


def _mostly_gone(gone: int, listed_now: int) -> bool:
    """Whether `gone` of the `listed_now` units listed is more than half of them (see import_list)."""
    return gone * 2 > listed_now and gone > 0


def _content(codec: Codec, stored) -> tuple:
    _id, _code, name, parent, level, kind, credit, attributes, contact, phone, channels = stored
    attrs = codec.read_json(attributes) or {}
    refs = tuple(codec.read_json(channels) or ())
    return (name, parent, level, kind, credit, tuple(sorted(attrs.items())), contact, phone, refs)


def listed_rows(engine: Engine | Connection, list_name: str, *, as_of: datetime | None = None) -> list[ListedRow]:
    """The list today, or as it stood at `as_of`; an unknown list is a StoreError naming the known ones."""
    if isinstance(engine, Connection):
        return _rows(engine, list_name, as_of)
    with reading(engine) as conn:
        return _rows(conn, list_name, as_of)


def _rows(conn: Connection, list_name: str, as_of: datetime | None) -> list[ListedRow]:
    codec = Codec(conn)
    if as_of is None:
        found = codec.select(_SELECT + " AND listed_until IS NULL ORDER BY id", [list_name])
    else:
        moment = codec.instant(utc(as_of))
        found = codec.select(
            _SELECT + " AND listed_from <= ? AND (listed_until IS NULL OR listed_until > ?) ORDER BY id",
            [list_name, moment, moment],
        )
    if not found:
        known = conn.execute(select(_I.c.list_name).distinct().order_by(_I.c.list_name)).scalars().all()
        if list_name not in known:
            shown = ", ".join(known[:10]) + (f" … ({len(known)} in all)" if len(known) > 10 else "")
            raise StoreError(
                f"no list {list_name!r} in the database (lists: {shown or 'none'}); "
                f"import it first: duban units import FILE --list {list_name}"
            )
        first = conn.execute(select(func.min(_I.c.imported_at)).where(_I.c.list_name == list_name)).scalar()
        if as_of is not None and first is not None and utc(first) > utc(as_of):
            zone = as_of.tzinfo  # the campaign's, as the spec's as_of: day was read in it
            raise StoreError(
                f"list {list_name!r} had not been imported by {as_of:%Y-%m-%d}: its first import was on "
                f"{utc(first).astimezone(zone):%Y-%m-%d %H:%M} (give a later as_of:, or leave it out for today's list)"
            )
    interned: dict[str, str] = {}
    rows = []
    for _id, code, name, parent, level, kind, credit, attributes, contact, phone, channels in found:
        attrs = (
            {k: interned.setdefault(v, v) for k, v in (codec.read_json(attributes) or {}).items()} if attributes else {}
        )
        rows.append(
            ListedRow(
                line=0,
                code=code,
                name=name,
                division=parent,
                level=level,
                kind=interned.setdefault(kind, kind),
                credit_code=credit,
                attributes=attrs,
                contact=contact,
                phone=phone,
                channels=tuple(codec.read_json(channels) or ()) if channels else (),
            )
        )
    return rows


@dataclass
class Spell:
    code: str
    name: str
    division: str
    listed_from: datetime
    listed_until: datetime | None
    attributes: dict
    contact: str | None = None
    phone: str | None = None
    import_id: int | None = None  # the import that opened the spell
    closed_by: int | None = None  # the import that ended it
    channels: tuple[str, ...] = ()  # where its messages went (mail:ADDRESS, env:NAME …)


def history(engine: Engine, list_name: str, code: str) -> list[Spell]:
    """Every spell of one listed party, oldest first (who it was, from when until when)."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                _L.c.code,
                _L.c.name,
                _L.c.parent_code,
                _L.c.listed_from,
                _L.c.listed_until,
                _L.c.attributes,
                _L.c.contact,
                _L.c.phone,
                _L.c.import_id,
                _L.c.closed_by,
                _L.c.channels,
            )
            .where(_L.c.list_name == list_name, _L.c.code == code)
            .order_by(_L.c.listed_from, _L.c.id)
        ).all()
    return [
        Spell(
            r.code,
            r.name,
            r.parent_code,
            r.listed_from,
            r.listed_until,
            dict(r.attributes or {}),
            r.contact,
            r.phone,
            r.import_id,
            r.closed_by,
            tuple(r.channels or ()),
        )
        for r in rows
    ]


def imports(engine: Engine, list_name: str) -> list[UnitImport]:
    """The imports of a list, oldest first."""
    with reading(engine) as conn:
        rows = conn.execute(select(_I).where(_I.c.list_name == list_name).order_by(_I.c.id)).all()
    return [UnitImport.model_validate(r._mapping) for r in rows]


def _from_settings(list_name: str, as_of: datetime | None) -> list[ListedRow]:
    """A stored list from the settings' database (what a plan of `registry.lists: [NAME]` reads)."""
    from duban.settings import get_settings
    from duban.store.db import engine_for

    return listed_rows(engine_for(get_settings().resolved_database_url), list_name, as_of=as_of)


use_stored_lists(_from_settings)
