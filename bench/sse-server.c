/*
 * sse-server.c: a fast OpenAI-compatible streaming server that logs ground truth, for
 * `npm run bench:client`. It exists so the load generator can be checked against something that is
 * never the bottleneck and always knows exactly when it wrote each byte.
 *
 * One thread, epoll, non-blocking keep-alive HTTP/1.1 with chunked SSE bodies. Each streaming
 * request gets N tokens (max_tokens / max_completion_tokens in the body, else --tokens): token i is
 * due at arrival + ttft + i * itl on an absolute CLOCK_MONOTONIC schedule (a timerfd armed with
 * TFD_TIMER_ABSTIME for the earliest due stream). With --itl-us 0 tokens are due at once and each
 * stream writes up to --batch events per send(), round-robin across streams.
 *
 * A request's arrival is the kernel's receive timestamp of its bytes (SO_TIMESTAMPNS, CLOCK_REALTIME
 * mapped onto CLOCK_MONOTONIC), not the moment this loop got round to reading it: a burst of requests
 * queued behind each other in the server must count as server time, never as client error.
 *
 * Ground truth (binary, little-endian int64 throughout, written at SIGTERM/SIGINT, never on the hot
 * path; times are CLOCK_MONOTONIC ns, the same clock as Node's process.hrtime.bigint()):
 *   magic "TWGT0002", monoAnchorNs, wallAnchorNs (CLOCK_REALTIME, read back to back with the former)
 *   nConns, then nConns x (connId, acceptNs)
 *   nRequests, then per request: seq (the "tw-seq:N" marker in the body, else -1), connId, arrivalNs
 *     (kernel receive time; the read time when the kernel gave none), readNs (when the server read
 *     it), written (token chunks written), then `written` x writeNs (time just before the send() that
 *     carried that token chunk).
 * At exit one JSON line "stats {...}" goes to stdout (CPU time, writes, EAGAINs, schedule lag).
 *
 * Build: cc -O2 -o sse-server sse-server.c      Run: sse-server --port 0 --itl-us 10000 --log gt.bin
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    fprintf(stderr, "sse-server: out of memory\n");
    exit(2);
  }
  return q;
}

/* ---------- options ---------- */
static int opt_port = 0;
static int64_t opt_ttft_ns = 0;
static int64_t opt_itl_ns = 0;
static int opt_tokens = 256;
static int opt_batch = 16;
static const char *opt_log = NULL;
static const char *opt_model = "bench";

/* ---------- ground-truth log: one growable int64 arena ---------- */
static int64_t *arena = NULL;
static size_t arena_len = 0, arena_cap = 0;
static int64_t n_requests = 0;
static int64_t *conn_log = NULL; /* pairs (connId, acceptNs) */
static size_t conn_log_len = 0, conn_log_cap = 0;

/* per request in the arena: seq, connId, arrivalNs, readNs, written, reserved, then the write times */
#define LOG_HEAD 6

static size_t arena_reserve(size_t n) {
  if (arena_len + n > arena_cap) {
    size_t cap = arena_cap ? arena_cap : 1 << 20;
    while (cap < arena_len + n) cap *= 2;
    arena = xrealloc(arena, cap * sizeof(int64_t));
    arena_cap = cap;
  }
  size_t at = arena_len;
  arena_len += n;
  return at;
}

/* ---------- stats ---------- */
static int64_t st_writes = 0, st_eagain = 0, st_tokens = 0, st_lag_max_ns = 0, st_lag_over_1ms = 0;
static int64_t st_conns = 0, st_timer_arms = 0;

/* ---------- connections ---------- */
enum { API_CHAT = 0, API_COMPLETIONS = 1 };

typedef struct conn {
  int fd;
  int64_t id;
  char *in;
  size_t in_len, in_cap;
  char *out;
  size_t out_len, out_off, out_cap;
  int blocked; /* waiting for EPOLLOUT */
  int close_after;
  /* the stream in progress */
  int streaming;
  int api;
  int include_usage;
  int total, sent;
  int prompt_tokens;
  int64_t recv_ns, next_ns;
  int64_t arrival_ns; /* kernel receive time of the last bytes read, CLOCK_MONOTONIC */
  size_t log_at; /* arena index of this request's header */
  int heap_idx;  /* -1 when not scheduled */
  char ev[512];
  int ev_len;
  char ev_last[512];
  int ev_last_len;
  char ev_role[512];
  int ev_role_len;
  char ev_usage[512];
  int ev_usage_len;
} conn;

static conn **heap = NULL;
static int heap_len = 0, heap_cap = 0;

static void heap_swap(int a, int b) {
  conn *t = heap[a];
  heap[a] = heap[b];
  heap[b] = t;
  heap[a]->heap_idx = a;
  heap[b]->heap_idx = b;
}
static void heap_up(int i) {
  while (i > 0) {
    int p = (i - 1) / 2;
    if (heap[p]->next_ns <= heap[i]->next_ns) break;
    heap_swap(i, p);
    i = p;
  }
}
static void heap_down(int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_len && heap[l]->next_ns < heap[m]->next_ns) m = l;
    if (r < heap_len && heap[r]->next_ns < heap[m]->next_ns) m = r;
    if (m == i) return;
    heap_swap(i, m);
    i = m;
  }
}
static void heap_push(conn *c) {
  if (heap_len == heap_cap) {
    heap_cap = heap_cap ? heap_cap * 2 : 1024;
    heap = xrealloc(heap, (size_t)heap_cap * sizeof(conn *));
  }
  heap[heap_len] = c;
  c->heap_idx = heap_len++;
  heap_up(c->heap_idx);
}
static void heap_remove(conn *c) {
  int i = c->heap_idx;
  if (i < 0) return;
  heap_len--;
  if (i != heap_len) {
    heap[i] = heap[heap_len];
    heap[i]->heap_idx = i;
    heap_up(i);
    heap_down(heap[i]->heap_idx);
  }
  c->heap_idx = -1;
}

static int ep = -1, tfd = -1, lfd = -1;
static int64_t timer_armed_ns = -1;
static int64_t created_s = 0;
static volatile sig_atomic_t stop_flag = 0;

static void out_append(conn *c, const char *p, size_t n) {
  if (c->out_len + n > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 16384;
    while (cap < c->out_len + n) cap *= 2;
    c->out = xrealloc(c->out, cap);
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

/* Appends one SSE event framed as one HTTP chunk. */
static int frame_event(char *dst, size_t cap, const char *json) {
  size_t jl = strlen(json);
  /* "data: " + json + "\n\n" */
  return snprintf(dst, cap, "%zx\r\ndata: %s\n\n\r\n", jl + 8, json);
}

static void finish_request_log(conn *c) {
  if (!c->streaming) return;
  arena[c->log_at + 4] = c->sent;
  c->streaming = 0;
}

static void close_conn(conn *c) {
  heap_remove(c);
  finish_request_log(c);
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->in);
  free(c->out);
  free(c);
}

/* Tries to send what is queued. Returns -1 when the connection died. */
static int flush_out(conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    st_writes++;
    if (w > 0) {
      c->out_off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      st_eagain++;
      c->blocked = 1;
      return 0;
    }
    return -1;
  }
  c->out_off = c->out_len = 0;
  c->blocked = 0;
  return 0;
}

static void respond_simple(conn *c, int status, const char *reason, const char *ctype, const char *body) {
  char hdr[512];
  size_t bl = strlen(body);
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nServer: tokenwatt-bench-sse\r\n%s\r\n",
                   status, reason, ctype, bl, c->close_after ? "Connection: close\r\n" : "");
  out_append(c, hdr, (size_t)n);
  out_append(c, body, bl);
}

/* Finds `"key"` then `:` and returns a pointer after the colon and spaces, or NULL. */
static const char *json_value(const char *body, size_t len, const char *key) {
  size_t kl = strlen(key);
  const char *end = body + len;
  for (const char *p = body; p + kl + 2 <= end; p++) {
    p = memchr(p, '"', (size_t)(end - p));
    if (!p || p + kl + 2 > end) return NULL;
    if (memcmp(p + 1, key, kl) == 0 && p[kl + 1] == '"') {
      const char *q = p + kl + 2;
      while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
      if (q < end && *q == ':') {
        q++;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
        return q;
      }
    }
  }
  return NULL;
}
static long json_int(const char *body, size_t len, const char *key, long dflt) {
  const char *v = json_value(body, len, key);
  if (!v || v >= body + len || !(*v == '-' || (*v >= '0' && *v <= '9'))) return dflt;
  return strtol(v, NULL, 10);
}
static int json_true(const char *body, size_t len, const char *key) {
  const char *v = json_value(body, len, key);
  return v && (size_t)(body + len - v) >= 4 && memcmp(v, "true", 4) == 0;
}

static void start_stream(conn *c, int api, const char *body, size_t blen, int64_t recv_ns, int64_t read_ns) {
  long max_tokens = json_int(body, blen, "max_completion_tokens", -1);
  if (max_tokens < 0) max_tokens = json_int(body, blen, "max_tokens", opt_tokens);
  if (max_tokens < 1) max_tokens = 1;
  if (max_tokens > 1000000) max_tokens = 1000000;
  long seq = -1;
  const char *m = memmem(body, blen, "tw-seq:", 7);
  if (m) seq = strtol(m + 7, NULL, 10);

  c->streaming = 1;
  c->api = api;
  c->include_usage = json_true(body, blen, "include_usage");
  c->total = (int)max_tokens;
  c->sent = 0;
  c->prompt_tokens = (int)(blen / 4 > 0 ? blen / 4 : 1);
  c->recv_ns = recv_ns;
  c->next_ns = recv_ns + opt_ttft_ns;

  c->log_at = arena_reserve(LOG_HEAD + (size_t)max_tokens);
  arena[c->log_at + 0] = seq;
  arena[c->log_at + 1] = c->id;
  arena[c->log_at + 2] = recv_ns;
  arena[c->log_at + 3] = read_ns;
  arena[c->log_at + 4] = 0;
  arena[c->log_at + 5] = max_tokens;
  n_requests++;

  char json[400];
  const char *obj = api == API_CHAT ? "chat.completion.chunk" : "text_completion";
  const char *idp = api == API_CHAT ? "chatcmpl" : "cmpl";
  if (api == API_CHAT) {
    snprintf(json, sizeof json,
             "{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},\"logprobs\":null,\"finish_reason\":null}]}",
             idp, seq, obj, (long long)created_s, opt_model);
    c->ev_len = frame_event(c->ev, sizeof c->ev, json);
    snprintf(json, sizeof json,
             "{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},\"logprobs\":null,\"finish_reason\":\"length\"}]}",
             idp, seq, obj, (long long)created_s, opt_model);
    c->ev_last_len = frame_event(c->ev_last, sizeof c->ev_last, json);
    snprintf(json, sizeof json,
             "{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
             idp, seq, obj, (long long)created_s, opt_model);
    c->ev_role_len = frame_event(c->ev_role, sizeof c->ev_role, json);
  } else {
    snprintf(json, sizeof json,
             "{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"text\":\" tok\",\"logprobs\":null,\"finish_reason\":null}]}",
             idp, seq, obj, (long long)created_s, opt_model);
    c->ev_len = frame_event(c->ev, sizeof c->ev, json);
    snprintf(json, sizeof json,
             "{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"text\":\" tok\",\"logprobs\":null,\"finish_reason\":\"length\"}]}",
             idp, seq, obj, (long long)created_s, opt_model);
    c->ev_last_len = frame_event(c->ev_last, sizeof c->ev_last, json);
    c->ev_role_len = 0;
  }
  snprintf(json, sizeof json,
           "{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"total_tokens\":%d,\"completion_tokens\":%d}}",
           idp, seq, obj, (long long)created_s, opt_model, c->prompt_tokens, c->prompt_tokens + c->total, c->total);
  c->ev_usage_len = frame_event(c->ev_usage, sizeof c->ev_usage, json);

  char hdr[256];
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nServer: tokenwatt-bench-sse\r\nTransfer-Encoding: chunked\r\n%s\r\n",
                   c->close_after ? "Connection: close\r\n" : "");
  out_append(c, hdr, (size_t)n);
  heap_push(c);
}

static void respond_nonstream(conn *c, int api, const char *body, size_t blen) {
  long max_tokens = json_int(body, blen, "max_completion_tokens", -1);
  if (max_tokens < 0) max_tokens = json_int(body, blen, "max_tokens", opt_tokens);
  if (max_tokens < 1) max_tokens = 1;
  if (max_tokens > 100000) max_tokens = 100000;
  size_t cap = (size_t)max_tokens * 4 + 1024;
  char *text = malloc((size_t)max_tokens * 4 + 1);
  char *json = malloc(cap);
  if (!text || !json) exit(2);
  for (long i = 0; i < max_tokens; i++) memcpy(text + i * 4, " tok", 4);
  text[max_tokens * 4] = 0;
  int pt = (int)(blen / 4 > 0 ? blen / 4 : 1);
  if (api == API_CHAT)
    snprintf(json, cap,
             "{\"id\":\"chatcmpl-0\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":%d,\"total_tokens\":%ld,\"completion_tokens\":%ld}}",
             (long long)created_s, opt_model, text, pt, pt + max_tokens, max_tokens);
  else
    snprintf(json, cap,
             "{\"id\":\"cmpl-0\",\"object\":\"text_completion\",\"created\":%lld,\"model\":\"%s\",\"choices\":[{\"index\":0,\"text\":\"%s\",\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":%d,\"total_tokens\":%ld,\"completion_tokens\":%ld}}",
             (long long)created_s, opt_model, text, pt, pt + max_tokens, max_tokens);
  respond_simple(c, 200, "OK", "application/json", json);
  free(text);
  free(json);
}

/* Parses and answers as many complete requests as are buffered (one stream at a time). */
static int handle_input(conn *c, int64_t read_ns) {
  int64_t recv_ns = c->arrival_ns > 0 && c->arrival_ns <= read_ns ? c->arrival_ns : read_ns;
  while (!c->streaming && c->in_len > 0) {
    char *hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!hend) {
      if (c->in_len > 65536) return -1;
      return 0;
    }
    size_t hlen = (size_t)(hend - c->in) + 4;
    size_t clen = 0;
    int chunked = 0;
    c->close_after = 0;
    /* headers */
    for (char *p = memchr(c->in, '\n', hlen); p && p < c->in + hlen; p = memchr(p, '\n', (size_t)(c->in + hlen - p))) {
      p++;
      size_t rest = (size_t)(c->in + hlen - p);
      if (rest > 15 && strncasecmp(p, "content-length:", 15) == 0) clen = (size_t)strtoul(p + 15, NULL, 10);
      else if (rest > 18 && strncasecmp(p, "transfer-encoding:", 18) == 0) chunked = 1;
      else if (rest > 11 && strncasecmp(p, "connection:", 11) == 0) {
        const char *v = p + 11;
        while (*v == ' ') v++;
        if (strncasecmp(v, "close", 5) == 0) c->close_after = 1;
      }
    }
    if (chunked) {
      c->close_after = 1;
      respond_simple(c, 411, "Length Required", "application/json",
                     "{\"error\":{\"message\":\"send a Content-Length body\",\"type\":\"invalid_request_error\"}}");
      return 0;
    }
    if (c->in_len < hlen + clen) return 0; /* body not complete yet */
    char *body = c->in + hlen;
    int is_post = c->in_len >= 5 && memcmp(c->in, "POST ", 5) == 0;
    int is_get = c->in_len >= 4 && memcmp(c->in, "GET ", 4) == 0;
    const char *path = c->in + (is_post ? 5 : is_get ? 4 : 0);
    size_t plen = 0;
    while (path + plen < c->in + hlen && path[plen] != ' ' && path[plen] != '?') plen++;
#define PATH_IS(s) (plen == sizeof(s) - 1 && memcmp(path, s, plen) == 0)
    if (is_post && (PATH_IS("/v1/chat/completions") || PATH_IS("/v1/completions"))) {
      int api = PATH_IS("/v1/chat/completions") ? API_CHAT : API_COMPLETIONS;
      int stream = json_true(body, clen, "stream");
      if (stream) start_stream(c, api, body, clen, recv_ns, read_ns);
      else respond_nonstream(c, api, body, clen);
    } else if (is_get && PATH_IS("/v1/models")) {
      char json[512];
      snprintf(json, sizeof json,
               "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"tokenwatt\",\"max_model_len\":1000000}]}",
               opt_model, (long long)created_s);
      respond_simple(c, 200, "OK", "application/json", json);
    } else if (is_get && (PATH_IS("/health") || PATH_IS("/v1/health"))) {
      respond_simple(c, 200, "OK", "application/json", "{}");
    } else if (is_get && PATH_IS("/__clock")) {
      /* CLOCK_MONOTONIC now, so the client can check its clock is the same one. */
      char json[128];
      snprintf(json, sizeof json, "{\"monotonicNs\":\"%lld\"}", (long long)mono_ns());
      respond_simple(c, 200, "OK", "application/json", json);
    } else {
      respond_simple(c, 404, "Not Found", "application/json",
                     "{\"error\":{\"message\":\"not found\",\"type\":\"invalid_request_error\",\"code\":404}}");
    }
#undef PATH_IS
    size_t used = hlen + clen;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
  return 0;
}

/* Writes the stream's due tokens (up to --batch; all due ones when behind schedule). */
static int emit(conn *c, int64_t now) {
  int due;
  if (opt_itl_ns == 0) {
    due = c->total - c->sent;
    if (due > opt_batch) due = opt_batch;
  } else {
    int64_t idx = (now - c->recv_ns - opt_ttft_ns) / opt_itl_ns; /* last due token index */
    due = (int)(idx + 1 - c->sent);
    if (due < 1) due = 1;
    if (due > c->total - c->sent) due = c->total - c->sent;
  }
  int64_t lag = now - c->next_ns;
  if (lag > st_lag_max_ns) st_lag_max_ns = lag;
  if (lag > 1000000) st_lag_over_1ms++;
  if (c->sent == 0 && c->ev_role_len) out_append(c, c->ev_role, (size_t)c->ev_role_len);
  for (int i = 0; i < due; i++) {
    if (c->sent + i == c->total - 1) out_append(c, c->ev_last, (size_t)c->ev_last_len);
    else out_append(c, c->ev, (size_t)c->ev_len);
  }
  int done = c->sent + due == c->total;
  if (done) {
    if (c->include_usage) out_append(c, c->ev_usage, (size_t)c->ev_usage_len);
    static const char tail[] = "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
    out_append(c, tail, sizeof tail - 1);
  }
  int64_t t = mono_ns();
  for (int i = 0; i < due; i++) arena[c->log_at + LOG_HEAD + (size_t)c->sent + (size_t)i] = t;
  c->sent += due;
  st_tokens += due;
  if (done) finish_request_log(c);
  if (flush_out(c) < 0) return -1;
  if (done) {
    if (c->close_after && !c->blocked) return -1;
    return 1;
  }
  c->next_ns = opt_itl_ns == 0 ? now + 1 : c->recv_ns + opt_ttft_ns + (int64_t)c->sent * opt_itl_ns;
  if (!c->blocked) heap_push(c);
  return 0;
}

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void write_all(FILE *f, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, f) != n) {
    fprintf(stderr, "sse-server: writing the log failed\n");
    exit(3);
  }
}

static void dump_log(int64_t mono_anchor, int64_t wall_anchor) {
  if (!opt_log) return;
  FILE *f = fopen(opt_log, "wb");
  if (!f) {
    perror("sse-server: log");
    exit(3);
  }
  int64_t head[3] = {0, mono_anchor, wall_anchor};
  memcpy(&head[0], "TWGT0002", 8);
  write_all(f, head, sizeof head);
  int64_t nc = (int64_t)(conn_log_len / 2);
  write_all(f, &nc, 8);
  write_all(f, conn_log, conn_log_len * 8);
  write_all(f, &n_requests, 8);
  /* compact: the arena reserves max_tokens slots per request, the file keeps only those written */
  for (size_t at = 0; at < arena_len; at += LOG_HEAD + (size_t)arena[at + 5]) {
    write_all(f, &arena[at], 5 * 8);
    write_all(f, &arena[at + LOG_HEAD], (size_t)arena[at + 4] * 8);
  }
  fclose(f);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr, "sse-server: %s needs a value\n", a);
      return 64;
    }
    if (!strcmp(a, "--port")) opt_port = atoi(v);
    else if (!strcmp(a, "--ttft-us")) opt_ttft_ns = atoll(v) * 1000;
    else if (!strcmp(a, "--itl-us")) opt_itl_ns = atoll(v) * 1000;
    else if (!strcmp(a, "--tokens")) opt_tokens = atoi(v);
    else if (!strcmp(a, "--batch")) opt_batch = atoi(v);
    else if (!strcmp(a, "--log")) opt_log = v;
    else if (!strcmp(a, "--model")) opt_model = v;
    else {
      fprintf(stderr, "sse-server: unknown option %s\n", a);
      return 64;
    }
    i++;
  }
  if (opt_batch < 1) opt_batch = 1;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int64_t mono_anchor = mono_ns();
  int64_t wall_anchor = wall_ns();
  created_s = wall_anchor / 1000000000LL;

  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((uint16_t)opt_port);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("sse-server: listen");
    return 1;
  }
  socklen_t al = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &al);

  ep = epoll_create1(EPOLL_CLOEXEC);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event ev;
  ev.events = EPOLLIN;
  ev.data.ptr = NULL; /* listener */
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.events = EPOLLIN;
  ev.data.ptr = &tfd; /* timer */
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

  printf("listening %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event evs[1024];
  int64_t next_conn_id = 1;
  while (!stop_flag) {
    int64_t now = mono_ns();
    /* due streams, each once per pass (round-robin when everything is due) */
    while (heap_len > 0 && heap[0]->next_ns <= now) {
      conn *c = heap[0];
      heap_remove(c);
      int r = emit(c, now);
      if (r < 0) close_conn(c);
      else if (r == 1 && !c->blocked) {
        if (handle_input(c, now) < 0 || flush_out(c) < 0) close_conn(c);
      }
    }
    int timeout = -1;
    if (heap_len > 0) {
      int64_t at = heap[0]->next_ns;
      if (at <= mono_ns()) timeout = 0;
      else if (at != timer_armed_ns) {
        struct itimerspec its;
        memset(&its, 0, sizeof its);
        its.it_value.tv_sec = at / 1000000000LL;
        its.it_value.tv_nsec = at % 1000000000LL;
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        timer_armed_ns = at;
        st_timer_arms++;
      }
    }
    int n = epoll_wait(ep, evs, 1024, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("sse-server: epoll_wait");
      return 1;
    }
    int64_t t = mono_ns();
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
          conn *c = calloc(1, sizeof(conn));
          if (!c) exit(2);
          c->fd = fd;
          c->id = next_conn_id++;
          c->heap_idx = -1;
          st_conns++;
          if (conn_log_len + 2 > conn_log_cap) {
            conn_log_cap = conn_log_cap ? conn_log_cap * 2 : 4096;
            conn_log = xrealloc(conn_log, conn_log_cap * 8);
          }
          conn_log[conn_log_len++] = c->id;
          conn_log[conn_log_len++] = mono_ns();
          struct epoll_event cev;
          cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          cev.data.ptr = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (p == &tfd) {
        uint64_t exp;
        ssize_t r = read(tfd, &exp, sizeof exp);
        (void)r;
        timer_armed_ns = -1;
        continue;
      }
      conn *c = p;
      int dead = 0;
      if (evs[i].events & EPOLLIN) {
        for (;;) {
          if (c->in_cap - c->in_len < 4096) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
            c->in = xrealloc(c->in, c->in_cap);
          }
          char cbuf[CMSG_SPACE(sizeof(struct timespec)) * 2];
          struct iovec iov = {c->in + c->in_len, c->in_cap - c->in_len};
          struct msghdr mh;
          memset(&mh, 0, sizeof mh);
          mh.msg_iov = &iov;
          mh.msg_iovlen = 1;
          mh.msg_control = cbuf;
          mh.msg_controllen = sizeof cbuf;
          ssize_t r = recvmsg(c->fd, &mh, 0);
          if (r > 0) {
            c->in_len += (size_t)r;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
              if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                int64_t rt = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
                int64_t m0 = mono_ns(), w = wall_ns(), m1 = mono_ns();
                c->arrival_ns = rt - (w - (m0 + (m1 - m0) / 2));
              }
            }
            continue;
          }
          if (r == 0) dead = 1;
          else if (errno == EINTR) continue;
          else if (errno != EAGAIN && errno != EWOULDBLOCK) dead = 1;
          break;
        }
        if (!dead && handle_input(c, t) < 0) dead = 1;
      }
      if (!dead && (evs[i].events & (EPOLLERR | EPOLLHUP))) dead = 1;
      if (!dead && c->out_len > c->out_off) {
        if (flush_out(c) < 0) dead = 1;
        else if (!c->blocked) {
          if (c->streaming && c->heap_idx < 0) {
            if (opt_itl_ns == 0) c->next_ns = t;
            heap_push(c);
          } else if (!c->streaming) {
            if (c->close_after) dead = 1;
            else handle_input(c, t);
          }
        }
      }
      if (!dead && (evs[i].events & EPOLLRDHUP) && !c->streaming && c->out_len == c->out_off) dead = 1;
      if (dead) close_conn(c);
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  dump_log(mono_anchor, wall_anchor);
  printf("stats {\"cpuUserS\":%.6f,\"cpuSysS\":%.6f,\"conns\":%lld,\"requests\":%lld,\"tokens\":%lld,\"sends\":%lld,\"eagain\":%lld,"
         "\"timerArms\":%lld,\"lagMaxUs\":%.1f,\"lateOver1ms\":%lld}\n",
         ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
         (long long)st_conns, (long long)n_requests, (long long)st_tokens, (long long)st_writes, (long long)st_eagain,
         (long long)st_timer_arms, st_lag_max_ns / 1e3, (long long)st_lag_over_1ms);
  fflush(stdout);
  return 0;
}
