"""Who may do what: members and projects, passwords, accounts (sign-in, lock-out) and
sessions, the access rule (:func:`coding.team.access.require`), the blind rule
(:mod:`coding.team.visibility`) and the event log. Imports the store and ``coding.errors`` only."""
