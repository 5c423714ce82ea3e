"""Grows a WAL-mode SQLite database to about SIZE_MIB of mixed rows in paced transactions, for
Litestream to replicate. usage: python3 bulk.py DB SIZE_MIB"""
import random, sqlite3, sys, time
db, size = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db, isolation_level=None, timeout=30)
c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA wal_autocheckpoint=0"); c.execute("PRAGMA busy_timeout=30000")
c.execute("CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT, blob BLOB)")
rnd = random.Random(1)
words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
target = size << 20
while True:
    pages = c.execute("PRAGMA page_count").fetchone()[0]
    if pages * 4096 >= target: break
    c.execute("BEGIN")
    for _ in range(4000):
        body = " ".join(rnd.choice(words) for _ in range(rnd.randrange(20, 200)))
        c.execute("INSERT INTO docs (title, body, blob) VALUES (?, ?, ?)", ("t%d" % rnd.randrange(1 << 30), body, rnd.randbytes(rnd.randrange(100, 2000))))
    c.execute("COMMIT")
    time.sleep(0.2)
c.close()
