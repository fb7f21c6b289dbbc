"""Bulk reads and writes for the hot paths (keeping a plan, a tick, composing messages).

SQLAlchemy converts every value through its type objects, about 10 µs per instant; a national stage opening
moves 40,000 rows with several instants each. Here an instant is converted once per distinct value (a stage's
40,000 assignments share a handful) and rows go to the driver with executemany. The storage formats are the
ones SQLAlchemy itself uses (naive UTC text on SQLite, timestamptz on Postgres), so ORM reads still work.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import Connection

if TYPE_CHECKING:
    import psycopg

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# A tick by case and messages built by the database need UPDATE … FROM (SQLite 3.33) and the JSON functions built
# in (3.38); with an older SQLite library duban ticks and composes row by row.
SQLITE_BY_CASE = sqlite3.sqlite_version_info >= (3, 38)


class Codec:
    """Converts instants and JSON between Python and one connection's driver, memoising repeated values."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self._out: dict[datetime, Any] = {}
        self._in: dict[Any, datetime] = {}
        self._json_in: dict[str, Any] = {}
        self._iso_in: dict[Any, str] = {}

    # instants ---------------------------------------------------------------------------------------------
    def instant(self, moment: datetime | None) -> Any:
        """An aware instant as the driver stores it (memoised)."""
        if moment is None:
            return None
        found = self._out.get(moment)
        if found is None:
            if moment.tzinfo is None:
                raise ValueError(f"refusing to store naive datetime {moment!r}: duban stores UTC instants")
            plain = datetime.fromtimestamp(moment.timestamp(), tz=timezone.utc).replace(microsecond=moment.microsecond)
            found = plain.replace(tzinfo=None).strftime(_SQLITE_FORMAT) if self.sqlite else plain
            self._out[moment] = found
        return found

    def read_instant(self, raw: Any) -> datetime | None:
        """A stored instant back as an aware UTC datetime (memoised)."""
        if raw is None:
            return None
        found = self._in.get(raw)
        if found is None:
            if isinstance(raw, datetime):
                found = raw.replace(tzinfo=timezone.utc) if raw.tzinfo is None else raw.astimezone(timezone.utc)
            else:
                found = datetime.fromisoformat(raw).replace(tzinfo=timezone.utc)
            self._in[raw] = found
        return found

    def iso(self, moment: datetime) -> str:
        """The instant as ISO 8601 in UTC (how JSON columns keep instants)."""
        stored = self.instant(moment)
        if self.sqlite:
            return stored.replace(" ", "T") + "+00:00"
        return stored.isoformat()

    # JSON -------------------------------------------------------------------------------------------------
    @staticmethod
    def json(value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def read_json(self, raw: Any) -> Any:
        if raw is None or not isinstance(raw, str):
            return raw
        found = self._json_in.get(raw)
        if found is None:
            found = self._json_in[raw] = orjson.loads(raw)
        return found

    def iso_of_stored(self, raw: Any) -> str:
        """A stored instant (as read back from the driver) as ISO 8601 in UTC (memoised)."""
        found = self._iso_in.get(raw)
        if found is None:
            moment = self.read_instant(raw)
            assert moment is not None, "a stored instant, not NULL"
            found = self._iso_in[raw] = self.iso(moment)
        return found

    # statements -------------------------------------------------------------------------------------------
    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if not self.sqlite:
            self._copy(table, columns, rows)
            return
        marks = ", ".join([self.marker] * len(columns))
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def update(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], key: str = "id") -> None:
        """UPDATE table SET columns… WHERE key = last value of each row."""
        rows = list(rows)
        if not rows:
            return
        if self.sqlite or len(rows) < 50:
            sets = ", ".join(f"{column} = {self.marker}" for column in columns)
            self.conn.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE {key} = {self.marker}", rows)
            return
        # Postgres: COPY the new values into a temporary table, then one UPDATE … FROM. The session keeps its
        # temporary tables, so each set of columns gets its own (a tick and a simulated submission differ).
        staging = f"_duban_{table}_{zlib.crc32(','.join(columns).encode()):08x}"
        self.conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} AS SELECT {', '.join(columns)}, {key} FROM {table} "
            "WITH NO DATA"
        )
        self.conn.exec_driver_sql(f"TRUNCATE {staging}")
        self._copy(staging, (*columns, key), rows)
        sets = ", ".join(f"{column} = s.{column}" for column in columns)
        self.conn.exec_driver_sql(f"UPDATE {table} AS t SET {sets} FROM {staging} AS s WHERE t.{key} = s.{key}")

    def _copy(self, table: str, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
        driver = cast("psycopg.Connection[Any]", self.conn.connection.dbapi_connection)  # COPY: Postgres only
        cursor = driver.cursor()
        try:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def reserve_ids(self, table: str, count: int) -> list[int]:
        """Primary keys for `count` new rows, so children can point at them without reading them back.

        On SQLite the transaction holds the write lock (BEGIN IMMEDIATE), so max(id) cannot move under us;
        on Postgres the table's own sequence hands them out.
        """
        if count == 0:
            return []
        if self.sqlite:
            top = self.conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()
            return list(range(top + 1, top + 1 + count))
        rows = self.conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (count,)
        ).all()
        return [row[0] for row in rows]

    def select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run a query written with `?` markers (rewritten for the driver) and return its rows."""
        return self.execute(sql, params).all()

    def execute(self, sql: str, params: Sequence[Any]) -> Any:
        """Run one statement written with `?` markers."""
        if self.marker != "?":
            sql = sql.replace("%", "%%").replace("?", self.marker)
        return self.conn.exec_driver_sql(sql, tuple(params))

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement written with `?` markers once per row (the driver's executemany)."""
        if not rows:
            return
        if self.marker != "?":
            sql = sql.replace("%", "%%").replace("?", self.marker)
        self.conn.exec_driver_sql(sql, [tuple(row) for row in rows])

    @property
    def json_marker(self) -> str:
        """The marker of a JSON value written as text: `?` on SQLite, a cast on Postgres."""
        return "?" if self.sqlite else "CAST(? AS JSON)"
