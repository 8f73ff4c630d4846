/* main.c - the parley command: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  (void)argc; (void)argv;
  printf("parley %s\n", PARLEY_VERSION);
  return 0;
}
