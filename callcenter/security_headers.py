"""Security headers on every response: one after-request hook, registered by create_app.

- Content-Security-Policy: scripts only from our own files (no inline <script>, no on…= attributes, no eval),
  nothing may frame a page, forms post only to us. `<script type="application/json">` data blocks are not
  run, so they need no exception.
- style-src allows 'unsafe-inline': the printable daily report (printed to PDF from a file, so it carries its
  own <style>), the patient's check-in page (one request on a slow phone) and a few style= attributes use
  inline CSS. CSS cannot run script, and templates are autoescaped, so the line that matters is script-src.
- img-src allows data: for the small SVG icons inside Bootstrap's CSS (select arrows, the menu button).
- Cache-Control: no-store on everything but static files: pages, JSON, exports and PDFs show patients'
  data, and a shared computer's cache or the back button must not show it to the next person.
- Strict-Transport-Security only when SESSION_COOKIE_SECURE says the app is served over HTTPS.
"""
from flask import request

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# Same-origin: our own pages still get Referer (a few redirects go back to it); other sites never see our
# addresses (a patient's check-in link carries its token in the path).
ALWAYS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})  # CSS and JavaScript: no patient data, cacheable


def register(app):
    https = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.after_request
    def security_headers(response):
        response.headers.update(ALWAYS)
        if https:
            response.headers["Strict-Transport-Security"] = HSTS
        if request.endpoint not in STATIC_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
        return response
