/* args.h: Bitcoin Core-style options and bwc.conf, checked against the program's option table. */
#ifndef BWC_COMMON_ARGS_H
#define BWC_COMMON_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Option flags (bwc_arg_def.flags). */
#define BWC_ARG_MULTI 0x1u        /* may be given more than once: read with bwc_args_get_all */
#define BWC_ARG_INT 0x2u          /* the value must be a decimal integer (range: at get time) */
#define BWC_ARG_CMDLINE_ONLY 0x4u /* refused in a config file (-datadir, -conf) */
#define BWC_ARG_BARE_OK 0x8u      /* a value option that may be given bare, meaning "1" (-debug) */

#define BWC_CONF_FILENAME "bwc.conf"
#define BWC_DATADIR_DEFAULT_NAME ".bwc" /* under $HOME */
#define BWC_PATH_MAX 4096

/* One allowed option. A program passes a static table of these; -help is generated from it. */
typedef struct {
    const char *name;  /* without dashes: "datadir" */
    const char *value; /* how -help shows the value, "<dir>"; NULL makes a switch (0 or 1) */
    unsigned flags;    /* BWC_ARG_* */
    const char *help;  /* free text, wrapped by bwc_args_print_help */
} bwc_arg_def;

/* Parsed options: the command line, the config file's top section and its [chain] sections.
 * Precedence for a value: command line, then the chosen chain's section, then the top of
 * the file, then the caller's default; the last occurrence within one source wins. */
typedef struct bwc_args bwc_args;

/* Creates an empty set for the given table (not copied: it must outlive the set). Returns
 * NULL when out of memory. Free with bwc_args_free. */
bwc_args *bwc_args_new(const bwc_arg_def *defs, size_t n_defs);

/* Frees a, and every string bwc_args_get returned from it. NULL is fine. */
void bwc_args_free(bwc_args *a);

/* Parses options from argv[1..]: -name=value, -name (a switch: "1"), -noname ("0"; for a
 * multi-valued option it drops the values of lower-precedence sources), with one or two
 * leading dashes; -h and -? mean -help. Parsing stops at the first argument that does not
 * start with '-' (or is "-"), whose index goes to *first_arg (argc when there is none; on
 * failure, the index of the offending option).
 * Returns 0, or -1 with err naming the offending option, e.g.
 *   unknown option -rpcprot
 *   -rpcport=abc: expected an integer */
int bwc_args_parse_cmdline(bwc_args *a, int argc, char *const *argv, int *first_arg, char *err,
                           size_t errlen);

/* Reads a config file of "name=value" lines: '#' starts a comment anywhere on a line (so no
 * value can contain '#'), blank lines are skipped, "[name]" starts a section that applies
 * only when that chain is selected; "noname=1" negates. Unknown names are an error naming
 * file and line unless ignore_unknown (bwc-cli reads the node's file and skips node options).
 * Returns 0, or -1 with err ("bwc.conf:12: unknown option 'rpcprot'"). */
int bwc_args_read_config_file(bwc_args *a, const char *path, int ignore_unknown, char *err,
                              size_t errlen);

/* Reads the config file the options point to: -conf=FILE (relative to the data directory;
 * it must exist; -noconf reads none), else <datadir>/bwc.conf when it exists. Call after
 * bwc_args_parse_cmdline. Returns 0, or -1 with err. */
int bwc_args_read_config(bwc_args *a, int ignore_unknown, char *err, size_t errlen);

/* The value of name, or def when it was not given. A negated option reads "0", a bare switch
 * "1". The string belongs to a (or is def): valid until bwc_args_free. */
const char *bwc_args_get(const bwc_args *a, const char *name, const char *def);

/* The integer value of name (def when not given) in *out. Returns 0, or -1 with err such as
 * "-rpcport=70000 is out of range (1 to 65535)" (*out is then def). */
int bwc_args_get_int(const bwc_args *a, const char *name, int64_t def, int64_t min, int64_t max,
                     int64_t *out, char *err, size_t errlen);

/* A switch's value: 1 or 0, def when not given. (Switch values are checked while parsing.) */
int bwc_args_get_bool(const bwc_args *a, const char *name, int def);

/* Every value of a multi-valued option, command line first, then the chain's section, then
 * the top of the file; a negation drops the values before it in its source and every value
 * of the sources below. Returns a new array of *n pointers (free() the array, not the
 * strings, which belong to a), or NULL with *n = 0 when there is none or no memory. */
const char **bwc_args_get_all(const bwc_args *a, const char *name, size_t *n);

/* The selected chain: -chain from the command line, else chain= from the file's top section,
 * else "main". Belongs to a. */
const char *bwc_args_chain(const bwc_args *a);

/* Makes chain the selected one from now on (a program that ran a -chainspec file names its
 * chain after it): its config section applies. Returns 0, or -1 for a bad name. */
int bwc_args_set_chain(bwc_args *a, const char *chain);

/* Writes the data directory to out (outlen bytes): -datadir made absolute (it must exist and
 * be a directory), else $HOME/.bwc, which is created (mode 0700) when create is set. Returns
 * 0, or -1 with err. */
int bwc_args_datadir(const bwc_args *a, int create, char *out, size_t outlen, char *err,
                     size_t errlen);

/* Writes the chain's directory <datadir>/<chain> to out. Every chain, main included, has its
 * own subdirectory (simpler than Bitcoin Core, which keeps main's files in the datadir
 * itself). chain must be 1-31 characters of [a-z0-9_-]. With create, the data directory (if
 * it is the default) and the chain directory are created, mode 0700. Returns 0, or -1. */
int bwc_args_chaindir(const bwc_args *a, const char *chain, int create, char *out, size_t outlen,
                      char *err, size_t errlen);

/* Prints the options of a table in Bitcoin Core's -help layout: "  -name=<value>" and the help
 * text below it, indented and wrapped at 79 columns. */
void bwc_args_print_help(const bwc_arg_def *defs, size_t n_defs, FILE *out);

#endif
