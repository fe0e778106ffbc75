"""One reader per source format; each is registered in `modelctl.registry.sources`."""
