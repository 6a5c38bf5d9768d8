"""Counting tokens of text, files, directories, stdin and chat requests; the same content across vendors."""
