"""Awareness broadcasts: draft, preview, approve (a second person), watch them go out, cancel."""
