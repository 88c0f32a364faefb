#include "cli/cli.h"

#include "api/api.h"
#include "auth/apikey.h"
#include "auth/token.h"
#include "core/account.h"
#include "store/store.h"
#include "util/config.h"
#include "util/rfc3339.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JWT_KEYS_FILE "jwt.keys"
#define JWT_KEYS_FILE_MAX 4096

const char cli_usage[] =
    "operator commands (each takes --data DIR, default $LINKPULSE_DATA or ./data):\n"
    "  linkpulse user create --email E [--name N]    password from $LINKPULSE_PASSWORD or stdin\n"
    "  linkpulse user list\n"
    "  linkpulse user disable EMAIL\n"
    "  linkpulse team set-plan TEAM free|paid         TEAM is an id or a unique name\n"
    "  linkpulse key create --team T --role admin|editor|viewer [--name N]\n"
    "  linkpulse key create --operator [--name N]     an instance-wide operator key\n"
    "  linkpulse key revoke ID|PREFIX\n"
    "  linkpulse routes                               the API's routes as JSON\n"
    "  linkpulse seed --links N [--visits-link CODE --visits M] [--codes-file F] [--team T] [--seed S]\n"
    "                                                 benchmark data, service stopped\n"
    "  linkpulse import FILE --team ID --format csv|yourls|shlink|kutt|bitly [--dry-run]\n"
    "                                                 links from a file (docs/API.md, Import)\n";

bool cli_is_command(const char *name)
{
    return strcmp(name, "user") == 0 || strcmp(name, "team") == 0 || strcmp(name, "key") == 0 ||
           strcmp(name, "routes") == 0 || strcmp(name, "seed") == 0 || strcmp(name, "import") == 0;
}

int cli_write_secret_file(const char *path, const char *secret)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t n = strlen(secret);
    if (fd < 0 || write(fd, secret, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        fprintf(stderr, "linkpulse: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int cli_load_jwt_keys(const char *data_dir, struct jwt_keyring *ring, char *err, size_t errcap)
{
    char text[JWT_KEYS_FILE_MAX + 1];
    size_t len = 0;
    const char *env = getenv("LINKPULSE_JWT_KEYS");
    if (env != NULL) {
        len = strlen(env);
        if (len > JWT_KEYS_FILE_MAX) {
            snprintf(err, errcap, "LINKPULSE_JWT_KEYS is longer than %d bytes", JWT_KEYS_FILE_MAX);
            return -1;
        }
        for (size_t i = 0; i < len; i++)
            text[i] = env[i] == ',' ? '\n' : env[i];
    } else {
        char path[CONFIG_PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/" JWT_KEYS_FILE, data_dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            len = jwt_key_generate_line("k1", text, sizeof(text) - 1);
            text[len] = '\0';
            if (len == 0 || cli_write_secret_file(path, text) != 0) {
                snprintf(err, errcap, "cannot create %s", path);
                return -1;
            }
        } else if (fd < 0) {
            snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
            return -1;
        } else {
            ssize_t n = read(fd, text, JWT_KEYS_FILE_MAX);
            close(fd);
            if (n < 0) {
                snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
                return -1;
            }
            len = (size_t)n;
        }
    }
    int rc = jwt_keyring_parse(ring, text, len, err, errcap);
    sodium_memzero(text, sizeof(text));
    return rc;
}

/* ---- commands ----------------------------------------------------------------- */

struct cli {
    const char *data;
    struct store *store;
    struct store_reader *reader;
};

/* Finds "--name VALUE" (or --name=VALUE) in argv; NULL if absent. */
static const char *opt(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], name, n) != 0)
            continue;
        if (argv[i][n] == '=')
            return argv[i] + n + 1;
        if (argv[i][n] == '\0' && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

/* The first argument that is neither an option nor an option's value. */
static const char *positional(int argc, char **argv, int skip)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            if (strchr(argv[i], '=') == NULL && strcmp(argv[i], "--operator") != 0 && strcmp(argv[i], "--dry-run") != 0)
                i++;
            continue;
        }
        if (skip-- == 0)
            return argv[i];
    }
    return NULL;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "linkpulse: %s\n\n%s", msg, cli_usage);
    return 2;
}

static const char *status_text(int st)
{
    switch (st) {
    case STORE_NOT_FOUND:
        return "not found";
    case STORE_CONFLICT:
        return "already exists (or the name is ambiguous: use the id)";
    case STORE_REFUSED:
        return "refused";
    default:
        return "database error";
    }
}

static int user_create(struct cli *c, int argc, char **argv)
{
    const char *email = opt(argc, argv, "--email"), *name = opt(argc, argv, "--name");
    if (email == NULL)
        return usage_error("user create needs --email");
    struct store_op op = {.kind = STORE_USER_CREATE};
    const char *why = account_check_email(email, strlen(email), op.user.email_lc);
    if (why == NULL && name != NULL)
        why = account_check_name(name, strlen(name));
    char pw[ACCOUNT_PASSWORD_MAX + 2] = "";
    const char *env = getenv("LINKPULSE_PASSWORD");
    if (why == NULL) {
        if (env != NULL)
            snprintf(pw, sizeof(pw), "%s", env);
        else if (fgets(pw, sizeof(pw), stdin) == NULL)
            pw[0] = '\0';
        pw[strcspn(pw, "\r\n")] = '\0';
        why = account_check_password(pw, strlen(pw));
    }
    if (why != NULL) {
        sodium_memzero(pw, sizeof(pw));
        fprintf(stderr, "linkpulse: %s\n", why);
        return 2;
    }
    snprintf(op.user.email, sizeof(op.user.email), "%s", email);
    if (name != NULL)
        snprintf(op.user.name, sizeof(op.user.name), "%s", name);
    int rc = crypto_pwhash_str(op.user.password_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pw, sizeof(pw));
    if (rc != 0 || (rc = store_submit_wait(c->store, &op)) != STORE_OK) {
        fprintf(stderr, "linkpulse: cannot create the user: %s\n", status_text(rc));
        return 1;
    }
    printf("user %" PRId64 " created (personal team %" PRId64 ")\n", op.user.id, op.user.personal_team_id);
    return 0;
}

static int print_user(void *ctx, const struct store_user *u)
{
    char ts[RFC3339_BUF];
    rfc3339_format(u->created_at, ts);
    printf("%-20" PRId64 " %-32s %-20s %-8s %s\n", u->id, u->email, u->name[0] ? u->name : "-",
           u->disabled_at ? "disabled" : "active", ts);
    return 0;
}

static int team_set_plan(struct cli *c, int argc, char **argv)
{
    const char *team = positional(argc, argv, 2), *plan = positional(argc, argv, 3);
    if (team == NULL || plan == NULL || (strcmp(plan, "free") != 0 && strcmp(plan, "paid") != 0))
        return usage_error("team set-plan TEAM free|paid");
    struct store_op op = {.kind = STORE_TEAM_SET_PLAN};
    op.team.plan = strcmp(plan, "paid") == 0 ? PLAN_PAID : PLAN_FREE;
    int64_t id = api_parse_id(team, strlen(team));
    if (id > 0)
        op.team.id = id;
    else
        snprintf(op.team.name, sizeof(op.team.name), "%s", team);
    int rc = store_submit_wait(c->store, &op);
    if (rc != STORE_OK) {
        fprintf(stderr, "linkpulse: team %s: %s\n", team, status_text(rc));
        return 1;
    }
    printf("team %" PRId64 " is now on the %s plan\n", op.team.id, plan);
    return 0;
}

static int key_create(struct cli *c, int argc, char **argv)
{
    const char *team = opt(argc, argv, "--team"), *role = opt(argc, argv, "--role"),
               *name = opt(argc, argv, "--name");
    bool operator_key = flag(argc, argv, "--operator");
    struct store_op op = {.kind = operator_key ? STORE_APIKEY_ENSURE : STORE_APIKEY_CREATE};
    char secret[64];
    if (operator_key) {
        apikey_generate(secret, sizeof(secret));
    } else {
        int64_t id = team ? api_parse_id(team, strlen(team)) : -1;
        op.key.role = role ? access_role_parse(role) : ROLE_NONE;
        struct store_team t;
        if (id < 0 || op.key.role == ROLE_NONE)
            return usage_error("key create needs --team ID and --role admin|editor|viewer (or --operator)");
        if (store_team_get(c->reader, id, &t) != STORE_OK) {
            fprintf(stderr, "linkpulse: team %s: not found\n", team);
            return 1;
        }
        op.team_id = id;
        token_apikey_generate(secret);
    }
    snprintf(op.key.name, sizeof(op.key.name), "%s", name ? name : "created with the CLI");
    token_hash(secret, strlen(secret), op.key.hash);
    snprintf(op.key.display, sizeof(op.key.display), "%.*s", operator_key ? 8 : TOKEN_APIKEY_DISPLAY, secret);
    int rc = store_submit_wait(c->store, &op);
    if (rc != STORE_OK) {
        sodium_memzero(secret, sizeof(secret));
        fprintf(stderr, "linkpulse: cannot create the key: %s\n", status_text(rc));
        return 1;
    }
    printf("%s\n", secret);
    sodium_memzero(secret, sizeof(secret));
    return 0;
}

static int key_revoke(struct cli *c, int argc, char **argv)
{
    const char *which = positional(argc, argv, 2);
    if (which == NULL)
        return usage_error("key revoke ID|PREFIX");
    struct store_op op = {.kind = STORE_APIKEY_REVOKE};
    int64_t id = api_parse_id(which, strlen(which));
    if (id > 0)
        op.key.id = id;
    else
        snprintf(op.key.display, sizeof(op.key.display), "%s", which);
    int rc = store_submit_wait(c->store, &op);
    if (rc != STORE_OK) {
        fprintf(stderr, "linkpulse: key %s: %s\n", which, status_text(rc));
        return 1;
    }
    printf("key %s revoked\n", which);
    return 0;
}

static int print_routes(void)
{
    static const char *const auth[] = {"required", "public", "anonymous-ok"};
    printf("[");
    for (size_t i = 0; i < api_nroutes; i++)
        printf("%s\n  {\"method\": \"%s\", \"path\": \"%s\", \"auth\": \"%s\"}", i ? "," : "", api_routes[i].method,
               api_routes[i].pattern, auth[api_routes[i].auth]);
    printf("\n]\n");
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (strcmp(argv[0], "routes") == 0)
        return print_routes();
    if (strcmp(argv[0], "seed") == 0)
        return cli_seed(argc, argv);
    const char *sub = argc > 1 ? argv[1] : "";
    const char *data = opt(argc, argv, "--data");
    if (data == NULL)
        data = getenv("LINKPULSE_DATA") ? getenv("LINKPULSE_DATA") : "./data";
    char err[512];
    struct cli c = {.data = data};
    struct stat sb;
    if (stat(data, &sb) != 0) {
        fprintf(stderr, "linkpulse: no data directory at %s (start the server once, or pass --data)\n", data);
        return 1;
    }
    c.store = store_sqlite_open(data, STORE_VISIT_BACKLOG_MB, err, sizeof(err));
    if (c.store == NULL) {
        fprintf(stderr, "linkpulse: %s\n", err);
        return 1;
    }
    c.reader = store_reader_open(c.store);
    int rc;
    if (c.reader == NULL)
        rc = 1;
    else if (strcmp(argv[0], "user") == 0 && strcmp(sub, "create") == 0)
        rc = user_create(&c, argc, argv);
    else if (strcmp(argv[0], "user") == 0 && strcmp(sub, "list") == 0)
        rc = store_users_each(c.reader, print_user, NULL) == 0 ? 0 : 1;
    else if (strcmp(argv[0], "user") == 0 && strcmp(sub, "disable") == 0 && positional(argc, argv, 2)) {
        struct store_op op = {.kind = STORE_USER_DISABLE};
        const char *email = positional(argc, argv, 2);
        if (account_check_email(email, strlen(email), op.user.email_lc) != NULL)
            rc = usage_error("user disable EMAIL");
        else if ((rc = store_submit_wait(c.store, &op)) != STORE_OK)
            fprintf(stderr, "linkpulse: user %s: %s\n", email, status_text(rc)), rc = 1;
        else
            printf("user %s disabled; their sessions are revoked\n", email);
    } else if (strcmp(argv[0], "team") == 0 && strcmp(sub, "set-plan") == 0)
        rc = team_set_plan(&c, argc, argv);
    else if (strcmp(argv[0], "key") == 0 && strcmp(sub, "create") == 0)
        rc = key_create(&c, argc, argv);
    else if (strcmp(argv[0], "key") == 0 && strcmp(sub, "revoke") == 0)
        rc = key_revoke(&c, argc, argv);
    else if (strcmp(argv[0], "import") == 0) /* issue 4 */
        rc = cli_import(c.store, c.reader, positional(argc, argv, 1), opt(argc, argv, "--team"),
                        opt(argc, argv, "--format"), flag(argc, argv, "--dry-run"));
    else
        rc = usage_error("unknown command");
    if (c.reader != NULL)
        store_reader_close(c.reader);
    store_close(c.store);
    return rc;
}
