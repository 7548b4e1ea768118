"""A topic's life (议题): operations, the transition table and its labels, numbers, reading, plain-Chinese text, feedback pushes, the hash-chained audit, screening and result notices."""
