/* The host terminal behind `--console stdio`: raw mode while the VM runs, and a restore that
 * works on every way out.
 *
 * There is one controlling terminal per process, so this module keeps its (small) state in
 * file-scope variables: the fd and the termios saved by the first terminal_enter_raw().
 *
 * Exit paths: terminal_enter_raw() registers terminal_restore() with atexit() once; the console
 * calls terminal_restore() in console_stop(); the VMM's SIGINT/SIGTERM path ends through
 * console_stop()/exit(); a fatal-signal handler may call terminal_restore() directly (it only
 * uses tcsetattr(), which POSIX lists as async-signal-safe, and a sig_atomic_t flag). */
#ifndef VMM_TERMINAL_H
#define VMM_TERMINAL_H

/* If `fd` is a terminal, save its settings and switch it to raw mode: no echo, no line editing,
 * no signal keys (Ctrl-C goes to the guest, as in QEMU's -nographic), 8-bit clean input, VMIN 1.
 * Output post-processing (OPOST/ONLCR) is kept, as QEMU does, so a guest's bare "\n" still
 * starts a new line. Also tells base/log.h to end lines with "\r\n".
 * Returns 1 when the terminal is now raw, 0 when `fd` is not a terminal (nothing done), or
 * -errno. Calling it again while raw is a no-op returning 1. */
int terminal_enter_raw(int fd);

/* Put the terminal back as terminal_enter_raw() found it. Idempotent; does nothing if raw mode
 * was never entered. Async-signal-safe (tcsetattr only), so a signal handler may call it. */
void terminal_restore(void);

#endif
