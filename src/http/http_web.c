/* http_web.c - serves the web message center's static files from the web root: revalidated
 * by ETag (304 without a body), and gzip-compressed for browsers that accept it. */
#define _GNU_SOURCE /* strcasestr */
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

bool http__web(http_server *h, http_req *r) {
  if (!h->opt.web_root || strncmp(r->url, "/", 1)) return false;
  if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) return false;
  const char *rel = r->url + 1;
  if (!*rel) rel = "index.html";
  if (!safe_path(rel)) return false;
  char *full = pl_arena_printf(r->a, "%s/%s", h->opt.web_root, rel);
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_WEB_FILE) {
    close(fd);
    return false;
  }
  char *buf = pl_xmalloc((size_t)st.st_size + 1);
  ssize_t got = read(fd, buf, (size_t)st.st_size);
  close(fd);
  if (got != st.st_size) {
    free(buf);
    return false;
  }
  /* Revalidated on every use (no-cache), by the content's hash: a reload after a deploy
   * gets the new files, and otherwise a 304 without a body. One ETag a representation. */
  unsigned char sum[16];
  crypto_generichash(sum, sizeof sum, (const unsigned char *)buf, (unsigned long long)got, NULL, 0);
  char hex[sizeof sum * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
  bool gz = got >= 512 && accepts_gzip(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Encoding"));
  const char *etag = pl_arena_printf(r->a, "\"%s%s\"", hex, gz ? "-gz" : "");
  const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
  free(r->resp);
  r->resp = NULL;
  r->resp_len = 0;
  r->content_type = content_type(rel);
  r->cache_control = "no-cache";
  http__header(r, "ETag", etag);
  http__header(r, "Vary", "Accept-Encoding");
  http__header(r, "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'");
  if (inm && strstr(inm, etag)) {
    free(buf);
    r->status = 304;
    return true;
  }
  size_t zlen = 0;
  char *z = gz ? gzip(buf, (size_t)got, &zlen) : NULL;
  if (z) {
    free(buf);
    r->resp = z;
    r->resp_len = zlen;
    http__header(r, "Content-Encoding", "gzip");
  } else {
    r->resp = buf;
    r->resp_len = (size_t)got;
  }
  r->status = 200;
  return true;
}
