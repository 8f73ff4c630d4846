/* http_web.c - serves the web message center's static files from the web root. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  free(r->resp);
  r->resp = buf;
  r->resp_len = (size_t)got;
  r->status = 200;
  r->content_type = content_type(rel);
  http__header(r, "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'");
  return true;
}
