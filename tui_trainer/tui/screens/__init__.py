"""Screens pushed over the main one: the Runs view."""
