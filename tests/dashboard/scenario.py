"""One district's day, built by hand, whose every dashboard figure is known (and a second district that
must never show)."""
from datetime import datetime, time, timedelta
from types import SimpleNamespace

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import Escalation, Need, VillageContact

from .. import factories


def noon():
    """Today 12:00 local, as naive UTC: a `now` that keeps every test time inside today's local day."""
    return local_to_utc(datetime.combine(local_date(), time(12)))


def _escalation(patient, kind, desk, severity, created, status="open", **extra):
    esc = Escalation(patient_id=patient.id, district_id=patient.district_id, kind=kind, desk=desk,
                     severity=severity, status=status, source="call", created_at=created, **extra)
    db.session.add(esc)
    db.session.commit()
    return esc


def _patient(district, created_at, **kw):
    patient = factories.make_patient(district, **kw)
    patient.created_at = created_at
    db.session.commit()
    return patient


def build():
    now = noon()
    a = factories.make_district()
    b = factories.make_district()
    officer = factories.make_user("nodal_officer", a)
    vol = factories.make_user("volunteer", a)
    vol2 = factories.make_user("volunteer", a)
    village = factories.village(a)
    db.session.add(VillageContact(village_id=village.id, name="Ramesh Sarpanch", role="sarpanch",
                                  phone="+919811112222", created_at=now))
    p1 = _patient(a, now - timedelta(hours=1), name="Asha Home", village_id=village.id)
    p2 = _patient(a, now - timedelta(hours=1), name="Bina Home", village_id=village.id)
    p3 = _patient(a, now - timedelta(hours=1), name="Chandu CCC", setting="ccc")
    p4 = _patient(a, now - timedelta(days=3), name="Dev Hospital", setting="hospital", village_id=village.id)
    p4.sex = "male"
    p5 = _patient(a, now - timedelta(days=9), name="Esha Recovered", status="recovered",
                                ended_at=now - timedelta(hours=2))
    t1 = factories.make_task(p1, status="done", due_at=now - timedelta(hours=3))
    factories.make_task(p2, due_at=now - timedelta(hours=1))            # overdue
    factories.make_task(p3, due_at=now + timedelta(hours=1))            # pending, not overdue
    t4 = factories.make_task(p4, status="unreachable", due_at=now - timedelta(hours=4))
    factories.make_attempt(p1, vol, now - timedelta(hours=2), task=t1, started_at=now - timedelta(hours=2, minutes=4))
    factories.make_attempt(p4, vol, now - timedelta(hours=3), outcome="no_answer", task=t4,
                           started_at=now - timedelta(hours=3, minutes=2))
    factories.make_attempt(p4, vol2, now - timedelta(hours=1), outcome="busy", task=t4)
    factories.make_checkin(p1, now - timedelta(hours=1))
    factories.make_checkin(p2, now - timedelta(minutes=30))
    factories.make_checkin(p2, now - timedelta(days=1))                   # yesterday: not today
    db.session.add_all([Need(patient_id=p1.id, kind="medicine", created_at=now - timedelta(hours=2)),
                        Need(patient_id=p2.id, kind="oxygen", created_at=now - timedelta(hours=1))])
    e1 = _escalation(p2, "ambulance", "control_room", "emergency", now - timedelta(minutes=30),
                     respond_by=now - timedelta(minutes=20), created_by_id=vol.id)        # breached, open
    e2 = _escalation(p1, "medicine", "control_room", "routine", now - timedelta(hours=5))  # open 4–24 h
    e3 = _escalation(p4, "oxygen", "control_room", "emergency", now - timedelta(hours=2), status="resolved",
                     respond_by=now - timedelta(minutes=110), acknowledged_at=now - timedelta(minutes=116),
                     closed_at=now - timedelta(minutes=60), created_by_id=vol.id)          # in time
    # The other district: must never appear in district A's figures.
    q = _patient(b, now - timedelta(hours=1), name="Other District")
    tq = factories.make_task(q, status="done", due_at=now - timedelta(hours=1))
    other_vol = factories.make_user("volunteer", b)
    factories.make_attempt(q, other_vol, now - timedelta(hours=1), task=tq)
    factories.make_checkin(q, now - timedelta(hours=1))
    _escalation(q, "ambulance", "control_room", "emergency", now - timedelta(minutes=40),
                respond_by=now - timedelta(minutes=30))
    db.session.commit()
    return SimpleNamespace(now=now, a=a, b=b, officer=officer, vol=vol, vol2=vol2, village=village,
                           p=[p1, p2, p3, p4, p5], q=q, e=[e1, e2, e3])
