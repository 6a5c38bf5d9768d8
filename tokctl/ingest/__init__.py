"""Usage logs of every major vendor and gateway, read into one canonical Arrow table (tokctl.schema).

The read, step by step: inputs.py opens files, directories, globs and compressed files and yields records;
detection.py tells the source families apart per record; one module per family (openai, anthropic,
claude_code, gemini, openai_compatible, dashscope, otel, litellm, langfuse, helicone, openrouter, generic)
turns a record into canonical rows, and columnar.py reads whole blocks of the common shapes at once;
wrapper.py reads request logs that wrap a response with metadata; pipeline.py reads one task in this process,
parallel.py in worker processes, read.py plans the read and streams it; collapse.py and dedup.py take out
duplicates; accounting.py counts every record. Pricing the read is a layer up (tokctl.usage.read,
``tokctl.read_usage``). pyarrow is imported only when a table is built.
"""

from __future__ import annotations

from tokctl.ingest.accounting import Accounting
from tokctl.ingest.detection import SOURCES

__all__ = ["SOURCES", "Accounting"]
