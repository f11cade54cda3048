"""SaaS Tracker: exact AI cost analytics from signed events."""
