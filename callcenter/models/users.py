"""People who sign in, their roles, and API tokens."""
import enum
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .places import District


class Role(enum.StrEnum):
    VOLUNTEER = "volunteer"
    CONTROL_ROOM = "control_room"
    DOCTOR = "doctor"
    COUNSELLOR = "counsellor"
    NODAL_OFFICER = "nodal_officer"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    # None = state level: sees every district.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the session's id (get_id): raising it ends every session of this user at once (sign-out,
    # a new password, deactivation, a two-factor reset).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # Two-factor sign-in (TOTP, RFC 6238): the shared secret (base32) once enrolment is confirmed, and the
    # last 30-second step whose code was accepted (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]

    district: Mapped[District | None] = relationship()

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_epoch}"

    @property
    def two_factor_enabled(self):
        return bool(self.totp_secret and self.totp_enabled_at)

    def set_password(self, password):
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @property
    def display_name(self):
        return self.full_name or self.username

    def __str__(self):
        return self.display_name


class RecoveryCode(db.Model):
    """A one-time two-factor recovery code; only its SHA-256 is stored (the codes are random, not chosen)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()
