/* svc_backup.c - the store as a whole: `parley backup` and `parley restore` (a consistent
 * copy of a SQLite store and the attachment files it refers to, with a manifest that proves
 * both when restored), and `parley migrate` (its schema).
 *
 * A backup directory holds parley.db (the store's online copy), files/XX/<sha256> (every
 * attachment file; its name is the SHA-256 of its bytes) and manifest.json. The key file is
 * not part of it: a backup that travels with its key exposes every address sealed in it,
 * so the key is kept apart (docs/operations.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "service/svc.h"
#include "store/store.h"
#include "util/pl_time.h"

#define MANIFEST_FORMAT "parley-backup-1"
#define DB_NAME "parley.db"

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static bool is_sha_name(const char *n) {
  if (strlen(n) != 64) return false;
  for (const char *p = n; *p; p++)
    if (!is_hex(*p)) return false;
  return true;
}

/* Copies from to a new file to (when to is not NULL) and gives the SHA-256 of the bytes (hex)
 * and their count; the copy is flushed to disk. */
static pl_err copy_hash(const char *from, const char *to, char hex[65], long long *bytes, pl_detail *d) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) return pl_fail(d, PL_EIO, "cannot read %s: %s", from, strerror(errno));
  int out = -1;
  if (to && (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
    close(in);
    return pl_fail(d, PL_EIO, "cannot create %s: %s", to, strerror(errno));
  }
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  unsigned char buf[65536];
  pl_err e = PL_OK;
  *bytes = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      e = pl_fail(d, PL_EIO, "cannot read %s: %s", from, strerror(errno));
      break;
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
    *bytes += n;
    for (ssize_t off = 0; out >= 0 && off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        e = pl_fail(d, PL_EIO, "cannot write %s: %s", to, strerror(errno));
        break;
      }
      off += w;
    }
    if (e) break;
  }
  close(in);
  if (out >= 0) {
    if (!e && fsync(out)) e = pl_fail(d, PL_EIO, "cannot flush %s: %s", to, strerror(errno));
    close(out);
    if (e) unlink(to);
  }
  unsigned char sum[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, sum);
  sodium_bin2hex(hex, 65, sum, sizeof sum);
  return e;
}

/* A directory that may be written into: created, or existing and empty. */
static pl_err fresh_dir(const char *path, pl_detail *d) {
  if (mkdir(path, 0700) == 0) return PL_OK;
  if (errno != EEXIST) return pl_fail(d, PL_EIO, "cannot create %s: %s", path, strerror(errno));
  DIR *dir = opendir(path);
  if (!dir) return pl_fail(d, PL_EIO, "cannot read %s: %s", path, strerror(errno));
  bool empty = true;
  for (struct dirent *de; empty && (de = readdir(dir));)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = false;
  closedir(dir);
  return empty ? PL_OK : pl_fail(d, PL_EEXIST, "%s is not empty", path);
}

static void sync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* Every attachment file of files_dir (files_dir/XX/<sha256>) copied to to/XX/ (to NULL: only
 * checked), each checked against its name on the way: a file whose bytes are not its name
 * is damaged, and a backup or restore that would carry it stops. */
static pl_err copy_files(const char *files_dir, const char *to, long long *count, long long *bytes,
                         pl_detail *d) {
  *count = *bytes = 0;
  DIR *top = opendir(files_dir);
  if (!top) return errno == ENOENT ? PL_OK : pl_fail(d, PL_EIO, "cannot read %s: %s", files_dir, strerror(errno));
  pl_err e = PL_OK;
  for (struct dirent *de; !e && (de = readdir(top));) {
    const char *sub = de->d_name;
    if (strlen(sub) != 2 || !is_hex(sub[0]) || !is_hex(sub[1])) continue; /* tmp/: uploads in progress */
    char from_dir[4096], to_dir[4096];
    snprintf(from_dir, sizeof from_dir, "%s/%s", files_dir, sub);
    if (to) {
      snprintf(to_dir, sizeof to_dir, "%s/%s", to, sub);
      if (mkdir(to_dir, 0700) && errno != EEXIST) {
        e = pl_fail(d, PL_EIO, "cannot create %s: %s", to_dir, strerror(errno));
        break;
      }
    }
    DIR *dir = opendir(from_dir);
    if (!dir) continue;
    for (struct dirent *fe; !e && (fe = readdir(dir));) {
      if (!is_sha_name(fe->d_name) || strncmp(fe->d_name, sub, 2)) continue;
      char src[4400], dst[4400], hex[65];
      long long n;
      snprintf(src, sizeof src, "%s/%s", from_dir, fe->d_name);
      snprintf(dst, sizeof dst, "%s/%s", to ? to_dir : "", fe->d_name);
      e = copy_hash(src, to ? dst : NULL, hex, &n, d);
      if (!e && strcmp(hex, fe->d_name)) {
        if (to) unlink(dst);
        e = pl_fail(d, PL_EIO, "attachment file %s is damaged: its bytes hash to %.12s...", src, hex);
      }
      if (!e) {
        ++*count;
        *bytes += n;
      }
    }
    closedir(dir);
    if (to && !e) sync_dir(to_dir);
  }
  closedir(top);
  return e;
}

/* PL_ENOTFOUND when db names a SQLite file that is not there: store_open would make an
 * empty database, and a typo must not be backed up or migrated. */
static pl_err db_there(const char *db, pl_detail *d) {
  const char *file = !strncmp(db, "sqlite:", 7) ? db + 7 : db;
  if (strncmp(db, "postgres://", 11) && strncmp(db, "postgresql://", 13) && access(file, F_OK))
    return pl_fail(d, PL_ENOTFOUND, "no database at %s", file);
  return PL_OK;
}

pl_err svc_migrate(const char *db, store_schema_mode mode, store_schema *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  pl_err e = db_there(db, d);
  if (e) return e;
  store *st = NULL;
  store_open_options o = {.mode = mode};
  if ((e = store_open_ex(db, &o, &st, out, d))) return e;
  if (st) store_close(st);
  return PL_OK;
}

pl_err svc_backup(const char *db, const char *files_dir, const char *to, svc_backup_result *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  pl_err e = db_there(db, d);
  if (e) return e;
  e = fresh_dir(to, d);
  if (e) return e;
  store *st;
  if ((e = store_open(db, &st, d))) return e;
  char path[4096], files_to[4096];
  snprintf(path, sizeof path, "%s/" DB_NAME, to);
  snprintf(files_to, sizeof files_to, "%s/files", to);
  /* the database first: the files it names were all written before it was copied, and an
   * attachment file is never changed once written */
  e = st->ops->backup(st, path, d);
  store_close(st);
  char db_hex[65];
  if (!e) e = copy_hash(path, NULL, db_hex, &out->db_bytes, d);
  if (!e && files_dir && *files_dir) {
    if (mkdir(files_to, 0700)) e = pl_fail(d, PL_EIO, "cannot create %s: %s", files_to, strerror(errno));
    if (!e) e = copy_files(files_dir, files_to, &out->files, &out->file_bytes, d);
    if (!e) sync_dir(files_to);
  }
  if (!e) {
    char now[32], mpath[4096];
    json_t *m = json_pack("{s:s,s:s,s:{s:s,s:I,s:s},s:{s:s,s:I,s:I},s:s}", "format", MANIFEST_FORMAT,
                          "created_at", pl_time_format((pl_time)time(NULL), now), "database", "file", DB_NAME,
                          "bytes", (json_int_t)out->db_bytes, "sha256", db_hex, "files", "dir", "files",
                          "count", (json_int_t)out->files, "bytes", (json_int_t)out->file_bytes, "key",
                          "not included: keep the key file apart from its backups (docs/operations.md)");
    snprintf(mpath, sizeof mpath, "%s/manifest.json", to);
    if (!m || json_dump_file(m, mpath, JSON_INDENT(2) | JSON_SORT_KEYS))
      e = pl_fail(d, PL_EIO, "cannot write %s", mpath);
    json_decref(m);
    int fd = e ? -1 : open(mpath, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)fsync(fd);
      close(fd);
    }
    sync_dir(to);
  }
  return e;
}

pl_err svc_restore(const char *from, const char *db, const char *files_dir, svc_backup_result *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  char mpath[4096], src[4096], files_from[4096], tmp[4200];
  snprintf(mpath, sizeof mpath, "%s/manifest.json", from);
  json_error_t je;
  json_t *m = json_load_file(mpath, 0, &je);
  const char *format = NULL, *sha = NULL;
  json_int_t bytes = -1, count = -1, fbytes = -1;
  if (!m || json_unpack(m, "{s:s,s:{s:I,s:s},s:{s:I,s:I}}", "format", &format, "database", "bytes", &bytes,
                        "sha256", &sha, "files", "count", &count, "bytes", &fbytes)) {
    json_decref(m);
    return pl_fail(d, PL_EINVAL, "%s is not a parley backup manifest", mpath);
  }
  pl_err e = strcmp(format, MANIFEST_FORMAT) ? pl_fail(d, PL_EINVAL, "%s: unknown format %s", mpath, format) : PL_OK;
  char want[65];
  snprintf(want, sizeof want, "%s", sha);
  json_decref(m);
  if (e) return e;
  if (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13))
    return pl_fail(d, PL_EINVAL, "a backup restores into a SQLite database file, not %s", db);
  if (!strncmp(db, "sqlite:", 7)) db += 7;
  if (access(db, F_OK) == 0) return pl_fail(d, PL_EEXIST, "%s exists; restore into a new path", db);
  snprintf(src, sizeof src, "%s/" DB_NAME, from);
  snprintf(files_from, sizeof files_from, "%s/files", from);
  /* everything is checked before anything is written */
  char hex[65];
  if ((e = copy_hash(src, NULL, hex, &out->db_bytes, d))) return e;
  if (strcmp(hex, want) || out->db_bytes != bytes)
    return pl_fail(d, PL_EIO, "%s does not match the manifest: the backup is damaged", src);
  if ((e = copy_files(files_from, NULL, &out->files, &out->file_bytes, d))) return e;
  if (out->files != count || out->file_bytes != fbytes)
    return pl_fail(d, PL_EIO, "%s holds %lld files (%lld bytes), the manifest %lld (%lld): the backup is incomplete",
                   files_from, out->files, out->file_bytes, (long long)count, (long long)fbytes);
  if (files_dir && *files_dir && count > 0) {
    if ((e = fresh_dir(files_dir, d))) return e;
    if ((e = copy_files(files_from, files_dir, &out->files, &out->file_bytes, d))) return e;
  }
  snprintf(tmp, sizeof tmp, "%s.restoring", db);
  unlink(tmp);
  if ((e = copy_hash(src, tmp, hex, &out->db_bytes, d))) return e;
  if (strcmp(hex, want)) {
    unlink(tmp);
    return pl_fail(d, PL_EIO, "%s changed while it was copied", src);
  }
  if (rename(tmp, db)) {
    unlink(tmp);
    return pl_fail(d, PL_EIO, "cannot move the copy to %s: %s", db, strerror(errno));
  }
  /* and it opens as a store (migrated when the backup is from an older schema) */
  store *st;
  if ((e = store_open(db, &st, d))) return e;
  e = st->ops->begin(st, false);
  if (!e) e = st->ops->ping(st);
  if (!e) st->ops->rollback(st);
  store_close(st);
  return e ? pl_fail(d, e, "the restored database %s does not open", db) : PL_OK;
}
