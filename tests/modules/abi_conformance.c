/*
 * abi_conformance: drives every host function of the Proxy-Wasm ABI 0.2.1 (and the WASI
 * functions the host provides) directly, with good and bad arguments, and reports one line per
 * check: `NAME ok`, or `NAME FAIL expected X got Y`.
 *
 * Expected values are the specification's (github.com/proxy-wasm/spec, abi-versions/v0.2.1),
 * never what the host happens to answer. Where the spec says nothing (a map that exists but has
 * nothing in it now, a property the host refuses to set, WASI descriptors the host does not
 * open), the expected value is the behaviour docs/modules.md documents; those checks say `host`
 * in the comment above them. tests/integration/test_abi_conformance.py runs the scenarios below
 * and turns each line into its own test (the names are read from this file: every check's name
 * is the string literal right after CHECK_*( ).
 *
 * Scenarios, chosen by the request path and the `role` in the plugin configuration:
 *   role=main,   /abi/request  every request-phase check, answered with a local response whose
 *                              body is the lines (the root context's checks first)
 *   role=main,   /abi/forward  changes the request and lets it reach the origin; the response
 *                              phase runs its checks and sends the lines as x-abi-check fields
 *   role=main,   /abi/pause    pauses the request; the next tick (root context) resumes it
 *                              through proxy_set_effective_context + proxy_continue_stream
 *   role=main,   /abi/close    proxy_close_stream(HTTP_REQUEST): no response at all
 *   role=main,   /abi/ticks    a local response with the tick and queue counters
 *   role=writer, /abi/chain    sets a property, shared data; its lines go in a property
 *   role=reader, /abi/chain    (the next module of the same site) reads them; local response
 *
 * Plugin configuration: `key=value` lines: role, name (the module's configured name), root_id,
 * site, log_level (the host's level as proxy_get_log_level reports it), vm_config (the
 * configured vm_configuration), writer (the writer's module name, for the reader).
 *
 * Built with clang --target=wasm32-wasi and wasi-libc (scripts/modules.sh); no printf (which
 * would pull in compiler-rt's long double support).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_wasm_abi.h"

#define P(x) ((u32)(uintptr_t)(x))
/* An address past the end of any memory this module can have (memory_limit is far below). */
#define BAD 0xFFFFFF00u
/* A string literal as (pointer, size); "a\0b" literals are property paths. */
#define LIT(s) P(s), (u32)(sizeof(s) - 1)

/* ---- text buffers ------------------------------------------------------------------------ */

typedef struct {
  char* data;
  size_t len, cap;
} Buf;

static void buf_add(Buf* b, const char* s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    b->data = realloc(b->data, cap);
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}
static void buf_str(Buf* b, const char* s) {
  buf_add(b, s, strlen(s));
}
static void buf_u64(Buf* b, u64 v) {
  char tmp[24];
  int i = 24;
  do tmp[--i] = (char)('0' + v % 10), v /= 10;
  while (v);
  buf_add(b, tmp + i, (size_t)(24 - i));
}
/* Bytes shown on one line: printable ASCII as is, anything else as \xNN. */
static void buf_shown(Buf* b, const char* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  buf_str(b, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      buf_add(b, (const char*)&c, 1);
    } else {
      char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      buf_add(b, e, 4);
    }
  }
  buf_str(b, "\"");
}
static void buf_reset(Buf* b) {
  b->len = 0;
  if (b->data) b->data[0] = 0;
}

/* ---- checks -------------------------------------------------------------------------------- */

/* Where the lines of the callback running now go. */
static Buf* report;
static unsigned failures;

static const char* status_name(u32 s) {
  switch (s) {
    case ST_OK:
      return "OK";
    case ST_NOT_FOUND:
      return "NOT_FOUND";
    case ST_BAD_ARGUMENT:
      return "BAD_ARGUMENT";
    case ST_SERIALIZATION_FAILURE:
      return "SERIALIZATION_FAILURE";
    case ST_PARSE_FAILURE:
      return "PARSE_FAILURE";
    case ST_INVALID_MEMORY_ACCESS:
      return "INVALID_MEMORY_ACCESS";
    case ST_EMPTY:
      return "EMPTY";
    case ST_CAS_MISMATCH:
      return "CAS_MISMATCH";
    case ST_INTERNAL_FAILURE:
      return "INTERNAL_FAILURE";
    case ST_UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    default:
      return "?";
  }
}
static const char* errno_name(u32 e) {
  switch (e) {
    case WASI_SUCCESS:
      return "SUCCESS";
    case WASI_BADF:
      return "BADF";
    case WASI_FAULT:
      return "FAULT";
    case WASI_INVAL:
      return "INVAL";
    case WASI_NOSYS:
      return "NOSYS";
    case WASI_NOTSUP:
      return "NOTSUP";
    case WASI_SPIPE:
      return "SPIPE";
    default:
      return "?";
  }
}

static int pass(const char* name) {
  buf_str(report, name);
  buf_str(report, " ok\n");
  return 1;
}
static void fail_head(const char* name) {
  ++failures;
  buf_str(report, name);
  buf_str(report, " FAIL expected ");
}

static int CHECK_STATUS(const char* name, u32 got, u32 want) {
  if (got == want) return pass(name);
  fail_head(name);
  buf_str(report, status_name(want));
  buf_str(report, "(");
  buf_u64(report, want);
  buf_str(report, ") got ");
  buf_str(report, status_name(got));
  buf_str(report, "(");
  buf_u64(report, got);
  buf_str(report, ")\n");
  return 0;
}
static int CHECK_ERRNO(const char* name, u32 got, u32 want) {
  if (got == want) return pass(name);
  fail_head(name);
  buf_str(report, errno_name(want));
  buf_str(report, "(");
  buf_u64(report, want);
  buf_str(report, ") got ");
  buf_str(report, errno_name(got));
  buf_str(report, "(");
  buf_u64(report, got);
  buf_str(report, ")\n");
  return 0;
}
/* A call that must succeed with `want` as its value: `status` first, then the bytes. */
static int CHECK_VALUE(const char* name, u32 status, const void* got, size_t got_len,
                       const char* want) {
  if (status != ST_OK) return CHECK_STATUS(name, status, ST_OK);
  size_t n = strlen(want);
  if (got_len == n && (n == 0 || memcmp(got, want, n) == 0)) return pass(name);
  fail_head(name);
  buf_shown(report, want, n);
  buf_str(report, " got ");
  buf_shown(report, (const char*)got, got_len);
  buf_str(report, "\n");
  return 0;
}
static int CHECK_U64(const char* name, u64 got, u64 want) {
  if (got == want) return pass(name);
  fail_head(name);
  buf_u64(report, want);
  buf_str(report, " got ");
  buf_u64(report, got);
  buf_str(report, "\n");
  return 0;
}
/* A property of the result: `what` says what was expected, `got` what there was. */
static int CHECK_TRUE(const char* name, int ok, const char* what, const char* got, size_t got_len) {
  if (ok) return pass(name);
  fail_head(name);
  buf_str(report, what);
  buf_str(report, " got ");
  buf_shown(report, got, got_len);
  buf_str(report, "\n");
  return 0;
}

/* ---- configuration ------------------------------------------------------------------------ */

static char* config_text;
static size_t config_size;

/* The value of `key=` in the plugin configuration ("" when absent). */
static const char* conf(const char* key) {
  static char value[256];
  size_t klen = strlen(key);
  const char* p = config_text;
  const char* end = config_text + config_size;
  value[0] = 0;
  while (p && p < end) {
    const char* nl = memchr(p, '\n', (size_t)(end - p));
    const char* line_end = nl ? nl : end;
    if ((size_t)(line_end - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
      size_t n = (size_t)(line_end - p) - klen - 1;
      if (n >= sizeof value) n = sizeof value - 1;
      memcpy(value, p + klen + 1, n);
      value[n] = 0;
      break;
    }
    p = nl ? nl + 1 : end;
  }
  return value;
}
static char* conf_dup(const char* key) {
  return strdup(conf(key));
}

static char* role;
static char* my_name;

/* ---- contexts ----------------------------------------------------------------------------- */

enum { KIND_NONE, KIND_REQUEST, KIND_FORWARD, KIND_PAUSE };

typedef struct {
  u32 id;
  int used;
  int kind;
  Buf lines;
} Ctx;

static Ctx contexts[64];
static u32 root_context_id;
static Buf root_lines;
static u32 probe_queue;
static u64 ticks, probe_calls, probe_empty;
static u32 pending[16]; /* paused, not seen by a tick yet */
static int pending_count;
static u32 paused[16];
static char vm_config[128];
static int paused_count;

static Ctx* ctx_of(u32 id) {
  for (int i = 0; i < 64; i++)
    if (contexts[i].used && contexts[i].id == id) return &contexts[i];
  for (int i = 0; i < 64; i++) {
    if (!contexts[i].used) {
      contexts[i].used = 1;
      contexts[i].id = id;
      contexts[i].kind = KIND_NONE;
      buf_reset(&contexts[i].lines);
      return &contexts[i];
    }
  }
  return &contexts[0]; /* more than 64 live requests: share (the tests never get there) */
}

/* ---- small wrappers ----------------------------------------------------------------------- */

typedef struct {
  char* data;
  u32 size;
} Bytes;

static void bytes_free(Bytes* b) {
  free(b->data);
  b->data = 0;
  b->size = 0;
}

static u32 get_header(u32 map, const char* key, Bytes* out) {
  out->data = 0;
  out->size = 0;
  return proxy_get_header_map_value(map, P(key), (u32)strlen(key), P(&out->data), P(&out->size));
}
static u32 get_prop(const char* path, size_t path_size, Bytes* out) {
  out->data = 0;
  out->size = 0;
  return proxy_get_property(P(path), (u32)path_size, P(&out->data), P(&out->size));
}
#define GET_PROP(lit, out) get_prop(lit, sizeof(lit) - 1, out)
static u32 set_prop(const char* path, size_t path_size, const char* value) {
  return proxy_set_property(P(path), (u32)path_size, P(value), (u32)strlen(value));
}
#define SET_PROP(lit, value) set_prop(lit, sizeof(lit) - 1, value)

static int check_header(const char* name, u32 map, const char* key, const char* want) {
  Bytes v;
  u32 s = get_header(map, key, &v);
  int ok = CHECK_VALUE(name, s, v.data, v.size, want);
  bytes_free(&v);
  return ok;
}
static int check_header_absent(const char* name, u32 map, const char* key) {
  Bytes v;
  u32 s = get_header(map, key, &v);
  bytes_free(&v);
  return CHECK_STATUS(name, s, ST_NOT_FOUND);
}
static int check_prop(const char* name, const char* path, size_t path_size, const char* want) {
  Bytes v;
  u32 s = get_prop(path, path_size, &v);
  int ok = CHECK_VALUE(name, s, v.data, v.size, want);
  bytes_free(&v);
  return ok;
}
#define CHECK_PROP(name, lit, want) check_prop(name, lit, sizeof(lit) - 1, want)
static int check_prop_status(const char* name, const char* path, size_t path_size, u32 want) {
  Bytes v;
  u32 s = get_prop(path, path_size, &v);
  bytes_free(&v);
  return CHECK_STATUS(name, s, want);
}
#define CHECK_PROP_STATUS(name, lit, want) check_prop_status(name, lit, sizeof(lit) - 1, want)
/* An 8-byte little-endian integer property. */
static int check_prop_le64(const char* name, const char* path, size_t path_size, u64 want) {
  Bytes v;
  u32 s = get_prop(path, path_size, &v);
  int ok;
  if (s != ST_OK) {
    ok = CHECK_STATUS(name, s, ST_OK);
  } else if (v.size != 8) {
    ok = CHECK_TRUE(name, 0, "8 bytes", v.data, v.size);
  } else {
    u64 got;
    memcpy(&got, v.data, 8);
    ok = CHECK_U64(name, got, want);
  }
  bytes_free(&v);
  return ok;
}
#define CHECK_PROP_LE64(name, lit, want) check_prop_le64(name, lit, sizeof(lit) - 1, want)

static u64 parse_u64(const char* s, size_t n) {
  u64 v = 0;
  for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) v = v * 10 + (u64)(s[i] - '0');
  return v;
}
/* A request header the test sent with the value it expects (a port it knows). */
static u64 header_u64(const char* key) {
  Bytes v;
  u64 out = 0;
  if (get_header(MAP_REQUEST_HEADERS, key, &v) == ST_OK) out = parse_u64(v.data, v.size);
  bytes_free(&v);
  return out;
}

/* ---- header map encoding ------------------------------------------------------------------ */

typedef struct {
  const char* name;
  u32 name_len;
  const char* value;
  u32 value_len;
} Pair;

/* The pairs in d[0..n) (pointing into it), or -1 if it is not a well-formed map. */
static int decode_pairs(const char* d, u32 n, Pair* out, int max) {
  if (n == 0) return 0;
  if (n < 4) return -1;
  u32 count;
  memcpy(&count, d, 4);
  if (count > (u32)max || 4 + (u64)count * 8 > n) return -1;
  const char* p = d + 4 + count * 8;
  const char* end = d + n;
  for (u32 i = 0; i < count; i++) {
    memcpy(&out[i].name_len, d + 4 + i * 8, 4);
    memcpy(&out[i].value_len, d + 8 + i * 8, 4);
    if ((u64)(end - p) < (u64)out[i].name_len + 1 || p[out[i].name_len] != 0) return -1;
    out[i].name = p;
    p += out[i].name_len + 1;
    if ((u64)(end - p) < (u64)out[i].value_len + 1 || p[out[i].value_len] != 0) return -1;
    out[i].value = p;
    p += out[i].value_len + 1;
  }
  return p == end ? (int)count : -1;
}

static void encode_pairs(Buf* b, const char* const* kv, int count) {
  u32 c = (u32)count;
  buf_reset(b);
  buf_add(b, (const char*)&c, 4);
  for (int i = 0; i < count * 2; i++) {
    u32 len = (u32)strlen(kv[i]);
    buf_add(b, (const char*)&len, 4);
  }
  for (int i = 0; i < count * 2; i++) buf_add(b, kv[i], strlen(kv[i]) + 1);
}

static const Pair* find_pair(const Pair* pairs, int n, const char* name) {
  for (int i = 0; i < n; i++)
    if (pairs[i].name_len == strlen(name) && memcmp(pairs[i].name, name, pairs[i].name_len) == 0)
      return &pairs[i];
  return 0;
}
static int pair_is(const Pair* p, const char* value) {
  return p && p->value_len == strlen(value) && memcmp(p->value, value, p->value_len) == 0;
}

/* ---- memory and version ------------------------------------------------------------------- */

ABI_EXPORT(proxy_on_memory_allocate)
void* proxy_on_memory_allocate(size_t size) {
  return malloc(size);
}

ABI_EXPORT(proxy_abi_version_0_2_1)
void proxy_abi_version_0_2_1(void) {}

/* ---- root context ------------------------------------------------------------------------- */

ABI_EXPORT(proxy_on_context_create)
void proxy_on_context_create(u32 id, u32 parent) {
  if (parent == 0)
    root_context_id = id;
  else
    ctx_of(id);
}

ABI_EXPORT(proxy_on_vm_start)
u32 proxy_on_vm_start(u32 root_id, u32 vm_configuration_size) {
  report = &root_lines;
  Bytes v = {0, 0};
  u32 s = proxy_get_buffer_bytes(BUFFER_VM_CONFIGURATION, 0, vm_configuration_size, P(&v.data),
                                 P(&v.size));
  /* Compared with the plugin configuration's vm_config in on_configure. */
  if (s == ST_OK && v.size < sizeof vm_config) {
    memcpy(vm_config, v.data, v.size);
    vm_config[v.size] = 0;
  }
  bytes_free(&v);
  CHECK_STATUS("root.vm_configuration.read", s, ST_OK);
  return 1;
}

static void root_checks(u32 configuration_size) {
  Bytes v;
  u32 s;

  CHECK_TRUE("root.vm_configuration.value", strcmp(vm_config, conf("vm_config")) == 0,
             conf("vm_config"), vm_config, strlen(vm_config));

  /* buffers: the plugin configuration, whole and in part */
  CHECK_U64("root.plugin_configuration.size", configuration_size, config_size);
  v.data = 0, v.size = 0;
  s = proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 2, 5, P(&v.data), P(&v.size));
  {
    char want[8] = {0};
    memcpy(want, config_text + 2, 5);
    CHECK_VALUE("root.plugin_configuration.slice", s, v.data, v.size, want);
  }
  bytes_free(&v);
  /* spec: BAD_ARGUMENT "in case of buffer overflow due to invalid start" */
  s = proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, configuration_size + 10, 5, P(&v.data),
                             P(&v.size));
  CHECK_STATUS("root.plugin_configuration.start_past_end", s, ST_BAD_ARGUMENT);
  /* spec: BAD_ARGUMENT for unknown buffer_id */
  s = proxy_get_buffer_bytes(99, 0, 5, P(&v.data), P(&v.size));
  CHECK_STATUS("root.buffer.unknown_type", s, ST_BAD_ARGUMENT);
  /* spec: INVALID_MEMORY_ACCESS when the return pointers are outside memory */
  s = proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, 5, BAD, P(&v.size));
  CHECK_STATUS("root.buffer.bad_return_pointer", s, ST_INVALID_MEMORY_ACCESS);

  /* properties of the plugin, readable without a request */
  CHECK_PROP("root.property.plugin_name", "plugin_name", conf("name"));
  CHECK_PROP("root.property.plugin_root_id", "plugin_root_id", conf("root_id"));
  /* host: no request in the root context */
  CHECK_PROP_STATUS("root.property.request_path", "request\0path", ST_NOT_FOUND);
  CHECK_STATUS("root.set_property.no_request", SET_PROP("abi\0root", "x"), ST_NOT_FOUND);
  /* host: a local response needs an HTTP context */
  s = proxy_send_local_response(403, LIT(""), LIT(""), P(""), 0, 0);
  CHECK_STATUS("root.send_local_response.no_request", s, ST_BAD_ARGUMENT);

  /* timers and queues: ticks and queue wake-ups are counted for /abi/ticks */
  CHECK_STATUS("root.tick_period.set", proxy_set_tick_period_milliseconds(20), ST_OK);
  s = proxy_register_shared_queue(LIT("abi/probe"), P(&probe_queue));
  CHECK_STATUS("root.queue.register", s, ST_OK);

  u32 level = 99;
  s = proxy_get_log_level(P(&level));
  CHECK_STATUS("root.log_level.get", s, ST_OK);
  CHECK_U64("root.log_level.value", level, parse_u64(conf("log_level"), 3));
}

ABI_EXPORT(proxy_on_configure)
u32 proxy_on_configure(u32 root_id, u32 configuration_size) {
  report = &root_lines;
  Bytes v = {0, 0};
  u32 s = proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, configuration_size, P(&v.data),
                                 P(&v.size));
  if (s != ST_OK || v.size < 8) {
    const char msg[] = "abi_conformance: needs a plugin configuration (role=..., name=...)";
    proxy_log(LOG_ERROR, LIT(msg));
    return 0;
  }
  CHECK_STATUS("root.plugin_configuration.read", s, ST_OK);
  config_text = v.data; /* kept for the module's life */
  config_size = v.size;
  role = conf_dup("role");
  my_name = conf_dup("name");
  root_checks(configuration_size);
  return 1;
}

ABI_EXPORT(proxy_on_tick)
void proxy_on_tick(u32 root_id) {
  ++ticks;
  /* The requests /abi/pause left waiting, in two ticks; the lines go to their own reports.
   * First tick: switch to the request and leave it effective when the callback returns. */
  for (int i = 0; i < pending_count; i++) {
    Ctx* c = ctx_of(pending[i]);
    report = &c->lines;
    CHECK_STATUS("pause.set_effective_context", proxy_set_effective_context(pending[i]), ST_OK);
    /* The effective context is the paused request: its headers are readable from a tick. */
    check_header("pause.effective_headers", MAP_REQUEST_HEADERS, "x-abi-pause", "1");
    if (paused_count < 16) paused[paused_count++] = pending[i];
  }
  if (pending_count) {
    pending_count = 0;
    return;
  }
  /* Next tick: it starts in the root context whatever the last callback chose (the spec's
   * effective context lasts for the callback); then resume the request. */
  for (int i = 0; i < paused_count; i++) {
    Ctx* c = ctx_of(paused[i]);
    report = &c->lines;
    Bytes v;
    u32 s = get_header(MAP_REQUEST_HEADERS, "x-abi-pause", &v);
    bytes_free(&v);
    CHECK_TRUE("pause.next_callback_starts_in_root", s != ST_OK,
               "no request header in a new root callback", status_name(s), strlen(status_name(s)));
    CHECK_STATUS("pause.set_effective_context.again", proxy_set_effective_context(paused[i]),
                 ST_OK);
    CHECK_STATUS("pause.continue_stream", proxy_continue_stream(STREAM_REQUEST), ST_OK);
    CHECK_STATUS("pause.set_effective_context.root", proxy_set_effective_context(root_id), ST_OK);
    /* Back in the root context: no request there. */
    s = get_header(MAP_REQUEST_HEADERS, "x-abi-pause", &v);
    bytes_free(&v);
    CHECK_TRUE("pause.root_has_no_request", s != ST_OK, "no request header in the root context",
               status_name(s), strlen(status_name(s)));
  }
  paused_count = 0;
}

ABI_EXPORT(proxy_on_queue_ready)
void proxy_on_queue_ready(u32 root_id, u32 queue) {
  if (queue != probe_queue) return;
  ++probe_calls;
  Bytes v = {0, 0};
  if (proxy_dequeue_shared_queue(queue, P(&v.data), P(&v.size)) == ST_EMPTY) ++probe_empty;
  bytes_free(&v);
}

/* ---- request phase: the checks ------------------------------------------------------------ */

static void property_checks(u32 context_id) {
  Bytes v;
  u32 s;
  char want[128];
  CHECK_PROP("property.request.path", "request\0path", "/abi/request?x=1");
  CHECK_PROP("property.request.url_path", "request\0url_path", "/abi/request");
  CHECK_PROP("property.request.query", "request\0query", "x=1");
  CHECK_PROP("property.request.host", "request\0host", "abi.test");
  CHECK_PROP("property.request.scheme", "request\0scheme", "http");
  CHECK_PROP("property.request.method", "request\0method", "GET");
  CHECK_PROP("property.request.protocol", "request\0protocol", "HTTP/1.1");
  CHECK_PROP("property.request.referer", "request\0referer", "http://referer.test/");
  CHECK_PROP("property.request.useragent", "request\0useragent", "abi-agent/1");
  CHECK_PROP("property.request.id", "request\0id", "req-abi-1");
  CHECK_PROP_LE64("property.request.size", "request\0size", 0);
  /* request.time: 8 bytes LE, the request's start, at most a minute before now */
  s = GET_PROP("request\0time", &v);
  {
    u64 now = 0, t = 0;
    proxy_get_current_time_nanoseconds(P(&now));
    if (s == ST_OK && v.size == 8) memcpy(&t, v.data, 8);
    CHECK_TRUE("property.request.time",
               s == ST_OK && v.size == 8 && t <= now && now - t < 60000000000ull,
               "8 bytes LE within the last minute", v.data, v.size);
  }
  bytes_free(&v);

  /* source and destination: the test sends the ports it knows */
  u64 source_port = header_u64("x-abi-source-port");
  u64 destination_port = header_u64("x-abi-destination-port");
  Buf b = {0, 0, 0};
  buf_str(&b, "127.0.0.1:");
  buf_u64(&b, source_port);
  memcpy(want, b.data, b.len + 1);
  CHECK_PROP("property.source.address", "source\0address", want);
  CHECK_PROP_LE64("property.source.port", "source\0port", source_port);
  buf_reset(&b);
  buf_str(&b, "127.0.0.1:");
  buf_u64(&b, destination_port);
  memcpy(want, b.data, b.len + 1);
  free(b.data);
  CHECK_PROP("property.destination.address", "destination\0address", want);
  CHECK_PROP_LE64("property.destination.port", "destination\0port", destination_port);

  CHECK_PROP("property.plugin_name", "plugin_name", conf("name"));
  CHECK_PROP("property.plugin_root_id", "plugin_root_id", conf("root_id"));
  CHECK_PROP("property.plugin_vm_id", "plugin_vm_id", conf("name"));
  CHECK_PROP("property.stavka.site", "stavka\0site", conf("site"));
  /* no response yet */
  CHECK_PROP_STATUS("property.response.code.request_phase", "response\0code", ST_NOT_FOUND);
  /* spec: NOT_FOUND when there is no property at the path */
  CHECK_PROP_STATUS("property.unknown", "no\0such\0property", ST_NOT_FOUND);
  /* spec: INVALID_MEMORY_ACCESS */
  s = proxy_get_property(BAD, 8, P(&v.data), P(&v.size));
  CHECK_STATUS("property.get.bad_path_pointer", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_get_property(LIT("request\0path"), BAD, P(&v.size));
  CHECK_STATUS("property.get.bad_return_pointer", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_set_property(LIT("abi\0custom"), BAD, 4);
  CHECK_STATUS("property.set.bad_value_pointer", s, ST_INVALID_MEMORY_ACCESS);

  /* custom properties: kept for the request, readable by every module on it */
  CHECK_STATUS("property.custom.set", SET_PROP("abi\0custom", "v1"), ST_OK);
  CHECK_PROP("property.custom.get", "abi\0custom", "v1");
  CHECK_STATUS("property.custom.overwrite", SET_PROP("abi\0custom", "v2"), ST_OK);
  CHECK_PROP("property.custom.get_after_overwrite", "abi\0custom", "v2");
  /* host: the host's own properties are read-only (the spec has no status for a refused set;
   * Stavka answers BAD_ARGUMENT, as Envoy does for read-only filter state) */
  CHECK_STATUS("property.set.read_only", SET_PROP("request\0path", "/x"), ST_BAD_ARGUMENT);
  CHECK_PROP("property.set.read_only_unchanged", "request\0path", "/abi/request?x=1");

  /* stavka.cache.* (docs/modules.md, Cache extensions) */
  s = GET_PROP("stavka\0cache\0key", &v);
  CHECK_TRUE(
      "cache.key.default",
      s == ST_OK && v.size >= 31 && memcmp(v.data, "http://abi.test/abi/request?x=1", 31) == 0,
      "\"http://abi.test/abi/request?x=1...\"", v.data, v.size);
  bytes_free(&v);
  CHECK_STATUS("cache.key.set_empty", SET_PROP("stavka\0cache\0key", ""), ST_BAD_ARGUMENT);
  CHECK_STATUS("cache.key.set", SET_PROP("stavka\0cache\0key", "abi-key"), ST_OK);
  CHECK_PROP("cache.key.get_after_set", "stavka\0cache\0key", "abi-key");
  CHECK_PROP("cache.bypass.default", "stavka\0cache\0bypass", "false");
  CHECK_STATUS("cache.bypass.set_bad", SET_PROP("stavka\0cache\0bypass", "maybe"), ST_BAD_ARGUMENT);
  CHECK_STATUS("cache.bypass.set", SET_PROP("stavka\0cache\0bypass", "true"), ST_OK);
  CHECK_PROP("cache.bypass.get_after_set", "stavka\0cache\0bypass", "true");
  CHECK_PROP_STATUS("cache.ttl.unset", "stavka\0cache\0ttl", ST_NOT_FOUND);
  CHECK_STATUS("cache.ttl.set_text", SET_PROP("stavka\0cache\0ttl", "abc"), ST_BAD_ARGUMENT);
  CHECK_STATUS("cache.ttl.set_negative", SET_PROP("stavka\0cache\0ttl", "-5"), ST_BAD_ARGUMENT);
  CHECK_STATUS("cache.ttl.set", SET_PROP("stavka\0cache\0ttl", "60"), ST_OK);
  CHECK_PROP("cache.ttl.get_after_set", "stavka\0cache\0ttl", "60");
  CHECK_STATUS("cache.readahead.set_bad", SET_PROP("stavka\0cache\0readahead", "1x"),
               ST_BAD_ARGUMENT);
  CHECK_STATUS("cache.readahead.set", SET_PROP("stavka\0cache\0readahead", "1048576"), ST_OK);
  CHECK_PROP("cache.readahead.get_after_set", "stavka\0cache\0readahead", "1048576");
  CHECK_STATUS("cache.surrogate_keys.set", SET_PROP("stavka\0cache\0surrogate_keys", "a b"), ST_OK);
  CHECK_PROP("cache.surrogate_keys.get_after_set", "stavka\0cache\0surrogate_keys", "a b");
  CHECK_PROP_STATUS("cache.status.request_phase", "stavka\0cache\0status", ST_NOT_FOUND);
  CHECK_STATUS("cache.status.read_only", SET_PROP("stavka\0cache\0status", "hit"), ST_BAD_ARGUMENT);
  CHECK_PROP_STATUS("cache.object_size.request_phase", "stavka\0cache\0object_size", ST_NOT_FOUND);
  CHECK_PROP_STATUS("cache.age.request_phase", "stavka\0cache\0age", ST_NOT_FOUND);
  CHECK_PROP_STATUS("cache.unknown.get", "stavka\0cache\0nope", ST_NOT_FOUND);
  CHECK_STATUS("cache.unknown.set", SET_PROP("stavka\0cache\0nope", "1"), ST_BAD_ARGUMENT);
}

static void context_checks(u32 context_id) {
  /* spec: BAD_ARGUMENT for an unknown context_id */
  CHECK_STATUS("context.set_effective.unknown", proxy_set_effective_context(0xDEAD),
               ST_BAD_ARGUMENT);
  CHECK_PROP("context.unknown_left_it_unchanged", "request\0method", "GET");
  CHECK_STATUS("context.set_effective.root", proxy_set_effective_context(root_context_id), ST_OK);
  CHECK_PROP_STATUS("context.root_has_no_request", "request\0path", ST_NOT_FOUND);
  CHECK_STATUS("context.set_effective.self", proxy_set_effective_context(context_id), ST_OK);
  CHECK_PROP("context.self_has_its_request", "request\0method", "GET");
  /* spec: NOT_FOUND when the active context was not pending finalization */
  CHECK_STATUS("context.done.not_pending", proxy_done(), ST_NOT_FOUND);
}

static void header_checks(u32 num_headers) {
  Bytes v = {0, 0};
  u32 s, size = 0;
  Pair pairs[64];

  s = proxy_get_header_map_size(MAP_REQUEST_HEADERS, P(&size));
  CHECK_STATUS("headers.size", s, ST_OK);
  s = proxy_get_header_map_pairs(MAP_REQUEST_HEADERS, P(&v.data), P(&v.size));
  CHECK_STATUS("headers.pairs", s, ST_OK);
  CHECK_U64("headers.size_matches_pairs", size, v.size);
  int n = decode_pairs(v.data, v.size, pairs, 64);
  CHECK_TRUE("headers.pairs.well_formed", n >= 0, "a well-formed map", v.data,
             v.size > 64 ? 64 : v.size);
  CHECK_U64("headers.pairs.count_is_num_headers", (u64)(n < 0 ? 0 : n), num_headers);
  if (n < 0) n = 0;
  CHECK_TRUE("headers.pairs.pseudo_first",
             n > 0 && pairs[0].name_len > 0 && pairs[0].name[0] == ':', "a pseudo-header first",
             n ? pairs[0].name : "", n ? pairs[0].name_len : 0);
  CHECK_TRUE("headers.pairs.method", pair_is(find_pair(pairs, n, ":method"), "GET"), ":method GET",
             "", 0);
  CHECK_TRUE("headers.pairs.path", pair_is(find_pair(pairs, n, ":path"), "/abi/request?x=1"),
             ":path", "", 0);
  CHECK_TRUE("headers.pairs.authority", pair_is(find_pair(pairs, n, ":authority"), "abi.test"),
             ":authority", "", 0);
  CHECK_TRUE("headers.pairs.scheme", pair_is(find_pair(pairs, n, ":scheme"), "http"),
             ":scheme http", "", 0);
  CHECK_TRUE("headers.pairs.lower_case_names", pair_is(find_pair(pairs, n, "x-abi-in"), "one"),
             "x-abi-in: one (sent as X-Abi-In)", "", 0);
  bytes_free(&v);

  check_header("headers.get", MAP_REQUEST_HEADERS, "x-abi-in", "one");
  check_header("headers.get.case_insensitive", MAP_REQUEST_HEADERS, "X-ABI-IN", "one");
  check_header("headers.get.several_lines_joined", MAP_REQUEST_HEADERS, "x-abi-multi", "a,b");
  check_header_absent("headers.get.missing", MAP_REQUEST_HEADERS, "x-abi-never-sent");
  check_header("headers.get.pseudo_method", MAP_REQUEST_HEADERS, ":method", "GET");
  check_header_absent("headers.get.pseudo_unknown", MAP_REQUEST_HEADERS, ":nope");

  s = proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-added"), LIT("1"));
  CHECK_STATUS("headers.add", s, ST_OK);
  check_header("headers.add.visible", MAP_REQUEST_HEADERS, "x-abi-added", "1");
  proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-added"), LIT("2"));
  check_header("headers.add.appends", MAP_REQUEST_HEADERS, "x-abi-added", "1,2");
  s = proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-multi"), LIT("c"));
  CHECK_STATUS("headers.replace", s, ST_OK);
  check_header("headers.replace.replaces_every_line", MAP_REQUEST_HEADERS, "x-abi-multi", "c");
  proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-new"), LIT("n"));
  check_header("headers.replace.adds_missing", MAP_REQUEST_HEADERS, "x-abi-new", "n");
  s = proxy_remove_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-in"));
  CHECK_STATUS("headers.remove", s, ST_OK);
  check_header_absent("headers.remove.gone", MAP_REQUEST_HEADERS, "x-abi-in");
  /* spec: OK "including the case when requested key didn't exist" */
  s = proxy_remove_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-never-sent"));
  CHECK_STATUS("headers.remove.missing", s, ST_OK);

  /* host: framing and connection fields stay the host's; malformed fields are refused */
  proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("content-length"), LIT("5"));
  check_header_absent("headers.refused.content_length", MAP_REQUEST_HEADERS, "content-length");
  proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("transfer-encoding"), LIT("chunked"));
  check_header_absent("headers.refused.transfer_encoding", MAP_REQUEST_HEADERS,
                      "transfer-encoding");
  {
    Bytes before, after;
    u32 s1 = get_header(MAP_REQUEST_HEADERS, "connection", &before);
    proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT("connection"), LIT("upgrade"));
    u32 s2 = get_header(MAP_REQUEST_HEADERS, "connection", &after);
    CHECK_TRUE("headers.refused.connection",
               s1 == s2 && before.size == after.size &&
                   (before.size == 0 || memcmp(before.data, after.data, before.size) == 0),
               "connection unchanged", after.data, after.size);
    bytes_free(&before);
    bytes_free(&after);
  }
  proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-crlf"), LIT("a\r\nb"));
  check_header_absent("headers.refused.crlf_in_value", MAP_REQUEST_HEADERS, "x-abi-crlf");
  proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("bad name"), LIT("v"));
  check_header_absent("headers.refused.space_in_name", MAP_REQUEST_HEADERS, "bad name");

  /* pseudo-headers change the request */
  s = proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT(":path"), LIT("/rewritten?y=2"));
  CHECK_STATUS("headers.pseudo.set_path", s, ST_OK);
  check_header("headers.pseudo.path_after_set", MAP_REQUEST_HEADERS, ":path", "/rewritten?y=2");
  CHECK_PROP("headers.pseudo.path_property_follows", "request\0path", "/rewritten?y=2");
  proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT(":authority"), LIT("other.test"));
  check_header("headers.pseudo.authority_after_set", MAP_REQUEST_HEADERS, ":authority",
               "other.test");
  check_header("headers.pseudo.authority_sets_host", MAP_REQUEST_HEADERS, "host", "other.test");

  /* the other maps */
  v.data = 0, v.size = 0;
  s = proxy_get_header_map_pairs(MAP_REQUEST_TRAILERS, P(&v.data), P(&v.size));
  n = decode_pairs(v.data, v.size, pairs, 64);
  /* host: a map with nothing in it now is an empty map */
  CHECK_TRUE("headers.trailers.empty", s == ST_OK && n == 0, "OK and an empty map", status_name(s),
             strlen(status_name(s)));
  bytes_free(&v);
  check_header_absent("headers.response_map.request_phase", MAP_RESPONSE_HEADERS, ":status");

  /* spec: BAD_ARGUMENT for an unknown map_id, for every map function */
  s = proxy_get_header_map_size(99, P(&size));
  CHECK_STATUS("headers.unknown_map.size", s, ST_BAD_ARGUMENT);
  s = proxy_get_header_map_pairs(99, P(&v.data), P(&v.size));
  CHECK_STATUS("headers.unknown_map.pairs", s, ST_BAD_ARGUMENT);
  s = get_header(99, "x-abi-added", &v);
  bytes_free(&v);
  CHECK_STATUS("headers.unknown_map.get", s, ST_BAD_ARGUMENT);
  s = proxy_add_header_map_value(99, LIT("x-a"), LIT("1"));
  CHECK_STATUS("headers.unknown_map.add", s, ST_BAD_ARGUMENT);
  s = proxy_replace_header_map_value(99, LIT("x-a"), LIT("1"));
  CHECK_STATUS("headers.unknown_map.replace", s, ST_BAD_ARGUMENT);
  s = proxy_remove_header_map_value(99, LIT("x-a"));
  CHECK_STATUS("headers.unknown_map.remove", s, ST_BAD_ARGUMENT);
  s = proxy_set_header_map_pairs(99, P(""), 0);
  CHECK_STATUS("headers.unknown_map.set_pairs", s, ST_BAD_ARGUMENT);

  /* spec: INVALID_MEMORY_ACCESS for pointers outside memory */
  s = proxy_get_header_map_size(MAP_REQUEST_HEADERS, BAD);
  CHECK_STATUS("headers.bad_pointer.size_return", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_get_header_map_pairs(MAP_REQUEST_HEADERS, BAD, P(&v.size));
  CHECK_STATUS("headers.bad_pointer.pairs_return", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_get_header_map_value(MAP_REQUEST_HEADERS, BAD, 4, P(&v.data), P(&v.size));
  CHECK_STATUS("headers.bad_pointer.get_key", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_get_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-added"), P(&v.data), BAD);
  CHECK_STATUS("headers.bad_pointer.get_return", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("x-a"), BAD, 4);
  CHECK_STATUS("headers.bad_pointer.add_value", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_replace_header_map_value(MAP_REQUEST_HEADERS, BAD, 4, LIT("1"));
  CHECK_STATUS("headers.bad_pointer.replace_key", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_remove_header_map_value(MAP_REQUEST_HEADERS, BAD, 4);
  CHECK_STATUS("headers.bad_pointer.remove_key", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_set_header_map_pairs(MAP_REQUEST_HEADERS, BAD, 16);
  CHECK_STATUS("headers.bad_pointer.set_pairs", s, ST_INVALID_MEMORY_ACCESS);

  /* set_header_map_pairs replaces the whole map, pseudo-headers included */
  {
    static const char* const kv[] = {":method",    "GET",      ":path", "/set-pairs",
                                     ":authority", "abi.test", "x-set", "1"};
    Buf enc = {0, 0, 0};
    encode_pairs(&enc, kv, 4);
    s = proxy_set_header_map_pairs(MAP_REQUEST_HEADERS, P(enc.data), (u32)enc.len);
    free(enc.data);
    CHECK_STATUS("headers.set_pairs", s, ST_OK);
    check_header("headers.set_pairs.new_field", MAP_REQUEST_HEADERS, "x-set", "1");
    check_header_absent("headers.set_pairs.old_field_gone", MAP_REQUEST_HEADERS, "x-abi-added");
    check_header("headers.set_pairs.path", MAP_REQUEST_HEADERS, ":path", "/set-pairs");
  }
}

static void buffer_checks(void) {
  Bytes v = {0, 0};
  u32 s, size = 0, flags = 0;
  /* spec: NOT_FOUND when the buffer isn't available (bodies are not buffered for modules yet) */
  s = proxy_get_buffer_bytes(BUFFER_REQUEST_BODY, 0, 10, P(&v.data), P(&v.size));
  CHECK_STATUS("buffer.request_body.get", s, ST_NOT_FOUND);
  s = proxy_get_buffer_bytes(BUFFER_RESPONSE_BODY, 0, 10, P(&v.data), P(&v.size));
  CHECK_STATUS("buffer.response_body.get", s, ST_NOT_FOUND);
  s = proxy_get_buffer_bytes(BUFFER_HTTP_CALL_RESPONSE_BODY, 0, 10, P(&v.data), P(&v.size));
  CHECK_STATUS("buffer.http_call_body.outside_callback", s, ST_NOT_FOUND);
  s = proxy_set_buffer_bytes(BUFFER_REQUEST_BODY, 0, 0, LIT("x"));
  CHECK_STATUS("buffer.request_body.set", s, ST_NOT_FOUND);
  /* spec: BAD_ARGUMENT for an unknown buffer_id */
  s = proxy_get_buffer_bytes(99, 0, 10, P(&v.data), P(&v.size));
  CHECK_STATUS("buffer.unknown.get", s, ST_BAD_ARGUMENT);
  s = proxy_set_buffer_bytes(99, 0, 0, LIT("x"));
  CHECK_STATUS("buffer.unknown.set", s, ST_BAD_ARGUMENT);
  /* proxy_get_buffer_status: the size of an available buffer */
  s = proxy_get_buffer_status(BUFFER_PLUGIN_CONFIGURATION, P(&size), P(&flags));
  CHECK_STATUS("buffer.status.plugin_configuration", s, ST_OK);
  CHECK_U64("buffer.status.plugin_configuration_size", size, config_size);
  s = proxy_get_buffer_status(BUFFER_REQUEST_BODY, P(&size), P(&flags));
  CHECK_STATUS("buffer.status.request_body", s, ST_NOT_FOUND);
  s = proxy_get_buffer_status(99, P(&size), P(&flags));
  CHECK_STATUS("buffer.status.unknown", s, ST_BAD_ARGUMENT);
  s = proxy_get_buffer_status(BUFFER_PLUGIN_CONFIGURATION, BAD, P(&flags));
  CHECK_STATUS("buffer.status.bad_pointer", s, ST_INVALID_MEMORY_ACCESS);
}

static void log_checks(void) {
  CHECK_STATUS("log.trace", proxy_log(LOG_TRACE, LIT("abi-log-trace")), ST_OK);
  CHECK_STATUS("log.debug", proxy_log(LOG_DEBUG, LIT("abi-log-debug")), ST_OK);
  CHECK_STATUS("log.info", proxy_log(LOG_INFO, LIT("abi-log-info")), ST_OK);
  CHECK_STATUS("log.warn", proxy_log(LOG_WARN, LIT("abi-log-warn")), ST_OK);
  CHECK_STATUS("log.error", proxy_log(LOG_ERROR, LIT("abi-log-error")), ST_OK);
  CHECK_STATUS("log.critical", proxy_log(LOG_CRITICAL, LIT("abi-log-critical")), ST_OK);
  /* spec: BAD_ARGUMENT for an unknown log_level */
  CHECK_STATUS("log.unknown_level", proxy_log(6, LIT("abi-log-unknown-level")), ST_BAD_ARGUMENT);
  CHECK_STATUS("log.bad_pointer", proxy_log(LOG_INFO, BAD, 10), ST_INVALID_MEMORY_ACCESS);
  CHECK_STATUS("log.get_level.bad_pointer", proxy_get_log_level(BAD), ST_INVALID_MEMORY_ACCESS);
}

static void time_checks(void) {
  u64 now = 0, wasi_now = 0;
  CHECK_STATUS("time.current", proxy_get_current_time_nanoseconds(P(&now)), ST_OK);
  CHECK_STATUS("time.current.bad_pointer", proxy_get_current_time_nanoseconds(BAD),
               ST_INVALID_MEMORY_ACCESS);
  wasi_clock_time_get(CLOCK_REALTIME_ID, 1, P(&wasi_now));
  u64 diff = now > wasi_now ? now - wasi_now : wasi_now - now;
  CHECK_TRUE("time.current.is_realtime", now > 1600000000000000000ull && diff < 1000000000ull,
             "within 1 s of clock_time_get(REALTIME)", "", 0);
  CHECK_STATUS("time.tick_period.set_zero_disables", proxy_set_tick_period_milliseconds(0), ST_OK);
  CHECK_STATUS("time.tick_period.set_again", proxy_set_tick_period_milliseconds(20), ST_OK);
}

static void metric_checks(void) {
  u32 counter = 0, gauge = 0, histogram = 0, again = 0, s;
  u64 before = 0, after = 0;
  CHECK_STATUS("metric.define.counter",
               proxy_define_metric(METRIC_COUNTER, LIT("abi_counter"), P(&counter)), ST_OK);
  CHECK_STATUS("metric.define.gauge",
               proxy_define_metric(METRIC_GAUGE, LIT("abi_gauge"), P(&gauge)), ST_OK);
  CHECK_STATUS("metric.define.histogram",
               proxy_define_metric(METRIC_HISTOGRAM, LIT("abi_histogram"), P(&histogram)), ST_OK);
  CHECK_TRUE("metric.define.distinct_ids",
             counter && gauge && histogram && counter != gauge && gauge != histogram &&
                 counter != histogram,
             "three distinct non-zero ids", "", 0);
  proxy_define_metric(METRIC_COUNTER, LIT("abi_counter"), P(&again));
  CHECK_U64("metric.define.same_name_same_id", again, counter);
  /* spec: BAD_ARGUMENT for an unknown metric_type */
  CHECK_STATUS("metric.define.unknown_type", proxy_define_metric(3, LIT("abi_bad"), P(&again)),
               ST_BAD_ARGUMENT);
  CHECK_STATUS("metric.define.bad_name_pointer",
               proxy_define_metric(METRIC_COUNTER, BAD, 8, P(&again)), ST_INVALID_MEMORY_ACCESS);
  CHECK_STATUS("metric.define.bad_return_pointer",
               proxy_define_metric(METRIC_COUNTER, LIT("abi_counter"), BAD),
               ST_INVALID_MEMORY_ACCESS);

  proxy_get_metric(counter, P(&before));
  CHECK_STATUS("metric.counter.increment", proxy_increment_metric(counter, 5), ST_OK);
  CHECK_STATUS("metric.counter.get", proxy_get_metric(counter, P(&after)), ST_OK);
  CHECK_U64("metric.counter.increment_applied", after - before, 5);
  /* spec: BAD_ARGUMENT "when requested delta cannot be applied (e.g. trying to decrement counter)"
   */
  CHECK_STATUS("metric.counter.decrement", proxy_increment_metric(counter, -1), ST_BAD_ARGUMENT);
  proxy_get_metric(counter, P(&before));
  CHECK_U64("metric.counter.decrement_not_applied", before, after);

  CHECK_STATUS("metric.gauge.record", proxy_record_metric(gauge, 42), ST_OK);
  proxy_get_metric(gauge, P(&after));
  CHECK_U64("metric.gauge.get_after_record", after, 42);
  CHECK_STATUS("metric.gauge.decrement", proxy_increment_metric(gauge, -2), ST_OK);
  proxy_get_metric(gauge, P(&after));
  CHECK_U64("metric.gauge.get_after_decrement", after, 40);
  CHECK_STATUS("metric.histogram.record", proxy_record_metric(histogram, 7), ST_OK);
  /* a histogram has no value to change by a delta */
  CHECK_STATUS("metric.histogram.increment", proxy_increment_metric(histogram, 1), ST_BAD_ARGUMENT);

  /* spec: NOT_FOUND for an unknown metric_id */
  CHECK_STATUS("metric.unknown.get", proxy_get_metric(0xBEEF, P(&after)), ST_NOT_FOUND);
  CHECK_STATUS("metric.unknown.increment", proxy_increment_metric(0xBEEF, 1), ST_NOT_FOUND);
  CHECK_STATUS("metric.unknown.record", proxy_record_metric(0xBEEF, 1), ST_NOT_FOUND);
  s = proxy_get_metric(counter, BAD);
  CHECK_STATUS("metric.get.bad_pointer", s, ST_INVALID_MEMORY_ACCESS);
}

static void shared_data_checks(void) {
  Bytes v = {0, 0};
  u32 cas = 0, cas2 = 0, s;
  s = proxy_get_shared_data(LIT("abi/never-set"), P(&v.data), P(&v.size), P(&cas));
  CHECK_STATUS("shared.get.missing", s, ST_NOT_FOUND);
  CHECK_STATUS("shared.set", proxy_set_shared_data(LIT("abi/k"), LIT("one"), 0), ST_OK);
  s = proxy_get_shared_data(LIT("abi/k"), P(&v.data), P(&v.size), P(&cas));
  CHECK_VALUE("shared.get", s, v.data, v.size, "one");
  bytes_free(&v);
  CHECK_TRUE("shared.get.cas_non_zero", cas != 0, "a non-zero CAS", "", 0);
  CHECK_STATUS("shared.set.with_cas", proxy_set_shared_data(LIT("abi/k"), LIT("two"), cas), ST_OK);
  /* spec: CAS_MISMATCH when cas doesn't match the host's */
  CHECK_STATUS("shared.set.stale_cas", proxy_set_shared_data(LIT("abi/k"), LIT("three"), cas),
               ST_CAS_MISMATCH);
  s = proxy_get_shared_data(LIT("abi/k"), P(&v.data), P(&v.size), P(&cas2));
  CHECK_VALUE("shared.get.after_stale_cas", s, v.data, v.size, "two");
  bytes_free(&v);
  CHECK_TRUE("shared.get.cas_changed", cas2 != 0 && cas2 != cas, "a new CAS after a write", "", 0);
  s = proxy_get_shared_data(BAD, 4, P(&v.data), P(&v.size), P(&cas));
  CHECK_STATUS("shared.bad_pointer.key", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_get_shared_data(LIT("abi/k"), P(&v.data), P(&v.size), BAD);
  CHECK_STATUS("shared.bad_pointer.cas_return", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_set_shared_data(LIT("abi/k"), BAD, 4, 0);
  CHECK_STATUS("shared.bad_pointer.value", s, ST_INVALID_MEMORY_ACCESS);
}

static void queue_checks(void) {
  Bytes v = {0, 0};
  u32 id = 0, resolved = 0, work = 0, s;
  /* The probe queue again: the same id (and, for the host, no second wake-up per item). */
  CHECK_STATUS("queue.register", proxy_register_shared_queue(LIT("abi/probe"), P(&id)), ST_OK);
  CHECK_U64("queue.register.same_id", id, probe_queue);
  s = proxy_resolve_shared_queue(P(my_name), (u32)strlen(my_name), LIT("abi/probe"), P(&resolved));
  CHECK_STATUS("queue.resolve", s, ST_OK);
  CHECK_U64("queue.resolve.same_id", resolved, probe_queue);
  s = proxy_resolve_shared_queue(LIT("abi"), LIT("abi/no-such-queue"), P(&resolved));
  CHECK_STATUS("queue.resolve.unknown", s, ST_NOT_FOUND);
  s = proxy_resolve_shared_queue(LIT("no-such-vm"), LIT("abi/probe"), P(&resolved));
  CHECK_STATUS("queue.resolve.unknown_vm", s, ST_NOT_FOUND);
  /* one item for proxy_on_queue_ready to take (counted in /abi/ticks) */
  CHECK_STATUS("queue.enqueue.probe", proxy_enqueue_shared_queue(probe_queue, LIT("probe")), ST_OK);

  proxy_register_shared_queue(LIT("abi/work"), P(&work));
  CHECK_STATUS("queue.enqueue", proxy_enqueue_shared_queue(work, LIT("x")), ST_OK);
  s = proxy_dequeue_shared_queue(work, P(&v.data), P(&v.size));
  CHECK_VALUE("queue.dequeue", s, v.data, v.size, "x");
  bytes_free(&v);
  /* spec: EMPTY when there is nothing to dequeue */
  CHECK_STATUS("queue.dequeue.empty", proxy_dequeue_shared_queue(work, P(&v.data), P(&v.size)),
               ST_EMPTY);
  /* spec: NOT_FOUND for an unknown queue_id */
  CHECK_STATUS("queue.enqueue.unknown", proxy_enqueue_shared_queue(0xFFFFF, LIT("x")),
               ST_NOT_FOUND);
  CHECK_STATUS("queue.dequeue.unknown", proxy_dequeue_shared_queue(0xFFFFF, P(&v.data), P(&v.size)),
               ST_NOT_FOUND);
  CHECK_STATUS("queue.bad_pointer.register_return",
               proxy_register_shared_queue(LIT("abi/work"), BAD), ST_INVALID_MEMORY_ACCESS);
  CHECK_STATUS("queue.bad_pointer.enqueue_value", proxy_enqueue_shared_queue(work, BAD, 4),
               ST_INVALID_MEMORY_ACCESS);
  proxy_enqueue_shared_queue(work, LIT("y"));
  CHECK_STATUS("queue.bad_pointer.dequeue_return",
               proxy_dequeue_shared_queue(work, BAD, P(&v.size)), ST_INVALID_MEMORY_ACCESS);
  /* drain what the bad dequeue may have left, so the next run starts empty */
  while (proxy_dequeue_shared_queue(work, P(&v.data), P(&v.size)) == ST_OK) bytes_free(&v);
}

static void stream_checks(void) {
  /* spec: OK; BAD_ARGUMENT for an unknown stream_type; UNIMPLEMENTED when not supported */
  CHECK_STATUS("stream.continue.request_not_paused", proxy_continue_stream(STREAM_REQUEST), ST_OK);
  CHECK_STATUS("stream.continue.response", proxy_continue_stream(STREAM_RESPONSE), ST_OK);
  CHECK_STATUS("stream.continue.downstream", proxy_continue_stream(STREAM_DOWNSTREAM),
               ST_UNIMPLEMENTED);
  CHECK_STATUS("stream.continue.unknown", proxy_continue_stream(9), ST_BAD_ARGUMENT);
  CHECK_STATUS("stream.close.unknown", proxy_close_stream(9), ST_BAD_ARGUMENT);
  u32 code = 7;
  Bytes v = {0, 0};
  /* host: no HTTP call response here: status 0 and an empty message */
  CHECK_STATUS("stream.get_status", proxy_get_status(P(&code), P(&v.data), P(&v.size)), ST_OK);
  bytes_free(&v);
  CHECK_U64("stream.get_status.code_outside_callback", code, 0);
  CHECK_STATUS("stream.get_status.bad_pointer", proxy_get_status(BAD, P(&v.data), P(&v.size)),
               ST_INVALID_MEMORY_ACCESS);
}

static void call_checks(void) {
  Buf enc = {0, 0, 0};
  u32 token = 0, s;
  static const char* const full[] = {":method",         "GET",        ":path",
                                     "/echo?from=call", ":authority", "abi.test"};
  static const char* const no_path[] = {":method", "GET", ":authority", "abi.test"};
  static const char* const no_method[] = {":path", "/", ":authority", "abi.test"};
  static const char* const no_authority[] = {":method", "GET", ":path", "/"};
  /* spec: BAD_ARGUMENT for an unknown upstream, or headers missing :authority, :method or :path */
  encode_pairs(&enc, full, 3);
  s = proxy_http_call(LIT("no-such-upstream"), P(enc.data), (u32)enc.len, P(""), 0, P(""), 0, 1000,
                      P(&token));
  CHECK_STATUS("http_call.unknown_upstream", s, ST_BAD_ARGUMENT);
  s = proxy_http_call(LIT("echo"), P(enc.data), (u32)enc.len, P(""), 0, P(""), 0, 1000, BAD);
  CHECK_STATUS("http_call.bad_token_pointer", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_http_call(LIT("echo"), BAD, 16, P(""), 0, P(""), 0, 1000, P(&token));
  CHECK_STATUS("http_call.bad_headers_pointer", s, ST_INVALID_MEMORY_ACCESS);
  encode_pairs(&enc, no_path, 2);
  s = proxy_http_call(LIT("echo"), P(enc.data), (u32)enc.len, P(""), 0, P(""), 0, 1000, P(&token));
  CHECK_STATUS("http_call.missing_path", s, ST_BAD_ARGUMENT);
  encode_pairs(&enc, no_method, 2);
  s = proxy_http_call(LIT("echo"), P(enc.data), (u32)enc.len, P(""), 0, P(""), 0, 1000, P(&token));
  CHECK_STATUS("http_call.missing_method", s, ST_BAD_ARGUMENT);
  encode_pairs(&enc, no_authority, 2);
  s = proxy_http_call(LIT("echo"), P(enc.data), (u32)enc.len, P(""), 0, P(""), 0, 1000, P(&token));
  CHECK_STATUS("http_call.missing_authority", s, ST_BAD_ARGUMENT);
  free(enc.data);

  /* gRPC: no HTTP/2 upstreams; the spec's answers for a call that cannot be made */
  s = proxy_grpc_call(LIT("svc"), LIT("svc"), LIT("m"), P(""), 0, P(""), 0, 1000, P(&token));
  CHECK_TRUE("grpc.call", s == ST_PARSE_FAILURE || s == ST_INTERNAL_FAILURE,
             "PARSE_FAILURE or INTERNAL_FAILURE", status_name(s), strlen(status_name(s)));
  s = proxy_grpc_stream(LIT("svc"), LIT("svc"), LIT("m"), P(""), 0, P(&token));
  CHECK_TRUE("grpc.stream", s == ST_PARSE_FAILURE || s == ST_INTERNAL_FAILURE,
             "PARSE_FAILURE or INTERNAL_FAILURE", status_name(s), strlen(status_name(s)));
  CHECK_STATUS("grpc.send.unknown", proxy_grpc_send(0xFFFF, LIT("x"), 0), ST_NOT_FOUND);
  CHECK_STATUS("grpc.cancel.unknown", proxy_grpc_cancel(0xFFFF), ST_NOT_FOUND);
  CHECK_STATUS("grpc.close.unknown", proxy_grpc_close(0xFFFF), ST_NOT_FOUND);

  /* foreign functions */
  Bytes v = {0, 0};
  s = proxy_call_foreign_function(LIT("abi.no_such_function"), LIT(""), P(&v.data), P(&v.size));
  CHECK_STATUS("foreign.unknown", s, ST_NOT_FOUND);
  s = proxy_call_foreign_function(BAD, 8, LIT(""), P(&v.data), P(&v.size));
  CHECK_STATUS("foreign.bad_name_pointer", s, ST_INVALID_MEMORY_ACCESS);
  s = proxy_call_foreign_function(LIT("stavka.purge_url"), LIT("http://abi.test/never-stored"),
                                  P(&v.data), P(&v.size));
  CHECK_VALUE("foreign.purge_url", s, v.data, v.size, "0");
  bytes_free(&v);
  /* host: the number of objects removed, as text (docs/modules.md) */
  s = proxy_call_foreign_function(LIT("stavka.purge_tag"), LIT("abi-no-such-tag"), P(&v.data),
                                  P(&v.size));
  CHECK_VALUE("foreign.purge_tag", s, v.data, v.size, "0");
  bytes_free(&v);
}

static void wasi_checks(void) {
  u32 written = 0, e;
  static const char out_text[] = "abi-stdout-line\n";
  static const char err_text[] = "abi-stderr-line\n";
  u32 iov[2] = {P(out_text), sizeof out_text - 1};
  e = wasi_fd_write(1, P(iov), 1, P(&written));
  CHECK_ERRNO("wasi.fd_write.stdout", e, WASI_SUCCESS);
  CHECK_U64("wasi.fd_write.stdout_written", written, sizeof out_text - 1);
  iov[0] = P(err_text), iov[1] = sizeof err_text - 1;
  CHECK_ERRNO("wasi.fd_write.stderr", wasi_fd_write(2, P(iov), 1, P(&written)), WASI_SUCCESS);
  /* spec: BADF for an unknown fd, FAULT for pointers outside memory */
  CHECK_ERRNO("wasi.fd_write.unknown_fd", wasi_fd_write(7, P(iov), 1, P(&written)), WASI_BADF);
  CHECK_ERRNO("wasi.fd_write.stdin", wasi_fd_write(0, P(iov), 1, P(&written)), WASI_BADF);
  CHECK_ERRNO("wasi.fd_write.bad_iovec", wasi_fd_write(1, BAD, 1, P(&written)), WASI_FAULT);
  u32 bad_iov[2] = {BAD, 8};
  CHECK_ERRNO("wasi.fd_write.bad_buffer", wasi_fd_write(1, P(bad_iov), 1, P(&written)), WASI_FAULT);
  iov[0] = P(out_text), iov[1] = sizeof out_text - 1;
  CHECK_ERRNO("wasi.fd_write.bad_written_pointer", wasi_fd_write(1, P(iov), 1, BAD), WASI_FAULT);

  u64 t1 = 0, t2 = 0;
  CHECK_ERRNO("wasi.clock.realtime", wasi_clock_time_get(CLOCK_REALTIME_ID, 1, P(&t1)),
              WASI_SUCCESS);
  CHECK_TRUE("wasi.clock.realtime_value", t1 > 1600000000000000000ull, "nanoseconds since 1970", "",
             0);
  CHECK_ERRNO("wasi.clock.monotonic", wasi_clock_time_get(CLOCK_MONOTONIC_ID, 1, P(&t1)),
              WASI_SUCCESS);
  wasi_clock_time_get(CLOCK_MONOTONIC_ID, 1, P(&t2));
  CHECK_TRUE("wasi.clock.monotonic_does_not_go_back", t2 >= t1 && t1 > 0, "t2 >= t1 > 0", "", 0);
  /* spec: NOTSUP for an unknown clock_id */
  CHECK_ERRNO("wasi.clock.unknown", wasi_clock_time_get(99, 1, P(&t1)), WASI_NOTSUP);
  CHECK_ERRNO("wasi.clock.bad_pointer", wasi_clock_time_get(CLOCK_REALTIME_ID, 1, BAD), WASI_FAULT);

  unsigned char r1[32] = {0}, r2[32] = {0};
  CHECK_ERRNO("wasi.random", wasi_random_get(P(r1), sizeof r1), WASI_SUCCESS);
  wasi_random_get(P(r2), sizeof r2);
  int zero = 1;
  for (unsigned i = 0; i < sizeof r1; i++) zero &= r1[i] == 0;
  CHECK_TRUE("wasi.random.fills", !zero && memcmp(r1, r2, sizeof r1) != 0,
             "two different non-zero draws", "", 0);
  /* spec: INVAL when the size is too large (Stavka: more than 64 KiB), FAULT outside memory */
  unsigned char* big = malloc(65537);
  CHECK_ERRNO("wasi.random.too_large", wasi_random_get(P(big), 65537), WASI_INVAL);
  free(big);
  CHECK_ERRNO("wasi.random.bad_pointer", wasi_random_get(BAD, 64), WASI_FAULT);

  /* environ: [module.environment] ABI_ENV = "yes", ABI_OTHER = "2" */
  u32 count = 0, bytes = 0;
  CHECK_ERRNO("wasi.environ.sizes", wasi_environ_sizes_get(P(&count), P(&bytes)), WASI_SUCCESS);
  CHECK_U64("wasi.environ.count", count, 2);
  CHECK_U64("wasi.environ.bytes", bytes, sizeof "ABI_ENV=yes" + sizeof "ABI_OTHER=2");
  {
    u32 ptrs[2] = {0, 0};
    char* text = calloc(1, bytes + 1);
    CHECK_ERRNO("wasi.environ.get", wasi_environ_get(P(ptrs), P(text)), WASI_SUCCESS);
    const char* first = (const char*)(uintptr_t)ptrs[0];
    const char* second = (const char*)(uintptr_t)ptrs[1];
    CHECK_TRUE(
        "wasi.environ.entries",
        first && second && strcmp(first, "ABI_ENV=yes") == 0 && strcmp(second, "ABI_OTHER=2") == 0,
        "ABI_ENV=yes, ABI_OTHER=2", text, bytes);
    free(text);
  }
  const char* env = getenv("ABI_ENV");
  CHECK_TRUE("wasi.environ.libc_getenv", env && strcmp(env, "yes") == 0, "\"yes\"", env ? env : "",
             env ? strlen(env) : 0);
  CHECK_ERRNO("wasi.environ.bad_pointer", wasi_environ_sizes_get(BAD, P(&bytes)), WASI_FAULT);

  u32 argc = 7, argv_size = 7;
  CHECK_ERRNO("wasi.args.sizes", wasi_args_sizes_get(P(&argc), P(&argv_size)), WASI_SUCCESS);
  CHECK_TRUE("wasi.args.none", argc == 0 && argv_size == 0, "argc 0 and 0 bytes", "", 0);
  CHECK_ERRNO("wasi.args.sizes_bad_pointer", wasi_args_sizes_get(BAD, P(&argv_size)), WASI_FAULT);
  CHECK_ERRNO("wasi.args.get", wasi_args_get(P(&argc), P(&argv_size)), WASI_SUCCESS);

  /* host (WASI semantics): descriptors that are not open are BADF; nothing is preopened
   * without allow_wasi */
  u64 offset = 0;
  unsigned char stat[24];
  CHECK_ERRNO("wasi.fd_seek.not_open", wasi_fd_seek(5, 0, 0, P(&offset)), WASI_BADF);
  CHECK_ERRNO("wasi.fd_seek.stdout", wasi_fd_seek(1, 0, 0, P(&offset)), WASI_SPIPE);
  CHECK_ERRNO("wasi.fd_close.not_open", wasi_fd_close(5), WASI_BADF);
  CHECK_ERRNO("wasi.fd_prestat_get.none", wasi_fd_prestat_get(3, P(stat)), WASI_BADF);
  CHECK_ERRNO("wasi.fd_prestat_dir_name.none", wasi_fd_prestat_dir_name(3, P(stat), 8), WASI_BADF);
  CHECK_ERRNO("wasi.path_open.no_preopen", wasi_path_open(3, 0, LIT("x"), 0, 0, 0, 0, P(&count)),
              WASI_BADF);
  CHECK_ERRNO("wasi.fd_fdstat_get.stdout", wasi_fd_fdstat_get(1, P(stat)), WASI_SUCCESS);
  CHECK_U64("wasi.fd_fdstat_get.stdout_is_char_device", stat[0], 2);
  {
    char in[8];
    u32 in_iov[2] = {P(in), sizeof in};
    u32 got = 99;
    CHECK_ERRNO("wasi.fd_read.stdin", wasi_fd_read(0, P(in_iov), 1, P(&got)), WASI_SUCCESS);
    CHECK_U64("wasi.fd_read.stdin_at_end", got, 0);
  }
  CHECK_ERRNO("wasi.sched_yield", wasi_sched_yield(), WASI_SUCCESS);
}

/* The answer of /abi/request: 200, the lines as the body. */
static void answer(Buf* lines, int with_checks) {
  static const char* const headers[] = {"x-abi-local", "yes",          "content-length",
                                        "1",           "content-type", "text/plain"};
  Buf enc = {0, 0, 0};
  u32 s;
  encode_pairs(&enc, headers, 3);
  /* spec: INVALID_MEMORY_ACCESS for each pointer, before the real answer */
  if (with_checks) {
    s = proxy_send_local_response(200, BAD, 4, P(""), 0, P(enc.data), (u32)enc.len, 0);
    CHECK_STATUS("local_response.bad_details_pointer", s, ST_INVALID_MEMORY_ACCESS);
    s = proxy_send_local_response(200, LIT(""), BAD, 4, P(enc.data), (u32)enc.len, 0);
    CHECK_STATUS("local_response.bad_body_pointer", s, ST_INVALID_MEMORY_ACCESS);
    s = proxy_send_local_response(200, LIT(""), P(""), 0, BAD, 16, 0);
    CHECK_STATUS("local_response.bad_headers_pointer", s, ST_INVALID_MEMORY_ACCESS);
  }
  buf_str(lines, "end\n");
  s = proxy_send_local_response(200, LIT("abi"), P(lines->data), (u32)lines->len, P(enc.data),
                                (u32)enc.len, 0);
  free(enc.data);
  if (s != ST_OK) {
    const char msg[] = "abi_conformance: proxy_send_local_response failed";
    proxy_log(LOG_ERROR, LIT(msg));
  }
}

static int path_is(const Bytes* path, const char* prefix) {
  size_t n = strlen(prefix);
  return path->size >= n && memcmp(path->data, prefix, n) == 0 &&
         (path->size == n || path->data[n] == '?' || path->data[n] == '/');
}

static u32 request_main(Ctx* c, u32 context_id, u32 num_headers) {
  Bytes path;
  get_header(MAP_REQUEST_HEADERS, ":path", &path);
  u32 action = ACTION_CONTINUE;
  if (path_is(&path, "/abi/request")) {
    c->kind = KIND_REQUEST;
    buf_add(report, root_lines.data ? root_lines.data : "", root_lines.len);
    property_checks(context_id);
    context_checks(context_id);
    header_checks(num_headers);
    buffer_checks();
    log_checks();
    time_checks();
    metric_checks();
    shared_data_checks();
    queue_checks();
    stream_checks();
    call_checks();
    wasi_checks();
    answer(report, 1);
  } else if (path_is(&path, "/abi/forward")) {
    c->kind = KIND_FORWARD;
    CHECK_STATUS("forward.add",
                 proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-fwd"), LIT("1")),
                 ST_OK);
    CHECK_STATUS("forward.remove",
                 proxy_remove_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-drop")), ST_OK);
    CHECK_STATUS(
        "forward.replace",
        proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT("x-abi-replace"), LIT("new")),
        ST_OK);
    proxy_add_header_map_value(MAP_REQUEST_HEADERS, LIT("content-length"), LIT("7"));
    CHECK_STATUS("forward.set_path",
                 proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT(":path"),
                                                LIT("/echo?abi=forward&hdr=X-Origin-Drop:1")),
                 ST_OK);
    CHECK_STATUS("forward.set_property", SET_PROP("abi\0custom", "from-request"), ST_OK);
    CHECK_STATUS("forward.bypass_cache", SET_PROP("stavka\0cache\0bypass", "true"), ST_OK);
  } else if (path_is(&path, "/abi/pause")) {
    c->kind = KIND_PAUSE;
    proxy_replace_header_map_value(MAP_REQUEST_HEADERS, LIT(":path"), LIT("/echo?abi=pause"));
    if (pending_count < 16) pending[pending_count++] = context_id;
    action = ACTION_PAUSE;
  } else if (path_is(&path, "/abi/close")) {
    /* Nothing can report this one: the effect (no response at all) is what the test checks. */
    proxy_close_stream(STREAM_REQUEST);
  } else if (path_is(&path, "/abi/ticks")) {
    Buf b = {0, 0, 0};
    buf_str(&b, "ticks ");
    buf_u64(&b, ticks);
    buf_str(&b, "\nqueue_ready ");
    buf_u64(&b, probe_calls);
    buf_str(&b, "\nqueue_ready_empty ");
    buf_u64(&b, probe_empty);
    buf_str(&b, "\n");
    proxy_send_local_response(200, LIT("ticks"), P(b.data), (u32)b.len, P(""), 0, 0);
    free(b.data);
  }
  bytes_free(&path);
  return action;
}

/* The chain scenario: two instances of this module on one site, writer first. */
static u32 request_chain(Ctx* c, u32 context_id) {
  Bytes path;
  get_header(MAP_REQUEST_HEADERS, ":path", &path);
  int chain = path_is(&path, "/abi/chain");
  bytes_free(&path);
  if (!chain) return ACTION_CONTINUE;
  if (strcmp(role, "writer") == 0) {
    CHECK_STATUS("chain.writer.set_property", SET_PROP("abi\0chain", "from-writer"), ST_OK);
    CHECK_STATUS("chain.writer.set_shared_data",
                 proxy_set_shared_data(LIT("abi/chain"), LIT("w"), 0), ST_OK);
    CHECK_PROP("chain.writer.plugin_name", "plugin_name", conf("name"));
    /* the writer's lines travel to the reader as a property */
    set_prop("abi\0writer_lines", sizeof "abi\0writer_lines" - 1, report->data ? report->data : "");
    return ACTION_CONTINUE;
  }
  Bytes v = {0, 0};
  u32 s = GET_PROP("abi\0writer_lines", &v);
  if (s == ST_OK) buf_add(report, v.data, v.size);
  CHECK_STATUS("chain.reader.writer_lines", s, ST_OK);
  bytes_free(&v);
  CHECK_PROP("chain.reader.property_from_writer", "abi\0chain", "from-writer");
  CHECK_PROP("chain.reader.plugin_name", "plugin_name", conf("name"));
  u32 cas = 0;
  s = proxy_get_shared_data(LIT("abi/chain"), P(&v.data), P(&v.size), P(&cas));
  CHECK_VALUE("chain.reader.shared_data_from_writer", s, v.data, v.size, "w");
  bytes_free(&v);
  /* the writer registered abi/probe in its root context; the reader finds it by vm_id */
  const char* writer = conf("writer");
  u32 id = 0;
  s = proxy_resolve_shared_queue(P(writer), (u32)strlen(writer), LIT("abi/probe"), P(&id));
  CHECK_STATUS("chain.reader.resolve_writer_queue", s, ST_OK);
  CHECK_TRUE("chain.reader.writer_queue_is_not_mine", s == ST_OK && id != probe_queue,
             "another module's queue id", "", 0);
  answer(report, 0);
  return ACTION_CONTINUE;
}

ABI_EXPORT(proxy_on_request_headers)
u32 proxy_on_request_headers(u32 context_id, u32 num_headers, u32 end_of_stream) {
  Ctx* c = ctx_of(context_id);
  report = &c->lines;
  if (role && strcmp(role, "main") == 0) return request_main(c, context_id, num_headers);
  return request_chain(c, context_id);
}

/* ---- response phase ------------------------------------------------------------------------ */

static void response_checks(void) {
  Bytes v = {0, 0};
  u32 s;
  Pair pairs[64];
  check_header("resp.status.get", MAP_RESPONSE_HEADERS, ":status", "200");
  CHECK_PROP_LE64("resp.property.response_code", "response\0code", 200);
  CHECK_PROP("resp.property.code_details", "response\0code_details", "OK");
  CHECK_PROP("resp.property.custom_from_request_phase", "abi\0custom", "from-request");
  s = GET_PROP("stavka\0cache\0status", &v);
  CHECK_TRUE("resp.cache.status", s == ST_OK && v.size > 0, "a Cache-Status member", v.data,
             v.size);
  bytes_free(&v);
  check_header("resp.origin_header", MAP_RESPONSE_HEADERS, "x-origin-drop", "1");
  s = proxy_get_header_map_pairs(MAP_RESPONSE_HEADERS, P(&v.data), P(&v.size));
  int n = decode_pairs(v.data, v.size, pairs, 64);
  CHECK_TRUE("resp.pairs.status_pseudo_header",
             s == ST_OK && n > 0 && pair_is(find_pair(pairs, n, ":status"), "200"),
             "a map with :status 200", status_name(s), strlen(status_name(s)));
  bytes_free(&v);
  /* the request's map stays readable */
  check_header("resp.request_headers.readable", MAP_REQUEST_HEADERS, "x-abi-fwd", "1");

  CHECK_STATUS("resp.remove",
               proxy_remove_header_map_value(MAP_RESPONSE_HEADERS, LIT("x-origin-drop")), ST_OK);
  CHECK_STATUS("resp.add",
               proxy_add_header_map_value(MAP_RESPONSE_HEADERS, LIT("x-abi-resp"), LIT("yes")),
               ST_OK);
  /* host: framing stays the host's (the client still gets a correct length) */
  proxy_replace_header_map_value(MAP_RESPONSE_HEADERS, LIT("content-length"), LIT("1"));
  CHECK_STATUS("resp.set_status",
               proxy_replace_header_map_value(MAP_RESPONSE_HEADERS, LIT(":status"), LIT("203")),
               ST_OK);
  check_header("resp.status.after_set", MAP_RESPONSE_HEADERS, ":status", "203");
  CHECK_PROP_LE64("resp.property.response_code_after_set", "response\0code", 203);
}

ABI_EXPORT(proxy_on_response_headers)
u32 proxy_on_response_headers(u32 context_id, u32 num_headers, u32 end_of_stream) {
  Ctx* c = ctx_of(context_id);
  report = &c->lines;
  if (c->kind == KIND_FORWARD) response_checks();
  if (c->kind != KIND_FORWARD && c->kind != KIND_PAUSE) return ACTION_CONTINUE;
  /* Each line as its own x-abi-check field. */
  const char* p = c->lines.data;
  const char* end = p ? p + c->lines.len : p;
  while (p && p < end) {
    const char* nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) nl = end;
    proxy_add_header_map_value(MAP_RESPONSE_HEADERS, LIT("x-abi-check"), P(p), (u32)(nl - p));
    p = nl + 1;
  }
  return ACTION_CONTINUE;
}

ABI_EXPORT(proxy_on_done)
u32 proxy_on_done(u32 context_id) {
  return 1;
}

ABI_EXPORT(proxy_on_log)
void proxy_on_log(u32 context_id) {}

ABI_EXPORT(proxy_on_delete)
void proxy_on_delete(u32 context_id) {
  for (int i = 0; i < 64; i++)
    if (contexts[i].used && contexts[i].id == context_id) contexts[i].used = 0;
}
