"""Corpora in and scores out: readers, Parquet shards, local and Ray scoring."""
