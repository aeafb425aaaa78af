"""The benchmark's engine: submissions, training under fixed protocols, result records."""
