"""Sign-in: a token for a username and password (and a code where two-factor sign-in is on)."""

from marshmallow import fields

from .common import Schema, UtcDateTime

# marshmallow's own messages, in the reader's language.


class TokenRequestSchema(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    otp = fields.String(load_only=True, metadata={
        "description": "Two-factor code: the 6 digits the user's authenticator app shows now, or one of their "
                       "recovery codes. Required for users with two-factor sign-in (administrators, nodal "
                       "officers and the control room always have it); each code works once."})


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    district_id = fields.Integer(allow_none=True, metadata={"description": "null: state level, every district"})
    language = fields.String()


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`; shown once"})
    expires_at = UtcDateTime()
    user = fields.Nested(UserSchema)
