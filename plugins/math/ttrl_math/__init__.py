"""ttrl-kit task plugin for math answers (extraction, equivalence classes, datasets)."""
