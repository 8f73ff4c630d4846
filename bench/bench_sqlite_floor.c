/* bench_sqlite_floor.c - the disk's commit rate as SQLite sees it, the floor under a send.
 *
 * Usage: bench_sqlite_floor DIR [seconds]
 * In DIR (put it on the disk of the store being measured), a fresh database with the
 * settings of parley's SQLite store (WAL, synchronous=FULL) gets rows of about 300 bytes
 * (a message's size), first one row a commit, then 64 rows a commit, for `seconds` each
 * (default 3). Prints commits and rows a second. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(sqlite3 *db, int per_commit, double seconds) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "INSERT INTO m(thread_id, at, text) VALUES (?1, ?2, ?3)", -1, &st, NULL))
    return 1;
  char text[301];
  memset(text, 'x', 300);
  text[300] = '\0';
  long commits = 0, rows = 0;
  double t0 = now_s(), t = t0;
  while (t - t0 < seconds) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) return 1;
    for (int i = 0; i < per_commit; i++) {
      sqlite3_bind_int64(st, 1, rows % 1000);
      sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
      sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) return 1;
      sqlite3_reset(st);
      rows++;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) return 1;
    commits++;
    t = now_s();
  }
  sqlite3_finalize(st);
  printf("sqlite floor: %2d row%s a commit: %8.0f commits/s %9.0f rows/s (%.2f ms a commit)\n",
         per_commit, per_commit == 1 ? " " : "s", (double)commits / (t - t0),
         (double)rows / (t - t0), 1000.0 * (t - t0) / (double)commits);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [seconds]\n", argv[0]);
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 3.0;
  char path[4096];
  snprintf(path, sizeof path, "%s/floor.db", argv[1]);
  unlink(path);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
  int rc = sqlite3_exec(db,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                        "CREATE TABLE m(id INTEGER PRIMARY KEY, thread_id INTEGER NOT NULL,"
                        " at INTEGER NOT NULL, text TEXT NOT NULL);"
                        "CREATE INDEX m_thread ON m(thread_id, id);",
                        NULL, NULL, NULL);
  if (!rc) rc = run(db, 1, seconds);
  if (!rc) rc = run(db, 64, seconds);
  if (rc) fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
  sqlite3_close(db);
  char wal[4200];
  unlink(path);
  snprintf(wal, sizeof wal, "%s-wal", path);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-shm", path);
  unlink(wal);
  return rc ? 1 : 0;
}
