/* cli: the operator's commands that work on a data directory directly
 * (users, teams' plans, keys, the route table), and the files of secrets
 * the server keeps beside its database. Safe while the server runs: they
 * go through the same store, whose SQLite writer waits for the server's
 * transactions (WAL, busy timeout), and the server reads users, teams and
 * keys per request, so changes apply at once.
 * Single-threaded; for the process's main thread. */
#ifndef LP_CLI_CLI_H
#define LP_CLI_CLI_H

#include "auth/jwt.h"

#include <stdbool.h>
#include <stddef.h>

bool cli_is_command(const char *name);
/* argv[0] is the command ("user", "team", "key", "routes"). Exit status. */
int cli_main(int argc, char **argv);
/* `linkpulse seed ...` (argv[0] is "seed"): benchmark data. Exit status. */
int cli_seed(int argc, char **argv);

/* `linkpulse import FILE --team ID --format F [--dry-run]` (import.c). Exit status. */
struct store;
struct store_reader;
int cli_import(struct store *store, struct store_reader *reader, const char *file, const char *team,
               const char *format, bool dry_run);

/* Writes secret + "\n" to path with mode 0600 (fsynced); 0 or -1 (reported). */
int cli_write_secret_file(const char *path, const char *secret);

/* The JWT signing keys: LINKPULSE_JWT_KEYS ("kid:key" items separated by
 * commas or newlines), else DIR/jwt.keys, created with one new key on first
 * start. The first key signs; all verify (rotation: add a line on top). */
int cli_load_jwt_keys(const char *data_dir, struct jwt_keyring *ring, char *err, size_t errcap);

extern const char cli_usage[];

#endif
