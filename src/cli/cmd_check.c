/* cmd_check.c - `parley check`: the content policy from the command line. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_check(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "parley check: not built yet\n");
  return 2;
}
