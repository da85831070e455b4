"""The check-ins blueprint object alone: each route module adds its routes to it, and views.py loads them all
(so no route module imports the module that imports it)."""
from flask import Blueprint

bp = Blueprint("checkins", __name__)
