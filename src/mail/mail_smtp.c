/* mail_smtp.c - one mail to one recipient through the SMTP relay, with libcurl. */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "mail/mail.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
  const char *p;
  size_t left;
} reader;

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud) {
  reader *r = ud;
  size_t n = size * nmemb;
  if (n > r->left) n = r->left;
  memcpy(dst, r->p, n);
  r->p += n;
  r->left -= n;
  return n;
}

pl_err mail_smtp_send(const char *relay, const char *helo, const char *env_from, const char *rcpt,
                      const char *data, size_t len, long *code, pl_detail *d) {
  pthread_once(&curl_once, curl_init);
  *code = 0;
  CURL *c = curl_easy_init();
  if (!c) return pl_fail(d, PL_EIO, "libcurl could not start");
  /* libcurl takes the EHLO name from the URL's path. */
  char url[512];
  size_t rl = strlen(relay);
  while (rl && relay[rl - 1] == '/') rl--;
  snprintf(url, sizeof url, "%.*s/%s", (int)rl, relay, helo && *helo ? helo : "localhost");
  char rcpt_b[LMTP_MAX_PATH + 3];
  snprintf(rcpt_b, sizeof rcpt_b, "<%s>", rcpt);
  struct curl_slist *rl_list = curl_slist_append(NULL, rcpt_b);
  reader r = {data, len};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  /* An empty MAIL_FROM sends the null return path <>, as notices must (RFC 3834). */
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from ? env_from : "");
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rl_list);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(c, CURLOPT_READDATA, &r);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
  curl_slist_free_all(rl_list);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return pl_fail(d, PL_EIO, "%s (reply %ld)", err[0] ? err : curl_easy_strerror(rc), *code);
  return PL_OK;
}
