"""Posts: documents with tags, stored on the SQL databases behind a small store
interface, so a document database could take their place without touching the router."""
