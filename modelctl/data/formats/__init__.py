"""One reader per source format; `modelctl.data.sources.READERS` maps format names to them."""
