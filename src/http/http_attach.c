/* http_attach.c - POST /v1/attachments (the body streamed to disk) and
 * GET /v1/attachments/{id} (the file streamed back with safe headers). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_int.h"

#define UPLOAD_PATH "/v1/attachments"

static void upload_fail(http_req *r, pl_err e, const char *msg) {
  if (r->upload_err) return; /* the first reason is the one to tell */
  r->upload_err = e;
  snprintf(r->upload_msg, sizeof r->upload_msg, "%.150s", msg);
  svc_upload_discard(r->upload); /* no point keeping bytes that will be refused */
  r->upload = NULL;
}

bool http__upload_start(http_server *h, http_req *r) {
  (void)h;
  const http_route *path;
  if (strcmp(r->method, "POST")) return false;
  const http_route *rt = http__route_find(r->a, r->url, r->method, &path, NULL);
  if (!rt || rt->fn != http__attachment_upload) return false;
  r->upload_route = true;
  /* Nothing reaches the disk for a caller who will be refused anyway; the request is
   * authenticated again when it is answered, with the error response then. */
  if (!http__authenticate(r)) upload_fail(r, PL_EUNAUTH, "");
  const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
  /* Past what any marketplace allows, the body is not even kept; a marketplace's own
   * limit is checked when the upload is complete. */
  if (cl && strtoull(cl, NULL, 10) > SVC_ATTACHMENT_CEILING)
    upload_fail(r, PL_ETOOLARGE, "an attachment is at most 25000000 bytes");
  return true;
}

void http__upload_chunk(http_req *r, const char *data, size_t len) {
  if (r->upload_err) return; /* the rest of a refused body is read and dropped */
  pl_detail d = {0};
  pl_err e = PL_OK;
  if (!r->upload) e = svc_upload_open(r->s, &r->upload, &d);
  if (!e) e = svc_upload_write(r->upload, data, len, &d);
  if (e) upload_fail(r, e, d.msg);
}

void http__upload_end(http_req *r) {
  svc_upload_discard(r->upload);
  r->upload = NULL;
}

/* The first case-insensitive occurrence of needle in s, or NULL. */
static const char *find_ci(const char *s, const char *needle) {
  size_t n = strlen(needle);
  for (; *s; s++)
    if (!strncasecmp(s, needle, n)) return s;
  return NULL;
}

static int hexval(int c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The file name of a Content-Disposition header: filename*=UTF-8''percent-encoded
 * (RFC 6266/8187) first, else filename="quoted" or a token. NULL when none. */
static char *disposition_name(const char *v, pl_arena *a) {
  if (!v) return NULL;
  const char *p = find_ci(v, "filename*=");
  if (p) {
    p += 10;
    if (!strncasecmp(p, "UTF-8''", 7)) {
      p += 7;
      char *out = pl_arena_alloc(a, strlen(p) + 1), *o = out;
      for (; *p && *p != ';' && !isspace((unsigned char)*p); p++) {
        if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
          *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
          p += 2;
        } else {
          *o++ = *p;
        }
      }
      *o = '\0';
      if (*out) return out;
    }
  }
  for (p = v; (p = find_ci(p, "filename=")); p += 9) {
    if (p > v && p[-1] != ';' && !isspace((unsigned char)p[-1])) continue;
    p += 9;
    char *out = pl_arena_alloc(a, strlen(p) + 1), *o = out;
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) p++;
        *o++ = *p;
      }
    } else {
      for (; *p && *p != ';' && !isspace((unsigned char)*p); p++) *o++ = *p;
    }
    *o = '\0';
    return *out ? out : NULL;
  }
  return NULL;
}

/* attachment; filename="ASCII fallback"; filename*=UTF-8''percent-encoded: a name no
 * browser can read as a path or a header of its own. */
static char *disposition_header(const char *name, pl_arena *a) {
  size_t n = strlen(name);
  char *ascii = pl_arena_alloc(a, n + 1), *enc = pl_arena_alloc(a, 3 * n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    ascii[i] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '/' ? '_' : (char)c;
    if (isalnum(c) || strchr("!#$&+-.^_`|~", c)) enc[k++] = (char)c;
    else k += (size_t)sprintf(enc + k, "%%%02X", c);
  }
  ascii[n] = enc[k] = '\0';
  return pl_arena_printf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

void http__attachment_upload(http_req *r, char **arg) {
  if (r->upload_err) {
    if (r->upload_err == PL_EUNAUTH) http__authenticate(r); /* sets the 401 with its reason */
    else http__error(r, r->upload_err, r->upload_msg);
    return;
  }
  if (!r->upload) {
    http__error(r, PL_EEMPTY, "the body is empty: send the file's bytes as the request body");
    return;
  }
  const char *name = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "name");
  if (!name)
    name = disposition_name(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Disposition"), r->a);
  const char *md5 = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-MD5");
  json_t *j;
  const char *id;
  pl_detail d = {0};
  svc_upload *u = r->upload;
  r->upload = NULL; /* svc_attachment_create consumes it */
  pl_err e = svc_view_attachment_create(r->s, &r->caller, u, name, md5, r->a, &j, &id, &d);
  if (e) {
    http__fail(r, e, &d);
    return;
  }
  http__header(r, "Location", pl_arena_printf(r->a, UPLOAD_PATH "/%s", id));
  http__json(r, 201, j);
}

void http__attachment_download(http_req *r, char **arg) {
  const char *id = arg[0];
  svc_file at;
  pl_detail d = {0};
  pl_err e = svc_view_attachment_open(r->s, &r->caller, id, r->a, &at, &d);
  int fd = at.fd;
  if (e) {
    http__fail(r, e, &d);
    return;
  }
  struct stat st;
  struct MHD_Response *resp = NULL;
  if (fstat(fd, &st) == 0) resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
  if (!resp) {
    close(fd);
    http__error(r, PL_EIO, "the attachment's file cannot be read");
    return;
  }
  /* The file is the sender's: served as a download of its sniffed type, never rendered
   * by the browser as a page of this origin. */
  MHD_add_response_header(resp, "Content-Type", at.mime);
  MHD_add_response_header(resp, "Content-Disposition", disposition_header(at.name, r->a));
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; sandbox");
  MHD_add_response_header(resp, "Cache-Control", "private, no-store");
  MHD_add_response_header(resp, "X-Request-Id", r->request_id);
  r->status = 200;
  r->streaming = true; /* queued here: http.c only counts it */
  MHD_queue_response(r->conn, 200, resp);
  MHD_destroy_response(resp);
}
