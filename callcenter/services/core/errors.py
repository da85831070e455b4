"""Errors a service raises; views turn them into flashes or form errors, the API into JSON."""


class ServiceError(Exception):
    status = 400

    def __init__(self, message, errors=None):
        super().__init__(str(message))
        self.message = message
        self.errors = errors or {}  # field name → message


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422

