/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The I/O both loaders (riposte-sensor, riposte-enforcer) share: a buffered
 * stdout of length-prefixed little-endian frames, the builders of the loader's
 * own frames, and line-based control commands read from stdin. Include once,
 * after defining LOADER_NAME and FRAME_VERSION and declaring
 * `static bool exiting;`; the loader defines `handle_command()`.
 */
#ifndef RIPOSTE_LOADER_IO_H
#define RIPOSTE_LOADER_IO_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef LOADER_NAME
#error "define LOADER_NAME before including loader_io.h"
#endif
#ifndef FRAME_VERSION
#error "define FRAME_VERSION before including loader_io.h"
#endif

#define OUT_CAP (1 << 20)

static unsigned char out_buf[OUT_CAP];
static size_t out_len;
static unsigned long long frames_out;

/* write out everything buffered; a closed reader ends the loader */
static void out_flush(void)
{
	size_t done = 0;

	while (done < out_len) {
		ssize_t n = write(STDOUT_FILENO, out_buf + done, out_len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EPIPE)
				fprintf(stderr, LOADER_NAME ": stdout: %s\n", strerror(errno));
			exiting = true; /* reader gone */
			out_len = 0;
			return;
		}
		done += n;
	}
	out_len = 0;
}

static void out_put(const void *data, size_t len)
{
	if (out_len + len > OUT_CAP)
		out_flush();
	if (len > OUT_CAP)
		return; /* cannot happen: frames are < 64 KiB */
	memcpy(out_buf + out_len, data, len);
	out_len += len;
	frames_out++;
}

/* loader frames are assembled here: prefix, then raw little-endian fields */
struct frame {
	unsigned char b[65536];
	size_t n;
};

static void fr_begin(struct frame *f, __u16 type)
{
	__u16 version = FRAME_VERSION;

	f->n = 4;
	memcpy(f->b + f->n, &type, 2);
	f->n += 2;
	memcpy(f->b + f->n, &version, 2);
	f->n += 2;
}

static void fr_put(struct frame *f, const void *p, size_t len)
{
	if (f->n + len > sizeof(f->b))
		return;
	memcpy(f->b + f->n, p, len);
	f->n += len;
}

static void fr_u16(struct frame *f, __u16 v) { fr_put(f, &v, 2); }
static void fr_u32(struct frame *f, __u32 v) { fr_put(f, &v, 4); }
static void fr_u64(struct frame *f, __u64 v) { fr_put(f, &v, 8); }

static void fr_str(struct frame *f, const char *s)
{
	size_t len = strlen(s);

	if (len > sizeof(f->b) - 64)
		len = sizeof(f->b) - 64;
	fr_u16(f, len);
	fr_put(f, s, len);
}

static void fr_end(struct frame *f)
{
	__u32 len = f->n;

	memcpy(f->b, &len, 4);
	out_put(f->b, f->n);
}

/* CLOCK_BOOTTIME (kernel timestamps) to CLOCK_REALTIME offset, in ns */
static __s64 boot_to_realtime_ns(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((__s64)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

/* ---- control commands on stdin, one per line ---- */

#define LINE_MAX_LEN 4096

static void handle_command(char *line);

static char line_buf[LINE_MAX_LEN];
static size_t line_len;

/* reads what stdin has and runs each complete line; returns false on eof */
static bool read_commands(void)
{
	char chunk[4096];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	for (ssize_t i = 0; i < n; i++) {
		if (chunk[i] == '\n') {
			line_buf[line_len] = 0;
			handle_command(line_buf);
			line_len = 0;
		} else if (line_len < sizeof(line_buf) - 1) {
			line_buf[line_len++] = chunk[i];
		}
	}
	return true;
}

#endif /* RIPOSTE_LOADER_IO_H */
