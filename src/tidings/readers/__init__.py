"""People and their state: API tokens (accounts, sessions and reading state join later)."""
