"""Models: backbone loading, pooling, heads, gradient reversal and domain discriminators."""
