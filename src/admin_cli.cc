// The admin API's command-line client; see admin_cli.h.
#include "admin_cli.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "admin/json.h"
#include "admin/modules_api.h"
#include "config/config.h"
#include "http/parser.h"
#include "net/address.h"

namespace stavka {

namespace {

// A push waits for the compile, the test start and every worker: allow a large module time.
constexpr int reply_timeout_s = 300;

void usage(FILE* out) {
  std::fprintf(out,
               "usage:\n"
               "  stavka module push FILE [--name NAME] [--admin HOST:PORT] [--token TOKEN]\n"
               "      Load FILE as the new version of module NAME (default: FILE's name without\n"
               "      .wasm) on a running Stavka; prints the new generation.\n"
               "  stavka module ls [--admin HOST:PORT] [--token TOKEN] [--json]\n"
               "      List the modules in force.\n"
               "  The admin address is --admin, else $STAVKA_ADMIN (Stavka's admin_listen);\n"
               "  the bearer token is --token, else $STAVKA_ADMIN_TOKEN.\n");
}

bool take(std::vector<std::string_view>& args, size_t& i, std::string_view flag,
          std::string* value, bool* missing) {
  std::string_view a = args[i];
  if (a == flag) {
    if (i + 1 >= args.size()) {
      *missing = true;
      return true;
    }
    *value = std::string(args[++i]);
    return true;
  }
  if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=') {
    *value = std::string(a.substr(flag.size() + 1));
    return true;
  }
  return false;
}

struct Reply {
  int status = 0;
  std::string body;
};

// The admin API a command talks to: its address and the bearer token it sends.
struct Admin {
  std::string address;
  std::string token;
};

// One request on a new connection; nullopt with *error when there is no complete answer.
std::optional<Reply> exchange(const Admin& target, std::string_view method,
                              const std::string& path, std::string_view body,
                              std::string* error) {
  const std::string& admin = target.address;
  config::ListenAddress where;
  try {
    where = config::parse_listen_address(admin);
  } catch (const config::ConfigError& e) {
    *error = "bad admin address '" + admin + "': " + e.what();
    return std::nullopt;
  }
  std::optional<net::SocketAddress> addr = net::make_address(where.host, where.port);
  if (!addr) {
    *error = "bad admin address '" + admin + "'";
    return std::nullopt;
  }
  int fd = ::socket(addr->get()->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  timeval tv{reply_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  auto fail = [&](const std::string& what) {
    *error = what + " (admin API at " + admin + "): " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  };
  if (::connect(fd, addr->get(), addr->length) < 0) return fail("cannot connect");
  std::string request = std::string(method) + " " + path + " HTTP/1.1\r\nHost: " + where.text +
                        "\r\nConnection: close\r\n";
  if (!target.token.empty()) request += "Authorization: Bearer " + target.token + "\r\n";
  if (method == "PUT" || method == "POST") {
    request += std::string("Content-Type: ") +
               (method == "PUT" ? "application/wasm" : "application/json") +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request.append(body);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot send the request");
    sent += static_cast<size_t>(n);
  }
  http::Http1Parser parser(http::Http1Parser::Kind::response);
  std::string received;
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("no answer");
    if (n == 0) break;
    received.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  Reply reply;
  std::string_view rest = received;
  while (true) {
    http::ParseResult pr = parser.feed(rest);
    for (std::string_view piece : pr.body) reply.body.append(piece);
    rest.remove_prefix(pr.consumed);
    if (pr.state == http::ParseState::head_done) continue;
    if (pr.state == http::ParseState::message_done) {
      if (parser.response().is_informational()) continue;  // a 100 Continue, then the answer
      break;
    }
    if (pr.state == http::ParseState::need_more &&
        parser.finish_eof().state == http::ParseState::message_done) {
      break;
    }
    *error = "malformed or truncated answer from the admin API at " + admin;
    return std::nullopt;
  }
  reply.status = parser.response().status;
  return reply;
}

std::string admin_address(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("STAVKA_ADMIN");
  return env ? env : "";
}

// The message of an error answer: the API's JSON {"error", "message"}, else the body as is.
std::string error_text(const Reply& r) {
  std::string ignored;
  if (auto v = admin::JsonValue::parse(r.body, &ignored); v && v->is_object()) {
    std::string message = (*v)["message"].string_or("");
    if (!message.empty()) return message + " (" + std::to_string(r.status) + " " +
                                 (*v)["error"].string_or("") + ")";
  }
  std::string body = r.body;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  return "HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
}

// exchange() for command `what` ("stavka purge"): the 200 answer, or nullopt once the failure
// is printed (`subject`, when given, names what it was about).
std::optional<Reply> call(const Admin& admin, const char* what, std::string_view method,
                          const std::string& path, std::string_view body,
                          const std::string& subject = {}) {
  std::string error;
  std::optional<Reply> r = exchange(admin, method, path, body, &error);
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, error.c_str());
    return std::nullopt;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "%s: %s%s\n", what, subject.empty() ? "" : (subject + ": ").c_str(),
                 error_text(*r).c_str());
    return std::nullopt;
  }
  return r;
}

// The answer's JSON object, or nullopt once the failure is printed.
std::optional<admin::JsonValue> object_of(const Reply& r, const char* what) {
  std::string error;
  std::optional<admin::JsonValue> v = admin::JsonValue::parse(r.body, &error);
  if (!v || !v->is_object()) {
    std::fprintf(stderr, "%s: unexpected answer: %s\n", what, r.body.c_str());
    return std::nullopt;
  }
  return v;
}

// GET `path` for a command that shows it: with `raw` (--json) the answer is printed as it came
// and *code is 0; else its JSON object. nullopt when the command ends here (*code its exit code).
std::optional<admin::JsonValue> get_shown(const Admin& admin, const char* what,
                                          const std::string& path, bool raw, int* code) {
  *code = 1;
  std::optional<Reply> r = call(admin, what, "GET", path, {});
  if (!r) return std::nullopt;
  if (raw) {
    std::fputs(r->body.c_str(), stdout);
    *code = 0;
    return std::nullopt;
  }
  return object_of(*r, what);
}

std::string number(const admin::JsonValue& v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v.number_or(0));
  return buf;
}

int push(const std::string& file, std::string name, const Admin& admin) {
  std::ifstream in(file, std::ios::binary);
  if (!in.is_open()) {
    std::fprintf(stderr, "stavka module push: cannot open %s: %s\n", file.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (bytes.size() > admin::max_module_bytes) {
    std::fprintf(stderr, "stavka module push: %s has %zu bytes; a module may have at most %zu\n",
                 file.c_str(), bytes.size(), admin::max_module_bytes);
    return 1;
  }
  if (name.empty()) {
    // As `stavka run --module FILE` names it.
    name = std::filesystem::path(file).stem().string();
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    }
  }
  std::optional<Reply> r =
      call(admin, "stavka module push", "PUT", "/api/v1/modules/" + name, bytes, name);
  if (!r) return 1;
  std::optional<admin::JsonValue> v = object_of(*r, "stavka module push");
  if (!v) return 1;
  const admin::JsonValue& m = *v;
  std::printf("%s: generation %s (was %s), %s, on %s workers; saved to %s\n",
              m["name"].string_or(name).c_str(), number(m["generation"]).c_str(),
              number(m["previous_generation"]).c_str(), m["digest"].string_or("").c_str(),
              number(m["workers"]).c_str(), m["file"].string_or("").c_str());
  return 0;
}

int list(const Admin& admin, bool json) {
  int code = 0;
  std::optional<admin::JsonValue> v = get_shown(admin, "stavka module ls", "/api/v1/modules", json, &code);
  if (!v) return code;
  std::printf("%-20s %10s  %-8s  %-26s  %-16s  %s\n", "NAME", "GENERATION", "STATE", "DIGEST",
              "SITES", "FILE");
  for (const admin::JsonValue& m : (*v)["modules"].items()) {
    std::string sites;
    for (const admin::JsonValue& s : m["sites"].items()) {
      sites += (sites.empty() ? "" : ",") + s.string_or("");
    }
    std::printf("%-20s %10s  %-8s  %-26s  %-16s  %s\n", m["name"].string_or("").c_str(),
                number(m["generation"]).c_str(), m["disabled"].bool_or(false) ? "disabled" : "ok",
                m["digest"].string_or("").c_str(), sites.empty() ? "-" : sites.c_str(),
                m["file"].string_or("").c_str());
  }
  return 0;
}

// Where the admin API is and the token to send, from the flags or the environment; nullopt
// once the missing address is reported for command `what`.
std::optional<Admin> admin_target(const std::string& address_flag, const std::string& token_flag,
                                  const char* what) {
  Admin admin{admin_address(address_flag), token_flag};
  if (admin.token.empty()) {
    const char* env = std::getenv("STAVKA_ADMIN_TOKEN");
    if (env) admin.token = env;
  }
  if (admin.address.empty()) {
    std::fprintf(stderr, "%s: where is the admin API? Pass --admin HOST:PORT or set "
                         "STAVKA_ADMIN (the server's admin_listen)\n", what);
    return std::nullopt;
  }
  return admin;
}

}  // namespace

int run_purge_command(std::vector<std::string_view> args) {
  std::string admin_flag, token_flag, value, prefix;
  std::vector<std::string> urls, tags;
  bool all = false, has_prefix = false, soft = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool missing = false;
    const bool tag = take(args, i, "--tag", &value, &missing);
    const bool pre = !tag && take(args, i, "--prefix", &prefix, &missing);
    if (tag || pre || take(args, i, "--admin", &admin_flag, &missing) ||
        take(args, i, "--token", &token_flag, &missing)) {
      if (missing) {
        std::fprintf(stderr, "stavka purge: %.*s needs a value\n", int(args[i].size()),
                     args[i].data());
        return 2;
      }
      if (tag) tags.push_back(value);
      has_prefix |= pre;
      continue;
    }
    if (args[i] == "--all" || args[i] == "--soft") {
      (args[i] == "--all" ? all : soft) = true;
      continue;
    }
    if (args[i].starts_with("--")) {
      std::fprintf(stderr, "stavka purge: unexpected argument '%.*s' (URL..., --tag TAG..., "
                           "--prefix URL or --all)\n",
                   int(args[i].size()), args[i].data());
      return 2;
    }
    urls.emplace_back(args[i]);
  }
  if (!urls.empty() + !tags.empty() + has_prefix + all != 1) {
    std::fprintf(stderr, "stavka purge: give one of URL..., --tag TAG..., --prefix URL or --all\n");
    return 2;
  }
  std::optional<Admin> admin = admin_target(admin_flag, token_flag, "stavka purge");
  if (!admin) return 2;
  std::string body;
  if (all) {
    body = "{\"all\":true}";
  } else if (has_prefix) {
    body = "{\"prefix\":";
    admin::append_json_string(body, prefix);
    body += '}';
  } else {
    body = urls.empty() ? "{\"tags\":[" : "{\"urls\":[";
    const std::vector<std::string>& items = urls.empty() ? tags : urls;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) body += ',';
      admin::append_json_string(body, items[i]);
    }
    body += "]}";
  }
  if (soft) body.insert(body.size() - 1, ",\"soft\":true");
  std::optional<Reply> r = call(*admin, "stavka purge", "POST", "/api/v1/purge", body);
  if (!r) return 1;
  std::optional<admin::JsonValue> v = object_of(*r, "stavka purge");
  if (!v) return 1;
  std::printf("%s %s objects\n", soft ? "marked stale" : "purged", number((*v)["purged"]).c_str());
  return 0;
}

int run_stats_command(std::vector<std::string_view> args) {
  std::string admin_flag, token_flag;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool missing = false;
    if (take(args, i, "--admin", &admin_flag, &missing) ||
        take(args, i, "--token", &token_flag, &missing)) {
      if (missing) {
        std::fprintf(stderr, "stavka stats: %.*s needs a value\n", int(args[i].size()),
                     args[i].data());
        return 2;
      }
      continue;
    }
    if (args[i] == "--json") {
      json = true;
      continue;
    }
    std::fprintf(stderr, "stavka stats: unexpected argument '%.*s'\n", int(args[i].size()),
                 args[i].data());
    return 2;
  }
  std::optional<Admin> admin = admin_target(admin_flag, token_flag, "stavka stats");
  if (!admin) return 2;
  int code = 0;
  std::optional<admin::JsonValue> v = get_shown(*admin, "stavka stats", "/api/v1/stats", json, &code);
  if (!v) return code;
  // One line per sample, histogram buckets left out (the JSON has them).
  for (const auto& [name, value] : (*v)["metrics"].members()) {
    if (name.ends_with("_bucket")) continue;
    if (!value.is_array()) {
      std::printf("%-48s %s\n", name.c_str(), number(value).c_str());
      continue;
    }
    for (const admin::JsonValue& sample : value.items()) {
      std::string labels;
      for (const auto& [label, text] : sample["labels"].members()) {
        labels += (labels.empty() ? "" : ",") + label + "=" + text.string_or("");
      }
      std::printf("%-48s %s\n", (name + "{" + labels + "}").c_str(),
                  number(sample["value"]).c_str());
    }
  }
  return 0;
}

namespace {

// A query parameter's value, %-escaped but for unreserved characters (RFC 3986).
std::string query_escape(std::string_view value) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
  return out;
}

// Seconds as a short duration: "45s", "12m", "3h", "2d"; negative ones with a "-".
std::string duration(double seconds) {
  const bool negative = seconds < 0;
  double s = negative ? -seconds : seconds;
  char buf[32];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.0fm", s / 60);
  else if (s < 172800) std::snprintf(buf, sizeof buf, "%.0fh", s / 3600);
  else std::snprintf(buf, sizeof buf, "%.0fd", s / 86400);
  return (negative ? "-" : "") + std::string(buf);
}

// Every page of the listing for `query`; --json prints each answer as it comes, one a line.
int cache_ls(const Admin& admin, const std::string& query, bool json) {
  const char* what = "stavka cache ls";
  std::string cursor;
  size_t shown = 0;
  if (!json) {
    std::printf("%-60s %6s %10s %10s %7s %7s %7s  %s\n", "URL", "STATUS", "SIZE", "STORED",
                "AGE", "TTL", "HITS", "TAGS");
  }
  while (true) {
    std::string path = "/api/v1/cache?limit=1000" + query;
    if (!cursor.empty()) path += "&cursor=" + query_escape(cursor);
    std::optional<Reply> r = call(admin, what, "GET", path, {});
    if (!r) return 1;
    std::optional<admin::JsonValue> v = object_of(*r, what);
    if (!v) return 1;
    if (json) {
      std::string line = r->body;
      while (!line.empty() && line.back() == '\n') line.pop_back();
      std::printf("%s\n", line.c_str());
    } else {
      for (const admin::JsonValue& e : (*v)["entries"].items()) {
        std::string tags;
        for (const admin::JsonValue& t : e["tags"].items()) {
          tags += (tags.empty() ? "" : ",") + t.string_or("");
        }
        const admin::JsonValue& size = e["size"];
        std::string url = e["url"].string_or("");
        if (e["partial"].bool_or(false)) url += " (partial)";
        std::printf("%-60s %6s %10s %10s %7s %7s %7s  %s\n", url.c_str(),
                    number(e["status"]).c_str(),
                    size.type() == admin::JsonValue::Type::number ? number(size).c_str() : "-",
                    number(e["stored_bytes"]).c_str(), duration(e["age"].number_or(0)).c_str(),
                    duration(e["ttl"].number_or(0)).c_str(), number(e["hits"]).c_str(),
                    tags.empty() ? "-" : tags.c_str());
        ++shown;
      }
    }
    cursor = (*v)["next_cursor"].string_or("");
    if (cursor.empty()) break;
  }
  if (!json) std::printf("%zu entries\n", shown);
  return 0;
}

// Sends a prefetch job for `urls` and follows it to its end, with a progress bar on a terminal.
int prefetch(const Admin& admin, const std::vector<std::string>& urls, int concurrency) {
  const char* what = "stavka prefetch";
  std::string body = "{\"urls\":[";
  for (size_t i = 0; i < urls.size(); ++i) {
    if (i) body += ',';
    admin::append_json_string(body, urls[i]);
  }
  body += "]";
  if (concurrency > 0) body += ",\"concurrency\":" + std::to_string(concurrency);
  body += "}";
  std::string error;
  std::optional<Reply> r = exchange(admin, "POST", "/api/v1/prefetch", body, &error);
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, error.c_str());
    return 1;
  }
  if (r->status != 202) {
    std::fprintf(stderr, "%s: %s\n", what, error_text(*r).c_str());
    return 1;
  }
  std::optional<admin::JsonValue> started = object_of(*r, what);
  if (!started) return 1;
  const std::string href = (*started)["href"].string_or("");
  const bool bar = isatty(STDERR_FILENO);
  while (true) {
    std::optional<Reply> s = call(admin, what, "GET", href, {});
    if (!s) return 1;
    std::optional<admin::JsonValue> job = object_of(*s, what);
    if (!job) return 1;
    const double total = (*job)["total"].number_or(0), done = (*job)["done"].number_or(0);
    const bool finished = (*job)["state"].string_or("") == "done";
    if (bar) {
      constexpr int width = 40;
      const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r[%s%s] %s/%s URLs, %s bytes, %s errors", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), number((*job)["done"]).c_str(),
                   number((*job)["total"]).c_str(), number((*job)["bytes"]).c_str(),
                   number((*job)["errors"]).c_str());
      if (finished) std::fputc('\n', stderr);
    }
    if (finished) {
      for (const admin::JsonValue& f : (*job)["failed"].items()) {
        std::fprintf(stderr, "failed: %s: %s\n", f["url"].string_or("").c_str(),
                     f["error"].string_or("").c_str());
      }
      std::printf("prefetched %s URLs, %s bytes, %s errors, in %s ms\n",
                  number((*job)["done"]).c_str(), number((*job)["bytes"]).c_str(),
                  number((*job)["errors"]).c_str(), number((*job)["elapsed_ms"]).c_str());
      return (*job)["errors"].number_or(0) > 0 ? 1 : 0;
    }
    usleep(200 * 1000);
  }
}

}  // namespace

int run_prefetch_command(std::vector<std::string_view> args) {
  std::string admin_flag, token_flag, file, concurrency_text;
  std::vector<std::string> urls;
  for (size_t i = 0; i < args.size(); ++i) {
    bool missing = false;
    if (take(args, i, "--file", &file, &missing) || take(args, i, "--admin", &admin_flag, &missing) ||
        take(args, i, "--token", &token_flag, &missing) ||
        take(args, i, "--concurrency", &concurrency_text, &missing)) {
      if (missing) {
        std::fprintf(stderr, "stavka prefetch: %.*s needs a value\n", int(args[i].size()),
                     args[i].data());
        return 2;
      }
      continue;
    }
    if (args[i].starts_with("--")) {
      std::fprintf(stderr, "stavka prefetch: unexpected argument '%.*s'\n", int(args[i].size()),
                   args[i].data());
      return 2;
    }
    urls.emplace_back(args[i]);
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in.is_open()) {
      std::fprintf(stderr, "stavka prefetch: cannot open %s: %s\n", file.c_str(),
                   std::strerror(errno));
      return 1;
    }
    for (std::string line; std::getline(in, line);) {  // one URL a line; blank and # lines skipped
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      urls.push_back(line.substr(start));
    }
  }
  int concurrency = 0;
  if (!concurrency_text.empty()) {
    concurrency = std::atoi(concurrency_text.c_str());
    if (concurrency < 1) {
      std::fprintf(stderr, "stavka prefetch: --concurrency takes a number from 1 to 64\n");
      return 2;
    }
  }
  if (urls.empty()) {
    std::fprintf(stderr, "stavka prefetch: give URLs, or --file FILE with one a line\n");
    return 2;
  }
  std::optional<Admin> admin = admin_target(admin_flag, token_flag, "stavka prefetch");
  if (!admin) return 2;
  return prefetch(*admin, urls, concurrency);
}

int run_cache_command(std::vector<std::string_view> args) {
  if (args.empty() || args[0] != "ls") {
    std::fprintf(stderr, "usage: stavka cache ls [--prefix URL] [--host HOST] [--tag TAG] "
                         "[--admin HOST:PORT] [--token TOKEN] [--json]\n");
    return 2;
  }
  std::string admin_flag, token_flag, query, value;
  bool json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    bool missing = false;
    std::string_view filter;
    for (std::string_view f : {"--prefix", "--host", "--tag"}) {
      if (take(args, i, f, &value, &missing)) {
        filter = f;
        break;
      }
    }
    if (!filter.empty() || take(args, i, "--admin", &admin_flag, &missing) ||
        take(args, i, "--token", &token_flag, &missing)) {
      if (missing) {
        std::fprintf(stderr, "stavka cache ls: %.*s needs a value\n", int(args[i].size()),
                     args[i].data());
        return 2;
      }
      if (!filter.empty()) query += "&" + std::string(filter.substr(2)) + "=" + query_escape(value);
      continue;
    }
    if (args[i] == "--json") {
      json = true;
      continue;
    }
    std::fprintf(stderr, "stavka cache ls: unexpected argument '%.*s'\n", int(args[i].size()),
                 args[i].data());
    return 2;
  }
  std::optional<Admin> admin = admin_target(admin_flag, token_flag, "stavka cache ls");
  if (!admin) return 2;
  return cache_ls(*admin, query, json);
}

int run_module_command(std::vector<std::string_view> args) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string_view sub = args.front();
  args.erase(args.begin());
  std::string name, admin_flag, token_flag, file;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool missing = false;
    if (take(args, i, "--admin", &admin_flag, &missing) ||
        take(args, i, "--token", &token_flag, &missing) ||
        (sub == "push" && take(args, i, "--name", &name, &missing))) {
      if (missing) {
        std::fprintf(stderr, "stavka module: %.*s needs a value\n", int(args[i].size()),
                     args[i].data());
        return 2;
      }
      continue;
    }
    if (sub == "ls" && args[i] == "--json") {
      json = true;
      continue;
    }
    if (sub == "push" && file.empty() && !args[i].starts_with("--")) {
      file = std::string(args[i]);
      continue;
    }
    std::fprintf(stderr, "stavka module %.*s: unexpected argument '%.*s'\n", int(sub.size()),
                 sub.data(), int(args[i].size()), args[i].data());
    usage(stderr);
    return 2;
  }
  if (sub != "push" && sub != "ls") {
    std::fprintf(stderr, "stavka module: unknown command '%.*s'\n", int(sub.size()), sub.data());
    usage(stderr);
    return 2;
  }
  const std::string what = "stavka module " + std::string(sub);
  std::optional<Admin> admin = admin_target(admin_flag, token_flag, what.c_str());
  if (!admin) return 2;
  if (sub == "ls") return list(*admin, json);
  if (file.empty()) {
    std::fprintf(stderr, "stavka module push: which file? (stavka module push FILE)\n");
    return 2;
  }
  return push(file, name, *admin);
}

}  // namespace stavka
