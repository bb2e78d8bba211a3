"""Code and diagrams generated from a Schema: SQLAlchemy, Diesel, DBML, ERD."""
