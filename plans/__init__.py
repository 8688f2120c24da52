"""The plan language: versioned commission plans and the pure calculator.

Nothing here touches a database, HTTP or the clock: a plan version plus facts in,
earnings with explanations out.
"""
