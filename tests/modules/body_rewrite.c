/*
 * body_rewrite: exercises the body callbacks. The plugin configuration picks the behaviour:
 *   "upper"       each piece of the response body is upper-cased as it streams (Continue);
 *   "whole"       the response body is held back (StopIterationAndBuffer) to its end, then
 *                 replaced by "bytes=N\n" (N: its length): the length changes (with a small
 *                 body_buffer_limit: a module holding back too much);
 *   "request"     the request body is upper-cased on its way to the origin.
 * In every mode, trailers get `x-module-trailer: request-N` / `response-N` (N: how many
 * trailer fields the message came with).
 * Every body callback also adds its calls to the metric body_calls. For
 * tests/integration/test_modules.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_wasm_abi.h"

static char mode[16];
static u32 calls_metric;

ABI_EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1(void) {}

ABI_EXPORT(proxy_on_memory_allocate) void* proxy_on_memory_allocate(size_t size) {
  return malloc(size);
}

ABI_EXPORT(proxy_on_context_create) void proxy_on_context_create(u32 id, u32 parent) {}
ABI_EXPORT(proxy_on_vm_start) u32 proxy_on_vm_start(u32 root_id, u32 size) { return 1; }

ABI_EXPORT(proxy_on_configure) u32 proxy_on_configure(u32 root_id, u32 size) {
  char* text = 0;
  u32 len = 0;
  if (proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, size, (u32)&text, (u32)&len) ==
          ST_OK &&
      len < sizeof mode) {
    memcpy(mode, text, len);
  }
  free(text);
  static const char name[] = "body_calls";
  proxy_define_metric(0, (u32)name, sizeof name - 1, (u32)&calls_metric);
  return 1;
}

ABI_EXPORT(proxy_on_request_headers)
u32 proxy_on_request_headers(u32 id, u32 headers, u32 end_of_stream) { return ACTION_CONTINUE; }
ABI_EXPORT(proxy_on_response_headers)
u32 proxy_on_response_headers(u32 id, u32 headers, u32 end_of_stream) { return ACTION_CONTINUE; }
ABI_EXPORT(proxy_on_done) u32 proxy_on_done(u32 id) { return 1; }
ABI_EXPORT(proxy_on_log) void proxy_on_log(u32 id) {}
ABI_EXPORT(proxy_on_delete) void proxy_on_delete(u32 id) {}

/* Upper-cases the whole of buffer `type` (size bytes) in place. */
static void upper(u32 type, u32 size) {
  char* data = 0;
  u32 len = 0;
  if (size == 0 || proxy_get_buffer_bytes(type, 0, size, (u32)&data, (u32)&len) != ST_OK) return;
  for (u32 i = 0; i < len; ++i) {
    if (data[i] >= 'a' && data[i] <= 'z') data[i] -= 'a' - 'A';
  }
  proxy_set_buffer_bytes(type, 0, len, (u32)data, len);
  free(data);
}

ABI_EXPORT(proxy_on_request_body)
u32 proxy_on_request_body(u32 id, u32 size, u32 end_of_stream) {
  proxy_increment_metric(calls_metric, 1);
  if (strcmp(mode, "request") == 0) upper(BUFFER_REQUEST_BODY, size);
  return ACTION_CONTINUE;
}

ABI_EXPORT(proxy_on_response_body)
u32 proxy_on_response_body(u32 id, u32 size, u32 end_of_stream) {
  proxy_increment_metric(calls_metric, 1);
  if (strcmp(mode, "upper") == 0) {
    upper(BUFFER_RESPONSE_BODY, size);
    return ACTION_CONTINUE;
  }
  if (strcmp(mode, "whole") == 0) {
    if (!end_of_stream) return ACTION_PAUSE;
    char line[32];
    int n = snprintf(line, sizeof line, "bytes=%u\n", size);
    proxy_set_buffer_bytes(BUFFER_RESPONSE_BODY, 0, size, (u32)line, (u32)n);
  }
  return ACTION_CONTINUE;
}

static void mark_trailers(u32 map, const char* side, u32 count) {
  static const char name[] = "x-module-trailer";
  char value[32];
  int n = snprintf(value, sizeof value, "%s-%u", side, count);
  proxy_add_header_map_value(map, (u32)name, sizeof name - 1, (u32)value, (u32)n);
}

ABI_EXPORT(proxy_on_request_trailers) u32 proxy_on_request_trailers(u32 id, u32 count) {
  mark_trailers(MAP_REQUEST_TRAILERS, "request", count);
  return ACTION_CONTINUE;
}

ABI_EXPORT(proxy_on_response_trailers) u32 proxy_on_response_trailers(u32 id, u32 count) {
  mark_trailers(MAP_RESPONSE_TRAILERS, "response", count);
  return ACTION_CONTINUE;
}
