"""Access logs carry no check-in token, phone number or search term (DPDP): the web server's request lines (the
development server's `werkzeug` logger, gunicorn's `gunicorn.access`) are logged with a check-in link's token
as "…", the secret in Exotel's callback addresses (/exotel/<secret>/…) as "…", and any query string as "?…" (a
search box's words, a number typed into a filter, a caller's number in a provider's GET callback)."""
import logging
import re

LINK_TOKEN = re.compile(r"(/c/|/exotel/)[^\s/?\"]+")  # a check-in link's token; the provider callbacks' secret
QUERY = re.compile(r"\?[^\s\"]*")
LOGGERS = ("werkzeug", "gunicorn.access")


class RequestLinePrivacy(logging.Filter):
    def filter(self, record):
        text = record.getMessage()
        masked = QUERY.sub("?…", LINK_TOKEN.sub(r"\1…", text))
        if masked != text:
            record.msg, record.args = masked, ()
        return True


def register(app):
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestLinePrivacy) for f in logger.filters):
            logger.addFilter(RequestLinePrivacy())
