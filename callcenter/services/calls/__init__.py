"""The volunteers' calls: the queue, logging a call, the daily call list, households."""
