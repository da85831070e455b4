"""Patient records (search, timeline, transfers, end of follow-up), villages and households."""
from flask import Blueprint

bp = Blueprint("records", __name__)
