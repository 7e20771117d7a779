"""Built-in themes: each sub-folder holds a theme.toml, templates/ and static/."""
