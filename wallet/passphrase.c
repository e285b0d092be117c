/* passphrase.c: the wallet passphrase from a file, an environment variable or the terminal. */
#include "wallet/passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "consensus/key.h"

void bwc_passphrase_wipe(bwc_passphrase *p)
{
    bwc_cleanse(p, sizeof *p);
}

/* Removes one trailing "\n" or "\r\n". */
static void chomp(bwc_passphrase *p)
{
    if (p->len && p->s[p->len - 1] == '\n')
        p->s[--p->len] = '\0';
    if (p->len && p->s[p->len - 1] == '\r')
        p->s[--p->len] = '\0';
}

static int from_file(bwc_passphrase *out, const char *file, char *err, size_t errlen)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the passphrase file %s: %s", file, strerror(errno));
        return -1;
    }
    /* Read up to the first line end, one byte at a time, so nothing beyond it is buffered. */
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read the passphrase file %s: %s", file, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0 || c == '\n')
            break;
        if (out->len == BWC_PASSPHRASE_MAX) {
            snprintf(err, errlen, "the passphrase in %s is longer than %d bytes", file,
                     BWC_PASSPHRASE_MAX);
            close(fd);
            return -1;
        }
        out->s[out->len++] = c;
    }
    close(fd);
    out->s[out->len] = '\0';
    chomp(out);
    return 0;
}

/* The terminal state to restore if a signal arrives while echo is off. A process prompts at
 * most once at a time, so one saved state is enough; the handler only calls tcsetattr, which
 * is async-signal-safe. */
static volatile sig_atomic_t tty_saved_fd = -1;
static struct termios tty_saved;

static void restore_and_reraise(int sig)
{
    if (tty_saved_fd >= 0)
        tcsetattr(tty_saved_fd, TCSAFLUSH, &tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int trapped[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define N_TRAPPED (sizeof trapped / sizeof trapped[0])

/* Prompts once on tty (an open /dev/tty). Returns 0 or -1 with err. */
static int ask(int tty, const char *prompt, bwc_passphrase *out, char *err, size_t errlen)
{
    struct termios quiet;
    struct sigaction sa, old[N_TRAPPED];
    int echo_off = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (tcgetattr(tty, &tty_saved) == 0) {
        quiet = tty_saved;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = restore_and_reraise;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < N_TRAPPED; i++)
            sigaction(trapped[i], &sa, &old[i]);
        tty_saved_fd = tty;
        echo_off = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
    }
    if (write(tty, prompt, strlen(prompt)) < 0) {
        snprintf(err, errlen, "cannot write to the terminal: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        char c;
        ssize_t r = read(tty, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read from the terminal: %s", strerror(errno));
            goto out;
        }
        if (r == 0 || c == '\n' || c == '\r')
            break;
        if (out->len == BWC_PASSPHRASE_MAX) {
            snprintf(err, errlen, "the passphrase is longer than %d bytes", BWC_PASSPHRASE_MAX);
            goto out;
        }
        out->s[out->len++] = c;
    }
    out->s[out->len] = '\0';
    rc = 0;
out:
    if (echo_off) {
        tcsetattr(tty, TCSAFLUSH, &tty_saved);
        if (write(tty, "\n", 1) < 0) {
            /* nothing to do: the line end is cosmetic */
        }
    }
    if (tty_saved_fd >= 0) {
        tty_saved_fd = -1;
        for (size_t i = 0; i < N_TRAPPED; i++)
            sigaction(trapped[i], &old[i], NULL);
    }
    if (rc != 0)
        bwc_passphrase_wipe(out);
    return rc;
}

int bwc_passphrase_get(bwc_passphrase *out, const char *file, const char *envname,
                       const char *prompt, int confirm, char *err, size_t errlen)
{
    const char *env = envname ? getenv(envname) : NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (file) {
        rc = from_file(out, file, err, errlen);
    } else if (env) {
        size_t n = strlen(env);
        if (n > BWC_PASSPHRASE_MAX) {
            snprintf(err, errlen, "$%s is longer than %d bytes", envname, BWC_PASSPHRASE_MAX);
            return -1;
        }
        memcpy(out->s, env, n + 1);
        out->len = n;
        rc = 0;
    } else {
        int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (tty < 0) {
            snprintf(err, errlen,
                     "no passphrase: there is no terminal to ask on; give -passphrase-file=FILE "
                     "or set %s",
                     envname ? envname : BWC_PASSPHRASE_ENV);
            return -1;
        }
        rc = ask(tty, prompt, out, err, errlen);
        if (rc == 0 && confirm) {
            bwc_passphrase again;
            rc = ask(tty, "Repeat the passphrase: ", &again, err, errlen);
            if (rc == 0 && (again.len != out->len || memcmp(again.s, out->s, out->len) != 0)) {
                snprintf(err, errlen, "the two passphrases differ; nothing was changed");
                rc = -1;
            }
            bwc_passphrase_wipe(&again);
        }
        close(tty);
    }
    if (rc == 0 && confirm && out->len == 0) {
        snprintf(err, errlen, "the passphrase may not be empty");
        rc = -1;
    }
    if (rc != 0)
        bwc_passphrase_wipe(out);
    return rc;
}
