// Admin API bearer tokens: what a token may do (scopes), how one is made, and how a request's
// token is checked against the hashes the configuration holds.
//
// A token is "stk_" and 43 characters of base64url (32 random bytes). The configuration keeps
// only "sha256:" and the hex SHA-256 of the whole token: tokens are random and long, so a fast
// hash suffices, and a leaked config does not leak a usable token. Checks compare hashes in
// constant time. Pure functions and an immutable table: safe on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stavka::admin {

// What an endpoint needs. `admin` may do everything; `purge` and `read` only their own.
enum class Scope : uint8_t { read = 1, purge = 2, admin = 4 };
std::optional<Scope> scope_named(std::string_view name);
std::string_view scope_name(Scope scope);

// SHA-256 (FIPS 180-4) of bytes.
std::array<uint8_t, 32> sha256(std::string_view bytes);
// Lower-case hex of the bytes.
std::string to_hex(std::string_view bytes);

// "sha256:" + lower-case hex of sha256(token): the form the configuration stores.
std::string token_hash(std::string_view token);
// A new random token (getrandom). Throws std::runtime_error if the system has no randomness.
std::string new_token();

struct TokenEntry {
  std::string name;          // for the log and error messages
  std::string hash;          // token_hash() of the token
  uint8_t scopes = 0;        // Scope bits
};

// Scope bits of scope names ("read", "purge", "admin"; others are ignored).
uint8_t scope_bits(const std::vector<std::string>& names);
// Whether two hashes are the same, in time that does not depend on where they differ.
bool same_hash(std::string_view a, std::string_view b);

// The first of `entries` (anything with a `hash` member) whose hash is `hash`, or nullptr. Every
// entry is compared, whichever matched, in time that does not depend on where hashes differ.
template <typename Entries>
auto find_by_hash(const Entries& entries, std::string_view hash) -> decltype(&*entries.begin()) {
  decltype(&*entries.begin()) found = nullptr;
  for (const auto& e : entries) {
    if (same_hash(e.hash, hash) && !found) found = &e;
  }
  return found;
}

class TokenTable {
 public:
  void add(TokenEntry entry) { entries_.push_back(std::move(entry)); }
  bool empty() const { return entries_.empty(); }
  // The entry with this token_hash(), or nullptr.
  const TokenEntry* find_hash(std::string_view hash) const { return find_by_hash(entries_, hash); }
  // Whether `entry` may do what `needed` guards.
  static bool allows(const TokenEntry& entry, Scope needed) {
    return (entry.scopes & (static_cast<uint8_t>(needed) | static_cast<uint8_t>(Scope::admin))) != 0;
  }

 private:
  std::vector<TokenEntry> entries_;
};

// The token of an "Authorization: Bearer TOKEN" value; empty when it is not one.
std::string_view bearer_token(std::string_view authorization);

}  // namespace stavka::admin
