"""The desks' work: escalations, sending help, deadlines, field visits, consultations, beds, discharge."""
