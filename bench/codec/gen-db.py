"""Generates a realistic SQLite database of about 72 MiB (users, orders with text and JSON-ish
notes, binary blobs, indexes) at page size 4096, and a 65536-byte-page copy.
usage: python3 gen-db.py OUT_4096.db OUT_65536.db"""
import random, sqlite3, sys

out4k, out64k = sys.argv[1], sys.argv[2]
rnd = random.Random(42)
words = "alpha beta gamma delta order shipped pending refund invoice customer premium basic the of and to in is for on with".split()
db = sqlite3.connect(out4k)
db.execute("PRAGMA page_size=4096")
db.execute("PRAGMA journal_mode=OFF")
db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, created INTEGER, bio TEXT)")
db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total REAL, status TEXT, note TEXT, payload BLOB)")
db.execute("CREATE INDEX orders_user ON orders(user_id)")
db.execute("CREATE INDEX users_email ON users(email)")
with db:
    for i in range(60000):
        bio = " ".join(rnd.choice(words) for _ in range(rnd.randrange(5, 40)))
        db.execute("INSERT INTO users VALUES (?,?,?,?,?)", (i, f"user{i}@example.com", f"User {i}", 1700000000 + i * 37, bio))
with db:
    for i in range(260000):
        note = '{"items": %d, "tags": ["%s", "%s"], "comment": "%s"}' % (rnd.randrange(1, 9), rnd.choice(words), rnd.choice(words), " ".join(rnd.choice(words) for _ in range(rnd.randrange(3, 25))))
        payload = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 120)))
        db.execute("INSERT INTO orders VALUES (?,?,?,?,?,?)", (i, rnd.randrange(60000), rnd.random() * 500, rnd.choice(["new", "paid", "shipped", "refunded"]), note, payload))
db.close()
db = sqlite3.connect(out4k)
db.execute("VACUUM INTO ?", (out64k + ".tmp",))
db.close()
d2 = sqlite3.connect(out64k + ".tmp")
d2.execute("PRAGMA page_size=65536")
d2.execute("VACUUM")
d2.close()
import os
os.replace(out64k + ".tmp", out64k)
