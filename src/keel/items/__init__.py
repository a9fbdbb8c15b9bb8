"""Items: owned by their creator, public to read, priced in exact money."""
