// The two CRC32C implementations behind storage::crc32c (storage.h), exposed so tests can check
// that they agree. Production code calls storage::crc32c, which picks one once per process.
//
// Threads: pure functions over caller memory; the tables are constant and built at compile time.
// Invariant: for every input, crc32c_software and crc32c_hardware return the same value, and
// both continue from a previous result the same way (crc32c(a + b) == crc32c(b, crc32c(a))).
#pragma once

#include <cstddef>
#include <cstdint>

namespace stavka::storage::detail {

// Table-driven (slicing-by-8); runs on any CPU.
uint32_t crc32c_software(const void* data, size_t size, uint32_t crc);
// The SSE4.2 crc32 instruction. Only call it when crc32c_hardware_available() is true.
uint32_t crc32c_hardware(const void* data, size_t size, uint32_t crc);
bool crc32c_hardware_available();

}  // namespace stavka::storage::detail
