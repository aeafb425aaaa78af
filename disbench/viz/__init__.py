"""Pictures: sample grids, factor traversals and distance matrices (matplotlib, headless)."""
