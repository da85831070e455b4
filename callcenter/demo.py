"""Demo data: a Raipur district with blocks, villages, facilities, patients, users and today's calls."""
import random
from datetime import timedelta

from .clock import local_date, utcnow
from .extensions import db
from .models import Block, District, Facility, Household, Patient, User, Village, VillageContact
from .rules.identity import name_key
from .services.calls import call_lists, calls, queue
from .services.core import accounts, audit
from .services.core.tx import transaction

DEMO_PASSWORD = "sampark-demo"
DEMO_USERS = [
    ("volunteer", "volunteer", "Asha Verma"),
    ("volunteer2", "volunteer", "Rahul Sahu"),
    ("control", "control_room", "Control Room Raipur"),
    ("doctor", "doctor", "Dr. Meena Patel"),
    ("counsellor", "counsellor", "Kavita Nag"),
    ("nodal", "nodal_officer", "Gaurav Singh"),
    ("admin", "admin", "State Admin"),
]


def login_lines(required_roles):
    """What `flask seed-demo` prints under the address: each demo login, and how two-factor sign-in starts
    for the roles that require it (they enrol at their first sign-in, as a real new officer would)."""
    lines = [f"  {username:<12} {role:<14} {'+ code from an authenticator app' if role in required_roles else ''}"
             .rstrip() for username, role, _name in DEMO_USERS]
    if any(role in required_roles for _u, role, _n in DEMO_USERS):
        lines += ["Users marked '+ code' set up two-factor sign-in at their first sign-in: the page shows a QR code",
                  "and a key for an authenticator app on a phone (Google Authenticator, Microsoft Authenticator,",
                  "FreeOTP), asks for the code it shows, then shows recovery codes once. Without a phone:",
                  "`oathtool --totp -b KEY` (Debian package oathtool) prints the code from the key."]
    return lines


BLOCKS = {
    "Abhanpur": ["Gobra Navapara", "Khorpa", "Kendri", "Uparwara"],
    "Arang": ["Mandir Hasaud", "Chandkhuri", "Reewa", "Samoda"],
    "Dharsiwa": ["Mandhar", "Sondongri", "Silyari", "Kura"],
    "Tilda": ["Kharora", "Neora", "Sarora", "Baikunth"],
    "Raipur Urban": ["Ward 1 Gandhi Nagar", "Ward 12 Civil Lines", "Ward 27 Tatibandh", "Ward 45 Mowa"],
}
FACILITIES = [
    ("AIIMS Raipur", "hospital", 300, 150, 60),
    ("Dr. B.R. Ambedkar Memorial Hospital", "hospital", 400, 200, 50),
    ("Indoor Stadium COVID Care Centre", "ccc", 250, 20, 0),
    ("Pt. JNM Medical College Hostel CCC", "ccc", 150, 10, 0),
]
# First names by sex: a patient's sex follows the name (a "Savita Kurre · Male" made every screen look wrong).
FIRST_NAMES = {
    "female": ["Sunita", "Geeta", "Pooja", "Rekha", "Anita", "Kavita", "Lata", "Neha", "Savita", "Priya", "Usha",
               "Kamla", "Sarita", "Meena"],
    "male": ["Ramesh", "Anil", "Manoj", "Suresh", "Vikas", "Deepak", "Santosh", "Rajesh", "Dinesh", "Mahesh",
             "Bhupesh", "Ashok", "Govind", "Sunil"],
}
LAST = ["Sahu", "Verma", "Sharma", "Yadav", "Patel", "Nishad", "Dhruw", "Netam", "Tiwari", "Sinha", "Banjare",
        "Kurre", "Chandrakar", "Markam", "Gupta", "Agrawal"]
COMORBID = ["hypertension", "diabetes", "heart", "lung", "kidney"]


def seed(n_patients=300, seed_value=2021):
    """Idempotent: returns False (and changes nothing) if the demo district exists."""
    if db.session.scalar(db.select(District).where(District.name == "Raipur")):
        return False
    rng = random.Random(seed_value)
    _places_and_patients(rng, n_patients)
    _households_and_contacts(rng)
    for username, role, full_name in DEMO_USERS:
        accounts.create_user(username, role, DEMO_PASSWORD, district_name=None if role == "admin" else "Raipur",
                             full_name=full_name, language="en")
    now = utcnow()
    call_lists.build_call_list(local_date(now), now=now, due_at=now)
    _a_few_calls(now)
    return True


@transaction
def _places_and_patients(rng, n_patients):
    now = utcnow()
    today = local_date(now)
    # The duty officer's phone gets the SMS when an escalation is not acknowledged in time (console outbox).
    district = District(name="Raipur", state="Chhattisgarh", duty_phone="+919826000100")
    db.session.add(district)
    villages = []
    for block_name, names in BLOCKS.items():
        block = Block(district=district, name=block_name)
        db.session.add(block)
        for name in names:
            v = Village(block=block, name=name, kind="ward" if name.startswith("Ward") else "village")
            db.session.add(v)
            villages.append(v)
    facilities = {"hospital": [], "ccc": []}
    for name, kind, general, oxygen, icu in FACILITIES:
        # About a fifth of the beds free, as the control room would have reported them this morning.
        f = Facility(district=district, name=name, kind=kind, beds_general=general, beds_oxygen=oxygen, beds_icu=icu,
                     free_general=rng.randint(0, general // 5), free_oxygen=rng.randint(0, oxygen // 5),
                     free_icu=rng.randint(0, icu // 5), beds_updated_at=now)
        db.session.add(f)
        facilities[kind].append(f)
    db.session.flush()
    phones = set()
    for _ in range(n_patients):
        setting = rng.choices(["home", "ccc", "hospital"], weights=[70, 18, 12])[0]
        sex = rng.choice(["female", "male"])
        name = f"{rng.choice(FIRST_NAMES[sex])} {rng.choice(LAST)}"
        phone = _phone(rng, phones)
        age = rng.choice([rng.randint(18, 59)] * 3 + [rng.randint(60, 85)])
        positive = today - timedelta(days=rng.randint(0, 9))
        db.session.add(Patient(
            district_id=district.id, name=name, name_key=name_key(name), age=age, sex=sex,
            phone=phone, attendant_phone=_phone(rng, phones) if setting == "hospital" else None,
            address=f"House {rng.randint(1, 300)}", village_id=rng.choice(villages).id, setting=setting,
            facility_id=rng.choice(facilities[setting]).id if setting != "home" else None,
            positive_date=positive, symptom_onset_date=positive - timedelta(days=rng.randint(0, 2)),
            isolation_start_date=positive if setting == "home" else None,
            comorbidities=",".join(rng.sample(COMORBID, rng.choice([0, 0, 0, 1, 2]))),
            language=rng.choice(["hi", "hi", "en"]), status="active", created_at=now))


CONTACTS = [("Shivkumar Sahu", "sarpanch"), ("Kamla Bai Dhruw", "ward_member"), ("Ramesh Markam", "sarpanch"),
            ("Durga Netam", "health_worker"), ("Sitaram Verma", "secretary")]


@transaction
def _households_and_contacts(rng, n_households=2):
    """A couple of families isolated at home on one phone, and whom to call in a few villages."""
    now = utcnow()
    district = db.session.scalar(db.select(District).where(District.name == "Raipur"))
    home = db.session.scalars(db.select(Patient).where(Patient.district_id == district.id, Patient.setting == "home")
                              .order_by(Patient.id)).all()
    pairs = [(a, b) for a, b in zip(home[0::2], home[1::2], strict=False) if a.name.split()[0] != b.name.split()[0]]
    for first, second in pairs[:n_households]:
        # Family members: same phone, village, address and family name.
        second.phone, second.village_id, second.address = first.phone, first.village_id, first.address
        second.name = f"{second.name.split()[0]} {first.name.split()[-1]}"
        second.name_key = name_key(second.name)
        household = Household(district_id=district.id, phone=first.phone, created_at=now)
        db.session.add(household)
        db.session.flush()
        for member in (first, second):
            member.household_id = household.id
            audit.record(None, "household.join", "patient", member.id, district.id, now=now,
                         household_id=household.id)
    villages = db.session.scalars(db.select(Village).join(Block).where(Block.district_id == district.id)
                                  .order_by(Block.name, Village.name)).all()
    used = set()
    for village, (name, role) in zip(villages[::4], CONTACTS, strict=False):
        db.session.add(VillageContact(village_id=village.id, name=name, role=role, phone=_phone(rng, used),
                                      active=True, created_at=now))


def _phone(rng, used):
    while True:
        phone = f"+91{rng.choice('6789')}{rng.randint(0, 999_999_999):09d}"
        if phone not in used:
            used.add(phone)
            return phone


def _a_few_calls(now):
    """Some of today's calls already made by the demo volunteer, so the desks have work on them."""
    volunteer2 = db.session.scalar(db.select(User).where(User.username == "volunteer2"))
    reports = [
        {"outcome": "connected", "spo2": 97, "temperature_f": 98.6},
        {"outcome": "connected", "spo2": 91, "symptoms": ["breathlessness"], "needs": ["oxygen"],
         "notes": "Breathless since morning; family has no oximeter refill."},
        {"outcome": "connected", "needs": ["medicine"], "notes": "Needs paracetamol and vitamin C."},
        {"outcome": "connected", "needs": ["doctor"], "notes": "Asks whether to continue steroids."},
        {"outcome": "connected", "needs": ["counselling"], "notes": "Anxious, not sleeping."},
        {"outcome": "no_answer"},
    ]
    for i, report in enumerate(reports):
        task = queue.claim_next_task(volunteer2, now=now)
        if task is None:
            return
        calls.log_attempt(task.id, volunteer2, report, submission_key=f"demo-{i}", now=now)
