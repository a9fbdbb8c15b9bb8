"""Orders of items: stock taken in the same transaction, never oversold."""
