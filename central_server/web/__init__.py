"""The staff web UI: server-rendered pages (Jinja2), Vietnamese first with an English switch.

`install.install_web(app)` mounts it; `SKELETON.md` beside this file says how to add a page.
"""
