// Disk tier start-up: directory checks, the scan of object files, and their reconciliation with
// the manifest (see disk_recovery.h for the rules).
//
// Threads: the opening thread only, before the tier exists; blocking calls are expected here.
#include "storage/disk_recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "storage/disk_format.h"
#include "storage/manifest.h"

namespace stavka::storage {

namespace {

namespace fs = std::filesystem;

struct FoundFile {
  std::string path;
  uint64_t length = 0;
};

// Reads `length` bytes at `offset`; false on an error or a short file.
bool read_exact(int fd, char* out, size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The file's meta, if its footer and meta region verify and its length fits the layout.
std::optional<disk_format::ParsedFile> verify_file(const FoundFile& file) {
  if (file.length < disk_format::footer_size) return std::nullopt;
  int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<disk_format::ParsedFile> parsed;
  char footer_bytes[disk_format::footer_size];
  if (read_exact(fd, footer_bytes, sizeof footer_bytes, file.length - sizeof footer_bytes)) {
    std::optional<disk_format::Footer> footer =
        disk_format::decode_footer({footer_bytes, sizeof footer_bytes});
    const uint64_t tail_length = footer ? footer->region_length + disk_format::footer_size : 0;
    if (footer && tail_length <= file.length) {
      std::string tail(tail_length, '\0');
      if (read_exact(fd, tail.data(), tail.size(), file.length - tail_length)) {
        parsed = disk_format::parse_file_tail(tail, file.length);
      }
    }
  }
  ::close(fd);
  return parsed;
}

bool same_object(const ObjectMeta& a, const ObjectMeta& b) {
  return a.primary_key == b.primary_key && a.variant == b.variant && a.size == b.size &&
         a.block_size == b.block_size;
}

bool prepare_dir(const std::string& dir, std::string& error) {
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  // A missing path (or one under a file) is reported by the attempt to create it.
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    error = "cache.dir " + dir + ": " + ec.message();
    return false;
  }
  if (!fs::exists(status)) {
    if (!fs::create_directories(dir, ec) && ec) {
      error = "cache.dir " + dir + ": cannot create it: " + ec.message();
      return false;
    }
  } else if (!fs::is_directory(status)) {
    error = "cache.dir " + dir + ": not a directory";
    return false;
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    error = "cache.dir " + dir + ": not writable: " + std::strerror(errno);
    return false;
  }
  for (unsigned i = 0; i < 256; ++i) {
    std::string sub = disk_format::object_subdir(dir, i);
    if (!fs::create_directories(sub, ec) && ec) {
      error = "cache.dir " + dir + ": cannot create " + sub + ": " + ec.message();
      return false;
    }
  }
  return true;
}

// Every file named like an object file, by id. Files in the wrong subdirectory are not ours.
std::unordered_map<uint64_t, FoundFile> scan_files(const std::string& dir) {
  std::unordered_map<uint64_t, FoundFile> files;
  for (unsigned i = 0; i < 256; ++i) {
    std::error_code ec;
    for (const fs::directory_entry& entry :
         fs::directory_iterator(disk_format::object_subdir(dir, i), ec)) {
      std::optional<uint64_t> id =
          disk_format::parse_object_file_name(entry.path().filename().native());
      std::error_code size_ec;
      uint64_t length = entry.file_size(size_ec);
      if (!id || (*id & 0xFF) != i || size_ec || !entry.is_regular_file(size_ec)) continue;
      files.emplace(*id, FoundFile{entry.path().native(), length});
    }
  }
  return files;
}

}  // namespace

bool recover(const std::string& dir, Recovery& out, std::string& error) {
  if (!prepare_dir(dir, error)) return false;
  out.manifest = Manifest::open(dir + "/manifest.db", error);
  if (!out.manifest) return false;
  std::vector<ManifestRow> rows;
  uint64_t stored_next_id = 0;
  if (!out.manifest->load(rows, stored_next_id, error)) return false;
  std::unordered_map<uint64_t, FoundFile> files = scan_files(dir);

  uint64_t max_id = 0;
  for (const ManifestRow& row : rows) max_id = std::max(max_id, row.id);
  for (const auto& [id, file] : files) max_id = std::max(max_id, id);
  out.next_id = std::max(stored_next_id, max_id + 1);

  std::vector<uint64_t> dropped_rows;
  std::vector<std::string> doomed_files;
  std::vector<RecoveredObject> candidates;
  for (ManifestRow& row : rows) {
    auto file = files.find(row.id);
    std::optional<disk_format::ParsedFile> parsed;
    if (file != files.end()) {
      parsed = verify_file(file->second);
      if (!parsed || parsed->object_id != row.id || !same_object(parsed->meta, row.meta)) {
        parsed.reset();
        doomed_files.push_back(file->second.path);
      }
      files.erase(file);
    }
    if (!parsed) {
      dropped_rows.push_back(row.id);
      ++out.stats.dropped;
      continue;
    }
    // The row's meta stands (it has the counters). A row whose recorded length differs from
    // the file's (an update_meta that grew the meta region, killed before its commit) is
    // written again with the length found.
    const bool recorded =
        row.file_length == disk_format::file_length(row.meta, parsed->region_length);
    candidates.push_back({row.id, parsed->region_length, recorded, std::move(row.meta)});
    ++out.stats.loaded;
  }
  for (auto& [id, file] : files) {
    std::optional<disk_format::ParsedFile> parsed = verify_file(file);
    if (!parsed || parsed->object_id != id) {
      doomed_files.push_back(file.path);
      ++out.stats.deleted;
      continue;
    }
    candidates.push_back({id, parsed->region_length, false, std::move(parsed->meta)});
    ++out.stats.recovered;
  }

  // One object per (primary key, variant): the latest write wins.
  std::sort(candidates.begin(), candidates.end(),
            [](const RecoveredObject& a, const RecoveredObject& b) { return a.id > b.id; });
  std::map<std::pair<std::string_view, std::string_view>, bool> seen;
  for (RecoveredObject& c : candidates) {
    if (seen.emplace(
                std::pair<std::string_view, std::string_view>(c.meta.primary_key, c.meta.variant),
                true)
            .second) {
      continue;
    }
    dropped_rows.push_back(c.id);  // harmless when it had no row
    doomed_files.push_back(disk_format::object_path(dir, c.id));
    ++out.stats.dropped;
    c.id = 0;
  }
  std::erase_if(candidates, [](const RecoveredObject& c) { return c.id == 0; });
  out.objects = std::move(candidates);

  if (!dropped_rows.empty()) {
    bool ok = out.manifest->begin();
    for (uint64_t id : dropped_rows) ok = ok && out.manifest->remove(id);
    if (!ok || !out.manifest->commit()) {
      error = out.manifest->error();
      out.manifest->rollback();
      return false;
    }
  }
  for (const std::string& path : doomed_files) ::unlink(path.c_str());
  return true;
}

}  // namespace stavka::storage
