// The storage contract: what a cache backend (memory tier, disk tier) does, and nothing of HTTP
// caching policy (freshness, validation and Vary matching live in src/cache).
//
// An object is a response head (ObjectMeta) plus a body cut into blocks of meta.block_size
// bytes; every block but the last is full. Blocks are immutable, reference-counted and carry a
// CRC32C of their bytes, so the same Block can be streamed to clients by a fill, kept by the
// memory tier and written by the disk tier without a copy, from any thread.
//
// Objects are named by a primary key (one URL in one site) and a variant (the secondary key
// built from the request fields the response's Vary names; empty without Vary). Purging a
// primary key removes every variant. An object may also carry tags (meta.surrogate_keys), and
// purging a tag removes every object that carries it.
//
// Threads: a Storage is shared by all workers; every method may be called from any worker.
// Implementations keep their shared state behind short, striped critical sections and never
// hold a lock across I/O. Disk I/O runs on the calling worker's io_uring (the returned Task
// completes on the calling reactor).
//
// Writes: begin_write() hands out a Writer; blocks are written in any order, then publish()
// makes the object visible to lookup() atomically, replacing the variant stored before it. A
// Writer destroyed without a successful publish() aborts the write and leaves no trace. Until
// publish, readers of the object get bytes from the fill in progress (src/cache), not from here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/task.h"

namespace stavka::storage {

constexpr uint64_t unknown_size = UINT64_MAX;

// CRC32C (Castagnoli) of bytes, continuing from crc (0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

class BlockArena;

// Frees a block's bytes where they came from: the block arena (block_arena.h) or the heap.
struct BlockBytesDeleter {
  BlockArena* arena = nullptr;  // null: the heap
  uint32_t size = 0;
  void operator()(char* p) const noexcept;
};
using BlockBytes = std::unique_ptr<char[], BlockBytesDeleter>;

// Uninitialised memory for a block of size bytes: from the installed block arena when it takes
// that size (then the block can be spliced, see Block::file_span), else from the heap.
BlockBytes allocate_block_bytes(uint32_t size);

// Where a block's bytes can be read by the kernel: a file and an offset, for splice(2).
struct FileSpan {
  int fd = -1;  // -1: the bytes are only in memory
  uint64_t offset = 0;
};

// An immutable piece of a body. Create with make_block() (or fill allocate_block_bytes()
// memory); share freely between threads.
struct Block {
  BlockBytes data;
  uint32_t size = 0;
  uint32_t crc = 0;  // crc32c(data, size)

  std::string_view view() const { return {data.get(), size}; }
  FileSpan file_span() const;
};
using BlockRef = std::shared_ptr<const Block>;
BlockRef make_block(std::string_view bytes);

// What is stored about an object besides its body. Times are Unix seconds.
struct ObjectMeta {
  std::string primary_key;  // scheme + host + path (+ query) (+ configured request fields)
  std::string variant;      // secondary key from the fields Vary names; empty without Vary
  std::string url;          // absolute URL, for listing and purge by prefix
  std::string host;
  uint16_t status = 200;
  std::string headers;      // stored response fields, "Name: value\r\n" each, in order
  uint64_t size = unknown_size;  // body bytes; known once publish()ed
  uint32_t block_size = 1u << 20;
  int64_t request_time = 0;   // when the request that fetched it was sent (RFC 9111 §4.2.3)
  int64_t response_time = 0;  // when its response was received
  int64_t expires = 0;        // end of freshness as computed when stored (for listings)
  std::string etag;           // validators, copied from headers for quick matching
  std::string last_modified;
  // Tags from Surrogate-Key and Cache-Tag (or set by a module), for remove_by_tag: compared
  // byte for byte (case-sensitive, as Fastly's and Varnish's surrogate keys), order and
  // duplicates kept as given.
  std::vector<std::string> surrogate_keys;
  uint64_t hits = 0;
  int64_t last_access = 0;
  // When a soft purge marked the object stale (Unix seconds): it is served stale while it
  // revalidates, until a refresh stores it anew (0: never soft-purged, or refreshed since).
  int64_t soft_purged = 0;
  // The layer above's decoding of `headers` (parsed fields, prepared head bytes), made once
  // when the object is stored so that hits do not parse again. Opaque here: tiers carry it with
  // the meta in memory, never persist it, and leave it null on metas they build (an object
  // loaded from disk); whoever changes `headers` sets it anew or clears it.
  std::shared_ptr<const void> decoded;

  uint32_t block_count() const {
    return size == unknown_size ? 0 : static_cast<uint32_t>((size + block_size - 1) / block_size);
  }
  // Bytes the entry costs a tier: body plus head and keys, and each tag's place in the tier's
  // tag index (sharded_index.h).
  uint64_t charge() const;
};

enum class Error : uint8_t {
  none,
  not_found,  // no such object or block (removed, evicted or replaced meanwhile)
  corrupt,    // a checksum or format check failed; the object has been dropped
  io,         // the device failed
  no_space,   // the object does not fit this tier's budget
  invalid,    // the call broke the contract (block index, size or order)
};
const char* error_name(Error e);

// A handle on one stored object as it was when looked up. Holding it keeps the object's
// identity: once the object is gone (removed, replaced or evicted), reads through the handle
// fail with not_found or, in a tier that keeps the bytes alive while a handle exists (the memory
// tier does), still return that same object's bytes; never another object's. The meta is an
// immutable snapshot, safe to read from any thread.
class StoredObject {
 public:
  virtual ~StoredObject() = default;
  virtual const ObjectMeta& meta() const = 0;
};
using ObjectRef = std::shared_ptr<const StoredObject>;

struct BlockResult {
  Error error = Error::none;
  BlockRef block;
};

class Writer {
 public:
  virtual ~Writer() = default;  // without a successful publish(): the write is aborted
  // Stores block `index`, once. Every block but the last must be meta.block_size bytes; none is
  // empty. A block breaking this is Error::invalid, here or at publish().
  virtual runtime::Task<Error> write_block(uint32_t index, BlockRef block) = 0;
  // Makes the object visible with this final meta (size known, all blocks written; same keys
  // and block size as at begin_write). Error::invalid if the blocks do not add up to it. A writer
  // publishes once: afterwards every call is Error::invalid, and a failed publish aborts.
  virtual runtime::Task<Error> publish(ObjectMeta final_meta) = 0;
};

struct TierStats {
  uint64_t objects = 0;
  uint64_t bytes = 0;       // charged bytes in use
  uint64_t capacity = 0;    // budget
  uint64_t evictions = 0;   // objects evicted for space since start
};

// What list() gives: stored objects grouped by primary key, keys in the order of (URL, key),
// a key listed under the URL of its latest object.
struct ListQuery {
  // The position of the last key of the previous page ("", "": from the first).
  std::string after_url, after_key;
  std::string url_prefix;  // only keys listed under a URL that starts with it
  std::string host;        // only objects of this meta.host ("": any)
  std::string tag;         // only objects carrying this tag ("": any)
  size_t limit = 100;      // keys
};

// Whether meta passes q's url_prefix, host and tag filters.
bool passes(const ListQuery& q, const ObjectMeta& meta);

// A key a listing gives: its position in the order, and every variant stored under it.
struct ListedKey {
  std::string url, key;
  std::vector<ObjectRef> variants;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Every variant stored under primary_key (empty if none).
  virtual std::vector<ObjectRef> lookup(std::string_view primary_key) = 0;
  // One variant, or nullptr.
  virtual ObjectRef lookup(std::string_view primary_key, std::string_view variant) = 0;

  // Starts storing an object. nullptr when the tier will not take it (too large for its
  // budget when the size is known up front).
  virtual std::unique_ptr<Writer> begin_write(const ObjectMeta& meta) = 0;

  // Block `index` of object (see StoredObject for objects gone meanwhile). Error::invalid for an
  // index at or past meta().block_count(), or a handle from another tier. Keep `object` alive
  // until the Task completes.
  virtual runtime::Task<BlockResult> read_block(const ObjectRef& object, uint32_t index) = 0;

  // Replaces the meta of a stored object (a 304 merged into it, hits). The body and its size
  // stay. Returns the new handle, or nullptr if the object is no longer stored or meta does not
  // describe it (another size, block size, primary key or variant); the stored object is then
  // unchanged.
  virtual ObjectRef update_meta(const ObjectRef& object, ObjectMeta meta) = 0;
  // Records a hit (cheap; may be batched).
  virtual void touch(const ObjectRef& object, int64_t now) = 0;

  // Removes one variant / every variant of a primary key. Returns how many objects went.
  virtual size_t remove(std::string_view primary_key, std::string_view variant) = 0;
  virtual size_t remove_all_variants(std::string_view primary_key) = 0;
  // Removes every object whose surrogate_keys include `tag` (exact, case-sensitive match), as
  // remove() would remove each. Returns how many objects went. Objects published while it runs
  // may or may not be removed (a fill racing a purge is the caller's to order).
  virtual size_t remove_by_tag(std::string_view tag) = 0;
  // Removes every object whose meta.url starts with url_prefix ("": every object), as remove()
  // would remove each. Returns how many; objects published while it runs may or may not be
  // removed. (The URL, not the key: a module may have keyed an object otherwise.)
  virtual size_t remove_by_prefix(std::string_view url_prefix) = 0;

  // Up to q.limit keys after q's position, in (URL, key) order, under a URL that starts with
  // q.url_prefix, each with every variant stored under it, of which at least one passes q's
  // host and tag filters (a listing for operators: each call visits the range of keys its
  // prefix gives, a bounded batch per lock).
  virtual std::vector<ListedKey> list(const ListQuery& q) = 0;

  virtual TierStats stats() const = 0;
};

}  // namespace stavka::storage
