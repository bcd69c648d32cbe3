"""A benchmark run's life without pytest: for now, the merge of shards' results into one."""
