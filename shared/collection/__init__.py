"""Collection (inkasso): see README.md in this folder. Empty until the collection
issues fill it."""
