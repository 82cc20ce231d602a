"""The service itself: the `intake` command, settings, the pipeline that takes mail in, the outbox, IMAP, the scheduler and the staff console."""
