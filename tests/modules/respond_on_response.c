/*
 * respond_on_response: replaces a response in the response-headers phase, by what the origin
 * (or the stored object) says in the field `x-module-do`:
 *   "deny"  -> proxy_send_local_response 451 with the body "withheld\n" and `x-replaced: 1`;
 *   "reset" -> proxy_close_stream (the connection closes without an answer);
 *   "trap"  -> a trap (the module's on_error decides: fail-open sends the response, fail-closed
 *              a 503);
 *   "pause" -> pauses the response, asks the upstream "check" (GET /check), and when it answers
 *              adds `x-check: STATUS` to the response and resumes it;
 *   "stall" -> pauses the response and never resumes it (the host's pause limit applies);
 *   "tag"   -> tags what this response stores with `mod-tag other` (stavka.cache.surrogate_keys).
 * A request with `x-purge-tag: T` is answered at the edge with "purged N\n", N being what the
 * foreign function stavka.purge_tag removed.
 * Any other response goes on unchanged. For tests/integration/test_modules.py.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_wasm_abi.h"

ABI_EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1(void) {}

ABI_EXPORT(proxy_on_memory_allocate) void* proxy_on_memory_allocate(size_t size) {
  return malloc(size);
}

ABI_EXPORT(proxy_on_context_create) void proxy_on_context_create(u32 id, u32 parent) {}
ABI_EXPORT(proxy_on_vm_start) u32 proxy_on_vm_start(u32 root_id, u32 size) { return 1; }
ABI_EXPORT(proxy_on_configure) u32 proxy_on_configure(u32 root_id, u32 size) { return 1; }
/* The value of field `name` of map `map` (malloc'd, not NUL-ended); 0 when there is none. */
static int field(u32 map, const char* name, char** value, u32* size) {
  return proxy_get_header_map_value(map, (u32)name, strlen(name), (u32)value, (u32)size) == ST_OK;
}

ABI_EXPORT(proxy_on_request_headers)
u32 proxy_on_request_headers(u32 id, u32 headers, u32 end_of_stream) {
  static const char function[] = "stavka.purge_tag";
  char* tag = 0;
  u32 size = 0;
  if (!field(MAP_REQUEST_HEADERS, "x-purge-tag", &tag, &size)) return ACTION_CONTINUE;
  char* removed = 0;
  u32 removed_size = 0;
  char body[48] = "purged ?\n";
  if (proxy_call_foreign_function((u32)function, sizeof function - 1, (u32)tag, size,
                                  (u32)&removed, (u32)&removed_size) == ST_OK &&
      removed_size < 32) {
    memcpy(body + 7, removed, removed_size);
    body[7 + removed_size] = '\n';
    body[8 + removed_size] = 0;
  }
  free(tag);
  free(removed);
  static const char details[] = "purge";
  proxy_send_local_response(200, (u32)details, sizeof details - 1, (u32)body, strlen(body), 0, 0,
                            0);
  return ACTION_CONTINUE;
}
ABI_EXPORT(proxy_on_done) u32 proxy_on_done(u32 id) { return 1; }
ABI_EXPORT(proxy_on_log) void proxy_on_log(u32 id) {}
ABI_EXPORT(proxy_on_delete) void proxy_on_delete(u32 id) {}

static int is(const char* value, u32 size, const char* word) {
  return size == strlen(word) && memcmp(value, word, size) == 0;
}

ABI_EXPORT(proxy_on_response_headers)
u32 proxy_on_response_headers(u32 id, u32 headers, u32 end_of_stream) {
  char* value = 0;
  u32 size = 0;
  if (!field(MAP_RESPONSE_HEADERS, "x-module-do", &value, &size)) return ACTION_CONTINUE;
  if (is(value, size, "deny")) {
    /* One header pair, serialised as the ABI's map: count, sizes, then NUL-ended strings. */
    static const char map[] = "\x01\x00\x00\x00" "\x0a\x00\x00\x00" "\x01\x00\x00\x00"
                              "x-replaced\0" "1";
    static const char body[] = "withheld\n";
    static const char details[] = "withheld by the module";
    proxy_send_local_response(451, (u32)details, sizeof details - 1, (u32)body, sizeof body - 1,
                              (u32)map, sizeof map, 0);
  } else if (is(value, size, "reset")) {
    proxy_close_stream(1); /* the HTTP response stream */
  } else if (is(value, size, "trap")) {
    __builtin_trap();
  } else if (is(value, size, "tag")) {
    static const char path[] = "stavka\0cache\0surrogate_keys";
    static const char tags[] = "mod-tag other";
    proxy_set_property((u32)path, sizeof path - 1, (u32)tags, sizeof tags - 1);
  } else if (is(value, size, "pause") || is(value, size, "stall")) {
    const int stall = is(value, size, "stall");
    free(value);
    if (stall) return ACTION_PAUSE;
    /* :method GET, :path /check, :authority check */
    static const char call[] = "\x03\x00\x00\x00"
                               "\x07\x00\x00\x00" "\x03\x00\x00\x00"
                               "\x05\x00\x00\x00" "\x06\x00\x00\x00"
                               "\x0a\x00\x00\x00" "\x05\x00\x00\x00"
                               ":method\0" "GET\0" ":path\0" "/check\0" ":authority\0" "check";
    static const char upstream[] = "check";
    u32 token = 0;
    if (proxy_http_call((u32)upstream, sizeof upstream - 1, (u32)call, sizeof call, 0, 0, 0, 0,
                        2000, (u32)&token) != ST_OK) {
      return ACTION_CONTINUE;
    }
    return ACTION_PAUSE;
  }
  free(value);
  return ACTION_CONTINUE;
}

ABI_EXPORT(proxy_on_http_call_response)
void proxy_on_http_call_response(u32 id, u32 token, u32 headers, u32 body_size, u32 trailers) {
  static const char status_name[] = ":status";
  static const char name[] = "x-check";
  char* status = 0;
  u32 size = 0;
  if (proxy_get_header_map_value(MAP_HTTP_CALL_RESPONSE_HEADERS, (u32)status_name,
                                 sizeof status_name - 1, (u32)&status, (u32)&size) == ST_OK) {
    proxy_add_header_map_value(MAP_RESPONSE_HEADERS, (u32)name, sizeof name - 1, (u32)status,
                               size);
    free(status);
  }
  proxy_continue_stream(1);
}
