"""Member statements, ledger exports, Merkle seals and their verification, built by replaying
the event log (never from a read model).  The fund and audit modules arrive with their issue.
"""
