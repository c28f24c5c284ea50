/*
 * respond_on_response: replaces a response in the response-headers phase, by what the origin
 * (or the stored object) says in the field `x-module-do`:
 *   "deny"  -> proxy_send_local_response 451 with the body "withheld\n" and `x-replaced: 1`;
 *   "reset" -> proxy_close_stream (the connection closes without an answer);
 *   "trap"  -> a trap (the module's on_error decides: fail-open sends the response, fail-closed
 *              a 503).
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
ABI_EXPORT(proxy_on_request_headers)
u32 proxy_on_request_headers(u32 id, u32 headers, u32 end_of_stream) { return ACTION_CONTINUE; }
ABI_EXPORT(proxy_on_done) u32 proxy_on_done(u32 id) { return 1; }
ABI_EXPORT(proxy_on_log) void proxy_on_log(u32 id) {}
ABI_EXPORT(proxy_on_delete) void proxy_on_delete(u32 id) {}

static int is(const char* value, u32 size, const char* word) {
  return size == strlen(word) && memcmp(value, word, size) == 0;
}

ABI_EXPORT(proxy_on_response_headers)
u32 proxy_on_response_headers(u32 id, u32 headers, u32 end_of_stream) {
  static const char name[] = "x-module-do";
  char* value = 0;
  u32 size = 0;
  if (proxy_get_header_map_value(MAP_RESPONSE_HEADERS, (u32)name, sizeof name - 1, (u32)&value,
                                 (u32)&size) != ST_OK) {
    return ACTION_CONTINUE;
  }
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
  }
  free(value);
  return ACTION_CONTINUE;
}
