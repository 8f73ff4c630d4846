/* http_web.c - serves the web message center's static files from the web root: the page
 * names every file by its content (app.<hash>.js, kept a year without asking again) and
 * preloads every module at once; a plain name is revalidated by ETag (304 without a body);
 * gzip-compressed for browsers that accept it. */
#define _GNU_SOURCE /* strcasestr */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "http/http_int.h"

#define MAX_WEB_FILE (4 * 1024 * 1024)

static const char *content_type(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot) return "application/octet-stream";
  if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
  if (!strcmp(dot, ".js") || !strcmp(dot, ".mjs")) return "text/javascript; charset=utf-8";
  if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
  if (!strcmp(dot, ".svg")) return "image/svg+xml";
  if (!strcmp(dot, ".png")) return "image/png";
  if (!strcmp(dot, ".ico")) return "image/x-icon";
  if (!strcmp(dot, ".json")) return "application/json";
  return "application/octet-stream";
}

/* Only plain names: letters, digits, '-', '_', '.', and '/' between them; no "..". */
static bool safe_path(const char *p) {
  if (strstr(p, "..") || strstr(p, "//")) return false;
  for (const char *c = p; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '-' || *c == '_' || *c == '.' || *c == '/'))
      return false;
  return true;
}

/* True when the client takes gzip (Accept-Encoding names it, without q=0). */
static bool accepts_gzip(const char *ae) {
  for (const char *p = ae; p && (p = strcasestr(p, "gzip")); p += 4) {
    if (p > ae && p[-1] != ' ' && p[-1] != ',') continue;
    const char *q = p + 4;
    while (*q == ' ') q++;
    if (*q == ',' || !*q) return true;
    if (*q != ';') continue;
    q++;
    while (*q == ' ') q++;
    if (strncasecmp(q, "q=0", 3)) return true;
    q += 3;
    if (*q == '.') q++;
    while (*q == '0') q++;
    return *q >= '1' && *q <= '9'; /* q=0.001 still takes it; q=0, q=0.0 refuse */
  }
  return false;
}

/* buf[0..len) gzip-compressed into a new malloc'd buffer (*out_len), or NULL. */
static char *gzip(const char *buf, size_t len, size_t *out_len) {
  z_stream z = {0};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  size_t cap = deflateBound(&z, (uLong)len);
  char *out = malloc(cap);
  z.next_in = (Bytef *)buf;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
  *out_len = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* The whole of a regular file of the web root, malloc'd (NUL-terminated), or NULL. */
static char *read_file(const char *root, const char *rel, pl_arena *a, size_t *len) {
  char *full = pl_arena_printf(a, "%s/%s", root, rel);
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_WEB_FILE) {
    close(fd);
    return NULL;
  }
  char *buf = pl_xmalloc((size_t)st.st_size + 1);
  ssize_t got = read(fd, buf, (size_t)st.st_size);
  close(fd);
  if (got != st.st_size) {
    free(buf);
    return NULL;
  }
  buf[got] = '\0';
  *len = (size_t)got;
  return buf;
}

/* The content's hash: 32 hex digits of BLAKE2b-128 (ETags; the first 16 name a file). */
static void content_hash(const char *buf, size_t len, char hex[33]) {
  unsigned char sum[16];
  crypto_generichash(sum, sizeof sum, (const unsigned char *)buf, (unsigned long long)len, NULL, 0);
  sodium_bin2hex(hex, 33, sum, sizeof sum);
}

#define NAME_HASH 16 /* hex digits of the content hash in a file's immutable name */

/* rel's immutable name: "js/app.js" -> "js/app.<16 hex>.js" (NULL when unreadable). */
static char *hashed_name(const char *root, const char *rel, pl_arena *a) {
  size_t len;
  char *buf = read_file(root, rel, a, &len);
  if (!buf) return NULL;
  char hex[33];
  content_hash(buf, len, hex);
  free(buf);
  const char *dot = strrchr(rel, '.'), *slash = strrchr(rel, '/');
  if (!dot || (slash && dot < slash)) return pl_arena_printf(a, "%s.%.*s", rel, NAME_HASH, hex);
  return pl_arena_printf(a, "%.*s.%.*s%s", (int)(dot - rel), rel, NAME_HASH, hex, dot);
}

/* "js/app.<16 hex>.js": the plain name into *plain and the hash into want; false when rel
 * is no immutable name. */
static bool parse_hashed(const char *rel, pl_arena *a, char **plain, char want[NAME_HASH + 1]) {
  const char *dot = strrchr(rel, '.'), *slash = strrchr(rel, '/');
  if (!dot || (slash && dot < slash) || dot - rel < NAME_HASH + 2) return false;
  const char *h = dot - NAME_HASH;
  if (h[-1] != '.') return false;
  for (int i = 0; i < NAME_HASH; i++)
    if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return false;
  memcpy(want, h, NAME_HASH);
  want[NAME_HASH] = '\0';
  *plain = pl_arena_printf(a, "%.*s%s", (int)(h - 1 - rel), rel, dot);
  return true;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* index.html as sent: each src/href of a file of the web root under its immutable name,
 * and before the first script an import map from every module's plain name to its
 * immutable one (the modules' own relative imports go through it) and a modulepreload of
 * each (the browser fetches them all at once, not import by import). *script_hash gets
 * the base64 SHA-256 of the map, for the Content-Security-Policy. */
static char *index_page(const char *root, const char *src, pl_arena *a, char **script_hash) {
  /* the modules */
  char *dir = pl_arena_printf(a, "%s/js", root);
  DIR *dp = opendir(dir);
  char **mods = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *de; dp && (de = readdir(dp));) {
    size_t l = strlen(de->d_name);
    if (l < 4 || strcmp(de->d_name + l - 3, ".js") || !safe_path(de->d_name)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **m = pl_arena_alloc(a, cap * sizeof *m);
      if (n) memcpy(m, mods, n * sizeof *m);
      mods = m;
    }
    mods[n++] = pl_arena_printf(a, "js/%s", de->d_name);
  }
  if (dp) closedir(dp);
  if (n) qsort(mods, n, sizeof *mods, cmp_str);
  json_t *imports = json_object();
  char *preload = pl_arena_strdup(a, "");
  for (size_t i = 0; i < n; i++) {
    char *hn = hashed_name(root, mods[i], a);
    if (!hn) continue;
    json_object_set_new(imports, pl_arena_printf(a, "/%s", mods[i]), json_string(pl_arena_printf(a, "/%s", hn)));
    preload = pl_arena_printf(a, "%s  <link rel=\"modulepreload\" href=\"/%s\">\n", preload, hn);
  }
  json_t *map = json_pack("{s:o}", "imports", imports);
  char *mj = json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(map);
  char *map_text = pl_arena_strdup(a, mj ? mj : "{}");
  free(mj);
  unsigned char sha[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sha, (const unsigned char *)map_text, strlen(map_text));
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, sha, sizeof sha, sodium_base64_VARIANT_ORIGINAL);
  *script_hash = pl_arena_strdup(a, b64);
  /* the page: attributes rewritten, the map and the preloads before the first script */
  char *out = pl_arena_strdup(a, "");
  bool inserted = false;
  for (const char *p = src; *p;) {
    const char *q = p;
    const char *attr = NULL;
    while (*q && !(attr = (!strncmp(q, "src=\"", 5) || !strncmp(q, "href=\"", 6)) ? q : NULL) &&
           !(!inserted && !strncmp(q, "<script", 7)))
      q++;
    out = pl_arena_printf(a, "%s%.*s", out, (int)(q - p), p);
    if (!*q) break;
    if (!attr) { /* the first script */
      out = pl_arena_printf(a, "%s<script type=\"importmap\">%s</script>\n%s  ", out, map_text, preload);
      inserted = true;
      p = q;
      continue;
    }
    const char *v = strchr(q, '"') + 1, *end = strchr(v, '"');
    if (!end) {
      out = pl_arena_printf(a, "%s%s", out, q);
      break;
    }
    char *val = pl_arena_printf(a, "%.*s", (int)(end - v), v);
    const char *rel = val[0] == '/' ? val + 1 : val;
    char *hn = safe_path(rel) && *rel ? hashed_name(root, rel, a) : NULL;
    out = pl_arena_printf(a, "%s%.*s%s%s\"", out, (int)(v - q), q, hn ? "/" : "", hn ? hn : val);
    p = end + 1;
  }
  return out;
}

bool http__web(http_server *h, http_req *r) {
  if (!h->opt.web_root || strncmp(r->url, "/", 1)) return false;
  if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) return false;
  const char *rel = r->url + 1;
  if (!*rel) rel = "index.html";
  if (!safe_path(rel)) return false;
  /* An immutable name (app.<hash>.js) is served only while the file has that content,
   * and may then be kept for a year without asking again. */
  char *plain = NULL, want[NAME_HASH + 1];
  bool immutable = parse_hashed(rel, r->a, &plain, want);
  if (immutable) rel = plain;
  size_t len;
  char *buf = read_file(h->opt.web_root, rel, r->a, &len);
  if (!buf) return false;
  char hex[33];
  content_hash(buf, len, hex);
  if (immutable && strncmp(hex, want, NAME_HASH)) {
    free(buf);
    return false; /* an older page's name: not found, and its reload asks for the new one */
  }
  const char *csp_script = NULL;
  if (!strcmp(rel, "index.html")) {
    char *sh;
    char *page = index_page(h->opt.web_root, buf, r->a, &sh);
    free(buf);
    len = strlen(page);
    buf = pl_xmalloc(len + 1);
    memcpy(buf, page, len + 1);
    content_hash(buf, len, hex);
    csp_script = pl_arena_printf(r->a, "; script-src 'self' 'sha256-%s'", sh);
  }
  /* Anything else is revalidated on every use (no-cache), by the content's hash: a reload
   * after a deploy gets the new files, and otherwise a 304 without a body. One ETag a
   * representation. */
  bool gz = len >= 512 && accepts_gzip(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Encoding"));
  const char *etag = pl_arena_printf(r->a, "\"%s%s\"", hex, gz ? "-gz" : "");
  const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
  free(r->resp);
  r->resp = NULL;
  r->resp_len = 0;
  r->content_type = content_type(rel);
  r->cache_control = immutable ? "public, max-age=31536000, immutable" : "no-cache";
  http__header(r, "ETag", etag);
  http__header(r, "Vary", "Accept-Encoding");
  http__header(r, "Content-Security-Policy",
               pl_arena_printf(r->a, "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'%s",
                               csp_script ? csp_script : ""));
  if (inm && strstr(inm, etag)) {
    free(buf);
    r->status = 304;
    return true;
  }
  size_t zlen = 0;
  char *z = gz ? gzip(buf, len, &zlen) : NULL;
  if (z) {
    free(buf);
    r->resp = z;
    r->resp_len = zlen;
    http__header(r, "Content-Encoding", "gzip");
  } else {
    r->resp = buf;
    r->resp_len = len;
  }
  r->status = 200;
  return true;
}
