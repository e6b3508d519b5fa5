"""Per-speaker summaries: the Anthropic Messages API when the user enables it, an offline
extractive summary otherwise. Only transcript text ever leaves the machine, with speaker
names replaced by pseudonyms; results are stored with their provenance."""
