/*
 * flame demo program: a toy request handler with a few recognisable hot spots, so the flame
 * graph has something to tell.
 *
 *   main -> serve -> handle_request -> parse_request -> tokenize
 *                                   -> render_page -> escape_html
 *                                   -> compress_response -> checksum
 *                 -> sort_index -> qsort (libc) -> compare_keys
 *                 -> write_log -> write(2)                          (the kernel)
 *
 * Usage: demo [SECONDS]   (default 1.5)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;
static const char *REQUEST =
    "GET /products?id=42&sort=price HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n\r\n";

NOINLINE int tokenize(const char *s, char out[][64], int max) {
  int n = 0, len = 0;
  for (; *s && n < max; s++) {
    if (*s == ' ' || *s == '\r' || *s == '\n' || *s == '&' || *s == '?') {
      if (len) out[n++][len] = 0, len = 0;
    } else if (len < 63) {
      out[n][len++] = *s;
    }
  }
  return n;
}

NOINLINE int parse_request(const char *req) {
  static char tokens[64][64];
  int total = 0;
  for (int i = 0; i < 40; i++) total += tokenize(req, tokens, 64);
  return total;
}

NOINLINE size_t escape_html(const char *in, char *out) {
  size_t o = 0;
  for (; *in; in++) {
    switch (*in) {
      case '<': memcpy(out + o, "&lt;", 4); o += 4; break;
      case '>': memcpy(out + o, "&gt;", 4); o += 4; break;
      case '&': memcpy(out + o, "&amp;", 5); o += 5; break;
      default: out[o++] = *in;
    }
  }
  out[o] = 0;
  return o;
}

NOINLINE size_t render_page(char *page) {
  static char escaped[1024];
  size_t n = 0;
  for (int row = 0; row < 120; row++) {
    n += escape_html("<tr><td>Widget & gadget</td><td>42.00</td></tr>", escaped);
    memcpy(page + (row % 8) * 128, escaped, 100);
  }
  return n;
}

NOINLINE unsigned long checksum(const unsigned char *p, size_t n) {
  unsigned long a = 1, b = 0;
  for (size_t i = 0; i < n; i++) a = (a + p[i]) % 65521, b = (b + a) % 65521;
  return (b << 16) | a;
}

NOINLINE unsigned long compress_response(const char *page, size_t n) {
  unsigned long sum = 0;
  for (int pass = 0; pass < 6; pass++) sum += checksum((const unsigned char *)page, n);
  return sum;
}

NOINLINE void handle_request(void) {
  static char page[1024];
  sink += (unsigned long)parse_request(REQUEST);
  size_t n = render_page(page);
  sink += compress_response(page, n < sizeof page ? n : sizeof page);
}

NOINLINE int compare_keys(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return (x > y) - (x < y);
}

NOINLINE void sort_index(void) {
  enum { N = 1200 };
  static unsigned keys[N];
  for (int i = 0; i < N; i++) keys[i] = (unsigned)rand();
  qsort(keys, N, sizeof keys[0], compare_keys);
  sink += keys[N / 2];
}

NOINLINE void write_log(int fd) {
  static char line[4096];
  memset(line, 'x', sizeof line);
  for (int i = 0; i < 8; i++) {
    if (write(fd, line, sizeof line) < 0) return;
  }
}

NOINLINE void serve(int fd) {
  for (int i = 0; i < 20; i++) handle_request();
  sort_index();
  write_log(fd);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.5;
  int fd = open("/dev/null", O_WRONLY);
  double end = now() + seconds;
  unsigned long requests = 0;
  while (now() < end) serve(fd), requests += 20;
  printf("demo: served %lu requests\n", requests);
  return 0;
}
