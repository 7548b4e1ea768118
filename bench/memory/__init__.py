"""Peak memory of one web worker and of one sender."""
