"""inboxfleet: provisioning of cold-email sending infrastructure.

One subpackage per concern. Pure domain code (models, decisions) imports no I/O library;
adapters each wrap one library and are imported only where used, to keep cold starts short.
"""
