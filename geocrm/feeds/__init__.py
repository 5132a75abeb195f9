"""Calendar feeds: a person's visits and tasks as iCalendar, to subscribe to (issue 17)."""
