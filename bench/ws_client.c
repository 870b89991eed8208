/* WebSocket echo load generator for bench/ws_echo.py (built by it with `cc -O2`).
 *
 * Principle: a Python client saturates its core long before a fast server does, so the load
 * comes from this small epoll loop. Each of CONNS connections does the opening handshake
 * (RFC 6455 section 4.1), then keeps exactly one binary message of SIZE bytes in flight: send,
 * wait for the whole echo, record the round trip, send the next. Messages sent during the
 * warm-up are not counted; the measured window is the DURATION seconds after it. Server pings
 * are answered (RFC 6455 section 5.5.2); a close frame or a lost connection counts as an error.
 *
 * usage: ws_client HOST PORT PATH CONNS SIZE WARMUP_S DURATION_S
 * prints one JSON object: messages, seconds, p50/p90/p99/max round trip in microseconds,
 * errors, connections opened.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  unsigned char *rbuf;
  size_t rlen, rcap;
  const unsigned char *wdata; /* frame being written */
  size_t wlen, wpos;
  unsigned char pong[140];
  size_t got; /* bytes of the echo received so far (over its fragments) */
  double sent_at;
  int alive, want_out;
} Conn;

static const unsigned char kMask[4] = {0x5a, 0x13, 0xc4, 0x7e};
static unsigned char *g_frame;
static size_t g_frame_len;
static size_t g_size;
static int g_ep;

static uint32_t *g_lat;
static size_t g_nlat, g_caplat;
static long g_messages, g_errors;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t frame_header(unsigned char *h, int opcode, size_t n) {
  size_t i = 0;
  h[i++] = 0x80 | opcode;
  if (n < 126) {
    h[i++] = 0x80 | n;
  } else if (n < 65536) {
    h[i++] = 0x80 | 126;
    h[i++] = n >> 8;
    h[i++] = n & 0xff;
  } else {
    h[i++] = 0x80 | 127;
    for (int k = 7; k >= 0; k--) h[i++] = (n >> (8 * k)) & 0xff;
  }
  memcpy(h + i, kMask, 4);
  return i + 4;
}

static void fail(Conn *c) {
  if (!c->alive) return;
  c->alive = 0;
  g_errors++;
  epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
}

static void set_out(Conn *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = on;
}

static void flush(Conn *c) {
  while (c->alive && c->wpos < c->wlen) {
    ssize_t n = send(c->fd, c->wdata + c->wpos, c->wlen - c->wpos, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        set_out(c, 1);
        return;
      }
      fail(c);
      return;
    }
    c->wpos += n;
  }
  set_out(c, 0);
}

static void send_message(Conn *c) {
  c->wdata = g_frame;
  c->wlen = g_frame_len;
  c->wpos = 0;
  c->sent_at = now();
  flush(c);
}

static void record(double rtt_s) {
  if (g_nlat == g_caplat) {
    g_caplat = g_caplat ? 2 * g_caplat : 1 << 20;
    g_lat = realloc(g_lat, g_caplat * sizeof *g_lat);
  }
  g_lat[g_nlat++] = (uint32_t)(rtt_s * 1e6);
}

/* Consumes whole frames from the read buffer. */
static void on_frames(Conn *c, double t_warm, double t_end) {
  size_t off = 0;
  for (;;) {
    unsigned char *p = c->rbuf + off;
    size_t avail = c->rlen - off;
    if (avail < 2) break;
    size_t n = p[1] & 0x7f, h = 2;
    if (n == 126) {
      if (avail < 4) break;
      n = (p[2] << 8) | p[3];
      h = 4;
    } else if (n == 127) {
      if (avail < 10) break;
      n = 0;
      for (int k = 0; k < 8; k++) n = (n << 8) | p[2 + k];
      h = 10;
    }
    if (avail < h + n) {
      if (h + n > c->rcap) {
        c->rcap = h + n + 4096;
        unsigned char *nb = malloc(c->rcap);
        memcpy(nb, p, avail);
        free(c->rbuf);
        c->rbuf = nb;
        c->rlen = avail;
        return;
      }
      break;
    }
    int opcode = p[0] & 0x0f;
    if (opcode == 0x9 && n <= 125) { /* ping: pong with the same payload, masked */
      size_t hl = frame_header(c->pong, 0xA, n);
      for (size_t k = 0; k < n; k++) c->pong[hl + k] = p[h + k] ^ kMask[k % 4];
      if (c->wpos == c->wlen) { /* between messages only: never inside a data frame */
        const unsigned char *save = c->wdata;
        size_t slen = c->wlen, spos = c->wpos;
        c->wdata = c->pong, c->wlen = hl + n, c->wpos = 0;
        flush(c);
        if (c->wpos == c->wlen) c->wdata = save, c->wlen = slen, c->wpos = spos;
      }
    } else if (opcode == 0x2 || opcode == 0x0) { /* the echo, perhaps fragmented */
      c->got += n;
      if (!(p[0] & 0x80)) {
        off += h + n;
        continue;
      }
      if (c->got != g_size) {
        fail(c);
        return;
      }
      c->got = 0;
      double t = now();
      if (c->sent_at >= t_warm && t <= t_end) {
        g_messages++;
        record(t - c->sent_at);
      }
      if (t < t_end) send_message(c);
    } else if (opcode != 0xA) { /* a close, or anything unexpected */
      fail(c);
      return;
    }
    off += h + n;
  }
  memmove(c->rbuf, c->rbuf + off, c->rlen - off);
  c->rlen -= off;
}

static int handshake(Conn *c, const char *host, int port, const char *path) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char req[512];
  int len = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
  if (send(c->fd, req, len, MSG_NOSIGNAL) != len) return -1;
  char head[4096];
  size_t got = 0;
  char *end = NULL;
  while (!end) {
    ssize_t n = recv(c->fd, head + got, sizeof head - 1 - got, 0);
    if (n <= 0) return -1;
    got += n;
    head[got] = 0;
    end = strstr(head, "\r\n\r\n");
    if (!end && got >= sizeof head - 1) return -1;
  }
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) return -1;
  size_t rest = got - (end + 4 - head);
  c->rcap = 2 * g_size + 4096;
  c->rbuf = malloc(c->rcap);
  memcpy(c->rbuf, end + 4, rest);
  c->rlen = rest;
  fcntl(c->fd, F_SETFL, O_NONBLOCK);
  c->alive = 1;
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(double q) {
  if (!g_nlat) return -1;
  size_t i = (size_t)(q * (g_nlat - 1));
  return g_lat[i];
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s HOST PORT PATH CONNS SIZE WARMUP_S DURATION_S\n", argv[0]);
    return 2;
  }
  const char *host = argv[1], *path = argv[3];
  int port = atoi(argv[2]), nconn = atoi(argv[4]);
  g_size = strtoul(argv[5], NULL, 10);
  double warm = atof(argv[6]), dur = atof(argv[7]);

  g_frame = malloc(g_size + 14);
  size_t hl = frame_header(g_frame, 0x2, g_size);
  for (size_t k = 0; k < g_size; k++) g_frame[hl + k] = ('a' + k % 26) ^ kMask[k % 4];
  g_frame_len = hl + g_size;

  g_ep = epoll_create1(0);
  Conn *conns = calloc(nconn, sizeof *conns);
  int opened = 0;
  for (int i = 0; i < nconn; i++) {
    if (handshake(&conns[i], host, port, path) != 0) {
      fprintf(stderr, "connection %d: handshake failed\n", i);
      g_errors++;
      continue;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    opened++;
  }
  double t0 = now(), t_warm = t0 + warm, t_end = t_warm + dur;
  for (int i = 0; i < nconn; i++)
    if (conns[i].alive) send_message(&conns[i]);

  struct epoll_event evs[256];
  while (now() < t_end) {
    int n = epoll_wait(g_ep, evs, 256, 100);
    double t = now();
    if (t < t_warm) { /* the counters start with the measured window */
      g_messages = 0;
      g_nlat = 0;
    }
    for (int i = 0; i < n; i++) {
      Conn *c = evs[i].data.ptr;
      if (!c->alive) continue;
      if (evs[i].events & EPOLLOUT) flush(c);
      if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        if (c->rlen == c->rcap) {
          c->rcap *= 2;
          c->rbuf = realloc(c->rbuf, c->rcap);
        }
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (r > 0) {
          c->rlen += r;
          on_frames(c, t_warm, t_end);
          if (!c->alive) break;
          continue;
        }
        if (r < 0 && errno == EAGAIN) break;
        fail(c);
        break;
      }
    }
  }
  qsort(g_lat, g_nlat, sizeof *g_lat, cmp_u32);
  printf("{\"messages\": %ld, \"seconds\": %.3f, \"p50_us\": %.0f, \"p90_us\": %.0f, "
         "\"p99_us\": %.0f, \"max_us\": %.0f, \"errors\": %ld, \"opened\": %d}\n",
         g_messages, dur, pct(0.50), pct(0.90), pct(0.99), pct(1.0), g_errors, opened);
  return 0;
}
