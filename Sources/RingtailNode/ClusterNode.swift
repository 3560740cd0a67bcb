// RingtailNode: one node = storage + cluster state machines (filled in below).
