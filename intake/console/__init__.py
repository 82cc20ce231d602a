"""The staff console: a small web app the service serves to the intake office's staff.

Staff see the live unit × category matrix, units, messages, cases and their files, and act on
what the service decided: waive a wrong finding, assign a unit, mark what is not a submission,
attach materials fetched from a cloud link, and approve, hold, cancel or resend replies.  Every
action is a POST with a CSRF token and leaves an audit row.

`app.create_app` builds the Starlette application; `server` runs it under uvicorn (`intake web`,
or beside the service in `intake run` when `web = true`); `auth` owns accounts, sessions and
CSRF; `pages` and `actions` are the routes; `attach` turns uploaded files into a submission.
"""
