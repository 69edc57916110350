"""Cases use cases, their commands, and the storage ports they depend on."""
