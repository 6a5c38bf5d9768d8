"""The canonical usage table after ingest: reports, Parquet/CSV exports and FOCUS rows."""
