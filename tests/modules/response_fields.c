/*
 * response_fields: changes the response head in the response-headers phase as its plugin
 * configuration says, one operation per line, in order:
 *   add NAME VALUE       proxy_add_header_map_value
 *   replace NAME VALUE   proxy_replace_header_map_value (NAME may be :status)
 *   remove NAME          proxy_remove_header_map_value
 *   report               adds what the module saw before this line:
 *                          x-report-count: the num_headers argument of the callback
 *                          x-report-pairs: the pairs proxy_get_header_map_pairs gave
 *                          x-report-names: their names, comma-separated, without :status
 * For tests/integration/test_modules.py: a head a hit serves as bytes must look the same to a
 * module as one made of fields, whatever the module does with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_wasm_abi.h"

ABI_EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1(void) {}

ABI_EXPORT(proxy_on_memory_allocate) void* proxy_on_memory_allocate(size_t size) {
  return malloc(size);
}

static char* config;
static u32 config_size;

ABI_EXPORT(proxy_on_context_create) void proxy_on_context_create(u32 id, u32 parent) {}
ABI_EXPORT(proxy_on_vm_start) u32 proxy_on_vm_start(u32 root_id, u32 size) { return 1; }
ABI_EXPORT(proxy_on_configure) u32 proxy_on_configure(u32 root_id, u32 size) {
  free(config);
  config = 0;
  config_size = 0;
  if (size == 0) return 1;
  return proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, size, (u32)&config,
                                (u32)&config_size) == ST_OK;
}
ABI_EXPORT(proxy_on_request_headers)
u32 proxy_on_request_headers(u32 id, u32 headers, u32 end_of_stream) { return ACTION_CONTINUE; }
ABI_EXPORT(proxy_on_done) u32 proxy_on_done(u32 id) { return 1; }
ABI_EXPORT(proxy_on_log) void proxy_on_log(u32 id) {}
ABI_EXPORT(proxy_on_delete) void proxy_on_delete(u32 id) {}

/* The next space-separated word of [*p, end) (the rest of the line for the last one). */
static const char* word(const char** p, const char* end, int rest, u32* size) {
  while (*p < end && **p == ' ') ++*p;
  const char* start = *p;
  while (*p < end && **p != '\n' && (rest || **p != ' ')) ++*p;
  *size = (u32)(*p - start);
  return start;
}

static int is(const char* text, u32 size, const char* w) {
  return size == strlen(w) && memcmp(text, w, size) == 0;
}

static u32 le32(const char* p) {
  return (u32)(unsigned char)p[0] | (u32)(unsigned char)p[1] << 8 |
         (u32)(unsigned char)p[2] << 16 | (u32)(unsigned char)p[3] << 24;
}

static void report(u32 num_headers) {
  char* map = 0;
  u32 size = 0;
  char text[2048];
  u32 pairs = 0;
  size_t names = 0;
  text[0] = 0;
  if (proxy_get_header_map_pairs(MAP_RESPONSE_HEADERS, (u32)&map, (u32)&size) == ST_OK &&
      size >= 4) {
    pairs = le32(map);
    const char* sizes = map + 4;
    const char* data = sizes + 8 * pairs;
    for (u32 i = 0; i < pairs; ++i) {
      u32 name_size = le32(sizes + 8 * i);
      u32 value_size = le32(sizes + 8 * i + 4);
      if (!(name_size == 7 && memcmp(data, ":status", 7) == 0) &&
          names + name_size + 2 < sizeof text) {
        if (names) text[names++] = ',';
        memcpy(text + names, data, name_size);
        names += name_size;
        text[names] = 0;
      }
      data += name_size + 1 + value_size + 1;
    }
  }
  free(map);
  char number[16];
  int n = snprintf(number, sizeof number, "%u", num_headers);
  proxy_add_header_map_value(MAP_RESPONSE_HEADERS, (u32) "x-report-count", 14, (u32)number, n);
  n = snprintf(number, sizeof number, "%u", pairs);
  proxy_add_header_map_value(MAP_RESPONSE_HEADERS, (u32) "x-report-pairs", 14, (u32)number, n);
  proxy_add_header_map_value(MAP_RESPONSE_HEADERS, (u32) "x-report-names", 14, (u32)text, names);
}

ABI_EXPORT(proxy_on_response_headers)
u32 proxy_on_response_headers(u32 id, u32 headers, u32 end_of_stream) {
  const char* p = config;
  const char* end = config + config_size;
  while (p && p < end) {
    u32 op_size, name_size, value_size;
    const char* op = word(&p, end, 0, &op_size);
    const char* name = word(&p, end, 0, &name_size);
    const char* value = word(&p, end, 1, &value_size);
    if (is(op, op_size, "add")) {
      proxy_add_header_map_value(MAP_RESPONSE_HEADERS, (u32)name, name_size, (u32)value,
                                 value_size);
    } else if (is(op, op_size, "replace")) {
      proxy_replace_header_map_value(MAP_RESPONSE_HEADERS, (u32)name, name_size, (u32)value,
                                     value_size);
    } else if (is(op, op_size, "remove")) {
      proxy_remove_header_map_value(MAP_RESPONSE_HEADERS, (u32)name, name_size);
    } else if (is(op, op_size, "report")) {
      report(headers);
    }
    while (p < end && *p != '\n') ++p;
    if (p < end) ++p;
  }
  return ACTION_CONTINUE;
}
