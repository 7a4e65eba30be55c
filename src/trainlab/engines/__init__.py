"""Training engines: ``engine=lightning`` (default) and ``engine=keras``, same configs."""
