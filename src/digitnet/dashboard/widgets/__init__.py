"""Provides the dashboard's widgets, one module each."""
