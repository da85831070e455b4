"""The week before the list day: call tasks, attempts with vitals and needs, escalations, check-ins.

Each step is one INSERT … SELECT (or UPDATE … FROM) that reads rows already generated, so the
history agrees with itself: attempts belong to tasks, needs to connected attempts, and so on.
"""
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import text

from callcenter.clock import local_to_utc, start_of_local_day

from . import shape
from .sql import rnd, weighted

WARNING_SYMPTOM_LIKE = "(a.symptoms LIKE '%breathlessness%' OR a.symptoms LIKE '%chest_pain%')"


def steps(dialect, day, days):
    """[(name, fn(conn) -> rows)] in the order they must run."""
    h = History(dialect, day, days)
    return [("call tasks", h.tasks), ("call attempts", h.attempts), ("needs", h.needs),
            ("escalations for needs", h.need_escalations), ("warning-sign escalations", h.warning_escalations),
            ("check-ins", h.checkins), ("patients' last contact", h.last_contact)]


def _local(day, config_key):
    return local_to_utc(datetime.combine(day, time.fromisoformat(current_app.config[config_key])))


class History:
    def __init__(self, dialect, day, days):
        self.sql, self.day, self.days = dialect, day, days
        # Ids are computed from what a row belongs to, never drawn from a sequence: the same data set,
        # row for row, on PostgreSQL and SQLite (so both must build the same list from it).
        self.task_id = f"p.id * {2 * (days + 1)} + d.k * 2 + s.slot"
        self.checkin_id = f"p.id * {days + 1} + d.k"
        self.yesterday_start = start_of_local_day(day - timedelta(days=1))

    def _days_cte(self):
        """days(k, task_date, day_start, due1, due2, built, next_built): k days before the list day."""
        sql, rows = self.sql, []
        for k in range(1, self.days + 1):
            d = self.day - timedelta(days=k)
            rows.append(f"({k}, {sql.date(d)}, {sql.timestamp(start_of_local_day(d))}, "
                        f"{sql.timestamp(_local(d, 'FIRST_SLOT_TIME'))}, "
                        f"{sql.timestamp(_local(d, 'SECOND_SLOT_TIME'))}, "
                        f"{sql.timestamp(_local(d, 'CALL_LIST_TIME'))}, "
                        f"{sql.timestamp(_local(d + timedelta(days=1), 'CALL_LIST_TIME'))})")
        return "days(k, task_date, day_start, due1, due2, built, next_built) AS (VALUES " + ", ".join(rows) + ")"

    @staticmethod
    def _call_minute(patient_sql, slot_sql):
        # A volunteer reaches the same patient at about the same time each day: minutes after the slot opens.
        return rnd(f"{patient_sql} * 2 + {slot_sql}", 42, 240)

    def tasks(self, conn):
        """One or two tasks a day (two for high-risk patients at home) from the day after registration.
        Yesterday's unreached tasks are still pending: the list build closes them as missed."""
        sql = self.sql
        high_risk = "(p.age >= 60 OR p.comorbidities <> '')"
        key = self.task_id
        unreachable, not_reached = shape.TASK_UNREACHABLE_PER_1000, shape.TASK_NOT_REACHED_PER_1000
        statement = f"""
        WITH {self._days_cte()},
        slots(slot) AS (VALUES (1), (2)),
        t AS (
            SELECT {key} AS id, p.id AS patient_id, p.district_id, p.setting, p.created_at AS contact_at, d.task_date,
                   s.slot, CASE WHEN s.slot = 1 THEN d.due1 ELSE d.due2 END AS due_at, d.built, d.next_built,
                   {self._call_minute('p.id', 's.slot')} AS minute,
                   CASE WHEN {rnd(key, 43, 1000)} < 5 THEN 0 WHEN {rnd(key, 43, 1000)} < 80 THEN 1
                        WHEN {high_risk} THEN 2 ELSE 3 END AS priority,
                   CASE WHEN {rnd(key, 40, 1000)} < {unreachable} THEN 'unreachable'
                        WHEN {rnd(key, 40, 1000)} < {unreachable + not_reached}
                        THEN CASE WHEN d.k = 1 THEN 'pending' ELSE 'missed' END
                        ELSE 'done' END AS status,
                   {rnd(key, 41, 100)} AS roll
            FROM patient p
            JOIN days d ON p.positive_date < d.task_date
            JOIN slots s ON s.slot = 1 OR (p.setting = 'home' AND {high_risk})
            WHERE p.status = 'active'
        ),
        n AS (
            SELECT t.*, CASE WHEN status = 'done' THEN CASE WHEN roll < {shape.SECOND_ATTEMPT_PERCENT} THEN 2 ELSE 1 END
                             WHEN status = 'unreachable' THEN 3
                             ELSE CASE WHEN roll < 50 THEN 1 ELSE 0 END END AS tries
            FROM t
        )
        INSERT INTO call_task (id, patient_id, district_id, setting, task_date, slot, due_at, priority,
                               last_contact_at, status, claimed_by_id, claimed_at, attempts, last_outcome, reason,
                               created_at, closed_at)
        SELECT id, patient_id, district_id, setting, task_date, slot, due_at, priority, contact_at, status, NULL,
               CASE WHEN tries > 0 THEN {sql.plus_minutes('due_at', 'minute')} END,
               tries,
               CASE WHEN status = 'done' THEN 'connected' WHEN tries > 0 THEN 'no_answer' END,
               'daily', built,
               CASE WHEN status IN ('done', 'unreachable')
                    THEN {sql.plus_minutes('due_at', f'minute + {shape.MINUTES_BETWEEN_ATTEMPTS} * (tries - 1) + 6')}
                    WHEN status = 'missed' THEN next_built END
        FROM n
        """
        return self._insert(conn, "call_task", statement)

    def attempts(self, conn):
        """Each task's attempts: the last one of a done task connected, with vitals; the others failed
        (the last failed one 'no answer', as the task records)."""
        sql, volunteers = self.sql, shape.VOLUNTEERS_PER_DISTRICT
        started = sql.plus_minutes("t.due_at", f"{self._call_minute('t.patient_id', 't.slot')} "
                                               f"+ {shape.MINUTES_BETWEEN_ATTEMPTS} * (tries.attempt_no - 1)")
        statement = f"""
        WITH tries(attempt_no) AS (VALUES (1), (2), (3)),
        a AS (
            SELECT t.id AS task_id, t.patient_id, t.district_id, tries.attempt_no, t.attempts, {started} AS started_at,
                   CASE WHEN t.status = 'done' AND tries.attempt_no = t.attempts THEN 1 ELSE 0 END AS connected
            FROM call_task t JOIN tries ON tries.attempt_no <= t.attempts
        )
        INSERT INTO call_attempt (id, task_id, patient_id, district_id, user_id, submission_key, outcome,
                                  temperature_f, spo2, symptoms, notes, callback_at, started_at, created_at)
        SELECT task_id * 4 + attempt_no, task_id, patient_id, district_id,
               (district_id - 1) * {volunteers} + 1 + {rnd('task_id', 50, volunteers)},
               'bench-' || task_id || '-' || attempt_no,
               CASE WHEN connected = 1 THEN 'connected' WHEN attempt_no = attempts THEN 'no_answer'
                    ELSE {weighted(rnd('task_id * 4 + attempt_no', 56, 100), shape.FAILED_OUTCOMES)} END,
               CASE WHEN connected = 0 THEN NULL
                    WHEN {rnd('task_id', 54, 1000)} < {shape.FEVER_PER_1000}
                    THEN 100.0 + {rnd('task_id', 55, 30)} / 10.0
                    ELSE 97.6 + {rnd('task_id', 55, 20)} / 10.0 END,
               CASE WHEN connected = 0 OR {rnd('task_id', 53, 1000)} < {shape.NO_OXIMETER_PER_1000} THEN NULL
                    WHEN {rnd('task_id', 51, 1000)} < {shape.LOW_SPO2_PER_1000} THEN 88 + {rnd('task_id', 52, 6)}
                    ELSE 94 + {rnd('task_id', 52, 6)} END,
               CASE WHEN connected = 0 THEN '' ELSE {weighted(rnd('task_id', 57, 1000), shape.SYMPTOMS)} END,
               '',
               NULL,
               started_at,
               {sql.plus_minutes('started_at', 5)}
        FROM a
        """
        return self._insert(conn, "call_attempt", statement)

    def needs(self, conn):
        statement = f"""
        INSERT INTO need (id, patient_id, kind, attempt_id, checkin_id, escalation_id, created_at)
        SELECT a.id, a.patient_id, {weighted(rnd('a.id', 61, 100), shape.NEEDS)}, a.id, NULL, NULL, a.created_at
        FROM call_attempt a
        WHERE a.outcome = 'connected' AND {rnd('a.id', 60, 1000)} < {shape.NEED_PER_1000}
        """
        return self._insert(conn, "need", statement)

    def _insert(self, conn, table, statement):
        rows = self.sql.rows(conn, conn.execute(text(statement)))
        self.sql.ids_inserted(conn, table)
        return rows

    def _escalations(self, conn, source_sql):
        """Insert escalations from `source_sql`, which yields id, patient_id, district_id,
        kind, desk, severity, reasons, created_at, created_by_id and a key for the pseudo-random rolls."""
        sql = self.sql
        since = sql.timestamp(self.yesterday_start)
        staff = f"{shape.STAFF_BASE_ID} + (e.district_id - 1) * {len(shape.STAFF_ROLES)}"
        desk_member = (f"CASE e.desk WHEN 'doctor' THEN 3 WHEN 'counsellor' THEN 4 "
                       f"ELSE 1 + {rnd('e.roll_key', 62, 2)} END")
        acted = "status IN ('acknowledged', 'in_progress', 'resolved')"
        statement = f"""
        WITH s AS (
            SELECT e.*, {staff} + {desk_member} AS worker,
                   CASE WHEN e.created_at >= {since}
                        THEN {weighted(rnd('e.roll_key', 63, 100), shape.RECENT_ESCALATION_STATUSES)}
                        ELSE {weighted(rnd('e.roll_key', 63, 100), shape.OLDER_ESCALATION_STATUSES)} END AS status
            FROM ({source_sql}) e
        )
        INSERT INTO escalation (id, patient_id, district_id, kind, desk, severity, status,
                                summary, reasons, source, created_at, created_by_id, respond_by, owner_id,
                                acknowledged_at, acknowledged_by_id, started_at, closed_at, closed_by_id,
                                resolution, version, alert_count)
        SELECT id, patient_id, district_id, kind, desk, severity, status, '',
               {sql.json('reasons')}, 'call', created_at, created_by_id,
               CASE WHEN severity = 'emergency' THEN {sql.plus_minutes('created_at', 10)} END,
               CASE WHEN {acted} THEN worker END,
               CASE WHEN {acted} THEN {sql.plus_minutes('created_at', f"5 + {rnd('roll_key', 64, 55)}")} END,
               CASE WHEN {acted} THEN worker END,
               CASE WHEN status IN ('in_progress', 'resolved') THEN {sql.plus_minutes('created_at', 70)} END,
               CASE WHEN status IN ('resolved', 'cancelled') THEN {sql.plus_minutes('created_at', 180)} END,
               CASE WHEN status IN ('resolved', 'cancelled') THEN worker END,
               CASE WHEN status = 'resolved' THEN 'Done' WHEN status = 'cancelled' THEN 'Not needed any more'
                    ELSE '' END,
               1, 0
        FROM s
        """
        return self._insert(conn, "escalation", statement)

    def need_escalations(self, conn):
        """Every need gets an escalation (even ids; odd ones are warning signs), linked from the need."""
        emergency = ", ".join(f"'{k}'" for k in shape.EMERGENCY_NEEDS)
        desk = "CASE nd.kind " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in shape.NEED_DESK.items()) \
               + " ELSE 'control_room' END"
        source = f"""
            SELECT nd.id * 2 AS id, nd.patient_id, p.district_id, nd.kind, {desk} AS desk,
                   CASE WHEN nd.kind IN ({emergency}) THEN 'emergency' ELSE 'routine' END AS severity,
                   '[["need", "' || nd.kind || '"]]' AS reasons, nd.created_at, a.user_id AS created_by_id,
                   nd.id AS roll_key
            FROM need nd JOIN call_attempt a ON a.id = nd.attempt_id JOIN patient p ON p.id = nd.patient_id
        """
        rows = self._escalations(conn, source)
        conn.execute(text("UPDATE need SET escalation_id = id * 2"))
        return rows

    def warning_escalations(self, conn):
        """A connected call with a low SpO2 or a warning symptom raised a warning-sign emergency."""
        low = current_app.config["SETTING_DEFAULTS"]["spo2_emergency_below"]
        source = f"""
            SELECT a.id * 2 + 1 AS id, a.patient_id, p.district_id, 'warning_sign' AS kind, 'control_room' AS desk,
                   'emergency' AS severity,
                   CASE WHEN a.spo2 < {low} THEN '[["spo2", ' || a.spo2 || ']]'
                        ELSE '[["symptom", "' || a.symptoms || '"]]' END AS reasons,
                   a.created_at, a.user_id AS created_by_id, a.id AS roll_key
            FROM call_attempt a JOIN patient p ON p.id = a.patient_id
            WHERE a.outcome = 'connected' AND (a.spo2 < {low} OR {WARNING_SYMPTOM_LIKE})
        """
        return self._escalations(conn, source)

    def checkins(self, conn):
        """One home patient in ten checks in each morning: how they feel, temperature, SpO2."""
        sql = self.sql
        key = self.checkin_id
        statement = f"""
        WITH {self._days_cte()}
        INSERT INTO check_in (id, patient_id, district_id, channel, at, feeling_ok, temperature_f, spo2, raw)
        SELECT {key}, p.id, p.district_id, {weighted(rnd(key, 70, 100), shape.CHECKIN_CHANNELS)},
               {sql.plus_minutes('d.day_start', f"540 + {rnd(key, 71, 180)}")},
               CASE WHEN {rnd(key, 72, 100)} < 5 THEN NULL WHEN {rnd(key, 72, 100)} < 8 THEN false ELSE true END,
               CASE WHEN {rnd(key, 73, 100)} < 5 THEN 100.0 + {rnd(key, 74, 30)} / 10.0
                    ELSE 97.6 + {rnd(key, 74, 20)} / 10.0 END,
               CASE WHEN {rnd(key, 75, 1000)} < 200 THEN NULL
                    WHEN {rnd(key, 75, 1000)} < 205 THEN 90 + {rnd(key, 76, 4)}
                    ELSE 94 + {rnd(key, 76, 6)} END,
               ''
        FROM patient p JOIN days d ON p.positive_date < d.task_date
        WHERE p.status = 'active' AND p.setting = 'home' AND {rnd('p.id', 77, shape.CHECKIN_ONE_IN)} = 0
        """
        return self._insert(conn, "check_in", statement)

    def last_contact(self, conn):
        """A patient's last contact: the latest connected call or check-in (the queue's tie-breaker)."""
        statement = """
        UPDATE patient SET last_contact_at = c.at
        FROM (SELECT patient_id, max(at) AS at FROM (
                  SELECT patient_id, created_at AS at FROM call_attempt WHERE outcome = 'connected'
                  UNION ALL
                  SELECT patient_id, at FROM check_in) contacts
              GROUP BY patient_id) c
        WHERE c.patient_id = patient.id
        """
        return self.sql.rows(conn, conn.execute(text(statement)))
