"""Published methods built on graphcl's core, one sub-package each."""
