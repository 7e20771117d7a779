"""Built-in plugins. Each module is registered through the ``gallery_builder`` entry point
group, the same way a third-party plugin is, so reading them is the way to learn the hooks."""
