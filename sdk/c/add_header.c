/*
 * add_header in C: the add_header example written against the raw Proxy-Wasm
 * ABI 0.2.1, without any SDK. Adds one header to every response (cache hits
 * included).
 *
 * Plugin configuration: one line `Name: value`; empty means
 * `X-Stavka-Module: add-header`.
 *
 * Build (scripts/modules.sh does this):
 *   clang-19 --target=wasm32-wasi -mexec-model=reactor --sysroot=SYSROOT -O2 \
 *     -o add_header_c.wasm add_header.c
 * The reactor model makes wasi-libc's crt1-reactor.o export `_initialize`,
 * which runs the C constructors once; wasi-libc itself imports a few WASI
 * functions (fd_seek, fd_close, ...) that the host must provide.
 *
 * One plugin configuration per VM is assumed: the header is a global.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* ABI enums (Proxy-Wasm 0.2.1). */
enum { STATUS_OK = 0 };
enum { ACTION_CONTINUE = 0 };
enum { LOG_WARN = 3, LOG_ERROR = 4 };
enum { BUFFER_PLUGIN_CONFIGURATION = 7 };
enum { MAP_HTTP_RESPONSE_HEADERS = 2 };

/* Host functions (module "env"). Sizes and pointers are 32-bit on wasm32. */
IMPORT(proxy_log)
uint32_t proxy_log(uint32_t level, const char* message, size_t message_size);
IMPORT(proxy_get_buffer_bytes)
uint32_t proxy_get_buffer_bytes(uint32_t buffer_type, size_t start, size_t max_size,
                                char** return_data, size_t* return_size);
IMPORT(proxy_add_header_map_value)
uint32_t proxy_add_header_map_value(uint32_t map_type, const char* key, size_t key_size,
                                    const char* value, size_t value_size);

static const char DEFAULT_NAME[] = "x-stavka-module";
static const char DEFAULT_VALUE[] = "add-header";

/* The configured header; points at the defaults until a configuration sets it. */
static char* header_name = (char*)DEFAULT_NAME;
static size_t header_name_size = sizeof DEFAULT_NAME - 1;
static char* header_value = (char*)DEFAULT_VALUE;
static size_t header_value_size = sizeof DEFAULT_VALUE - 1;

static void log_text(uint32_t level, const char* text) {
  proxy_log(level, text, strlen(text));
}

/* ---- memory and version ------------------------------------------------ */

/* The host stores call results (buffers, header values) in memory it gets from
 * here; the module frees them with free(). */
EXPORT(proxy_on_memory_allocate)
void* proxy_on_memory_allocate(size_t size) {
  return malloc(size);
}

/* Its presence tells the host which ABI this module speaks. */
EXPORT(proxy_abi_version_0_2_1)
void proxy_abi_version_0_2_1(void) {}

/* ---- configuration ----------------------------------------------------- */

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_token_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void trim(const char** p, size_t* n) {
  while (*n > 0 && is_space(**p)) ++*p, --*n;
  while (*n > 0 && is_space((*p)[*n - 1])) --*n;
}

static void set_header(char* name, size_t name_size, char* value, size_t value_size) {
  if (header_name != DEFAULT_NAME) free(header_name);
  if (header_value != DEFAULT_VALUE) free(header_value);
  header_name = name, header_name_size = name_size;
  header_value = value, header_value_size = value_size;
}

/* `Name: value` -> the header (name lower-cased). 0 if the text is not one. */
static int parse_config(const char* text, size_t size) {
  trim(&text, &size);
  if (size == 0) {
    set_header((char*)DEFAULT_NAME, sizeof DEFAULT_NAME - 1, (char*)DEFAULT_VALUE,
               sizeof DEFAULT_VALUE - 1);
    return 1;
  }
  const char* colon = memchr(text, ':', size);
  if (colon == NULL) return 0;
  const char *name = text, *value = colon + 1;
  size_t name_size = (size_t)(colon - text), value_size = size - name_size - 1;
  trim(&name, &name_size);
  trim(&value, &value_size);
  if (name_size == 0) return 0;
  for (size_t i = 0; i < name_size; i++)
    if (!is_token_char(name[i])) return 0;
  for (size_t i = 0; i < value_size; i++)
    if ((unsigned char)value[i] < 0x20 && value[i] != '\t') return 0; /* one line only */

  char *n = malloc(name_size + 1), *v = malloc(value_size + 1);
  if (n == NULL || v == NULL) {
    free(n), free(v);
    return 0;
  }
  for (size_t i = 0; i < name_size; i++)
    n[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
  memcpy(v, value, value_size);
  n[name_size] = v[value_size] = 0;
  set_header(n, name_size, v, value_size);
  return 1;
}

EXPORT(proxy_on_vm_start)
uint32_t proxy_on_vm_start(uint32_t root_context_id, size_t vm_configuration_size) {
  return 1;
}

EXPORT(proxy_on_configure)
uint32_t proxy_on_configure(uint32_t root_context_id, size_t plugin_configuration_size) {
  if (plugin_configuration_size == 0) return parse_config("", 0);
  char* config = NULL;
  size_t size = 0;
  if (proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, plugin_configuration_size, &config,
                             &size) != STATUS_OK) {
    log_text(LOG_ERROR, "add_header_c: cannot read the plugin configuration");
    return 0;
  }
  int ok = parse_config(config, size);
  free(config); /* allocated by the host through proxy_on_memory_allocate */
  if (!ok) log_text(LOG_ERROR, "add_header_c: configuration must be `Name: value`");
  return ok; /* 0: the host rejects the configuration */
}

/* ---- contexts ---------------------------------------------------------- */

/* Nothing to set up: the module keeps no per-request state. */
EXPORT(proxy_on_context_create)
void proxy_on_context_create(uint32_t context_id, uint32_t parent_context_id) {}

EXPORT(proxy_on_request_headers)
uint32_t proxy_on_request_headers(uint32_t context_id, size_t num_headers, uint32_t end_of_stream) {
  return ACTION_CONTINUE;
}

EXPORT(proxy_on_response_headers)
uint32_t proxy_on_response_headers(uint32_t context_id, size_t num_headers,
                                   uint32_t end_of_stream) {
  if (proxy_add_header_map_value(MAP_HTTP_RESPONSE_HEADERS, header_name, header_name_size,
                                 header_value, header_value_size) != STATUS_OK)
    log_text(LOG_WARN, "add_header_c: proxy_add_header_map_value failed");
  return ACTION_CONTINUE;
}

/* 1: done now (no pending work to finish before the context goes away). */
EXPORT(proxy_on_done)
uint32_t proxy_on_done(uint32_t context_id) {
  return 1;
}

EXPORT(proxy_on_log)
void proxy_on_log(uint32_t context_id) {}

EXPORT(proxy_on_delete)
void proxy_on_delete(uint32_t context_id) {}
