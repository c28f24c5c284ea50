/*
 * The Proxy-Wasm ABI 0.2.1 as a module sees it: the host's imports (module "env") and the WASI
 * functions the host provides (module "wasi_snapshot_preview1"), with the status and errno
 * values of the specification (github.com/proxy-wasm/spec, abi-versions/v0.2.1).
 *
 * Declared here, not taken from an SDK, so the conformance module calls each import with exactly
 * the arguments it wants, bad ones included. Pointers and sizes are 32-bit on wasm32; every
 * argument is declared as uint32_t (or uint64_t where the ABI has an i64) so a test can pass any
 * value, including addresses outside the module's memory.
 */
#ifndef STAVKA_TESTS_PROXY_WASM_ABI_H
#define STAVKA_TESTS_PROXY_WASM_ABI_H

#include <stdint.h>

#define ABI_EXPORT(name) __attribute__((export_name(#name)))
#define ABI_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define WASI_IMPORT(name) \
  __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

/* proxy_status_t */
enum {
  ST_OK = 0,
  ST_NOT_FOUND = 1,
  ST_BAD_ARGUMENT = 2,
  ST_SERIALIZATION_FAILURE = 3,
  ST_PARSE_FAILURE = 4,
  ST_INVALID_MEMORY_ACCESS = 6,
  ST_EMPTY = 7,
  ST_CAS_MISMATCH = 8,
  ST_INTERNAL_FAILURE = 10,
  ST_UNIMPLEMENTED = 12,
};

/* wasi_errno_t (the spec lists SUCCESS, BADF, FAULT, INVAL, NOTSUP; the rest are WASI's) */
enum {
  WASI_SUCCESS = 0,
  WASI_BADF = 8,
  WASI_FAULT = 21,
  WASI_INVAL = 28,
  WASI_NOSYS = 52,
  WASI_NOTSUP = 58,
  WASI_SPIPE = 70,
};

enum { ACTION_CONTINUE = 0, ACTION_PAUSE = 1 };
enum { LOG_TRACE = 0, LOG_DEBUG = 1, LOG_INFO = 2, LOG_WARN = 3, LOG_ERROR = 4, LOG_CRITICAL = 5 };
enum {
  MAP_REQUEST_HEADERS = 0,
  MAP_REQUEST_TRAILERS = 1,
  MAP_RESPONSE_HEADERS = 2,
  MAP_RESPONSE_TRAILERS = 3,
  MAP_HTTP_CALL_RESPONSE_HEADERS = 6,
};
enum {
  BUFFER_REQUEST_BODY = 0,
  BUFFER_RESPONSE_BODY = 1,
  BUFFER_HTTP_CALL_RESPONSE_BODY = 4,
  BUFFER_VM_CONFIGURATION = 6,
  BUFFER_PLUGIN_CONFIGURATION = 7,
};
enum { STREAM_REQUEST = 0, STREAM_RESPONSE = 1, STREAM_DOWNSTREAM = 2, STREAM_UPSTREAM = 3 };
enum { METRIC_COUNTER = 0, METRIC_GAUGE = 1, METRIC_HISTOGRAM = 2 };
enum { CLOCK_REALTIME_ID = 0, CLOCK_MONOTONIC_ID = 1 };

typedef uint32_t u32;
typedef uint64_t u64;

/* --- env ---------------------------------------------------------------------------------- */
ABI_IMPORT(proxy_log) u32 proxy_log(u32 level, u32 message, u32 size);
ABI_IMPORT(proxy_get_log_level) u32 proxy_get_log_level(u32 return_level);
ABI_IMPORT(proxy_get_current_time_nanoseconds)
u32 proxy_get_current_time_nanoseconds(u32 return_time);
ABI_IMPORT(proxy_set_tick_period_milliseconds) u32 proxy_set_tick_period_milliseconds(u32 period);

ABI_IMPORT(proxy_get_buffer_bytes)
u32 proxy_get_buffer_bytes(u32 type, u32 start, u32 max_size, u32 return_data, u32 return_size);
ABI_IMPORT(proxy_set_buffer_bytes)
u32 proxy_set_buffer_bytes(u32 type, u32 start, u32 size, u32 data, u32 data_size);
ABI_IMPORT(proxy_get_buffer_status)
u32 proxy_get_buffer_status(u32 type, u32 return_size, u32 return_flags);

ABI_IMPORT(proxy_get_header_map_pairs)
u32 proxy_get_header_map_pairs(u32 map, u32 return_data, u32 return_size);
ABI_IMPORT(proxy_set_header_map_pairs) u32 proxy_set_header_map_pairs(u32 map, u32 data, u32 size);
ABI_IMPORT(proxy_get_header_map_size) u32 proxy_get_header_map_size(u32 map, u32 return_size);
ABI_IMPORT(proxy_get_header_map_value)
u32 proxy_get_header_map_value(u32 map, u32 key, u32 key_size, u32 return_data, u32 return_size);
ABI_IMPORT(proxy_add_header_map_value)
u32 proxy_add_header_map_value(u32 map, u32 key, u32 key_size, u32 value, u32 value_size);
ABI_IMPORT(proxy_replace_header_map_value)
u32 proxy_replace_header_map_value(u32 map, u32 key, u32 key_size, u32 value, u32 value_size);
ABI_IMPORT(proxy_remove_header_map_value)
u32 proxy_remove_header_map_value(u32 map, u32 key, u32 key_size);

ABI_IMPORT(proxy_get_property)
u32 proxy_get_property(u32 path, u32 path_size, u32 return_data, u32 return_size);
ABI_IMPORT(proxy_set_property)
u32 proxy_set_property(u32 path, u32 path_size, u32 value, u32 value_size);

ABI_IMPORT(proxy_get_shared_data)
u32 proxy_get_shared_data(u32 key, u32 key_size, u32 return_data, u32 return_size, u32 return_cas);
ABI_IMPORT(proxy_set_shared_data)
u32 proxy_set_shared_data(u32 key, u32 key_size, u32 value, u32 value_size, u32 cas);

ABI_IMPORT(proxy_register_shared_queue)
u32 proxy_register_shared_queue(u32 name, u32 name_size, u32 return_id);
ABI_IMPORT(proxy_resolve_shared_queue)
u32 proxy_resolve_shared_queue(u32 vm_id, u32 vm_id_size, u32 name, u32 name_size, u32 return_id);
ABI_IMPORT(proxy_enqueue_shared_queue)
u32 proxy_enqueue_shared_queue(u32 id, u32 value, u32 value_size);
ABI_IMPORT(proxy_dequeue_shared_queue)
u32 proxy_dequeue_shared_queue(u32 id, u32 return_data, u32 return_size);

ABI_IMPORT(proxy_continue_stream) u32 proxy_continue_stream(u32 stream);
ABI_IMPORT(proxy_close_stream) u32 proxy_close_stream(u32 stream);
ABI_IMPORT(proxy_send_local_response)
u32 proxy_send_local_response(u32 status, u32 details, u32 details_size, u32 body, u32 body_size,
                              u32 headers, u32 headers_size, u32 grpc_status);
ABI_IMPORT(proxy_get_status)
u32 proxy_get_status(u32 return_code, u32 return_message, u32 return_message_size);

ABI_IMPORT(proxy_http_call)
u32 proxy_http_call(u32 upstream, u32 upstream_size, u32 headers, u32 headers_size, u32 body,
                    u32 body_size, u32 trailers, u32 trailers_size, u32 timeout_ms,
                    u32 return_token);
ABI_IMPORT(proxy_grpc_call)
u32 proxy_grpc_call(u32 upstream, u32 upstream_size, u32 service, u32 service_size, u32 method,
                    u32 method_size, u32 metadata, u32 metadata_size, u32 message, u32 message_size,
                    u32 timeout_ms, u32 return_token);
ABI_IMPORT(proxy_grpc_stream)
u32 proxy_grpc_stream(u32 upstream, u32 upstream_size, u32 service, u32 service_size, u32 method,
                      u32 method_size, u32 metadata, u32 metadata_size, u32 return_token);
ABI_IMPORT(proxy_grpc_send)
u32 proxy_grpc_send(u32 token, u32 message, u32 message_size, u32 end_stream);
ABI_IMPORT(proxy_grpc_cancel) u32 proxy_grpc_cancel(u32 token);
ABI_IMPORT(proxy_grpc_close) u32 proxy_grpc_close(u32 token);

ABI_IMPORT(proxy_set_effective_context) u32 proxy_set_effective_context(u32 context_id);
ABI_IMPORT(proxy_done) u32 proxy_done(void);
ABI_IMPORT(proxy_call_foreign_function)
u32 proxy_call_foreign_function(u32 name, u32 name_size, u32 args, u32 args_size, u32 return_data,
                                u32 return_size);

ABI_IMPORT(proxy_define_metric)
u32 proxy_define_metric(u32 type, u32 name, u32 name_size, u32 return_id);
ABI_IMPORT(proxy_increment_metric) u32 proxy_increment_metric(u32 id, int64_t delta);
ABI_IMPORT(proxy_record_metric) u32 proxy_record_metric(u32 id, u64 value);
ABI_IMPORT(proxy_get_metric) u32 proxy_get_metric(u32 id, u32 return_value);

/* --- wasi_snapshot_preview1 --------------------------------------------------------------- */
WASI_IMPORT(fd_write) u32 wasi_fd_write(u32 fd, u32 iovs, u32 iovs_len, u32 return_written);
WASI_IMPORT(fd_read) u32 wasi_fd_read(u32 fd, u32 iovs, u32 iovs_len, u32 return_read);
WASI_IMPORT(fd_seek) u32 wasi_fd_seek(u32 fd, int64_t offset, u32 whence, u32 return_offset);
WASI_IMPORT(fd_close) u32 wasi_fd_close(u32 fd);
WASI_IMPORT(fd_fdstat_get) u32 wasi_fd_fdstat_get(u32 fd, u32 return_stat);
WASI_IMPORT(fd_prestat_get) u32 wasi_fd_prestat_get(u32 fd, u32 return_prestat);
WASI_IMPORT(fd_prestat_dir_name) u32 wasi_fd_prestat_dir_name(u32 fd, u32 path, u32 path_len);
WASI_IMPORT(path_open)
u32 wasi_path_open(u32 dirfd, u32 dirflags, u32 path, u32 path_len, u32 oflags, u64 rights_base,
                   u64 rights_inheriting, u32 fdflags, u32 return_fd);
WASI_IMPORT(clock_time_get) u32 wasi_clock_time_get(u32 clock, u64 precision, u32 return_time);
WASI_IMPORT(random_get) u32 wasi_random_get(u32 buf, u32 buf_len);
WASI_IMPORT(environ_sizes_get) u32 wasi_environ_sizes_get(u32 return_count, u32 return_size);
WASI_IMPORT(environ_get) u32 wasi_environ_get(u32 environ, u32 environ_buf);
WASI_IMPORT(args_sizes_get) u32 wasi_args_sizes_get(u32 return_argc, u32 return_size);
WASI_IMPORT(args_get) u32 wasi_args_get(u32 argv, u32 argv_buf);
WASI_IMPORT(sched_yield) u32 wasi_sched_yield(void);

#endif
