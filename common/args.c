/* args.c: Bitcoin Core-style options and bwc.conf, checked against the program's option table. */
#include "common/args.h"
#include "common/fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONF_MAX_BYTES (1u << 20) /* a config file is a few hundred bytes; refuse nonsense */
#define SECTION_MAX 31

enum { SRC_CMDLINE = 0, SRC_FILE = 1 };

typedef struct {
    size_t def;    /* index into the table */
    char *value;   /* owned; "0" when negated */
    char *section; /* owned; NULL for the command line and the file's top section */
    int src;
    int negated;
} entry;

struct bwc_args {
    const bwc_arg_def *defs;
    size_t n_defs;
    entry *e;
    size_t n, cap;
    char section[32]; /* set by bwc_args_set_chain: the chain whose section applies */
};


bwc_args *bwc_args_new(const bwc_arg_def *defs, size_t n_defs)
{
    bwc_args *a = calloc(1, sizeof *a);
    if (a) {
        a->defs = defs;
        a->n_defs = n_defs;
    }
    return a;
}

void bwc_args_free(bwc_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->e[i].value);
        free(a->e[i].section);
    }
    free(a->e);
    free(a);
}

static long find_def(const bwc_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->n_defs; i++)
        if (strlen(a->defs[i].name) == len && memcmp(a->defs[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

static int is_integer(const char *s)
{
    char *end;
    errno = 0;
    (void)strtoll(s, &end, 10);
    return *s && !*end && errno == 0 && !(s[0] == '+');
}

/* Validates one occurrence and appends it. where is "-" on the command line or
 * "FILE:LINE: " in a config file, for messages. */
static int add_entry(bwc_args *a, size_t d, int has_value, const char *value, int negated,
                     const char *section, int src, const char *where, char *err, size_t errlen)
{
    const bwc_arg_def *def = &a->defs[d];
    const char *dash = src == SRC_CMDLINE ? "-" : "";
    const char *stored;

    if (negated) {
        if (has_value && strcmp(value, "1") != 0 && strcmp(value, "") != 0) {
            if (strcmp(value, "0") != 0)
                return bwc_errf(err, errlen, "%s%sno%s=%s: a negated option takes no value", where,
                            dash, def->name, value);
            negated = 0; /* -nofoo=0 means -foo */
            has_value = 1;
            value = "1";
        } else {
            value = "0";
        }
    } else if (!def->value) { /* a switch */
        if (!has_value || !strcmp(value, ""))
            value = "1";
        else if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
            return bwc_errf(err, errlen, "%s%s%s=%s: expected 0 or 1", where, dash, def->name, value);
    } else if (!has_value) {
        if (!(def->flags & BWC_ARG_BARE_OK))
            return bwc_errf(err, errlen, "%s%s%s needs a value (%s%s=%s)", where, dash, def->name, dash,
                        def->name, def->value);
        value = "1";
    } else if ((def->flags & BWC_ARG_INT) && !is_integer(value)) {
        return bwc_errf(err, errlen, "%s%s%s=%s: expected an integer", where, dash, def->name, value);
    }
    stored = value;

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        entry *e = realloc(a->e, cap * sizeof *e);
        if (!e)
            return bwc_errf(err, errlen, "out of memory");
        a->e = e;
        a->cap = cap;
    }
    entry *e = &a->e[a->n];
    e->def = d;
    e->src = src;
    e->negated = negated;
    e->value = strdup(stored);
    e->section = section ? strdup(section) : NULL;
    if (!e->value || (section && !e->section)) {
        free(e->value);
        free(e->section);
        return bwc_errf(err, errlen, "out of memory");
    }
    a->n++;
    return 0;
}

/* Looks up name (len bytes), trying "noNAME" as the negation of NAME. Returns the index or -1;
 * *negated is set accordingly. */
static long lookup(const bwc_args *a, const char *name, size_t len, int *negated)
{
    long d = find_def(a, name, len);
    *negated = 0;
    if (d < 0 && len > 2 && name[0] == 'n' && name[1] == 'o') {
        d = find_def(a, name + 2, len - 2);
        *negated = d >= 0;
    }
    return d;
}

int bwc_args_parse_cmdline(bwc_args *a, int argc, char *const *argv, int *first_arg, char *err,
                           size_t errlen)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int negated = 0;
        long d;
        if (len == 1 && (name[0] == 'h' || name[0] == '?') && !eq)
            d = find_def(a, "help", 4);
        else
            d = lookup(a, name, len, &negated);
        if (first_arg)
            *first_arg = i; /* on failure: the offending argument */
        if (d < 0 || len == 0)
            return bwc_errf(err, errlen, "unknown option -%.*s", (int)len, name);
        if (add_entry(a, (size_t)d, eq != NULL, eq ? eq + 1 : NULL, negated, NULL, SRC_CMDLINE, "",
                      err, errlen) != 0)
            return -1;
    }
    if (first_arg)
        *first_arg = i;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int valid_section(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SECTION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

static int parse_config_text(bwc_args *a, char *text, const char *path, int ignore_unknown,
                             char *err, size_t errlen)
{
    char section[SECTION_MAX + 1] = "";
    char where[BWC_PATH_MAX + 32];
    unsigned lineno = 0;
    char *save = NULL;

    /* strtok_r would merge empty lines and lose line numbers: split by hand. */
    for (char *line = text; line; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        snprintf(where, sizeof where, "%s:%u: ", path, lineno);
        if (*s == '\0')
            continue;
        if (*s == '[') {
            size_t n = strlen(s);
            if (s[n - 1] != ']')
                return bwc_errf(err, errlen, "%sunterminated section header '%s'", where, s);
            s[n - 1] = '\0';
            char *name = trim(s + 1);
            if (!valid_section(name))
                return bwc_errf(err, errlen,
                            "%sbad section name '[%s]' (a chain name: [a-z0-9_-], 1-31 chars)",
                            where, name);
            snprintf(section, sizeof section, "%s", name);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            if (!strncmp(s, "no", 2))
                return bwc_errf(err, errlen,
                            "%sexpected name=value, got '%s' (for a negation write %s=1)", where, s,
                            s);
            return bwc_errf(err, errlen, "%sexpected name=value, got '%s' (write %s=1)", where, s, s);
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        if (name[0] == '-')
            return bwc_errf(err, errlen, "%soption names in a config file take no dash: '%s'", where,
                        name);
        int negated;
        long d = lookup(a, name, strlen(name), &negated);
        if (d < 0) {
            if (ignore_unknown)
                continue;
            return bwc_errf(err, errlen, "%sunknown option '%s'", where, name);
        }
        if (a->defs[d].flags & BWC_ARG_CMDLINE_ONLY)
            return bwc_errf(err, errlen, "%s-%s can only be given on the command line", where,
                        a->defs[d].name);
        if (section[0] && !strcmp(a->defs[d].name, "chain"))
            return bwc_errf(err, errlen, "%schain= inside [%s] has no effect: put it at the top", where,
                        section);
        if (add_entry(a, (size_t)d, 1, value, negated, section[0] ? section : NULL, SRC_FILE, where,
                      err, errlen) != 0)
            return -1;
    }
    return 0;
}

int bwc_args_read_config_file(bwc_args *a, const char *path, int ignore_unknown, char *err,
                              size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bwc_errf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
    char *text = malloc(CONF_MAX_BYTES + 1);
    if (!text) {
        fclose(f);
        return bwc_errf(err, errlen, "out of memory");
    }
    size_t n = fread(text, 1, CONF_MAX_BYTES + 1, f);
    int rd_err = ferror(f);
    fclose(f);
    int rc;
    if (rd_err)
        rc = bwc_errf(err, errlen, "cannot read config file %s", path);
    else if (n > CONF_MAX_BYTES)
        rc = bwc_errf(err, errlen, "config file %s is larger than %u bytes", path, CONF_MAX_BYTES);
    else if (memchr(text, '\0', n))
        rc = bwc_errf(err, errlen, "config file %s contains a NUL byte", path);
    else {
        text[n] = '\0';
        rc = parse_config_text(a, text, path, ignore_unknown, err, errlen);
    }
    free(text);
    return rc;
}

int bwc_args_read_config(bwc_args *a, int ignore_unknown, char *err, size_t errlen)
{
    char dir[BWC_PATH_MAX], path[BWC_PATH_MAX];
    const char *conf = NULL;

    /* Only the command line can name the config file (-conf is BWC_ARG_CMDLINE_ONLY). */
    int negated = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].src == SRC_CMDLINE && !strcmp(a->defs[a->e[i].def].name, "conf")) {
            conf = a->e[i].value;
            negated = a->e[i].negated;
        }
    if (negated)
        return 0; /* -noconf */
    if (conf && !conf[0])
        return bwc_errf(err, errlen, "-conf needs a file name");
    if (bwc_args_datadir(a, 0, dir, sizeof dir, err, errlen) != 0)
        return -1;
    if (conf) {
        int n = conf[0] == '/' ? snprintf(path, sizeof path, "%s", conf)
                               : snprintf(path, sizeof path, "%s/%s", dir, conf);
        if (n < 0 || (size_t)n >= sizeof path)
            return bwc_errf(err, errlen, "config file path too long");
        return bwc_args_read_config_file(a, path, ignore_unknown, err, errlen);
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, BWC_CONF_FILENAME) >= sizeof path)
        return bwc_errf(err, errlen, "data directory path too long");
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0; /* the default file is optional */
    return bwc_args_read_config_file(a, path, ignore_unknown, err, errlen);
}

/* The chain chosen without consulting sections (they depend on it). */
static const char *chain_of(const bwc_args *a)
{
    if (a->section[0])
        return a->section;
    const char *top = NULL, *cmd = NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->defs[a->e[i].def].name, "chain") != 0)
            continue;
        if (a->e[i].src == SRC_CMDLINE)
            cmd = a->e[i].value;
        else if (!a->e[i].section)
            top = a->e[i].value;
    }
    return cmd ? cmd : top ? top : "main";
}

const char *bwc_args_chain(const bwc_args *a)
{
    return chain_of(a);
}

int bwc_args_set_chain(bwc_args *a, const char *chain)
{
    if (!valid_section(chain))
        return -1;
    snprintf(a->section, sizeof a->section, "%s", chain);
    return 0;
}

/* Source level of entry e for the selected chain: 0 command line, 1 chain section, 2 top of
 * the file, -1 a section of another chain. */
static int level_of(const entry *e, const char *chain)
{
    if (e->src == SRC_CMDLINE)
        return 0;
    if (!e->section)
        return 2;
    return strcmp(e->section, chain) == 0 ? 1 : -1;
}

const char *bwc_args_get(const bwc_args *a, const char *name, const char *def)
{
    long d = find_def(a, name, strlen(name));
    const char *chain = chain_of(a);
    const char *best = NULL;
    int best_level = 3;
    for (size_t i = 0; d >= 0 && i < a->n; i++) {
        if (a->e[i].def != (size_t)d)
            continue;
        int lv = level_of(&a->e[i], chain);
        if (lv >= 0 && lv <= best_level) { /* later entries of the same level win */
            best = a->e[i].value;
            best_level = lv;
        }
    }
    return best ? best : def;
}

int bwc_args_get_int(const bwc_args *a, const char *name, int64_t def, int64_t min, int64_t max,
                     int64_t *out, char *err, size_t errlen)
{
    const char *v = bwc_args_get(a, name, NULL);
    *out = def;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        return bwc_errf(err, errlen, "-%s=%s: expected an integer from %lld to %lld", name, v,
                    (long long)min, (long long)max);
    if (x < min || x > max)
        return bwc_errf(err, errlen, "-%s=%s is out of range (%lld to %lld)", name, v, (long long)min,
                    (long long)max);
    *out = (int64_t)x;
    return 0;
}

int bwc_args_get_bool(const bwc_args *a, const char *name, int def)
{
    const char *v = bwc_args_get(a, name, NULL);
    if (!v)
        return def;
    return strcmp(v, "0") != 0;
}

const char **bwc_args_get_all(const bwc_args *a, const char *name, size_t *n)
{
    long d = find_def(a, name, strlen(name));
    const char *chain = chain_of(a);
    const char **out = NULL;
    size_t cnt = 0;
    *n = 0;
    if (d < 0)
        return NULL;
    if (!(out = malloc((a->n + 1) * sizeof *out)))
        return NULL;
    for (int lv = 0; lv <= 2; lv++) {
        size_t level_start = cnt;
        int blocked = 0;
        for (size_t i = 0; i < a->n; i++) {
            if (a->e[i].def != (size_t)d || level_of(&a->e[i], chain) != lv)
                continue;
            if (a->e[i].negated) {
                cnt = level_start; /* drop this source's earlier values */
                blocked = 1;
            } else {
                out[cnt++] = a->e[i].value;
            }
        }
        if (blocked)
            break; /* and every lower source */
    }
    if (cnt == 0) {
        free(out);
        return NULL;
    }
    *n = cnt;
    return out;
}

int bwc_args_datadir(const bwc_args *a, int create, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    const char *dd = bwc_args_get(a, "datadir", NULL);
    struct stat st;
    if (outlen)
        out[0] = '\0';
    if (dd) {
        char abs[PATH_MAX];
        if (!dd[0] || !strcmp(dd, "0"))
            return bwc_errf(err, errlen, "-datadir needs a directory");
        if (stat(dd, &st) != 0 || !S_ISDIR(st.st_mode))
            return bwc_errf(err, errlen, "specified data directory \"%s\" does not exist", dd);
        if (!realpath(dd, abs))
            return bwc_errf(err, errlen, "cannot resolve data directory \"%s\": %s", dd,
                        strerror(errno));
        if ((size_t)snprintf(out, outlen, "%s", abs) >= outlen)
            return bwc_errf(err, errlen, "data directory path too long");
        return 0;
    }
    const char *home = getenv("HOME");
    if (!home || !home[0])
        return bwc_errf(err, errlen, "HOME is not set: give -datadir=DIR");
    if ((size_t)snprintf(out, outlen, "%s/%s", home, BWC_DATADIR_DEFAULT_NAME) >= outlen)
        return bwc_errf(err, errlen, "data directory path too long");
    if (create && mkdir(out, 0700) != 0 && errno != EEXIST)
        return bwc_errf(err, errlen, "cannot create data directory %s: %s", out, strerror(errno));
    return 0;
}

int bwc_args_chaindir(const bwc_args *a, const char *chain, int create, char *out, size_t outlen,
                      char *err, size_t errlen)
{
    char dir[BWC_PATH_MAX];
    if (!valid_section(chain))
        return bwc_errf(err, errlen, "bad chain name '%s' ([a-z0-9_-], 1-31 characters)", chain);
    if (bwc_args_datadir(a, create, dir, sizeof dir, err, errlen) != 0)
        return -1;
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, chain) >= outlen)
        return bwc_errf(err, errlen, "chain directory path too long");
    if (create && mkdir(out, 0700) != 0 && errno != EEXIST)
        return bwc_errf(err, errlen, "cannot create %s: %s", out, strerror(errno));
    return 0;
}

/* Prints text word-wrapped at 79 columns with a 7-space indent. */
static void print_wrapped(FILE *out, const char *text)
{
    const int indent = 7, width = 79;
    int col = 0;
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            fputc('\n', out);
            col = 0;
            p++;
            continue;
        }
        size_t w = strcspn(p, " \n");
        if (col == 0) {
            fprintf(out, "%*s", indent, "");
            col = indent;
        } else if (col + 1 + (int)w > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (int)w;
        p += w;
        while (*p == ' ')
            p++;
    }
    if (col)
        fputc('\n', out);
}

void bwc_args_print_help(const bwc_arg_def *defs, size_t n_defs, FILE *out)
{
    for (size_t i = 0; i < n_defs; i++) {
        const bwc_arg_def *d = &defs[i];
        if (d->value)
            fprintf(out, "  -%s=%s\n", d->name, d->value);
        else
            fprintf(out, "  -%s\n", d->name);
        char text[2048];
        snprintf(text, sizeof text, "%s%s", d->help ? d->help : "",
                 (d->flags & BWC_ARG_MULTI) ? " (may be given more than once)" : "");
        print_wrapped(out, text);
        fputc('\n', out);
    }
}
