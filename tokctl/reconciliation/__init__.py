"""Bills against priced usage: cells, the rules that explain a difference, the engine, the report."""
