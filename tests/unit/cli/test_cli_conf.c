/* test_cli_conf.c - unit tests of the options file (parley serve --conf): what it sets, that
 * the command line overrides it, and every way a file is refused, with its file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_common.h"

static const char *const flags[] = {"trust-proxy", NULL};

/* Writes text (len bytes) to a fresh temporary file; returns its path (static buffer). */
static const char *conf_file(const char *text, size_t len) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/parley-conf-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  return path;
}

/* cli_parse over "serve --conf PATH extra..." (argv kept static: the args point into it). */
static bool parse(const char *path, const char *const *extra, cli_args *a) {
  static char *argv[16];
  int argc = 0;
  argv[argc++] = "serve";
  argv[argc++] = "--conf";
  argv[argc++] = (char *)path;
  for (; extra && *extra; extra++) argv[argc++] = (char *)*extra;
  return cli_parse(argc, argv, 1, flags, a);
}

static pl_err read_err(const char *text, pl_detail *d) {
  const char *path = conf_file(text, strlen(text));
  static cli_args a;
  memset(&a, 0, sizeof a);
  pl_err e = cli_conf_read(path, flags, &a, d);
  unlink(path);
  return e;
}

/* Names and values, flags alone or = true, comments and blank lines; the file's
 * options come first and say where they were written. */
static void reads_options(void **state) {
  (void)state;
  const char text[] = "# a comment\n\n  db = /var/lib/parley/parley.db  \nlisten=127.0.0.1:9000\n"
                      "\t# indented comment\ntrust-proxy\nsmtp-relay = smtp://relay:25/x=y # not a comment\r\n"
                      "log-format = off";
  const char *path = conf_file(text, sizeof text - 1);
  cli_args a;
  assert_true(parse(path, NULL, &a));
  assert_string_equal(cli_get(&a, "db", NULL), "/var/lib/parley/parley.db");
  assert_string_equal(cli_get(&a, "listen", NULL), "127.0.0.1:9000");
  assert_true(cli_has(&a, "trust-proxy"));
  assert_null(a.opts[2].value); /* a flag */
  assert_string_equal(cli_get(&a, "smtp-relay", NULL), "smtp://relay:25/x=y # not a comment");
  assert_string_equal(cli_get(&a, "log-format", NULL), "off"); /* last line, no newline */
  assert_string_equal(a.opts[0].file, path);
  assert_int_equal(a.opts[0].line, 3);
  assert_int_equal(a.opts[1].line, 4);
  assert_string_equal(cli_get(&a, "conf", NULL), path);
  assert_null(a.opts[a.nopts - 1].file); /* --conf itself, from the command line */
  static const char *const known[] = {"db", "listen", "trust-proxy", "smtp-relay", "log-format", "conf", NULL};
  assert_true(cli_known(&a, known, "serve"));
  unlink(path);
}

/* The command line overrides the file, whichever order it is written in. */
static void command_line_overrides(void **state) {
  (void)state;
  const char text[] = "listen = 127.0.0.1:9000\ndb = file.db\n";
  const char *path = conf_file(text, sizeof text - 1);
  static const char *const extra[] = {"--listen", "127.0.0.1:0", "--db=cmd.db", NULL};
  cli_args a;
  assert_true(parse(path, extra, &a));
  assert_string_equal(cli_get(&a, "listen", NULL), "127.0.0.1:0");
  assert_string_equal(cli_get(&a, "db", NULL), "cmd.db");
  /* "--conf" after the other options reads the file all the same, before them. */
  static char *argv[] = {"serve", "--db", "cmd.db", "--conf", NULL};
  argv[4] = (char *)path;
  cli_args b;
  assert_true(cli_parse(5, argv, 1, flags, &b));
  assert_string_equal(cli_get(&b, "db", NULL), "cmd.db");
  assert_string_equal(cli_get(&b, "listen", NULL), "127.0.0.1:9000");
  unlink(path);
}

/* A flag can be switched off in the file, and "false" is not a value it takes as true. */
static void flag_values(void **state) {
  (void)state;
  const char *path = conf_file("trust-proxy = false\n", 20);
  cli_args a;
  assert_true(parse(path, NULL, &a));
  assert_false(cli_has(&a, "trust-proxy"));
  unlink(path);
  path = conf_file("trust-proxy = true\n", 19);
  assert_true(parse(path, NULL, &a));
  assert_true(cli_has(&a, "trust-proxy"));
  unlink(path);
  pl_detail d = {0};
  assert_int_equal(read_err("trust-proxy = maybe\n", &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, ":1: trust-proxy is a flag"));
}

/* Parsing again with the same argv (a reload) gives the same options, and the file is
 * read again: a change in between is seen. */
static void parses_again(void **state) {
  (void)state;
  const char *path = conf_file("listen = 127.0.0.1:9000\n", 24);
  cli_args a, b;
  assert_true(parse(path, NULL, &a));
  assert_true(parse(path, NULL, &b));
  assert_int_equal(a.nopts, b.nopts);
  assert_string_equal(cli_get(&a, "listen", NULL), cli_get(&b, "listen", NULL));
  FILE *f = fopen(path, "w");
  fputs("listen = 127.0.0.1:9001\n", f);
  fclose(f);
  assert_true(parse(path, NULL, &b));
  assert_string_equal(cli_get(&b, "listen", NULL), "127.0.0.1:9001");
  assert_string_equal(cli_get(&a, "listen", NULL), "127.0.0.1:9000"); /* a's own storage */
  unlink(path);
}

/* Every refusal says which file and line, with its own code. */
static void refusals(void **state) {
  (void)state;
  pl_detail d = {0};
  assert_int_equal(read_err("db = x\n--listen = y\n", &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, ":2: write the option without its dashes"));
  assert_int_equal(read_err("\n\nthis is not an option\n", &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, ":3: not a 'name = value' line"));
  assert_int_equal(read_err("listen\n", &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, ":1: listen needs a value"));
  assert_int_equal(read_err("listen =   \n", &d), PL_EINVAL);
  assert_int_equal(read_err("conf = /etc/other.conf\n", &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "cannot be given in an options file"));
  assert_int_equal(read_err("help\n", &d), PL_EINVAL);
  assert_int_equal(read_err("= value\n", &d), PL_EINVAL);
  /* A line of exactly the limit passes; one byte more does not. */
  char line[CLI_CONF_LINE_MAX + 16];
  memset(line, 'a', sizeof line);
  memcpy(line, "db = ", 5);
  line[CLI_CONF_LINE_MAX] = '\n';
  line[CLI_CONF_LINE_MAX + 1] = '\0';
  assert_int_equal(read_err(line, &d), PL_OK);
  line[CLI_CONF_LINE_MAX] = 'a';
  line[CLI_CONF_LINE_MAX + 1] = '\n';
  line[CLI_CONF_LINE_MAX + 2] = '\0';
  assert_int_equal(read_err(line, &d), PL_ETOOLONG);
  assert_non_null(strstr(d.msg, ":1: the line is longer than 1024 bytes"));
  /* A NUL byte would cut a line silently; it is refused. */
  const char nul[] = "db = a\0b\n";
  const char *path = conf_file(nul, sizeof nul - 1);
  cli_args a;
  assert_int_equal(cli_conf_read(path, flags, &a, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, ":1: the line holds a NUL byte"));
  unlink(path);
}

/* More options than cli_args holds, or more text than it keeps, is refused, not cut. */
static void limits(void **state) {
  (void)state;
  pl_detail d = {0};
  char *text = malloc(CLI_CONF_MAX_FILE + 2);
  size_t n = 0;
  for (int i = 0; i <= CLI_MAX_OPTS; i++) n += (size_t)sprintf(text + n, "threads = %d\n", i);
  assert_int_equal(read_err(text, &d), PL_ETOOMANY);
  assert_non_null(strstr(d.msg, ":65: too many options"));
  /* 20 lines of 1000 bytes: within the line limit, beyond what cli_args keeps. */
  n = 0;
  for (int i = 0; i < 20; i++) {
    n += (size_t)sprintf(text + n, "db = ");
    memset(text + n, 'x', 995);
    n += 995;
    text[n++] = '\n';
  }
  text[n] = '\0';
  assert_int_equal(read_err(text, &d), PL_ETOOLARGE);
  /* A file over the size limit is refused before it is read (comments only). */
  memset(text, '#', CLI_CONF_MAX_FILE + 1);
  for (size_t i = 1000; i < CLI_CONF_MAX_FILE + 1; i += 1000) text[i] = '\n';
  text[CLI_CONF_MAX_FILE + 1] = '\0';
  assert_int_equal(read_err(text, &d), PL_ETOOLARGE);
  free(text);
  /* With the command line's options too, the count is checked in cli_parse. */
  char small[64 * 16];
  n = 0;
  for (int i = 0; i < CLI_MAX_OPTS - 1; i++) n += (size_t)sprintf(small + n, "threads = %d\n", i);
  const char *path = conf_file(small, n);
  static const char *const extra[] = {"--db", "x.db", NULL};
  cli_args a;
  assert_false(parse(path, extra, &a));
  unlink(path);
}

/* A missing file, a directory: errors, not an empty set of options. */
static void missing_or_not_a_file(void **state) {
  (void)state;
  cli_args a;
  memset(&a, 0, sizeof a);
  pl_detail d = {0};
  assert_int_equal(cli_conf_read("/nonexistent/parley.conf", flags, &a, &d), PL_ENOTFOUND);
  assert_non_null(strstr(d.msg, "/nonexistent/parley.conf"));
  assert_int_equal(cli_conf_read("/tmp", flags, &a, &d), PL_EIO);
  assert_false(parse("/nonexistent/parley.conf", NULL, &a));
  assert_false(parse("", NULL, &a));
}

/* An unknown name is refused by cli_known (the command's list), naming file and line. */
static void unknown_option_named_with_its_line(void **state) {
  (void)state;
  const char text[] = "db = x\nlisten = y\nno-such-option = 1\n";
  const char *path = conf_file(text, sizeof text - 1);
  cli_args a;
  assert_true(parse(path, NULL, &a));
  static const char *const known[] = {"db", "listen", "conf", NULL};
  assert_false(cli_known(&a, known, "serve"));
  assert_string_equal(a.opts[2].name, "no-such-option");
  assert_int_equal(a.opts[2].line, 3);
  /* A command that takes no --conf refuses it (and so the file's options). */
  static const char *const admin_known[] = {"db", "listen", NULL};
  const char ok[] = "db = x\n";
  unlink(path);
  path = conf_file(ok, sizeof ok - 1);
  assert_true(parse(path, NULL, &a));
  assert_false(cli_known(&a, admin_known, "admin"));
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reads_options),        cmocka_unit_test(command_line_overrides),
      cmocka_unit_test(flag_values),          cmocka_unit_test(parses_again),
      cmocka_unit_test(refusals),             cmocka_unit_test(limits),
      cmocka_unit_test(missing_or_not_a_file), cmocka_unit_test(unknown_option_named_with_its_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
