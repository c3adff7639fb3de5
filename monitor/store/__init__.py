"""Storage: SQLAlchemy models, migrations, queries and the run lock."""
