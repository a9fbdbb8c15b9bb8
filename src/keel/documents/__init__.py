"""The document database (MongoDB), used when DOCUMENT_DATABASE_URL is set: the
app's one client (``client``), the commands it sends (``monitoring``) and the
answers for its errors (``errors``). It knows nothing of posts; a domain that keeps
documents (``keel.posts.mongo_store``) brings its own collections."""
