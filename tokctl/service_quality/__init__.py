"""Service quality from usage tables: latency, time to first token, throughput, errors, SLA checks."""
