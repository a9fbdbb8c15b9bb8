"""The idempotency keys on SQLite, as `makemigration` wrote it, with Keel's name
for the unique key (the 409 mapping rebuilds it from SQLite's column list). Not in a
transaction: see the first migration (sqlite3's executescript commits it first)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = False


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE TABLE IF NOT EXISTS "idempotency_keys" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "status_code" INT,
    "response" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_idempotency_keys_user_id_key" UNIQUE ("user_id", "key")
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "idempotency_keys";"""


MODELS_STATE = (
    "eJztXF9T2zgQ/yoZP9EZrgMpUObeAk2vXEPSAfeu005Ho9hK4sGWXFtpyFC++0mK/0iOZe"
    "xAfInrFyZZ7Uqr30qr3ZXCg+ERG7nh688hCow/Ow8Ghh5iHxT6YceAvp9SOYHCsSsY54xD"
    "UOA4pAG0KCNOoBsiRrJRaAWOTx2CGRXPXZcTicUYHTxNSXPs/JgjQMkU0ZlQ5Nt3Rnawje"
    "5RGH/178DEQa6t6OnYfGxBB3TpC9oVpu8FIx9tDCzizj2cMvtLOiM44XYw5dQpwiiAFPHu"
    "aTDn6nPtomnGM1ppmrKsVJRkbDSBc5dK0x2DlGYAMByZ4LZvAmBUAMgimIPLVA3F7KdchT"
    "+6xydvT87fnJ2cMxahZkJ5+7gaOgVmJSjgGZrGo2iHFK44BMYpqMiDjruO6+UMBvnAJgIZ"
    "bJnSWWxjJHcXXA/eAxfhKZ2xr2+6RwVQ/tO7ufzQuzlgXK/4kIRtgNW2GEZN3VUbxzvFl+"
    "8Z8bkCxLJM41A+LQPyqR7j0zWIJ2xUUBVjRWgjkCMIE4xjlhTk1DfWjnL39LQEzIxLi7No"
    "U4GewXCGbODDMFyQIMcb6+HOEX2Zld181GPMgDWDeMpAhHQd+XcMMup4KB99TRcZC9hRH6"
    "/jD/u3CQrQN6+u+7dm7/oT794Lwx+uwK1n9nlLV1CXGerBWcZQSSedf6/MDx3+tfN1NOwL"
    "NElIp4EYMeUzvxpcJzinBGCyANCWMYnJMUmxuxMCFmI5P3Pc2gUhLoJYE/nIchkTj5ngtn"
    "ZZfKTUa9aL0WigWPTiysxsrs/XF/2bg2NhSsbkUCSHRirgtufgDfCOxWqEO6HsLd5WgDgm"
    "G/gzVfIF3NiuHStN8mNz397QzKpka+adMzNP1Sd3Ul7JCWNo3S0gCzaUlnQ9UBjehTk+Nh"
    "J7//EGuVAguW70qFRhsi7219wpNTo1BY6kS3RAqk1SZBiQiePmxQeR5Agjk7A/TyPKiz+f"
    "0u72MurLx9XrehlcPYjhVGjJu+PCOSBoCmQSRsV1MhAZ53+slwk1KhXNJImnK2e7X3fYcu"
    "ls7JB1bE10rwE3Ym9CraHo3Op/MZUjK85tD657X14px9ZgNPwrZpfCx8vB6CITKbrESvxX"
    "2YqDLNMEzGuoNCzQOOTRegWUJZEGgnx0cl4GZcamh1k0PlYJldajAdWnr9snPueFja7YjC"
    "C28mySuenZK2+uO+QZOYCL5PiTzzA2czZftMo/L3u3l713feOxILSqGC+IMDQnUIjDU32E"
    "kMTALxsZfDPIAifTpw5lo33PhAsPRjo7hV1NqhmNC6J7n+UIIdMlgSMpl9wDMQ0QdwLSHm"
    "INonVniJ7YRMUX4XM0SviBQwKHLjdVIZYvVqC9YqwzTlqtwwqHSiLQXhGUO7hlzSpEpBmx"
    "JhzgdUemsr9SYb/1oOtqfYcs9zKpVhngj7brQd50354lzoN/KfIbt9e9wSCnKEw8nx/ZOY"
    "64sAqvyLVl+Apl+J8oCHMdh3bxShL1rd3jnT792luN36Dc3d5q/HZmlnOTkt5RSWdqc487"
    "nh+slT8yEK/j+54EyJnij2i55arGbuyWJ+sa8rIqUdjQXb4FEIeT6Bnv8y7gzKirBmFe7S"
    "Jug2pRgpmmaiRjWlw9Aoolt3rBpBRrxNirVVi6PpPqCiLxSvWhSUA8EJf1Ko+oSJcekx0J"
    "G48oyerHa0tQtZagIuMEG0Vs69Jt1LbTUVt2z5fcTVmxjaK3HSuIvXR6K/n/kqhKEm04nI"
    "co2WCpqkLtQn0yy6DRndwzk4yGvTw7zCQZ0l7NzzFyvWx9yduOrdmysGYPFgVbpkRn+Hkw"
    "MPK8QgvtUyuWlAC2yluLl0v4rmzk+YQibC2ZtYyclC/DcViU9DkpL7hDy628HpCQZEOsPR"
    "1oc5Y6c5Y7lHOrqL80j9jbK/NyV+YTNj4K/CBaeGVRzog1EO2zkxJgn51oseZNKtTsgKLz"
    "kIFo57wC0bqJjFQb4q5nDixj9tkIOajq33zIMu2Dj+oPPtrr3Y1MsW8VpB347UQDnFVBPl"
    "5vcrNr4G7nMXNtmU0PBY41M3IymqjlsCiTgSlP+3+E9mk7HxZkK9pXZPpYWv+MrAlx9Fay"
    "Fr6pKiAcsTcQ3eOjMv9GiHFp0RVt2benmKK8fPDv29FQ9+w0EclGdI5FO786rhPu4+lfAC"
    "4HoziszkbQmfiMd3Dx3J9EPfcwe/wPLApWGw=="
)
