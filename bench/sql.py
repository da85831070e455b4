"""The few SQL fragments that differ between PostgreSQL and SQLite, so the generator writes each
INSERT … SELECT once.

Values are rendered as literals: they come from this code, never from a user.
"""
from sqlalchemy import text

PRIME = 1_000_003


def rnd(key_sql, salt, modulo):
    """A deterministic pseudo-random integer in [0, modulo) from an integer key.

    A multiplicative hash: the same data on both databases, with no random() whose meaning differs.
    Each salt picks another multiplier, so two attributes of the same row are not correlated.
    """
    return f"((CAST({key_sql} AS bigint) * {48271 + 7919 * salt} + {131 * salt}) % {PRIME} % {modulo})"


def pick(index_sql, values):
    """The value at a 0-based index: CASE index WHEN 0 THEN 'a' … END."""
    whens = " ".join(f"WHEN {i} THEN {_quote(v)}" for i, v in enumerate(values))
    return f"(CASE {index_sql} {whens} END)"


def weighted(roll_sql, weights):
    """A value chosen by a roll: weights is [(value, share), …] whose shares add up to the roll's range."""
    whens, upper = [], 0
    for value, share in weights[:-1]:
        upper += share
        whens.append(f"WHEN {roll_sql} < {upper} THEN {_quote(value)}")
    return f"(CASE {' '.join(whens)} ELSE {_quote(weights[-1][0])} END)"


def _quote(value):
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


class Postgres:
    name = "postgresql"

    def numbers(self, count):
        """A CTE seq(n) of 1..count."""
        return f"seq(n) AS (SELECT generate_series(CAST(1 AS bigint), {count}))"

    def date(self, day):
        return f"DATE '{day.isoformat()}'"

    def timestamp(self, moment):
        return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}'"

    def minus_days(self, date_sql, days_sql):
        return f"({date_sql} - CAST({days_sql} AS integer))"

    def plus_minutes(self, sql, minutes_sql):
        """A date or timestamp plus some minutes, as a timestamp."""
        return f"({sql} + ({minutes_sql}) * INTERVAL '1 minute')"

    def digits(self, number_sql, width):
        return f"lpad(CAST({number_sql} AS text), {width}, '0')"

    def json(self, text_sql):
        return f"CAST({text_sql} AS json)"

    def rows(self, conn, result):
        """How many rows the statement just run inserted or changed."""
        return result.rowcount

    def ids_inserted(self, conn, table):
        """After rows were inserted with explicit ids: move the id sequence past them."""
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                          f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table}\"), false)"))


class SQLite:
    """SQLAlchemy stores dates as 'YYYY-MM-DD' and datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text,
    and the app compares them as text: generated values must have exactly that form."""
    name = "sqlite"

    def numbers(self, count):
        return f"seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count})"

    def date(self, day):
        return f"'{day.isoformat()}'"

    def timestamp(self, moment):
        return f"'{moment:%Y-%m-%d %H:%M:%S}.000000'"

    def minus_days(self, date_sql, days_sql):
        return f"date({date_sql}, (-({days_sql})) || ' days')"

    def plus_minutes(self, sql, minutes_sql):
        return f"(strftime('%Y-%m-%d %H:%M:%S', {sql}, ({minutes_sql}) || ' minutes') || '.000000')"

    def digits(self, number_sql, width):
        return f"printf('%0{width}d', {number_sql})"

    def json(self, text_sql):
        return text_sql

    def rows(self, conn, result):
        # The sqlite3 module reports -1 for statements that begin with WITH.
        return conn.exec_driver_sql("SELECT changes()").scalar()

    def ids_inserted(self, conn, table):
        pass  # SQLite gives the next row max(id) + 1 by itself


def for_dialect(name):
    return {"postgresql": Postgres, "sqlite": SQLite}[name]()
