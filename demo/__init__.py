"""The demo's synthetic partner program, outside the domain packages.

`demo.program` generates a seeded program (partners, plans, a year of facts) for the
README's first command (`payouts demo`) and for every benchmark. It is made of the
domain's parts (it ingests through `payouts`) but holds no rule of the domain, so it
sits above them: `plans <- payouts <- statements <- demo <- api`.
"""
