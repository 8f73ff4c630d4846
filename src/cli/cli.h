/* cli.h - the parley subcommands; each returns a process exit status. */
#ifndef PL_CLI_H
#define PL_CLI_H

int cmd_serve(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_policy(int argc, char **argv);

#endif
