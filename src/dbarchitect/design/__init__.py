"""Design from a spec: the format, its loading, and the Schema it builds."""
