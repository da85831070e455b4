"""Domain rules: pure functions with no Flask and no database, called by views, API and jobs alike."""
