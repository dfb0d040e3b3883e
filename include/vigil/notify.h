/* notify.h - the systemd notification protocol (sd_notify) without
 * libsystemd: one datagram to $NOTIFY_SOCKET per message.
 *
 * Lifecycle: none; vigil_notify("READY=1") once started, "RELOADING=1" and
 * "READY=1" around a reload, "STOPPING=1" at the end, and "WATCHDOG=1" every
 * vigil_notify_watchdog_ms() / 2 when that is not 0.
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <stdint.h>

/* 0 when NOTIFY_SOCKET is not set (not under systemd: nothing to do),
 * 1 when sent, -errno on failure. */
int vigil_notify(const char *state);
/* The watchdog interval systemd asked for (WatchdogSec=), in ms; 0 when none
 * or when WATCHDOG_PID names another process. */
uint64_t vigil_notify_watchdog_ms(void);

#endif
