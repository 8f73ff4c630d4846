/* fuzz_lib_lmtp.c - libFuzzer target: the LMTP/SMTP command parser on arbitrary lines. */
#include <stdint.h>
#include <string.h>

#include "mail/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lmtp_cmd cmd;
  const char *why;
  int code = lmtp_parse((const char *)data, size, &cmd, &why);
  /* A success has a terminated argument within bounds; a failure always says why. */
  if (!code && strlen(cmd.arg) > LMTP_MAX_PATH) __builtin_trap();
  if (code && !why) __builtin_trap();
  return 0;
}
