"""Tests of the database, migrations and concurrency of the store."""
