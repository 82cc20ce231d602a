"""Persistence: SQLAlchemy models, Alembic migrations and the content-addressed blob store."""
