"""The alert lifecycle (issue 14): rules evaluated on the transitions that can
change their condition and by a periodic pass for conditions time makes;
opening, updating and resolving alerts (models/alerts.py), each change
handed to engine/notify.py by the one evaluation that made it."""
