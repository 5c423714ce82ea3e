"""A write workload for `litestream replicate`: inserts, updates, deletes, a VACUUM and growth past a
few MiB, in WAL mode, paced so Litestream sees many syncs. Applies the same statements to every DB
given. Prints one JSON line per step: {"step", "time_ms"}.

usage: python3 workload.py [--steps N] [--pause SECONDS] DB...
"""
import json, random, sqlite3, sys, time

def main():
    args = sys.argv[1:]
    steps, pause = 24, 0.35
    while args and args[0].startswith("--"):
        if args[0] == "--steps": steps = int(args[1]); args = args[2:]
        elif args[0] == "--pause": pause = float(args[1]); args = args[2:]
        else: raise SystemExit("unknown flag " + args[0])
    conns = []
    for path in args:
        c = sqlite3.connect(path, isolation_level=None, timeout=10)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA wal_autocheckpoint=0")
        c.execute("PRAGMA busy_timeout=10000")
        c.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, note BLOB)")
        c.execute("CREATE INDEX IF NOT EXISTS items_name ON items(name)")
        conns.append(c)
    rnd = random.Random(7)
    for step in range(steps):
        stmts = []
        if step == steps // 2:
            stmts.append(("DELETE FROM items WHERE id % 3 = 0", ()))
        elif step == steps // 2 + 1:
            stmts.append(("VACUUM", ()))
        else:
            for _ in range(40 + step * 6):
                stmts.append(("INSERT INTO items (name, qty, note) VALUES (?, ?, ?)",
                              ("item-%d-%d" % (step, rnd.randrange(1 << 30)), rnd.randrange(1000), bytes(rnd.randrange(256) for _ in range(rnd.randrange(200, 1600))))))
            stmts.append(("UPDATE items SET qty = qty + 1 WHERE id % 7 = ?", (step % 7,)))
            if step % 5 == 4:
                stmts.append(("DELETE FROM items WHERE id % 11 = ?", (step % 11,)))
        for c in conns:
            if stmts[0][0] == "VACUUM":
                c.execute("VACUUM")
                continue
            c.execute("BEGIN")
            for sql, params in stmts:
                c.execute(sql, params)
            c.execute("COMMIT")
        print(json.dumps({"step": step, "time_ms": int(time.time() * 1000)}), flush=True)
        time.sleep(pause)
    for c in conns:
        c.close()

if __name__ == "__main__":
    main()
