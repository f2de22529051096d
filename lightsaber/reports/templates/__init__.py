"""Jinja2 templates of the HTML report (data files, shipped through ``package_data``).

A package so that setuptools ships the folder without its "data directory would be ignored"
warning; it holds no code. ``report.html.j2`` renders one ``<section id>.html.j2`` per id of
:data:`lightsaber.reports.SECTIONS`, with the macros of ``macros.html.j2``.
"""
