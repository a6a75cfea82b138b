"""Everything of the incident core that touches PostgreSQL: pool, migrations, stores, reads."""
