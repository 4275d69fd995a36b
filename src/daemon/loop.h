/*
 * loop: the daemon's event loop (poll): file descriptors with a callback,
 * and timers. Everything the control plane serves (console socket, API,
 * REST) hangs on one loop on one thread, so commands run one at a time
 * against the store. Callbacks may add and remove watches, including their
 * own.
 */
#ifndef ROSFW_DAEMON_LOOP_H
#define ROSFW_DAEMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;

typedef void (*loop_fd_fn)(struct loop *l, int fd, short revents, void *ctx);
typedef void (*loop_timer_fn)(struct loop *l, void *ctx);

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* events: POLLIN / POLLOUT. Replaces an existing watch of the same fd. */
int loop_watch(struct loop *l, int fd, short events, loop_fd_fn fn, void *ctx);
void loop_unwatch(struct loop *l, int fd);
/* A timer firing every period_ms (0 = once after delay_ms). Returns an id. */
int loop_timer(struct loop *l, uint64_t delay_ms, uint64_t period_ms, loop_timer_fn fn, void *ctx);
void loop_cancel(struct loop *l, int timer_id);
/* Runs until loop_stop (or a signal handler sets *stop). */
void loop_run(struct loop *l, volatile int *stop);
void loop_stop(struct loop *l);
/* Monotonic milliseconds. */
uint64_t loop_now_ms(void);

#endif
