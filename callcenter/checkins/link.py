"""GET/POST /c/<token>: the one-page check-in a patient opens from the SMS link. No sign-in, no JavaScript,
a few kilobytes (a cheap phone on 2G); CSRF-protected and rate-limited per IP address."""
from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from ..auth.access import public
from ..errors import render_error
from ..extensions import csrf, limiter
from ..services.checkins import checkins
from ..services.checkins import links as checkin_links
from . import texts
from .blueprint import bp
from .forms import LinkCheckinForm


def _limit():
    return current_app.config["CHECKIN_LINK_RATE_LIMIT"]


def _page(lang, key, status, switch=True, **fmt):
    # No language switch after sending: the link is used, so it would only say "already checked in".
    return render_template("checkins/link_message.html", lang=lang, t=texts.LINK[lang],
                           message=texts.LINK[lang][key].format(**fmt), other=_other(lang) if switch else None), status


def _other(lang):
    return "en" if lang == "hi" else "hi"


@bp.route("/c/<token>", methods=["GET", "POST"])
@public("a patient's personal check-in link: the unguessable token in the link is the key")
@csrf.exempt  # from the global check only: it runs below, after the rate limit (a flood costs nothing)
@limiter.limit(_limit, methods=["GET", "POST"])
def link(token):
    if request.method == "POST":
        csrf.protect()  # raises CSRFError: form_expired() below
    found = checkin_links.find(token)
    lang = _lang_for(found)
    if found is None:
        return _page(lang, "invalid", 404)
    state = checkin_links.state(found)
    if state != "valid":
        return _page(lang, state, 410)
    form = LinkCheckinForm()
    errors = {}
    if form.validate_on_submit():
        values, errors = form.report()
        if not errors:
            report = checkins.Report(raw="link form", **values)
            recorded = checkins.checkin_by_link(found, report)
            if recorded is None:  # used, past its day, or the follow-up ended while the form was open
                state = checkin_links.state(found)
                return _page(lang, "used" if state == "valid" else state, 410)
            return _page(lang, checkins.outcome(report), 200, switch=False,
                         needs=texts.need_names(lang, report.needs))
    elif request.method == "POST":
        errors = {"form": "fix"}
    return _form_page(found, lang, form, errors, 422 if errors else 200)


def _form_page(found, lang, form, errors, status):
    first_name = (found.patient.name or "").split(" ")[0]  # whose link it is (a household has several)
    return render_template("checkins/link_form.html", lang=lang, t=texts.LINK[lang], form=form, errors=errors,
                           other=_other(lang), first_name=first_name), status


def _lang_for(found):
    chosen = request.args.get("lang")
    return texts.language(chosen if chosen in texts.LANGUAGES else found.patient.language if found else None)


@bp.errorhandler(CSRFError)
def form_expired(exc):
    """The link form without a valid CSRF token (session cookie lost, or a forged post): nothing is recorded;
    the patient sees their answers again, in their language, and sends once more."""
    if request.endpoint != "checkins.link":
        return render_error(400, _l("This form has expired. Go back, reload the page and try again."))
    found = checkin_links.find(request.view_args.get("token"))
    lang = _lang_for(found)
    if found is None or checkin_links.state(found) != "valid":
        return _page(lang, "invalid" if found is None else checkin_links.state(found), 400)
    return _form_page(found, lang, LinkCheckinForm(meta={"csrf": False}), {"form": "resend"}, 400)


@bp.errorhandler(429)
def too_many(exc):
    if request.endpoint == "checkins.link":
        lang = texts.language(request.args.get("lang"))
        return render_template("checkins/link_message.html", lang=lang, t=texts.LINK[lang],
                               message=texts.LINK[lang]["busy"], other=_other(lang)), 429
    return render_error(429)
