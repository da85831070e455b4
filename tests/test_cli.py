"""Shell commands: create-user (with and without --password) and seed-demo."""
from pathlib import Path

from callcenter.extensions import db
from callcenter.models import CallTask, District, Escalation, Patient, User

from .factories import make_district


def test_create_user_with_password(runner, district):
    result = runner.invoke(args=["create-user", "Asha", "--role", "volunteer", "--district", district.name,
                                 "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.username == "asha"))
    assert user.role == "volunteer" and user.district_id == district.id and user.check_password("long-enough-pw")


def test_create_user_prompts_for_password(runner):
    result = runner.invoke(args=["create-user", "officer", "--role", "nodal_officer"],
                           input="s3cret-passphrase\ns3cret-passphrase\n")  # 12+: a privileged role
    assert result.exit_code == 0, result.output
    assert "state level" in result.output
    assert db.session.scalar(db.select(User).where(User.username == "officer")).district_id is None


def test_create_user_errors_are_clear(runner, district):
    result = runner.invoke(args=["create-user", "x", "--role", "volunteer", "--district", "Atlantis",
                                 "--password", "long-enough-pw"])
    assert result.exit_code != 0 and "No district named Atlantis" in result.output
    result = runner.invoke(args=["create-user", "y", "--role", "volunteer", "--password", "short"])
    assert result.exit_code != 0 and "At least 8 characters" in result.output
    runner.invoke(args=["create-user", "z", "--role", "volunteer", "--password", "long-enough-pw"])
    result = runner.invoke(args=["create-user", "Z", "--role", "admin", "--password", "long-enough-pw"])
    assert result.exit_code != 0 and "taken" in result.output
    result = runner.invoke(args=["create-user", "w", "--role", "wizard", "--password", "long-enough-pw"])
    assert result.exit_code != 0
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_seed_demo_creates_a_working_district_once(runner):
    result = runner.invoke(args=["seed-demo", "--patients", "60"])
    assert result.exit_code == 0, result.output
    assert "password 'sampark-demo'" in result.output and "volunteer" in result.output
    # Demo users of roles that need two-factor sign-in are told they set it up at their first sign-in.
    assert "admin        admin          + code from an authenticator app" in result.output
    assert "set up two-factor sign-in at their first sign-in" in result.output
    assert not any(u.two_factor_enabled for u in db.session.scalars(db.select(User)))
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 60
    settings = {s for (s,) in db.session.execute(db.select(Patient.setting).distinct())}
    assert settings == {"home", "ccc", "hospital"}
    roles = {u.role for u in db.session.scalars(db.select(User))}
    assert roles == {"volunteer", "control_room", "doctor", "counsellor", "nodal_officer", "admin"}
    assert db.session.scalar(db.select(db.func.count(db.distinct(CallTask.patient_id)))) == 60
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask).where(CallTask.slot == 2)) > 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation).where(
        Escalation.severity == "emergency")) >= 1
    again = runner.invoke(args=["seed-demo"])
    assert "already present" in again.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 60
    assert db.session.scalar(db.select(db.func.count()).select_from(District)) == 1


def test_seed_demo_leaves_other_districts_alone(runner):
    make_district("Bilaspur")
    assert runner.invoke(args=["seed-demo", "--patients", "10"]).exit_code == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(District)) == 2


def test_translate_compile_builds_the_catalogues(runner):
    result = runner.invoke(args=["translate", "compile"])
    assert result.exit_code == 0, result.output
    assert (Path(__file__).resolve().parent.parent / "callcenter/translations/hi/LC_MESSAGES/messages.mo").is_file()
