"""The shape of the state-sized data set: how many of what, and in what proportions.

Proportions follow docs/PERFORMANCE.md: 12/18/70 % hospital/CCC/home, about 20 % over 60, 25 % with
comorbidities, about 2 % with an SpO2 below 94 on yesterday's call, a few thousand open escalations.
"""

# The 28 districts of Chhattisgarh (2020-21).
DISTRICTS = [
    "Balod", "Baloda Bazar", "Balrampur", "Bastar", "Bemetara", "Bijapur", "Bilaspur", "Dantewada", "Dhamtari",
    "Durg", "Gariaband", "Gaurela-Pendra-Marwahi", "Janjgir-Champa", "Jashpur", "Kabirdham", "Kanker",
    "Kondagaon", "Korba", "Koriya", "Mahasamund", "Mungeli", "Narayanpur", "Raigarh", "Raipur", "Rajnandgaon",
    "Sukma", "Surajpur", "Surguja",
]
# Names common in Chhattisgarh; FIRST_NAMES alternates men's and women's names (sex follows it).
FIRST_NAMES = ["Ramesh", "Sunita", "Anil", "Geeta", "Manoj", "Pooja", "Suresh", "Rekha", "Vikas", "Anita", "Deepak",
               "Kavita", "Santosh", "Lata", "Rajesh", "Neha", "Dinesh", "Savita", "Mahesh", "Priya", "Bhupesh", "Usha"]
LAST_NAMES = ["Sahu", "Verma", "Sharma", "Yadav", "Patel", "Nishad", "Dhruw", "Netam", "Tiwari", "Sinha", "Banjare",
              "Kurre", "Chandrakar", "Markam", "Gupta", "Agrawal"]
BLOCKS_PER_DISTRICT = 5        # block 1 is the district town's urban zone, with wards
VILLAGES_PER_BLOCK = 100
HOSPITALS_PER_DISTRICT = 4
CCCS_PER_DISTRICT = 6
FACILITIES_PER_DISTRICT = HOSPITALS_PER_DISTRICT + CCCS_PER_DISTRICT

# Users get fixed ids so that generated rows can name them: volunteers first, then each district's desk staff.
VOLUNTEERS_PER_DISTRICT = 20
STAFF_ROLES = ["control_room", "control_room", "doctor", "counsellor", "nodal_officer"]
STAFF_BASE_ID = len(DISTRICTS) * VOLUNTEERS_PER_DISTRICT  # staff of district d: STAFF_BASE_ID + (d-1)*5 + 1..5

# Percentages (rolls in [0, 100) unless said otherwise)
SETTINGS = [("hospital", 12), ("ccc", 18), ("home", 70)]
OVER_60_PERCENT = 20
CHILD_PERCENT = 4
COMORBID_PERCENT = 25
COMORBIDITIES = ["hypertension", "diabetes", "heart", "lung", "kidney", "liver", "cerebrovascular",
                 "diabetes,hypertension", "heart,hypertension", "diabetes,kidney"]
OTHER_SEX_PERCENT = 1  # others: by first name
INACTIVE_STATUSES = [("recovered", 96), ("died", 2), ("moved_out", 2)]
LANGUAGES = [("hi", 75), ("en", 25)]

# A day's tasks (rolls in [0, 1000)): unreachable after 3 attempts, not reached (pending until the next
# morning's build closes it as missed), the rest done.
TASK_UNREACHABLE_PER_1000 = 40
TASK_NOT_REACHED_PER_1000 = 60
SECOND_ATTEMPT_PERCENT = 12    # a done task whose first attempt failed
MINUTES_BETWEEN_ATTEMPTS = 35
FAILED_OUTCOMES = [("no_answer", 60), ("busy", 15), ("switched_off", 20), ("call_back_later", 5)]

# Connected calls (rolls in [0, 1000))
LOW_SPO2_PER_1000 = 20         # 88–93 %
NO_OXIMETER_PER_1000 = 100     # SpO2 not recorded
FEVER_PER_1000 = 60
SYMPTOMS = [("breathlessness", 5), ("cough,chest_pain", 3), ("cough", 52), ("fever,cough", 40),
            ("fatigue,body_ache", 30), ("loss_of_taste_smell", 20), ("", 850)]
NEED_PER_1000 = 12
NEEDS = [("medicine", 40), ("doctor", 20), ("counselling", 10), ("food", 8), ("test", 7), ("oxygen", 5),
         ("hospital_bed", 4), ("ambulance", 4), ("other", 2)]
NEED_DESK = {"doctor": "doctor", "counselling": "counsellor"}  # every other need: the control room
EMERGENCY_NEEDS = ("ambulance", "hospital_bed", "oxygen")

# Escalations: most from yesterday are still being worked on; older ones are mostly closed.
RECENT_ESCALATION_STATUSES = [("open", 40), ("acknowledged", 15), ("in_progress", 15), ("resolved", 30)]
OLDER_ESCALATION_STATUSES = [("open", 1), ("acknowledged", 1), ("resolved", 93), ("cancelled", 5)]

# Check-ins: one home patient in ten checks in every day.
CHECKIN_ONE_IN = 10
CHECKIN_CHANNELS = [("sms", 50), ("ivr", 35), ("link", 15)]
