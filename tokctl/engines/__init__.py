"""The same readers, dedup and pricer on a distributed engine: Apache Spark (``pip install 'tokctl[spark]'``).

Nothing here is imported unless a caller asks for an engine (``--engine spark``): the single-machine install
never loads pyspark.
"""
